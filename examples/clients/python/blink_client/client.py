"""The sync client: the command API over one Connection, used as a context manager."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Unpack

from . import commands
from .batch import Batch
from .commands import SCAN_COUNT_DEFAULT, Bytes, ScanPage, TtlResult
from .config import AddressLike, ConnectionConfig, ConnectionOptions
from .connection import Connection
from .protocol import PROTOCOL_VERSION, HelloInfo, Limits


class Client:
    """Commands on one connection to one server.

    `Client(address, **options)` connects at once (HELLO, and AUTH when a
    token is given); `with` closes it. A Client is for one thread at a time:
    share a ConnectionPool across threads instead. "Not found" is a value:
    `get` returns None, `delete`, `expire` and `replace` return False, and so
    does `add` when the key exists. The version-2 commands (`add`, `replace`,
    `incr`, `append`, `flush`, `scan`) raise UnknownCommandError without
    sending anything when the server negotiated version 1.
    """

    _connection: Connection

    def __init__(self, address: AddressLike, **options: Unpack[ConnectionOptions]) -> None:
        self._connection = Connection(ConnectionConfig.create(address, **options))

    @classmethod
    def from_connection(cls, connection: Connection) -> Client:
        """A client over an open connection (how ConnectionPool hands connections out)."""
        client = object.__new__(cls)
        client._connection = connection
        return client

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self._connection!r}>"

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def limits(self) -> Limits:
        """The limits the server reported in HELLO."""
        return self._connection.session.limits

    @property
    def protocol_version(self) -> int:
        """The version the last HELLO negotiated: 2, or 1 with a version-1 server (or after `hello(1)`)."""
        return self._connection.session.version

    @property
    def closed(self) -> bool:
        return self._connection.closed

    def close(self) -> None:
        self._connection.close()

    def batch(self) -> Batch:
        """A new pipeline on this client's connection."""
        return Batch(self._connection)

    def ping(self) -> None:
        self._connection.call(commands.ping())

    def hello(self, version: int = PROTOCOL_VERSION) -> HelloInfo:
        """Ask again for the version and limits (the client already did at connect)."""
        return self._connection.call(commands.hello(version))

    def auth(self, token: Bytes) -> None:
        self._connection.call(commands.auth(token))

    def get(self, key: Bytes) -> bytes | None:
        return self._connection.call(commands.get(key))

    def set(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> None:
        """Store `value` under `key`, expiring after `ttl_ms` (0: never)."""
        self._connection.call(commands.set(key, value, ttl_ms))

    def delete(self, key: Bytes) -> bool:
        """Remove `key`; False if it did not exist."""
        return self._connection.call(commands.delete(key))

    def expire(self, key: Bytes, ttl_ms: int) -> bool:
        """Give `key` a new TTL (0 clears it); False if it does not exist."""
        return self._connection.call(commands.expire(key, ttl_ms))

    def ttl(self, key: Bytes) -> TtlResult:
        """Milliseconds left (a full u64), PERSISTENT for a key without TTL, None if missing."""
        return self._connection.call(commands.ttl(key))

    def stats(self) -> dict[str, int]:
        return self._connection.call(commands.stats())

    def add(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> bool:
        """Store `value` under `key` only if the key does not exist; False (nothing changed) if it does."""
        return self._connection.call(commands.add(key, value, ttl_ms))

    def replace(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> bool:
        """Store `value` under `key` only if the key exists, with a new TTL as `set` does; False if it does not."""
        return self._connection.call(commands.replace(key, value, ttl_ms))

    def incr(self, key: Bytes, delta: int = 1) -> int:
        """Add `delta` (an i64, negative to decrement) to the decimal integer under `key`; the new value.

        A missing key counts as 0 and is created without a TTL; an existing key keeps its TTL.
        NotIntegerError if the value is not a decimal i64 or the result would overflow.
        """
        return self._connection.call(commands.incr(key, delta))

    def append(self, key: Bytes, suffix: Bytes) -> int:
        """Append `suffix` to the value under `key` (created if missing); the value's new length in bytes."""
        return self._connection.call(commands.append(key, suffix))

    def flush(self) -> None:
        """Remove every key."""
        self._connection.call(commands.flush())

    def scan(self, cursor: int = 0, count: int = SCAN_COUNT_DEFAULT, prefix: Bytes = b"") -> ScanPage:
        """One page of a walk over the keys starting with `prefix`: (next_cursor, keys).

        Start with cursor 0 and pass each next_cursor back until it is 0. `count`
        is a hint: a page may hold fewer keys (even none) before the end, or a
        few more. Every key present for the whole walk is returned exactly once.
        """
        return self._connection.call(commands.scan(cursor, count, prefix))

    def scan_iter(self, prefix: Bytes = b"", count: int = SCAN_COUNT_DEFAULT) -> Iterator[bytes]:
        """Every key starting with `prefix`, walking `scan` pages until the cursor is 0."""
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, count, prefix)
            yield from keys
            if cursor == 0:
                return
