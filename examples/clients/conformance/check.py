#!/usr/bin/env python3
"""Checks that every client's test suite runs the whole conformance kit.

For each client directory beside this one (examples/clients/<language>/), the
test sources must name every fault id of faults.json that applies to that
client, and must read the protocol vectors (protocol/vectors/v1.json and v2.json)
so the sessions and decode_reply cases of both versions are replayed. Prints one line per client and
exits non-zero when any id is missing.
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
CLIENTS = HERE.parent
# The fault classes each client runs (faults.json `applies`); a client not
# listed is a library client and runs them all. The shell library opens one
# short connection per command, with no batch API and no pool.
CLASSES = {"shell": {"all"}}
LIBRARY = {"all", "pipelined", "pooled"}
# Where each client keeps its tests; every file under these is searched.
TEST_SUFFIXES = {".rs", ".py", ".js", ".mjs", ".ts", ".go", ".bats", ".sh", ".java", ".cs"}


def test_sources(client: pathlib.Path) -> str:
    texts = []
    for path in sorted(client.rglob("*")):
        if any(part in {"node_modules", "target", "bin", "obj"} for part in path.parts):
            continue
        if path.suffix in TEST_SUFFIXES and "test" in str(path.relative_to(client)).lower():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def spellings(fault_id: str) -> set[str]:
    """The id as snake_case, and as CamelCase for languages that name tests so."""
    camel = "".join(word.capitalize() for word in fault_id.split("_"))
    return {fault_id, camel}


def main() -> int:
    faults = json.loads((HERE / "faults.json").read_text())["faults"]
    failed = 0
    clients = [p for p in sorted(CLIENTS.iterdir()) if p.is_dir() and p != HERE]
    if not clients:
        print("conformance: no clients found", file=sys.stderr)
        return 1
    for client in clients:
        text = test_sources(client)
        classes = CLASSES.get(client.name, LIBRARY)
        wanted = [f["id"] for f in faults if f["applies"] in classes]
        missing = [i for i in wanted if not any(s in text for s in spellings(i))]
        for vectors in ("v1.json", "v2.json"):
            if vectors not in text:
                missing.append(f"(the protocol vectors, {vectors})")
        if missing:
            failed += 1
            print(f"conformance: {client.name}: missing {', '.join(missing)}")
        else:
            print(f"conformance: {client.name}: all {len(wanted)} faults and the vectors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
