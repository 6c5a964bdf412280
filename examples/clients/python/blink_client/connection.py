"""One sync Blink connection: a non-blocking socket, its Session, and the request/reply exchange.

Modelled on redis-py's `connection.py`. `execute()` writes a whole batch in
one go while reading replies as they arrive, so no batch can deadlock on full
socket buffers (SPEC §8), and matches the replies to the requests in order.
Any failure of the stream (EOF, a closing status, a broken frame, a timeout,
an interrupted call) closes the connection and fails every request still
waiting with the same error: a reply can never be left for a later call.
"""

from __future__ import annotations

import select
import time
from collections.abc import Sequence
from typing import Final, TypeVar, cast

from . import commands, transport
from .commands import Request
from .config import ConnectionConfig
from .errors import BlinkConnectionError, BlinkError, BlinkTimeoutError, ConnectionClosedError
from .session import Session

T = TypeVar("T")

_READ_CHUNK_BYTES: Final = 256 * 1024
_POLL_READ: Final = select.POLLIN
_POLL_READ_WRITE: Final = select.POLLIN | select.POLLOUT


class Connection:
    """A connection to one server, handshaken (HELLO, AUTH) when constructed.

    Not thread-safe: one thread uses it at a time (ConnectionPool hands each
    out to one caller).
    """

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.session = Session(config)
        self._failure: BlinkConnectionError | None = None
        self._read_buffer = bytearray(_READ_CHUNK_BYTES)
        self._read_view = memoryview(self._read_buffer)
        self._sock = transport.open_socket(config.address, config.connect_timeout_s)
        self._poller = select.poll()
        self._poller.register(self._sock, _POLL_READ)
        self._writing = False
        self.created_at_s = time.monotonic()
        self.last_used_s = self.created_at_s
        try:
            for result in self.execute(self.session.handshake()):
                if isinstance(result, BlinkError):
                    raise result
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        state = "open" if self._failure is None else f"closed ({self._failure})"
        return f"<Connection {self.config.address} {state}>"

    @property
    def closed(self) -> bool:
        return self._failure is not None

    def close(self) -> None:
        """Close the socket; idempotent."""
        if self._failure is None:
            self._failure = ConnectionClosedError("connection closed by the client")
        self._sock.close()

    def call(self, request: Request[T]) -> T:
        """Check, send and complete one request; raise its error, if any."""
        self.session.check(request)
        (result,) = self.execute((request,))
        if isinstance(result, BlinkError):
            raise result
        return cast(T, result)

    def execute(self, requests: Sequence[Request[object]]) -> list[object]:
        """Send the requests in one write and return one result per request, in order.

        A result is the command's value or the BlinkError it failed with;
        requests must have passed `session.check` already.
        """
        if self._failure is not None:
            raise ConnectionClosedError(f"{self!r} cannot send: nothing was sent") from self._failure
        results: list[object] = []
        try:
            self._exchange(requests, results)
        except BlinkConnectionError as exc:
            self._fail(exc)
            results.extend([exc] * (len(requests) - len(results)))
        except BaseException:
            self._fail(ConnectionClosedError("call interrupted with replies pending, outcome unknown"))
            raise
        self.last_used_s = time.monotonic()
        return results

    def is_healthy(self, ping_after_idle_s: float) -> bool:
        """Cheap liveness check before reuse: a peek for EOF, and a PING after a long idle."""
        if self._failure is not None:
            return False
        if transport.peer_closed(self._sock):
            self._fail(ConnectionClosedError("the server closed the idle connection"))
            return False
        if time.monotonic() - self.last_used_s >= ping_after_idle_s:
            try:
                self.call(commands.ping())
            except BlinkError:
                return False
        return True

    def _fail(self, failure: BlinkConnectionError) -> None:
        self._failure = failure
        self._sock.close()

    def _exchange(self, requests: Sequence[Request[object]], results: list[object]) -> None:
        out = requests[0].frame if len(requests) == 1 else b"".join([r.frame for r in requests])
        view = memoryview(out)
        sent = 0
        complete = self.session.complete
        next_reply = self.session.decoder.next_reply
        while True:
            if sent < len(out):
                sent = self._send_some(view, sent)
            while len(results) < len(requests) and (reply := next_reply()) is not None:
                results.append(complete(requests[len(results)], reply[0], reply[1]))
            if len(results) == len(requests):
                return
            self._wait(sent < len(out), len(requests) - len(results), len(requests))
            self._receive()

    def _send_some(self, view: memoryview, sent: int) -> int:
        """Write what the socket takes now; watch for writability while bytes remain."""
        try:
            sent += self._sock.send(view[sent:])
        except BlockingIOError:
            pass
        except OSError as exc:
            raise ConnectionClosedError(f"write failed ({exc}), outcome unknown") from exc
        writing = sent < len(view)
        if writing != self._writing:
            self._writing = writing
            self._poller.modify(self._sock, _POLL_READ_WRITE if writing else _POLL_READ)
        return sent

    def _wait(self, writing: bool, pending: int, expected: int) -> None:
        """Block until the socket is readable (or writable while writing), or time out."""
        config = self.config
        timeout_s = config.write_timeout_s if writing else config.read_timeout_s
        if self._poller.poll(timeout_s * 1000):
            return
        if writing:
            reason = f"write made no progress within write_timeout_s={config.write_timeout_s}"
        else:
            reason = f"no reply within read_timeout_s={config.read_timeout_s}"
        raise BlinkTimeoutError(
            f"{reason} ({pending} of {expected} replies pending); connection closed, outcome unknown"
        )

    def _receive(self) -> None:
        try:
            received = self._sock.recv_into(self._read_buffer)
        except BlockingIOError:
            return
        except OSError as exc:
            raise ConnectionClosedError(f"read failed ({exc}), outcome unknown") from exc
        if received == 0:
            raise ConnectionClosedError("connection closed by the server, outcome unknown")
        self.session.decoder.feed(self._read_view[:received])
