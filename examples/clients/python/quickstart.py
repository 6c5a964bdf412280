"""A tour of blink_client: connect, get/set, TTL, pipelining, the pool, asyncio, version 2, errors.

Run it against a server: `python3 quickstart.py 127.0.0.1:25465` (or a
`unix:/path/to/blink.sock`); the address may also come from $BLINK_ADDRESS.
"""

from __future__ import annotations

import asyncio
import os
import sys

import blink_client
from blink_client import PERSISTENT, AsyncClient, Client, ConnectionPool


def sync_tour(address: str) -> None:
    # ANCHOR: connect
    with Client(address, read_timeout_s=2.0) as client:
        client.set("greeting", "hello")  # str is encoded UTF-8; bytes pass as they are
        print("get:", client.get("greeting"))  # b'hello'
        print("missing:", client.get("no such key"))  # None: not found is a value
        # ANCHOR_END: connect
        # ANCHOR: ttl
        client.set("session", b"\x00\x01", ttl_ms=30_000)
        print("ttl_ms:", client.ttl("session"))  # about 30000
        client.expire("session", 0)  # 0 clears the TTL
        print("persistent:", client.ttl("session") is PERSISTENT)
        # ANCHOR_END: ttl
        # ANCHOR: pipelining
        batch = client.batch()
        for i in range(100):
            batch.set(f"user:{i}", f"name {i}")
        batch.get("user:7").delete("user:8").delete("user:8")
        results = batch.execute()  # one write; replies in request order
        print("batch tail:", results[-3:])  # [b'name 7', True, False]
        # ANCHOR_END: pipelining
        # ANCHOR: errors
        try:
            client.set("k" * (client.limits.max_key_bytes + 1), "v")
        except blink_client.KeyTooLargeError as exc:
            print("refused locally:", exc.local)  # True: nothing was sent
        # ANCHOR_END: errors
        print("stats items:", client.stats()["items"])


def pool_tour(address: str) -> None:
    # ANCHOR: pool
    with ConnectionPool(address, max_size=4, checkout_timeout_s=1.0) as pool:
        with pool.client() as client:  # checked out for the block, returned after
            client.set("pooled", "yes")
        with pool.client() as client:
            print("pooled:", client.get("pooled"))
        print("connections created:", pool.metrics().connections_created)
    # ANCHOR_END: pool


async def async_tour(address: str) -> None:
    # ANCHOR: asyncio
    async with await AsyncClient.connect(address) as client:
        await client.set("async", "yes")
        values = await asyncio.gather(*(client.get(f"user:{i}") for i in range(3)))
        print("async:", values)  # concurrent calls share one pipelined connection
    # ANCHOR_END: asyncio


def version_2_tour(address: str) -> None:
    # ANCHOR: version_2
    with Client(address) as client:
        if client.protocol_version < 2:  # a version-1 server: these calls would raise UnknownCommandError
            print("version 2: not supported by this server")
            return
        print("add:", client.add("lock:report", "worker 1", ttl_ms=10_000))  # True: stored
        print("add again:", client.add("lock:report", "worker 2"))  # False: the key exists
        print("replace missing:", client.replace("no such key", "v"))  # False: nothing stored
        print("incr:", client.incr("visits"), client.incr("visits", 10))  # 1 11
        print("append:", client.append("log", "a,"), client.append("log", "b,"))  # 2 4: the new lengths
        try:
            client.incr("log")
        except blink_client.NotIntegerError:
            print("not an integer:", client.get("log"))  # b'a,b,': nothing changed
        # ANCHOR_END: version_2
        # ANCHOR: scan
        users = sorted(client.scan_iter(prefix="user:", count=50))  # every key once, in no order
        print("scanned:", len(users), users[:2])  # 99 [b'user:0', b'user:1']
        cursor, seen = 0, 0
        while True:  # the same walk page by page: pass each cursor back until it is 0
            cursor, keys = client.scan(cursor, count=50, prefix="user:")
            seen += len(keys)
            if cursor == 0:
                break
        print("paged:", seen)  # 99
        client.flush()  # removes every key
        print("after flush:", client.get("greeting"))  # None
        # ANCHOR_END: scan


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BLINK_ADDRESS", "127.0.0.1:25465")
    # ANCHOR: error_classes
    try:
        sync_tour(address)
        pool_tour(address)
        asyncio.run(async_tour(address))
        version_2_tour(address)
    except blink_client.AuthFailedError as exc:  # a configuration error: do not retry
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except blink_client.BlinkConnectionError as exc:  # connect failures, timeouts, closes
        print(f"server unavailable at {address}: {exc}", file=sys.stderr)
        return 1
    # ANCHOR_END: error_classes
    return 0


if __name__ == "__main__":
    sys.exit(main())
