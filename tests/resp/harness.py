"""Shared plumbing of the RESP suite: endpoints, raw connections, a RESP2/RESP3 reply reader.

Owns no test cases. differential.py, hardening.py and peers.py import it; test.sh starts
the servers and passes their addresses in the environment:

    RESP_REF_TCP / RESP_REF_UNIX       the reference redis-server
    RESP_TGT_TCP / RESP_TGT_UNIX       the server under test (Blink, or Redis with RESP_TARGET=redis)
    RESP_REF_AUTH_TCP / RESP_TGT_AUTH_TCP   the same pair started with a password / token
    RESP_AUTH_TOKEN                    that password / token
    RESP_TARGET                        "blink" (default) or "redis"

A reply is read whole by its framing (never by timing): `Reader.reply()` returns the raw
bytes of exactly one reply and its parsed value, so comparisons can be byte-exact.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

#: How long one reply may take before the step is recorded as a timeout.
REPLY_TIMEOUT_S = 3.0
#: How long a connection may stay open after the server should have closed it.
EOF_TIMEOUT_S = 3.0
#: Largest reply the reader accepts (the biggest case reply is a 1 MiB value).
MAX_REPLY_BYTES = 8 * 1024 * 1024

Arg = bytes | str | int


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"{name} is not set: run this through tests/resp/test.sh")
    return value


def target_kind() -> str:
    return os.environ.get("RESP_TARGET", "blink")


def as_bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    return str(arg).encode()


def encode(args: list[Arg]) -> bytes:
    """One multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = as_bytes(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def esc(data: bytes) -> str:
    """Bytes as a readable, escaped one-line string (\\r, \\n, \\xNN)."""
    out = []
    for byte in data:
        ch = chr(byte)
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def connect(address: str, timeout_s: float = REPLY_TIMEOUT_S) -> socket.socket:
    """`tcp:host:port` or `unix:/path` (loopback and local sockets only)."""
    kind, _, rest = address.partition(":")
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        assert host in ("127.0.0.1", "localhost", "::1"), f"not loopback: {address}"
        sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    elif kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        sock.connect(rest)
    else:
        raise ValueError(f"bad address {address!r}")
    return sock


class Incomplete(Exception):
    """The buffer does not yet hold a whole reply."""


class Closed(Exception):
    """The peer closed the connection (EOF) before a whole reply arrived."""

    def __init__(self, partial: bytes) -> None:
        super().__init__("EOF")
        self.partial = partial


class TimedOut(Exception):
    """No whole reply within the timeout."""

    def __init__(self, partial: bytes) -> None:
        super().__init__("timeout")
        self.partial = partial


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    return buf[pos:end], end + 2


def parse(buf: bytes, pos: int = 0) -> tuple[Any, int]:
    """Parse one RESP2/RESP3 value at `pos`: returns ((type, payload), next_pos).

    Payloads: bytes for + - ( , # _ and bulk-like types (None for a null bulk or array),
    int for `:`, a list of values for * ~ >, a list of (key, value) pairs for % and |.
    An attribute (`|`) is returned as its own value wrapping the reply that follows it.
    """
    if pos >= len(buf):
        raise Incomplete
    kind = chr(buf[pos])
    head, pos = _line(buf, pos + 1)
    if kind in "+-(,#_":
        return (kind, head), pos
    if kind == ":":
        return (kind, int(head)), pos
    if kind in "$!=":
        length = int(head)
        if length < 0:
            return (kind, None), pos
        if len(buf) < pos + length + 2:
            raise Incomplete
        if buf[pos + length : pos + length + 2] != b"\r\n":
            raise ValueError("bulk not followed by CRLF")
        return (kind, buf[pos : pos + length]), pos + length + 2
    if kind in "*~>":
        count = int(head)
        if count < 0:
            return (kind, None), pos
        items = []
        for _ in range(count):
            item, pos = parse(buf, pos)
            items.append(item)
        return (kind, items), pos
    if kind in "%|":
        pairs = []
        for _ in range(int(head)):
            key, pos = parse(buf, pos)
            value, pos = parse(buf, pos)
            pairs.append((key, value))
        if kind == "|":
            inner, pos = parse(buf, pos)
            return (kind, (pairs, inner)), pos
        return (kind, pairs), pos
    raise ValueError(f"unknown RESP type byte {buf[pos - 1 : pos]!r}")


class Reader:
    """A connection plus its unparsed input: replies are cut by their framing."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(self.buf)
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimedOut(self.buf) from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(self.buf)
        self.buf += chunk
        if len(self.buf) > MAX_REPLY_BYTES:
            raise ValueError("reply larger than MAX_REPLY_BYTES")

    def reply(self, timeout_s: float = REPLY_TIMEOUT_S) -> tuple[bytes, Any]:
        """The raw bytes and parsed value of the next whole reply."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value, end = parse(self.buf)
            except Incomplete:
                self._fill(deadline)
                continue
            raw, self.buf = self.buf[:end], self.buf[end:]
            return raw, value

    def command(self, *args: Arg) -> tuple[bytes, Any]:
        self.send(encode(list(args)))
        return self.reply()

    def wait_eof(self, timeout_s: float = EOF_TIMEOUT_S) -> bytes | None:
        """Bytes received before EOF, or None if the connection stayed open (timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._fill(deadline)
            except Closed:
                data, self.buf = self.buf, b""
                return data
            except TimedOut:
                return None

    def quiet_for(self, duration_s: float) -> bytes:
        """Whatever arrives within `duration_s` (used to show that nothing was sent yet)."""
        deadline = time.monotonic() + duration_s
        try:
            while True:
                self._fill(deadline)
        except (TimedOut, Closed):
            pass
        return self.buf

    def close(self) -> None:
        self.sock.close()


def open_reader(address: str) -> Reader:
    return Reader(connect(address))


@dataclass
class Tally:
    """Per-check PASS/FAIL lines and the closing `NAME: N passed, M failed`."""

    name: str
    passed: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def check(self, label: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS {label}")
        else:
            self.failed += 1
            self.failures.append((label, detail))
            print(f"FAIL {label}")
            if detail:
                for line in detail.splitlines():
                    print(f"    {line}")
        return ok

    def finish(self) -> int:
        counts = os.environ.get("RESP_COUNTS_FILE")
        if counts:
            with open(counts, "a") as out:
                out.write(f"{self.name} {self.passed} {self.failed}\n")
        report = os.environ.get("RESP_FAILURES_FILE")
        if report and self.failures:
            with open(report, "a") as out:
                for label, detail in self.failures:
                    out.write(f"### {self.name}: {label}\n\n```\n{detail}\n```\n\n")
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1
