"""Blink-Store behind a circuit breaker: the cache may fail, the request may not.

Every call is bounded by CACHE_TIMEOUT_MS (connecting included) and turns any
failure into a counted, logged "no answer", so the caller simply falls back to
the origin. After BREAKER_FAILURES consecutive failures the breaker opens and
calls are skipped without touching the network; after BREAKER_COOLDOWN_MS one
call is let through as a probe, which closes the breaker again or re-opens it.
The probe is also how the app reconnects after Blink-Store comes back: the
breaker paces the reconnect attempts, so a dead cache costs one timeout per
cooldown instead of one per request.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import blink_client

T = TypeVar("T")
log = logging.getLogger("backend.cache")


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    """Consecutive-failure circuit breaker with one probe at a time when half open."""

    def __init__(self, failures_to_open: int, cooldown_ms: int) -> None:
        self._failures_to_open = failures_to_open
        self._cooldown_s = cooldown_ms / 1000
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    def allow(self) -> bool:
        """May a call go to the cache now? Turns an expired OPEN into HALF_OPEN for this one call."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and time.monotonic() - self._opened_at >= self._cooldown_s:
            self.state = BreakerState.HALF_OPEN
            return True
        return False  # open, or a probe is already in flight

    def success(self) -> None:
        if self.state is not BreakerState.CLOSED:
            log.info("cache breaker closed", extra={"event": {"breaker": "closed"}})
        self.state = BreakerState.CLOSED
        self._failures = 0

    def failure(self) -> None:
        self._failures += 1
        if self.state is BreakerState.HALF_OPEN or self._failures >= self._failures_to_open:
            if self.state is not BreakerState.OPEN:
                log.warning("cache breaker open", extra={"event": {"breaker": "open", "failures": self._failures}})
            self.state = BreakerState.OPEN
            self._opened_at = time.monotonic()


class _Missing(enum.Enum):
    """Why a cache call has no answer: skipped by the breaker, or failed."""

    SKIPPED = enum.auto()
    FAILED = enum.auto()


SKIPPED: Final = _Missing.SKIPPED
FAILED: Final = _Missing.FAILED


class BlinkCache:
    """get/set/delete on one shared, auto-pipelined AsyncClient connection, opened on demand."""

    def __init__(self, address: str, token: bytes | None, timeout_ms: int, breaker: Breaker) -> None:
        self._address = address
        self._token = token
        self._timeout_s = timeout_ms / 1000
        self.breaker = breaker
        self._client: blink_client.AsyncClient | None = None
        self._connecting = asyncio.Lock()  # one connect at a time; the others wait for it
        self.errors = 0
        self.skipped = 0

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def get(self, key: str) -> bytes | _Missing | None:
        return await self._call("get", lambda client: client.get(key))

    async def set(self, key: str, value: bytes, ttl_ms: int) -> _Missing | None:
        return await self._call("set", lambda client: client.set(key, value, ttl_ms))

    async def delete(self, key: str) -> bool | _Missing:
        return await self._call("delete", lambda client: client.delete(key))

    async def _call(self, op: str, call: Callable[[blink_client.AsyncClient], Awaitable[T]]) -> T | _Missing:
        if not self.breaker.allow():
            self.skipped += 1
            return SKIPPED
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await call(await self._connected())
        except (blink_client.BlinkError, TimeoutError) as exc:
            self.errors += 1
            # A refused key or value is this request's problem on a healthy connection:
            # it must not open the breaker for everyone else.
            if isinstance(exc, blink_client.CommandError):
                self.breaker.success()
            else:
                self.breaker.failure()
            log.warning("cache call failed", extra={"event": {"op": op, "error": type(exc).__name__}})
            return FAILED
        except BaseException:
            self.breaker.failure()  # cancelled mid-probe: never leave HALF_OPEN stuck
            raise
        self.breaker.success()
        return result

    async def _connected(self) -> blink_client.AsyncClient:
        async with self._connecting:
            if self._client is None or self._client.closed:
                if self._client is not None:
                    await self._client.close()  # stops the dead connection's reader task
                # The client's own timeouts are a backstop; _call's deadline is the real bound.
                self._client = await blink_client.AsyncClient.connect(
                    self._address,
                    token=self._token,
                    connect_timeout_s=self._timeout_s,
                    read_timeout_s=max(self._timeout_s, 1.0),
                )
            return self._client
