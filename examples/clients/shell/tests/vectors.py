#!/usr/bin/env python3
"""Turns protocol/vectors/v1.json into line-oriented cases the bats tests read.

Bash cannot parse JSON or hold NUL bytes, so every byte string is written to a file in
OUT_DIR and each case is one tab-separated line naming its files:

  vectors.py decode-reply OUT_DIR
      name  max_frame_bytes  bytes_file  outcome  status_code  body_file  frame_len
  vectors.py requests OUT_DIR
      name  command  key_file  ttl_ms  value_file  bytes_file
      (decode_request cases that decode to a request the library sends: HELLO 1, and
      AUTH tokens within the pre-auth frame limit)
  vectors.py sessions OUT_DIR
      session  token_hex  server_flags  step  command  key_file  ttl_ms  value_file
      token_file  expect_status  expect_body_file  expect_body_len
      (one line per frame the shell API can express; see the kit's replay rules;
      server_flags are the --max-*-bytes flags of the session's limit set)

Fields that do not apply are "-". The last line of `sessions` is `total<TAB>N`, the count of
calls to replay, which the test checks against its own constant.
"""

import json
import pathlib
import sys

VECTORS = pathlib.Path(__file__).resolve().parents[4] / "protocol" / "vectors" / "v1.json"
PRE_AUTH_FRAME_BYTES = 4096
OPCODES = {1: "PING", 2: "HELLO", 3: "AUTH", 0x10: "GET", 0x11: "SET", 0x12: "DEL",
           0x13: "EXPIRE", 0x14: "TTL", 0x20: "STATS"}


def unhex(spec) -> bytes:
    """A vectors byte string: hex with spaces, or a list of hex and repeat parts."""
    if isinstance(spec, str):
        return bytes.fromhex(spec.replace(" ", ""))
    return b"".join(unhex(p) if isinstance(p, str) else bytes.fromhex(p["repeat"]) * p["count"]
                    for p in spec)


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


def decode_frame(buf: bytes):
    """SPEC §5: the request frame at the start of buf as (fields, frame_len). fields is None
    for a whole frame the shell API cannot express (an unknown opcode, HELLO other than
    version 1); frame_len is None as well when buf does not start with a whole valid frame
    (malformed or foreign bytes, a header without its body): the server closes there.
    fields has command, key, ttl_ms, value and token."""
    if len(buf) < 4 or buf[0] >= 0x20:
        return None, None
    length = int.from_bytes(buf[:4], "big")
    if length == 0 or len(buf) < 4 + length:
        return None, None
    payload = buf[4:4 + length]
    command = OPCODES.get(payload[0])
    fields = {"command": command, "key": b"", "ttl_ms": "0", "value": b"", "token": b""}
    body = payload[1:]
    if command in ("GET", "DEL", "TTL"):
        fields["key"] = body[2:]
    elif command in ("SET", "EXPIRE"):
        key_len = int.from_bytes(body[8:10], "big")
        fields["ttl_ms"] = str(int.from_bytes(body[:8], "big"))
        fields["key"] = body[10:10 + key_len]
        fields["value"] = body[10 + key_len:]
    elif command == "AUTH":
        fields["token"] = body
    elif command not in ("PING", "STATS") and not (command == "HELLO" and body == b"\x01"):
        return None, 4 + length  # unknown, or a HELLO version blink_hello does not send
    return fields, 4 + length


def decode_reply(files: Files, vectors) -> None:
    for case in vectors["decode_reply"]:
        expect = case["expect"]
        body = files.write(unhex(expect["body"])) if "body" in expect else "-"
        print("\t".join([case["name"], str(case["max_frame_bytes"]), files.write(unhex(case["bytes"])),
                         expect["outcome"], str(expect.get("status_code", "-")), body,
                         str(expect.get("frame_len", "-"))]))


def requests(files: Files, vectors) -> None:
    for case in vectors["decode_request"]:
        expect = case["expect"]
        if expect["outcome"] != "request":
            continue
        request = expect["request"]
        if request["command"] == "HELLO" and request["version"] != 1:
            continue
        if request["command"] == "AUTH" and len(unhex(request["token"])) >= PRE_AUTH_FRAME_BYTES:
            continue
        # AUTH carries its token where the other commands carry the value.
        value = request.get("value", request.get("token", ""))
        print("\t".join([case["name"], request["command"], files.write(unhex(request.get("key", ""))),
                         request.get("ttl_ms", "0"), files.write(unhex(value)),
                         files.write(unhex(case["bytes"]))]))


def server_flags(limits: dict) -> str:
    return " ".join(f"--{name.replace('_', '-')} {limits[name]}"
                    for name in ("max_frame_bytes", "max_key_bytes", "max_value_bytes"))


def sessions(files: Files, vectors) -> None:
    total = 0
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
                total += 1
                body = files.write(unhex(reply["body"])) if "body" in reply else "-"
                print("\t".join([session["name"], server["token"] or "-",
                                 server_flags(vectors["limits"][server["limits"]]),
                                 str(step_index), fields["command"], files.write(fields["key"]),
                                 fields["ttl_ms"], files.write(fields["value"]),
                                 files.write(fields["token"]), reply["status"], body,
                                 str(reply.get("body_len", "-"))]))
    print(f"total\t{total}")


def main() -> int:
    mode, out_dir = sys.argv[1], sys.argv[2]
    vectors = json.loads(VECTORS.read_text())
    {"decode-reply": decode_reply, "requests": requests, "sessions": sessions}[mode](Files(out_dir), vectors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
