#!/usr/bin/env bash
# Builds the fuzz seed corpora from the protocol test vectors (v1.json, v2.json):
#   fuzz/corpus/decode/    one file per decode_request / decode_stream / session case
#   fuzz/corpus/roundtrip/ the same bytes (arbitrary-derived inputs; any bytes are valid)
#   fuzz/corpus/session/   the same bytes behind a 0x00 selector (1-byte chunks, no token)
# The decode target reads its first byte as a limits selector (0 = default),
# so decode seeds are prefixed with 0x00. Seeds over 64 KiB are skipped:
# libFuzzer would otherwise raise -max_len to megabytes and slow every run.
# Corpora are gitignored; run this before `cargo +nightly fuzz run <target>`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import json, pathlib

MAX_SEED_BYTES = 64 * 1024
roots = [json.loads(pathlib.Path(f"protocol/vectors/{name}.json").read_text()) for name in ("v1", "v2")]

def part(p):
    if isinstance(p, str):
        return bytes.fromhex(p.replace(" ", ""))
    return bytes.fromhex(p["repeat"]) * p["count"]

def wire(value):
    return part(value) if isinstance(value, str) else b"".join(part(p) for p in value)

seeds = {}
for root in roots:
    version = root["protocol_version"]
    for section in ("decode_request", "decode_stream"):
        for case in root[section]:
            seeds[f"v{version}-{section}-{case['name']}"] = wire(case["bytes"])
    for session in root["sessions"]:
        sent = b"".join(wire(s["send"]) for s in session["steps"])
        seeds[f"v{version}-session-{session['name']}"] = sent

written = 0
for target, prefix in (("decode", b"\x00"), ("roundtrip", b""), ("session", b"\x00")):
    out = pathlib.Path("fuzz/corpus") / target
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        if len(data) <= MAX_SEED_BYTES:
            (out / name).write_bytes(prefix + data)
            written += 1
print(f"wrote {written} seeds under fuzz/corpus/")
PY
