"""The explicit pipelining API: queue many requests, send them in one write, get the results in order."""

from __future__ import annotations

from typing import Any

from . import commands
from .commands import SCAN_COUNT_DEFAULT, Bytes, Request
from .connection import Connection
from .errors import BlinkError
from .protocol import PROTOCOL_VERSION


class Batch:
    """Requests queued on one connection until `execute()`.

    Each request is checked against the server's limits and the negotiated
    protocol version as it is queued, so an oversized key or value, or a
    version-2 command on a version-1 connection, raises here and nothing of
    the batch is sent. Methods return the batch, so calls chain.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._requests: list[Request[object]] = []

    def __len__(self) -> int:
        return len(self._requests)

    def _queue(self, request: Request[object]) -> Batch:
        self._connection.session.check(request)
        self._requests.append(request)
        return self

    def ping(self) -> Batch:
        return self._queue(commands.ping())

    def hello(self, version: int = PROTOCOL_VERSION) -> Batch:
        return self._queue(commands.hello(version))

    def auth(self, token: Bytes) -> Batch:
        return self._queue(commands.auth(token))

    def get(self, key: Bytes) -> Batch:
        return self._queue(commands.get(key))

    def set(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> Batch:
        return self._queue(commands.set(key, value, ttl_ms))

    def delete(self, key: Bytes) -> Batch:
        return self._queue(commands.delete(key))

    def expire(self, key: Bytes, ttl_ms: int) -> Batch:
        return self._queue(commands.expire(key, ttl_ms))

    def ttl(self, key: Bytes) -> Batch:
        return self._queue(commands.ttl(key))

    def stats(self) -> Batch:
        return self._queue(commands.stats())

    def add(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> Batch:
        return self._queue(commands.add(key, value, ttl_ms))

    def replace(self, key: Bytes, value: Bytes, ttl_ms: int = 0) -> Batch:
        return self._queue(commands.replace(key, value, ttl_ms))

    def incr(self, key: Bytes, delta: int = 1) -> Batch:
        return self._queue(commands.incr(key, delta))

    def append(self, key: Bytes, suffix: Bytes) -> Batch:
        return self._queue(commands.append(key, suffix))

    def flush(self) -> Batch:
        return self._queue(commands.flush())

    def scan(self, cursor: int = 0, count: int = SCAN_COUNT_DEFAULT, prefix: Bytes = b"") -> Batch:
        return self._queue(commands.scan(cursor, count, prefix))

    def execute(self, *, raise_on_error: bool = True) -> list[Any]:
        """Send every queued request in one write; return their results in order and empty the batch.

        With `raise_on_error` (the default) the first failed request's error
        is raised once every reply has been read; otherwise each failure
        stands in its request's place in the list. If the connection fails,
        every request without a reply fails with that connection error.
        """
        requests, self._requests = self._requests, []
        if not requests:
            return []
        results = self._connection.execute(requests)
        if raise_on_error:
            for result in results:
                if isinstance(result, BlinkError):
                    raise result
        return results
