"""The asyncio client: one connection shared by many tasks, their calls pipelined.

Calls made in the same event-loop turn are written together (auto-pipelining,
as ioredis does), and one reader task matches replies to calls in FIFO order.
A call whose task is cancelled keeps its slot in that FIFO and its reply is
read and dropped, so no other call ever receives it. A call that gets no
reply within `read_timeout_s` closes the connection: every pending call then
fails with BlinkTimeoutError.

A lost connection is replaced lazily: the next call reconnects (HELLO and AUTH
again) and concurrent calls share that one attempt. A failed attempt, or a
connection the server turned away (ERR_TOO_MANY_CONNECTIONS, ERR_BUSY,
ERR_SHUTTING_DOWN), starts a backoff window (the pool's Backoff: exponential,
capped, with jitter) during which calls fail at once with ConnectError rather
than wait. ERR_AUTH_FAILED is a configuration error: the client never
reconnects after it, and every later call fails with AuthFailedError.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Final, TypeVar, Unpack, cast

from . import commands
from .backoff import Backoff
from .commands import SCAN_COUNT_DEFAULT, Bytes, Request, ScanPage, TtlResult
from .config import AddressLike, ConnectionConfig, ConnectionOptions, TcpAddress
from .errors import (
    AuthFailedError,
    BlinkConnectionError,
    BlinkError,
    BlinkTimeoutError,
    ConnectError,
    ConnectionClosedError,
    ProtocolError,
    ServerUnavailableError,
)
from .protocol import PROTOCOL_VERSION, HelloInfo, Limits
from .session import Session, closing_error

T = TypeVar("T")

_READ_CHUNK_BYTES: Final = 256 * 1024
#: Above this many unsent bytes a call waits for the socket to drain.
_WRITE_HIGH_WATER_BYTES: Final = 1 << 20
DEFAULT_BACKOFF: Final = Backoff()


async def _open_streams(config: ConnectionConfig) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = config.address
    try:
        async with asyncio.timeout(config.connect_timeout_s):
            if isinstance(address, TcpAddress):
                reader, writer = await asyncio.open_connection(address.host, address.port)
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            else:
                reader, writer = await asyncio.open_unix_connection(address.path)
    except TimeoutError as exc:
        raise BlinkTimeoutError(f"connecting to {address} timed out after {config.connect_timeout_s} s") from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {address}: {exc.strerror or exc}") from exc
    return reader, writer


class _Link:
    """One connection: its streams, Session, reply FIFO and reader task. Never reused once failed."""

    def __init__(
        self,
        config: ConnectionConfig,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_failure: Callable[[_Link, BlinkConnectionError], None],
    ) -> None:
        self.config = config
        self.session = Session(config)
        self.failure: BlinkConnectionError | None = None
        self._reader = reader
        self._writer = writer
        self._on_failure = on_failure
        self._loop = asyncio.get_running_loop()
        self.pending: deque[tuple[Request[object], asyncio.Future[object]]] = deque()
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self._reader_task = self._loop.create_task(self._read_replies())

    @classmethod
    async def open(cls, config: ConnectionConfig, on_failure: Callable[[_Link, BlinkConnectionError], None]) -> _Link:
        """Connect and handshake (HELLO, pipelined with AUTH when a token is configured)."""
        link = cls(config, *await _open_streams(config), on_failure)
        await link.handshake()
        return link

    async def handshake(self) -> None:
        try:
            await asyncio.gather(*(self.call(request) for request in self.session.handshake()))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self.fail(ConnectionClosedError("connection closed by the client"))
        self._reader_task.cancel()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def call(self, request: Request[T]) -> T:
        if self.failure is not None:
            raise ConnectionClosedError(f"connection to {self.config.address} closed: nothing was sent") from (
                self.failure
            )
        self.session.check(request)
        future: asyncio.Future[object] = self._loop.create_future()
        self.pending.append((request, future))
        self._outbox.append(request.frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        try:
            if self._writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER_BYTES:
                await self._drain()
            async with asyncio.timeout(self.config.read_timeout_s):
                result = await future
        except TimeoutError:
            failure = BlinkTimeoutError(
                f"no reply within read_timeout_s={self.config.read_timeout_s}; connection closed, outcome unknown"
            )
            self.fail(failure)
            raise failure from None
        except BaseException:
            if not future.done():
                future.cancel()  # the caller gave up: its slot stays, its reply is dropped
            elif not future.cancelled():
                future.exception()  # retrieved: the caller sees the error that interrupted it
            raise
        if isinstance(result, BlinkError):
            raise result
        return cast(T, result)

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self.config.write_timeout_s):
                await self._writer.drain()
        except TimeoutError:
            failure = BlinkTimeoutError(
                f"write made no progress within write_timeout_s={self.config.write_timeout_s}; "
                "connection closed, outcome unknown"
            )
            self.fail(failure)
            raise failure from None
        except OSError as exc:
            closed = ConnectionClosedError(f"write failed ({exc}), outcome unknown")
            self.fail(closed)
            raise closed from exc

    def _flush(self) -> None:
        self._flush_scheduled = False
        frames, self._outbox = self._outbox, []
        if self.failure is None and frames:
            self._writer.write(b"".join(frames))

    async def _read_replies(self) -> None:
        decoder = self.session.decoder
        pending = self.pending
        try:
            while True:
                data = await self._reader.read(_READ_CHUNK_BYTES)
                if not data:
                    raise ConnectionClosedError("connection closed by the server, outcome unknown")
                decoder.feed(data)
                while (reply := decoder.next_reply()) is not None:
                    status, body = reply
                    if not pending:
                        if status >= 0x80:
                            raise closing_error(status, body)
                        raise ProtocolError(f"a reply (status 0x{status:02x}) arrived with no call pending")
                    request, future = pending[0]
                    result = self.session.complete(request, status, body)
                    pending.popleft()
                    if not future.done():
                        future.set_result(result)
        except BlinkConnectionError as exc:
            self.fail(exc)
        except OSError as exc:
            self.fail(ConnectionClosedError(f"read failed ({exc}), outcome unknown"))

    def fail(self, failure: BlinkConnectionError) -> None:
        """Close the connection and fail every pending call with `failure`."""
        first = self.failure is None
        if first:
            self.failure = failure
        pending = list(self.pending)
        self.pending.clear()
        self._outbox.clear()
        for _, future in pending:
            if not future.done():
                future.set_exception(failure)
        self._writer.close()
        if first:
            self._on_failure(self, failure)


class AsyncClient:
    """Commands over one asyncio connection; safe to share among the tasks of one event loop.

    async with await AsyncClient.connect("127.0.0.1:25465") as client:
        await client.set("k", "v")

    After the connection is lost, the next call reconnects (see the module docstring).
    """

    def __init__(
        self,
        config: ConnectionConfig,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        """Use `await AsyncClient.connect(...)`, which also handshakes."""
        self._config = config
        self.backoff = backoff
        self._loop = asyncio.get_running_loop()
        self._closed_by_client = False
        self._auth_failure: AuthFailedError | None = None
        self._failures = 0  # consecutive failed connect attempts (and turn-aways)
        self._next_attempt_at = 0.0  # loop.time() before which calls fail fast
        self._last_error: BlinkError | None = None
        self._reconnecting: asyncio.Task[_Link] | None = None
        self._reconnects = 0
        self._link = _Link(config, reader, writer, self._link_failed)

    @classmethod
    async def connect(
        cls, address: AddressLike, *, backoff: Backoff = DEFAULT_BACKOFF, **options: Unpack[ConnectionOptions]
    ) -> AsyncClient:
        """Connect and send HELLO (pipelined with AUTH when a token is given).

        `backoff` paces reconnects after the connection is lost.
        """
        config = ConnectionConfig.create(address, **options)
        client = cls(config, *await _open_streams(config), backoff=backoff)
        try:
            await client._link.handshake()
        except BaseException:
            await client.close()
            raise
        return client

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        failure = self._link.failure
        state = "open" if failure is None else f"closed ({failure})"
        return f"<AsyncClient {self._config.address} {state}>"

    @property
    def limits(self) -> Limits:
        return self._link.session.limits

    @property
    def protocol_version(self) -> int:
        """The version the current connection's last HELLO negotiated (each reconnect sends HELLO 2 again)."""
        return self._link.session.version

    @property
    def closed(self) -> bool:
        """True while there is no open connection: after close(), or until the next call reconnects."""
        return self._link.failure is not None

    @property
    def pending_calls(self) -> int:
        """Calls sent (or queued) and not yet answered, including cancelled ones still owed a reply."""
        return len(self._link.pending)

    @property
    def reconnects(self) -> int:
        """Connections opened to replace a lost one."""
        return self._reconnects

    async def close(self) -> None:
        """Fail pending calls, stop the reader and close the socket; idempotent. No reconnect follows."""
        self._closed_by_client = True
        reconnecting = self._reconnecting
        if reconnecting is not None:
            reconnecting.cancel()
            await asyncio.wait([reconnecting])
        await self._link.close()

    async def ping(self) -> None:
        await self._call(commands.ping())

    async def hello(self, version: int = PROTOCOL_VERSION) -> HelloInfo:
        return await self._call(commands.hello(version))

    async def auth(self, token: Bytes) -> None:
        """AUTH on the current connection; a token that succeeds is also sent on reconnects."""
        await self._call(commands.auth(token))
        self._config = dataclasses.replace(self._config, token=token.encode() if isinstance(token, str) else token)

    async def get(self, key: Bytes) -> bytes | None:
        return await self._call(commands.get(key))

    async def set(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> None:
        await self._call(commands.set(key, value, ttl_ms))

    async def delete(self, key: Bytes) -> bool:
        return await self._call(commands.delete(key))

    async def expire(self, key: Bytes, ttl_ms: int) -> bool:
        return await self._call(commands.expire(key, ttl_ms))

    async def ttl(self, key: Bytes) -> TtlResult:
        return await self._call(commands.ttl(key))

    async def stats(self) -> dict[str, int]:
        return await self._call(commands.stats())

    async def add(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> bool:
        """Store only if the key does not exist; False if it does (see Client.add)."""
        return await self._call(commands.add(key, value, ttl_ms))

    async def replace(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> bool:
        """Store only if the key exists; False if it does not (see Client.replace)."""
        return await self._call(commands.replace(key, value, ttl_ms))

    async def incr(self, key: Bytes, delta: int = 1) -> int:
        """Add `delta` to the integer under `key`; the new value (see Client.incr)."""
        return await self._call(commands.incr(key, delta))

    async def append(self, key: Bytes, suffix: Bytes) -> int:
        """Append `suffix` to the value under `key`; the new length (see Client.append)."""
        return await self._call(commands.append(key, suffix))

    async def flush(self) -> None:
        """Remove every key."""
        await self._call(commands.flush())

    async def scan(self, cursor: int = 0, count: int = SCAN_COUNT_DEFAULT, prefix: Bytes = b"") -> ScanPage:
        """One page of a key walk: (next_cursor, keys) (see Client.scan)."""
        return await self._call(commands.scan(cursor, count, prefix))

    async def scan_iter(self, prefix: Bytes = b"", count: int = SCAN_COUNT_DEFAULT) -> AsyncIterator[bytes]:
        """Every key starting with `prefix`, walking `scan` pages until the cursor is 0.

        Cursors stay valid across connections (SPEC §5.2), so a walk survives a reconnect.
        """
        cursor = 0
        while True:
            cursor, keys = await self.scan(cursor, count, prefix)
            for key in keys:
                yield key
            if cursor == 0:
                return

    async def _call(self, request: Request[T]) -> T:
        link = self._link
        if link.failure is not None:
            link = await self._relink()
        return await link.call(request)

    # Reconnecting

    def _link_failed(self, link: _Link, failure: BlinkConnectionError) -> None:
        """The connection failed: a turn-away starts a backoff; a wrong token stops reconnects for good."""
        if link is not self._link:
            return  # a new connection failing its handshake: _reconnect accounts for it
        if isinstance(failure, AuthFailedError):
            self._auth_failure = failure
        elif isinstance(failure, ServerUnavailableError):
            self._backing_off(failure)

    def _backing_off(self, error: BlinkError) -> None:
        self._failures += 1
        self._last_error = error
        self._next_attempt_at = self._loop.time() + self.backoff.delay_s(self._failures)

    async def _relink(self) -> _Link:
        """A new connection for a call, or an error at once (closed, wrong token, in the backoff window)."""
        if self._closed_by_client:
            raise ConnectionClosedError(f"{self!r} cannot send: nothing was sent") from self._link.failure
        if self._auth_failure is not None:
            raise AuthFailedError(
                f"not reconnecting to {self._config.address}: the token was refused "
                f"({self._auth_failure}); fix the configuration and make a new client",
                status=self._auth_failure.status,
            ) from self._auth_failure
        if self._reconnecting is None:
            wait_s = self._next_attempt_at - self._loop.time()
            if wait_s > 0:
                raise ConnectError(
                    f"not connected to {self._config.address}: next reconnect in {wait_s:.3f} s "
                    f"after {self._failures} failure(s) (last: {self._last_error}); nothing was sent"
                ) from self._last_error
            self._reconnecting = self._loop.create_task(self._reconnect())
            self._reconnecting.add_done_callback(_retrieve)
        return await asyncio.shield(self._reconnecting)

    async def _reconnect(self) -> _Link:
        try:
            link = await _Link.open(self._config, self._link_failed)
        except AuthFailedError as exc:
            self._auth_failure = exc
            raise
        except BlinkError as exc:
            self._backing_off(exc)
            raise
        finally:
            self._reconnecting = None
        if self._closed_by_client:
            await link.close()
            raise ConnectionClosedError(f"{self!r} cannot send: nothing was sent (closed while reconnecting)")
        self._failures = 0
        self._last_error = None
        self._next_attempt_at = 0.0
        self._reconnects += 1
        self._link = link
        return link


def _retrieve(task: asyncio.Task[_Link]) -> None:
    """Mark a reconnect task's exception retrieved: its callers (if any are left) raised it."""
    if not task.cancelled():
        task.exception()
