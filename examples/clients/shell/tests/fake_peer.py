#!/usr/bin/env python3
"""A fake Blink server for the fault tests: it misbehaves on purpose.

  fake_peer.py hang
  fake_peer.py [--version N] answer MAX_FRAME_BYTES REPLY_HEX [close]

Listens on 127.0.0.1:0, prints `listening PORT`, then serves connections one after the
other, printing `accepted` for each, and `closed` once the client has closed its end.
`hang` accepts and never writes. `answer` replies to HELLO (1 or 2) as a server whose frame
limit is MAX_FRAME_BYTES, negotiating version N (default 1: a version-1 server, which
answers HELLO 2 with version 1), then answers the next request with the bytes REPLY_HEX (for
example 00000000, a zero length, or 00001001, a header over a 4096-byte limit with no
body behind it), printing `request HEX` for it, and writes nothing more; with `close`, it
then closes the connection.
"""

import socket
import sys

HELLO_REQUESTS = (bytes.fromhex("00000002 0201"), bytes.fromhex("00000002 0202"))
DEFAULT_KEY_BYTES = 1024
DEFAULT_VALUE_BYTES = 1048576


def hello_reply(max_frame_bytes: int, version: int) -> bytes:
    """OK, the version, no AUTH needed, then the three limits (SPEC §6.3)."""
    body = bytes([0, version, 0]) + b"".join(
        n.to_bytes(4, "big") for n in (max_frame_bytes, DEFAULT_KEY_BYTES, DEFAULT_VALUE_BYTES))
    return len(body).to_bytes(4, "big") + body


def recv_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def recv_frame(conn: socket.socket) -> bytes:
    header = recv_exactly(conn, 4)
    return header + recv_exactly(conn, int.from_bytes(header, "big"))


def serve(conn: socket.socket, args: list[str], version: int) -> None:
    if args[0] == "answer":
        if recv_frame(conn) not in HELLO_REQUESTS:
            raise ValueError("the first frame is not HELLO 1 or 2")
        conn.sendall(hello_reply(int(args[1]), version))
        print(f"request {recv_frame(conn).hex()}", flush=True)
        conn.sendall(bytes.fromhex(args[2]))
        if args[3:] == ["close"]:
            return
    # Whatever comes next is drained until the client closes: the tests check it does.
    while conn.recv(65536):
        pass


def main() -> int:
    args = sys.argv[1:]
    version = 1
    if args[:1] == ["--version"] and len(args) > 2:
        version, args = int(args[1]), args[2:]
    if args != ["hang"] and not (args[:1] == ["answer"] and len(args) in (3, 4)):
        print(__doc__, file=sys.stderr)
        return 2
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        print("accepted", flush=True)
        with conn:
            try:
                serve(conn, args, version)
            except ConnectionError:
                pass
        print("closed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
