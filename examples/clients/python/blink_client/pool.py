"""A bounded, thread-safe pool of sync connections to one server.

Modelled on redis-py's ConnectionPool and go-redis `internal/pool`: a
checkout waits at most `checkout_timeout_s`; an idle connection is checked
before reuse (a non-blocking peek for EOF or unsolicited bytes, a PING after
`ping_after_idle_s`, retirement after `max_idle_s`); broken connections are
never returned to the idle list; new connections are opened with exponential
backoff and jitter while the server refuses them; a wrong token fails at once
and is never retried. After `os.fork()` the child's pool forgets the
parent's sockets and opens its own.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Unpack

from .backoff import Backoff
from .client import Client
from .config import AddressLike, ConnectionConfig, ConnectionOptions
from .connection import Connection
from .errors import BlinkError, ConnectError, PoolClosedError, PoolTimeoutError, ServerUnavailableError


@dataclass(frozen=True)
class PoolMetrics:
    """Counters since the pool was created, and its state when the snapshot was taken."""

    connect_attempts: int
    connect_failures: int
    connections_created: int
    connections_closed: int
    connections_broken: int
    checkouts: int
    checkout_waits: int
    checkout_timeouts: int
    in_use: int
    idle: int


DEFAULT_BACKOFF = Backoff()

_LIVE_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def _reset_pools_after_fork() -> None:
    for pool in list(_LIVE_POOLS):
        pool._forget_parent()


os.register_at_fork(after_in_child=_reset_pools_after_fork)


class ConnectionPool:
    """Up to `max_size` connections, handed out one caller at a time by `client()`.

        with ConnectionPool("127.0.0.1:25465", max_size=8) as pool:
            with pool.client() as client:
                client.set("k", "v")

    Safe to share across threads.
    """

    def __init__(
        self,
        address: AddressLike,
        *,
        max_size: int = 10,
        checkout_timeout_s: float = 1.0,
        max_idle_s: float = 300.0,
        ping_after_idle_s: float = 30.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self.config = ConnectionConfig.create(address, **options)
        self.max_size = max_size
        self.checkout_timeout_s = checkout_timeout_s
        self.max_idle_s = max_idle_s
        self.ping_after_idle_s = ping_after_idle_s
        self.backoff = backoff
        self._init_state()
        _LIVE_POOLS.add(self)

    def _init_state(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[Connection] = []
        self._in_use: set[Connection] = set()
        self._reserved = 0  # slots held by checkouts that are opening a connection
        self._closed = False
        self._consecutive_failures = 0
        self._next_connect_at_s = 0.0
        self._last_connect_error: BlinkError | None = None
        self._connect_attempts = 0
        self._connect_failures = 0
        self._created = 0
        self._closed_count = 0
        self._broken = 0
        self._checkouts = 0
        self._checkout_waits = 0
        self._checkout_timeouts = 0

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.config.address} max_size={self.max_size}>"

    def metrics(self) -> PoolMetrics:
        with self._cond:
            return PoolMetrics(
                connect_attempts=self._connect_attempts,
                connect_failures=self._connect_failures,
                connections_created=self._created,
                connections_closed=self._closed_count,
                connections_broken=self._broken,
                checkouts=self._checkouts,
                checkout_waits=self._checkout_waits,
                checkout_timeouts=self._checkout_timeouts,
                in_use=len(self._in_use) + self._reserved,
                idle=len(self._idle),
            )

    @contextmanager
    def client(self) -> Iterator[Client]:
        """Check a connection out for the `with` block; it goes back (or, if broken, away) after.

        The Client is the caller's alone inside the block and must not be kept past it.
        """
        connection = self._checkout()
        try:
            yield Client.from_connection(connection)
        finally:
            self._checkin(connection)

    def close(self) -> None:
        """Close the idle connections now and the checked-out ones when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._closed_count += len(idle)
            self._cond.notify_all()
        for connection in idle:
            connection.close()

    def _checkout(self) -> Connection:
        deadline_s = time.monotonic() + self.checkout_timeout_s
        reused = self._acquire_slot(deadline_s)
        try:
            if reused is not None:
                if self._reusable(reused):
                    return self._mark_in_use(reused)
                reused.close()
            return self._mark_in_use(self._open(deadline_s))
        finally:
            with self._cond:
                self._reserved -= 1
                self._cond.notify()

    def _acquire_slot(self, deadline_s: float) -> Connection | None:
        """Reserve a slot: an idle connection to reuse, or None for room to open one."""
        with self._cond:
            self._checkouts += 1
            waited = False
            while True:
                if self._closed:
                    raise PoolClosedError(f"{self!r} is closed")
                if self._idle:
                    self._reserved += 1
                    return self._idle.pop()
                if len(self._in_use) + self._reserved < self.max_size:
                    self._reserved += 1
                    return None
                remaining_s = deadline_s - time.monotonic()
                if remaining_s <= 0:
                    self._checkout_timeouts += 1
                    raise PoolTimeoutError(
                        f"no connection free within checkout_timeout_s={self.checkout_timeout_s} "
                        f"(all {self.max_size} in use)"
                    )
                if not waited:
                    self._checkout_waits += 1
                    waited = True
                self._cond.wait(remaining_s)

    def _mark_in_use(self, connection: Connection) -> Connection:
        with self._cond:
            self._in_use.add(connection)
        return connection

    def _reusable(self, connection: Connection) -> bool:
        if time.monotonic() - connection.last_used_s > self.max_idle_s:
            with self._cond:
                self._closed_count += 1
            return False
        if connection.is_healthy(self.ping_after_idle_s):
            return True
        with self._cond:
            self._broken += 1
            self._closed_count += 1
        return False

    def _open(self, deadline_s: float) -> Connection:
        """Connect, backing off while the server refuses or turns connections away.

        Retries only within the checkout deadline; past it, raises the last
        connect failure (ConnectError or a ServerUnavailableError).
        """
        while True:
            with self._cond:
                wait_s = self._next_connect_at_s - time.monotonic()
                last_error = self._last_connect_error
            if wait_s > 0:
                if time.monotonic() + wait_s > deadline_s and last_error is not None:
                    raise last_error.with_traceback(None)  # the reason the server is being backed off
                time.sleep(wait_s)
            with self._cond:
                self._connect_attempts += 1
            try:
                connection = Connection(self.config)
            except (ConnectError, ServerUnavailableError) as exc:
                with self._cond:
                    self._connect_failures += 1
                    self._consecutive_failures += 1
                    self._next_connect_at_s = time.monotonic() + self.backoff.delay_s(self._consecutive_failures)
                    self._last_connect_error = exc
                continue
            except BlinkError:
                with self._cond:
                    self._connect_failures += 1
                raise
            with self._cond:
                self._created += 1
                self._consecutive_failures = 0
                self._next_connect_at_s = 0.0
            return connection

    def _checkin(self, connection: Connection) -> None:
        with self._cond:
            if connection not in self._in_use:  # checked out before a fork: the parent's socket
                connection.close()
                return
            self._in_use.discard(connection)
            if connection.closed:
                self._broken += 1
                self._closed_count += 1
            elif self._closed:
                self._closed_count += 1
                connection.close()
            else:
                self._idle.append(connection)
            self._cond.notify()

    def _forget_parent(self) -> None:
        """In a forked child: drop every inherited connection (closing only the child's fds)."""
        inherited = self._idle + list(self._in_use)
        closed = self._closed
        self._init_state()
        self._closed = closed
        for connection in inherited:
            connection.close()
