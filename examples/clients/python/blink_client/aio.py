"""The asyncio client: one connection shared by many tasks, their calls pipelined.

Calls made in the same event-loop turn are written together (auto-pipelining,
as ioredis does), and one reader task matches replies to calls in FIFO order.
A call whose task is cancelled keeps its slot in that FIFO and its reply is
read and dropped, so no other call ever receives it. A call that gets no
reply within `read_timeout_s` closes the connection: every pending call then
fails with BlinkTimeoutError, and later calls with ConnectionClosedError.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from types import TracebackType
from typing import Final, TypeVar, Unpack, cast

from . import commands
from .commands import Bytes, Request, TtlResult
from .config import AddressLike, ConnectionConfig, ConnectionOptions, TcpAddress
from .errors import (
    BlinkConnectionError,
    BlinkError,
    BlinkTimeoutError,
    ConnectError,
    ConnectionClosedError,
    ProtocolError,
)
from .protocol import PROTOCOL_VERSION, HelloInfo, Limits
from .session import Session, closing_error

T = TypeVar("T")

_READ_CHUNK_BYTES: Final = 256 * 1024
#: Above this many unsent bytes a call waits for the socket to drain.
_WRITE_HIGH_WATER_BYTES: Final = 1 << 20


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


class AsyncClient:
    """Commands over one asyncio connection; safe to share among the tasks of one event loop.

    async with await AsyncClient.connect("127.0.0.1:25465") as client:
        await client.set("k", "v")
    """

    def __init__(self, config: ConnectionConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Use `await AsyncClient.connect(...)`, which also handshakes."""
        self._config = config
        self._session = Session(config)
        self._reader = reader
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._pending: deque[tuple[Request[object], asyncio.Future[object]]] = deque()
        self._outbox: list[bytes] = []
        self._flush_scheduled = False
        self._failure: BlinkConnectionError | None = None
        self._reader_task = self._loop.create_task(self._read_replies())

    @classmethod
    async def connect(cls, address: AddressLike, **options: Unpack[ConnectionOptions]) -> AsyncClient:
        """Connect and send HELLO (pipelined with AUTH when a token is given)."""
        config = ConnectionConfig.create(address, **options)
        client = cls(config, *await _open_streams(config))
        try:
            await asyncio.gather(*(client._call(request) for request in client._session.handshake()))
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
        state = "open" if self._failure is None else f"closed ({self._failure})"
        return f"<AsyncClient {self._config.address} {state}>"

    @property
    def limits(self) -> Limits:
        return self._session.limits

    @property
    def closed(self) -> bool:
        return self._failure is not None

    @property
    def pending_calls(self) -> int:
        """Calls sent (or queued) and not yet answered, including cancelled ones still owed a reply."""
        return len(self._pending)

    async def close(self) -> None:
        """Fail pending calls, stop the reader and close the socket; idempotent."""
        self._fail(ConnectionClosedError("connection closed by the client"))
        self._reader_task.cancel()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def ping(self) -> None:
        await self._call(commands.ping())

    async def hello(self, version: int = PROTOCOL_VERSION) -> HelloInfo:
        return await self._call(commands.hello(version))

    async def auth(self, token: Bytes) -> None:
        await self._call(commands.auth(token))

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

    async def _call(self, request: Request[T]) -> T:
        if self._failure is not None:
            raise ConnectionClosedError(f"{self!r} cannot send: nothing was sent") from self._failure
        self._session.check(request)
        future: asyncio.Future[object] = self._loop.create_future()
        self._pending.append((request, future))
        self._outbox.append(request.frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        try:
            if self._writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER_BYTES:
                await self._drain()
            async with asyncio.timeout(self._config.read_timeout_s):
                result = await future
        except TimeoutError:
            failure = BlinkTimeoutError(
                f"no reply within read_timeout_s={self._config.read_timeout_s}; connection closed, outcome unknown"
            )
            self._fail(failure)
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
            async with asyncio.timeout(self._config.write_timeout_s):
                await self._writer.drain()
        except TimeoutError:
            failure = BlinkTimeoutError(
                f"write made no progress within write_timeout_s={self._config.write_timeout_s}; "
                "connection closed, outcome unknown"
            )
            self._fail(failure)
            raise failure from None
        except OSError as exc:
            closed = ConnectionClosedError(f"write failed ({exc}), outcome unknown")
            self._fail(closed)
            raise closed from exc

    def _flush(self) -> None:
        self._flush_scheduled = False
        frames, self._outbox = self._outbox, []
        if self._failure is None and frames:
            self._writer.write(b"".join(frames))

    async def _read_replies(self) -> None:
        decoder = self._session.decoder
        pending = self._pending
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
                    result = self._session.complete(request, status, body)
                    pending.popleft()
                    if not future.done():
                        future.set_result(result)
        except BlinkConnectionError as exc:
            self._fail(exc)
        except OSError as exc:
            self._fail(ConnectionClosedError(f"read failed ({exc}), outcome unknown"))

    def _fail(self, failure: BlinkConnectionError) -> None:
        """Close the connection and fail every pending call with `failure`."""
        if self._failure is None:
            self._failure = failure
        pending = list(self._pending)
        self._pending.clear()
        self._outbox.clear()
        for _, future in pending:
            if not future.done():
                future.set_exception(failure)
        self._writer.close()
