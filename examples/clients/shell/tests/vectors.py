#!/usr/bin/env python3
"""Turns protocol/vectors/v1.json and v2.json into line-oriented cases the bats tests read.

Bash cannot parse JSON or hold NUL bytes, so every byte string is written to a file in
OUT_DIR and each case is one tab-separated line naming its files. Cases come from v1.json,
then v2.json; `file` is the vector file's name.

  vectors.py decode-reply OUT_DIR
      file  name  max_frame_bytes  bytes_file  outcome  status_code  body_file  frame_len
  vectors.py requests OUT_DIR
      file  name  command  key_file  number  value_file  bytes_file  count
      (decode_request cases that decode to a request the library sends: HELLO 1 and 2,
      AUTH tokens within the pre-auth frame limit, and every other command)
  vectors.py encode-reply OUT_DIR
      file  name  kind  bytes_file  output_file
      (the encode_reply cases of INCR, APPEND and SCAN: output_file holds what the library
      prints for the reply: the value, the length, or SCAN's cursor line then its keys in
      hex, one per line, as `blink_scan -x --cursor` prints a page)
  vectors.py sessions OUT_DIR
      file  session  token_hex  server_flags  step  command  key_file  number  value_file
      token_file  expect_status  expect_body_file  expect_body_len  count
      (one line per frame the shell API can express; see the kit's replay rules;
      server_flags are the --max-*-bytes flags of the session's limit set)

`number` is the frame's TTL (SET, ADD, REPLACE, EXPIRE), delta (INCR), cursor (SCAN) or
version (HELLO); `key` is SCAN's prefix and `value` APPEND's suffix or AUTH's token; `count`
is SCAN's. Fields that do not apply are "-" (numbers: 0). The last line of `sessions` is
`total<TAB>N<TAB>V1<TAB>V2`, the count of calls to replay in all and from each file, which
the test checks against its own constants.
"""

import json
import pathlib
import sys

VECTORS_DIR = pathlib.Path(__file__).resolve().parents[4] / "protocol" / "vectors"
VECTOR_FILES = ("v1.json", "v2.json")
PRE_AUTH_FRAME_BYTES = 4096
OPCODES = {1: "PING", 2: "HELLO", 3: "AUTH", 0x10: "GET", 0x11: "SET", 0x12: "DEL",
           0x13: "EXPIRE", 0x14: "TTL", 0x15: "ADD", 0x16: "REPLACE", 0x17: "INCR",
           0x18: "APPEND", 0x20: "STATS", 0x21: "FLUSH", 0x22: "SCAN"}
# The versions blink_hello can ask for (BLINK_PROTOCOL_VERSION).
HELLO_VERSIONS = (1, 2)


def unhex(spec) -> bytes:
    """A vectors byte string: hex with spaces, or a list of hex and repeat parts."""
    if isinstance(spec, str):
        return bytes.fromhex(spec.replace(" ", ""))
    return b"".join(unhex(p) if isinstance(p, str) else bytes.fromhex(p["repeat"]) * p["count"]
                    for p in spec)


def vector_files():
    """(file name, parsed vectors) for v1.json, then v2.json."""
    for name in VECTOR_FILES:
        yield name, json.loads((VECTORS_DIR / name).read_text())


class Files:
    """Writes byte strings to numbered files and returns their paths."""

    def __init__(self, out_dir: str):
        self.dir = pathlib.Path(out_dir)
        self.count = 0

    def write(self, data: bytes) -> str:
        self.count += 1
        path = self.dir / f"b{self.count}"
        path.write_bytes(data)
        return str(path)


def decode_fields(command: str, body: bytes):
    """The fields after the opcode of a whole frame as a dict, or None if the shell API cannot
    express it (a HELLO version blink_hello does not send)."""
    fields = {"command": command, "key": b"", "number": "0", "value": b"", "token": b"", "count": "0"}
    if command in ("GET", "DEL", "TTL"):
        fields["key"] = body[2:]
    elif command in ("SET", "ADD", "REPLACE", "EXPIRE", "INCR"):
        key_len = int.from_bytes(body[8:10], "big")
        fields["number"] = str(int.from_bytes(body[:8], "big", signed=command == "INCR"))
        fields["key"] = body[10:10 + key_len]
        fields["value"] = body[10 + key_len:]
    elif command == "APPEND":
        key_len = int.from_bytes(body[:2], "big")
        fields["key"] = body[2:2 + key_len]
        fields["value"] = body[2 + key_len:]
    elif command == "SCAN":
        fields["number"] = str(int.from_bytes(body[:8], "big"))
        fields["count"] = str(int.from_bytes(body[8:10], "big"))
        fields["key"] = body[10:]
    elif command == "AUTH":
        fields["token"] = body
    elif command == "HELLO" and len(body) == 1 and body[0] in HELLO_VERSIONS:
        fields["number"] = str(body[0])
    elif command not in ("PING", "STATS", "FLUSH"):
        return None
    return fields


def decode_frame(buf: bytes):
    """SPEC §5: the request frame at the start of buf as (fields, frame_len). fields is None
    for a whole frame the shell API cannot express (an unknown opcode, HELLO other than
    version 1 or 2); frame_len is None as well when buf does not start with a whole valid
    frame (malformed or foreign bytes, a header without its body): the server closes there."""
    if len(buf) < 4 or buf[0] >= 0x20:
        return None, None
    length = int.from_bytes(buf[:4], "big")
    if length == 0 or len(buf) < 4 + length:
        return None, None
    payload = buf[4:4 + length]
    command = OPCODES.get(payload[0])
    fields = decode_fields(command, payload[1:]) if command else None
    return fields, 4 + length


def decode_reply(files: Files) -> None:
    for file, vectors in vector_files():
        for case in vectors["decode_reply"]:
            expect = case["expect"]
            body = files.write(unhex(expect["body"])) if "body" in expect else "-"
            print("\t".join([file, case["name"], str(case["max_frame_bytes"]),
                             files.write(unhex(case["bytes"])), expect["outcome"],
                             str(expect.get("status_code", "-")), body,
                             str(expect.get("frame_len", "-"))]))


def requests(files: Files) -> None:
    for file, vectors in vector_files():
        for case in vectors["decode_request"]:
            expect = case["expect"]
            if expect["outcome"] != "request":
                continue
            request = expect["request"]
            command = request["command"]
            if command == "HELLO" and request["version"] not in HELLO_VERSIONS:
                continue
            if command == "AUTH" and len(unhex(request["token"])) >= PRE_AUTH_FRAME_BYTES:
                continue
            number = request.get("ttl_ms", request.get("delta", request.get("cursor", "0")))
            if command == "HELLO":
                number = str(request["version"])
            # AUTH carries its token, and APPEND its suffix, where SET carries the value.
            value = request.get("value", request.get("token", request.get("suffix", "")))
            key = request.get("key", request.get("prefix", ""))
            print("\t".join([file, case["name"], command, files.write(unhex(key)), number,
                             files.write(unhex(value)), files.write(unhex(case["bytes"])),
                             str(request.get("count", 0))]))


def encode_reply(files: Files) -> None:
    for file, vectors in vector_files():
        for case in vectors["encode_reply"]:
            reply = case["reply"]
            if reply["kind"] == "integer":
                output = reply["value"] + "\n"
            elif reply["kind"] == "length":
                output = reply["length"] + "\n"
            elif reply["kind"] == "scan":
                output = "".join(line + "\n" for line in
                                 [reply["next_cursor"], *(unhex(k).hex() for k in reply["keys"])])
            else:
                continue
            print("\t".join([file, case["name"], reply["kind"], files.write(unhex(case["bytes"])),
                             files.write(output.encode())]))


def server_flags(limits: dict) -> str:
    return " ".join(f"--{name.replace('_', '-')} {limits[name]}"
                    for name in ("max_frame_bytes", "max_key_bytes", "max_value_bytes"))


def sessions(files: Files) -> None:
    totals = {}
    for file, vectors in vector_files():
        totals[file] = 0
        for session in vectors["sessions"]:
            server = session["server"]
            if "cap_bytes" in server:
                continue  # below the server's 1 MiB minimum cap: the server's own tests run it
            for step_index, step in enumerate(session["steps"]):
                buf = unhex(step["send"])
                replies = list(step["replies"])
                while buf and replies:
                    fields, frame_len = decode_frame(buf)
                    reply = replies.pop(0)
                    if frame_len is None:
                        break  # the server answers it and closes: nothing after it is read
                    buf = buf[frame_len:]
                    if fields is None:
                        continue
                    totals[file] += 1
                    body = files.write(unhex(reply["body"])) if "body" in reply else "-"
                    print("\t".join([file, session["name"], server["token"] or "-",
                                     server_flags(vectors["limits"][server["limits"]]),
                                     str(step_index), fields["command"], files.write(fields["key"]),
                                     fields["number"], files.write(fields["value"]),
                                     files.write(fields["token"]), reply["status"], body,
                                     str(reply.get("body_len", "-")), fields["count"]]))
    print("\t".join(["total", str(sum(totals.values())), *(str(totals[f]) for f in VECTOR_FILES)]))


def main() -> int:
    mode, out_dir = sys.argv[1], sys.argv[2]
    modes = {"decode-reply": decode_reply, "requests": requests, "encode-reply": encode_reply,
             "sessions": sessions}
    modes[mode](Files(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
