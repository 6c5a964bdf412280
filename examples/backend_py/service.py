"""Cache-aside over the origin: the key scheme, the cached encoding, single-flight, invalidation.

Key scheme, shared by every app in examples/: ``item:v1:{id}``. The ``v1`` names
the encoding; a change to it takes a new prefix, so old and new app versions can
share a Blink-Store during a rollout. The value is the item's JSON document,
``{"id": ..., "value": ..., "updated_at_ms": ...}``, as UTF-8.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .cache import FAILED, SKIPPED, BlinkCache
from .origin import Item, Origin

KEY_PREFIX = "item:v1:"
log = logging.getLogger("backend.service")


def cache_key(item_id: str) -> str:
    return KEY_PREFIX + item_id


def encode(item: Item) -> bytes:
    return json.dumps(item.to_json(), separators=(",", ":")).encode()


def decode(raw: bytes) -> Item | None:
    """The cached document, or None when it is not one (another app's bug, a schema change)."""
    try:
        doc = json.loads(raw)
        return Item(str(doc["id"]), doc["value"], int(doc["updated_at_ms"]))
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class Flight:
    """One origin read in progress; a write to its key marks it invalidated so it caches nothing."""

    task: asyncio.Task[Item | None] | None = None
    invalidated: bool = False


@dataclass
class SingleFlight:
    """Concurrent loads of one key share one call; the first caller starts it, the rest await it."""

    flights: dict[str, Flight] = field(default_factory=dict)
    coalesced: int = 0

    async def do(self, key: str, load: Callable[[Flight], Awaitable[Item | None]]) -> Item | None:
        flight = self.flights.get(key)
        if flight is None:
            flight = Flight()
            self.flights[key] = flight
            # A task of its own, so a caller that goes away does not cancel the load for the others.
            flight.task = asyncio.create_task(self._run(key, flight, load))
        else:
            self.coalesced += 1
        assert flight.task is not None
        return await asyncio.shield(flight.task)

    def invalidate(self, key: str) -> None:
        """Detach the flight for `key`: callers from now on start a fresh load that sees the write."""
        flight = self.flights.pop(key, None)
        if flight is not None:
            flight.invalidated = True

    async def _run(self, key: str, flight: Flight, load: Callable[[Flight], Awaitable[Item | None]]) -> Item | None:
        try:
            return await load(flight)
        finally:
            if self.flights.get(key) is flight:
                del self.flights[key]


class ItemService:
    def __init__(self, origin: Origin, cache: BlinkCache | None, ttl_ms: int, ttl_jitter_percent: int) -> None:
        self.origin = origin
        self.cache = cache  # None when CACHE_ENABLED=0: every read goes to the origin
        self._ttl_ms = ttl_ms
        self._jitter_ms = ttl_ms * ttl_jitter_percent // 100
        self._flights = SingleFlight()
        self.hits = 0
        self.misses = 0

    def ttl_ms(self) -> int:
        """TTL plus up to JITTER percent, so keys cached together do not all expire together."""
        return self._ttl_ms + random.randint(0, self._jitter_ms)

    async def get(self, item_id: str) -> Item | None:
        key = cache_key(item_id)
        if self.cache is not None:
            raw = await self.cache.get(key)
            if isinstance(raw, bytes) and (item := decode(raw)) is not None:
                self.hits += 1
                return item
        self.misses += 1
        return await self._flights.do(key, lambda flight: self._load(item_id, key, flight))

    async def put(self, item_id: str, value: Any) -> Item:
        item = await self.origin.put(item_id, value)
        await self._invalidate(cache_key(item_id))
        return item

    async def delete(self, item_id: str) -> bool:
        existed = await self.origin.delete(item_id)
        await self._invalidate(cache_key(item_id))
        return existed

    async def _load(self, item_id: str, key: str, flight: Flight) -> Item | None:
        item = await self.origin.get(item_id)
        # Missing items are not cached: a 404 costs an origin read, which single-flight bounds
        # to one per key at a time. Caching them would need a tombstone every app understands.
        if item is not None and self.cache is not None and not flight.invalidated:
            await self.cache.set(key, encode(item), self.ttl_ms())
        return item

    async def _invalidate(self, key: str) -> None:
        # Delete rather than write the new value: a delete is idempotent, so two racing
        # writers cannot leave the older value cached, and the next read fills the entry.
        # The flight is detached first, so a read that began before this write cannot
        # cache what it read after the delete.
        self._flights.invalidate(key)
        if self.cache is not None and await self.cache.delete(key) in (FAILED, SKIPPED):
            log.warning("invalidation not applied; the entry expires with its TTL", extra={"event": {"key": key}})

    def stats(self) -> dict[str, Any]:
        cache = self.cache
        return {
            "cache_enabled": cache is not None,
            "hits": self.hits,
            "misses": self.misses,
            "coalesced": self._flights.coalesced,
            "origin_reads": self.origin.reads,
            "origin_writes": self.origin.writes,
            "cache_errors": cache.errors if cache else 0,
            "cache_skipped": cache.skipped if cache else 0,
            "breaker": cache.breaker.state.value if cache else "disabled",
        }
