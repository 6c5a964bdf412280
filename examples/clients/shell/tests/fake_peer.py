#!/usr/bin/env python3
"""A fake Blink server for the fault tests: it misbehaves on purpose.

  fake_peer.py MODE

Listens on 127.0.0.1:0, prints `listening PORT`, then serves connections one after the
other, printing `accepted`, and `closed` once the client has closed its end. MODE:

  hang            accepts and never writes
  zero_length     answers HELLO, then answers the next request with a zero length
  foreign_text    answers HELLO, then answers the next request with `-ERR\\r\\n`
  oversized       answers HELLO reporting max_frame_bytes = 4096, then answers the next
                  request with a header declaring 4097 bytes and sends no body
"""

import socket
import sys

HELLO_REQUEST = bytes.fromhex("00000002 0201")


def hello_reply(max_frame_bytes: int) -> bytes:
    """OK, version 1, no AUTH needed, the given frame limit and the default key and value
    limits (SPEC §6.3)."""
    body = bytes([0, 1, 0]) + max_frame_bytes.to_bytes(4, "big") + (1024).to_bytes(4, "big") \
        + (1048576).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + body


BAD_REPLIES = {
    "zero_length": (1052672, bytes.fromhex("00000000")),
    "foreign_text": (1052672, b"-ERR\r\n"),
    "oversized": (4096, bytes.fromhex("00001001")),
}


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


def serve(conn: socket.socket, mode: str) -> None:
    if mode != "hang":
        max_frame_bytes, bad_reply = BAD_REPLIES[mode]
        if recv_frame(conn) != HELLO_REQUEST:
            raise ValueError("the first frame is not HELLO 1")
        conn.sendall(hello_reply(max_frame_bytes))
        recv_frame(conn)
        conn.sendall(bad_reply)
    # Whatever comes next is drained until the client closes: the test checks it does.
    while conn.recv(65536):
        pass


def main() -> int:
    mode = sys.argv[1]
    if mode != "hang" and mode not in BAD_REPLIES:
        print(f"unknown mode {mode}", file=sys.stderr)
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
                serve(conn, mode)
            except ConnectionError:
                pass
        print("closed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
