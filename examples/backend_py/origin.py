"""The origin: a SQLite table standing in for a slow database.

Every call first sleeps ORIGIN_DELAY_MS (the network and query time of a real
database), then runs its statement in a worker thread so the event loop never
blocks on the file. The schema is shared by the SQLite-backed apps in
examples/, which may use one file at the same time (WAL mode, busy timeout).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,          -- the item's JSON value, as text
    updated_at_ms INTEGER NOT NULL
)
"""

#: How long a statement waits for another app's write lock before failing.
BUSY_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class Item:
    id: str
    value: Any
    updated_at_ms: int

    def to_json(self) -> dict[str, Any]:
        """The item's document: the HTTP body and, encoded as UTF-8 JSON, the cached value."""
        return {"id": self.id, "value": self.value, "updated_at_ms": self.updated_at_ms}


class Origin:
    def __init__(self, path: str, delay_ms: int) -> None:
        self._delay_s = delay_ms / 1000
        # One connection shared by the worker threads, serialised by a lock: statements
        # take microseconds, the simulated delay is slept outside the lock.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(SCHEMA)
        self.reads = 0
        self.writes = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def get(self, item_id: str) -> Item | None:
        self.reads += 1
        row = await self._run("SELECT id, value, updated_at_ms FROM items WHERE id = ?", (item_id,))
        return None if row is None else Item(row[0], json.loads(row[1]), row[2])

    async def put(self, item_id: str, value: Any) -> Item:
        self.writes += 1
        item = Item(item_id, value, int(time.time() * 1000))
        await self._run(
            "INSERT INTO items (id, value, updated_at_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
            (item.id, json.dumps(value, separators=(",", ":")), item.updated_at_ms),
        )
        return item

    async def delete(self, item_id: str) -> bool:
        self.writes += 1
        return bool(await self._run("DELETE FROM items WHERE id = ? RETURNING id", (item_id,)))

    async def ping(self) -> None:
        await asyncio.to_thread(self._execute, "SELECT 1", ())

    async def _run(self, sql: str, params: tuple[Any, ...]) -> Any:
        await asyncio.sleep(self._delay_s)
        return await asyncio.to_thread(self._execute, sql, params)

    def _execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()
