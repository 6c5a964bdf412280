"""A bounded, thread-safe pool of sync connections to one server.

Modelled on redis-py's ConnectionPool and go-redis `internal/pool`: a
checkout waits at most `checkout_timeout_s`; an idle connection is checked
before reuse (a non-blocking peek for EOF or unsolicited bytes, a PING after
`ping_after_idle_s`, retirement after `max_idle_s`); broken connections are
never returned to the idle list; a connection older than its lifetime
(`max_lifetime_s` less a random 0-10%, so connections opened together do not
all expire together) is closed on return or before reuse; new connections are
opened with exponential backoff and jitter while the server refuses them; a
wrong token fails at once and is never retried. `min_idle` connections are
kept warm by a background thread (opened at creation and replenished after a
checkout or a discard, best effort: it never waits out a backoff, and
callers never wait for it). After `os.fork()` the child's pool forgets the
parent's sockets and opens its own.
"""

from __future__ import annotations

import math
import os
import random
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
    #: Connections closed because they outlived `max_lifetime_s` (also counted in connections_closed).
    connections_expired: int = 0
    #: Connections opened in the background to keep `min_idle` warm (also counted in connections_created).
    connections_warmed: int = 0


DEFAULT_BACKOFF = Backoff()
#: A connection's lifetime is `max_lifetime_s` less a uniform 0..10% of it.
LIFETIME_JITTER = 0.1

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
        min_idle: int = 0,
        max_lifetime_s: float | None = 1800.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if not 0 <= min_idle <= max_size:
            raise ValueError(f"min_idle must be from 0 to max_size={max_size}, got {min_idle}")
        if max_lifetime_s is not None and not max_lifetime_s > 0:
            raise ValueError(f"max_lifetime_s must be positive or None, got {max_lifetime_s}")
        self.config = ConnectionConfig.create(address, **options)
        self.max_size = max_size
        self.checkout_timeout_s = checkout_timeout_s
        self.max_idle_s = max_idle_s
        self.ping_after_idle_s = ping_after_idle_s
        self.min_idle = min_idle
        self.max_lifetime_s = max_lifetime_s
        self.backoff = backoff
        self._init_state()
        _LIVE_POOLS.add(self)
        self._maybe_warm()

    def _init_state(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[Connection] = []
        self._in_use: set[Connection] = set()
        self._reserved = 0  # slots held by checkouts that are opening a connection
        self._warming = 0  # slots held by the warmer while it opens a connection
        self._warmer: threading.Thread | None = None
        self._retire_at_s: dict[Connection, float] = {}
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
        self._expired = 0
        self._warmed = 0

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.config.address} max_size={self.max_size} min_idle={self.min_idle}>"

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
                connections_expired=self._expired,
                connections_warmed=self._warmed,
            )

    @contextmanager
    def client(self) -> Iterator[Client]:
        """Check a connection out for the `with` block, and return it to the pool after.

        A connection that broke, or that the block took to another protocol version with
        `hello`, is closed instead: the next caller expects the version the pool negotiated.
        The Client is the caller's alone inside the block and must not be kept past it.
        """
        connection = self._checkout()
        lent_at_version = connection.session.version
        try:
            yield Client.from_connection(connection)
        finally:
            self._checkin(connection, lent_at_version)

    def close(self) -> None:
        """Close the idle connections now and the checked-out ones when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._closed_count += len(idle)
            for connection in idle:
                self._retire_at_s.pop(connection, None)
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
                self._discard(reused)
            return self._mark_in_use(self._open(deadline_s))
        finally:
            with self._cond:
                self._reserved -= 1
                self._cond.notify()
            self._maybe_warm()

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
                if self._total() < self.max_size:
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

    def _total(self) -> int:
        """Connections open or being opened; call with the lock held."""
        return len(self._idle) + len(self._in_use) + self._reserved + self._warming

    def _mark_in_use(self, connection: Connection) -> Connection:
        with self._cond:
            self._in_use.add(connection)
        return connection

    def _discard(self, connection: Connection) -> None:
        with self._cond:
            self._retire_at_s.pop(connection, None)
        connection.close()

    def _lifetime_s(self) -> float:
        """A new connection's lifetime: `max_lifetime_s` less a random 0-10% (inf when None)."""
        if self.max_lifetime_s is None:
            return math.inf
        return self.max_lifetime_s * (1.0 - random.uniform(0.0, LIFETIME_JITTER))

    def _expired_now(self, connection: Connection) -> bool:
        """True (and counted) when the connection has outlived its lifetime; call with the lock held."""
        if time.monotonic() < self._retire_at_s.get(connection, math.inf):
            return False
        self._expired += 1
        self._closed_count += 1
        return True

    def _reusable(self, connection: Connection) -> bool:
        with self._cond:
            if self._expired_now(connection):
                return False
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
            connection = self._attempt()
            if connection is not None:
                return connection

    def _attempt(self) -> Connection | None:
        """One connect attempt: the connection, or None after a failure worth backing off from."""
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
            return None
        except BlinkError:
            with self._cond:
                self._connect_failures += 1
            raise
        with self._cond:
            self._created += 1
            self._consecutive_failures = 0
            self._next_connect_at_s = 0.0
            self._retire_at_s[connection] = connection.created_at_s + self._lifetime_s()
        return connection

    def _maybe_warm(self) -> None:
        """Start the warmer thread if fewer than `min_idle` connections are idle and there is room."""
        with self._cond:
            if self._warmer is not None or not self._warm_needed():
                return
            self._warmer = threading.Thread(
                target=self._warm, name=f"blink-pool-warmer {self.config.address}", daemon=True
            )
            warmer = self._warmer
        warmer.start()

    def _warm_needed(self) -> bool:
        """Call with the lock held."""
        return (
            not self._closed
            and len(self._idle) + self._warming < self.min_idle
            and self._total() < self.max_size
            and time.monotonic() >= self._next_connect_at_s  # best effort: never wait out a backoff
        )

    def _warm(self) -> None:
        """The warmer thread: open connections until `min_idle` are idle; stop at the first failure."""
        me = threading.current_thread()
        try:
            while self._warm_one(me):
                pass
        finally:
            with self._cond:
                if self._warmer is me:
                    self._warmer = None

    def _warm_one(self, me: threading.Thread) -> bool:
        """Open one warm connection if still needed; False when done or after a failure."""
        with self._cond:
            if self._warmer is not me or not self._warm_needed():
                return False
            self._warming += 1
        connection: Connection | None = None
        try:
            connection = self._attempt()
        except BlinkError:
            pass  # a wrong token: never retried here; the next checkout reports it
        finally:
            with self._cond:
                self._warming -= 1
                kept = False
                if connection is not None and self._warmer is me and not self._closed:
                    kept = True
                    self._warmed += 1
                    self._idle.insert(0, connection)  # the least recently used end
                self._cond.notify()
        if connection is None:
            return False
        if not kept:  # the pool was closed (or forked) meanwhile
            with self._cond:
                self._retire_at_s.pop(connection, None)
                self._closed_count += 1
            connection.close()
            return False
        return True

    def _checkin(self, connection: Connection, lent_at_version: int) -> None:
        with self._cond:
            if connection not in self._in_use:  # checked out before a fork: the parent's socket
                connection.close()
                return
            self._in_use.discard(connection)
            kept = False
            if connection.closed:
                self._broken += 1
                self._closed_count += 1
            elif self._closed or connection.session.version != lent_at_version:
                self._closed_count += 1
            elif not self._expired_now(connection):
                kept = True
                self._idle.append(connection)
            if not kept:
                self._retire_at_s.pop(connection, None)
            self._cond.notify()
        if not kept:
            connection.close()
            self._maybe_warm()

    def _forget_parent(self) -> None:
        """In a forked child: drop every inherited connection (closing only the child's fds)."""
        inherited = self._idle + list(self._in_use)
        closed = self._closed
        self._init_state()
        self._closed = closed
        for connection in inherited:
            connection.close()
