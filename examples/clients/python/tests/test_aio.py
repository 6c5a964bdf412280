"""Integration tests of the asyncio AsyncClient against a real blink-store."""

from __future__ import annotations

import asyncio
import time
import unittest
from collections.abc import Awaitable, Callable

from blink_client import (
    PERSISTENT,
    AsyncClient,
    AuthFailedError,
    AuthRequiredError,
    Backoff,
    BlinkConnectionError,
    ConnectError,
    ConnectionClosedError,
    KeyTooLargeError,
    NotIntegerError,
    UnknownCommandError,
    ValueTooLargeError,
)

from .support import BlinkServer, ServerTestCase


class AsyncServerTestCase(ServerTestCase):
    def run_with(self, address: str, body: Callable[[AsyncClient], Awaitable[None]], **options: str) -> None:
        async def run() -> None:
            async with await AsyncClient.connect(address, **options) as client:  # type: ignore[arg-type]
                await body(client)
            self.assertTrue(client.closed)

        asyncio.run(run())


class AsyncCommands(AsyncServerTestCase):
    async def every_command(self, client: AsyncClient) -> None:
        await client.ping()
        hello = await client.hello()
        self.assertEqual(hello.version, 2)
        self.assertEqual(client.protocol_version, 2)
        await client.auth("ignored")
        await client.set(b"\x00k", b"\xffv", ttl_ms=60_000)
        self.assertEqual(await client.get(b"\x00k"), b"\xffv")
        remaining_ms = await client.ttl(b"\x00k")
        assert isinstance(remaining_ms, int)
        self.assertTrue(0 < remaining_ms <= 60_000)
        self.assertTrue(await client.expire(b"\x00k", 0))
        self.assertIs(await client.ttl(b"\x00k"), PERSISTENT)
        self.assertTrue(await client.delete(b"\x00k"))
        self.assertFalse(await client.delete(b"\x00k"))
        self.assertIsNone(await client.get(b"\x00k"))
        self.assertIn("items", await client.stats())
        with self.assertRaises(KeyTooLargeError):
            await client.get(b"k" * 1025)

    def test_every_command_over_tcp(self) -> None:
        self.run_with(self.server.tcp, self.every_command)

    def test_every_command_over_unix_socket(self) -> None:
        self.run_with(self.server.unix, self.every_command)

    def test_concurrent_calls_are_pipelined_and_matched_in_order(self) -> None:
        async def body(client: AsyncClient) -> None:
            await asyncio.gather(*(client.set(f"k{i}", f"v{i}") for i in range(2000)))
            values = await asyncio.gather(*(client.get(f"k{i}") for i in range(2000)))
            self.assertEqual(values, [f"v{i}".encode() for i in range(2000)])

        self.run_with(self.server.tcp, body)

    def test_cancelled_calls_never_hand_their_replies_to_others(self) -> None:
        async def body(client: AsyncClient) -> None:
            await asyncio.gather(*(client.set(f"c{i}", f"v{i}") for i in range(200)))
            tasks = [asyncio.ensure_future(client.get(f"c{i}")) for i in range(200)]
            await asyncio.sleep(0)  # every call is queued
            for task in tasks[::2]:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for i, result in enumerate(results):
                if i % 2:
                    self.assertEqual(result, f"v{i}".encode())
                else:
                    self.assertIsInstance(result, asyncio.CancelledError)
            self.assertEqual(await client.get("c1"), b"v1")
            self.assertEqual(client.pending_calls, 0)

        self.run_with(self.server.tcp, body)

    def test_a_closed_client_refuses_calls(self) -> None:
        async def run() -> None:
            client = await AsyncClient.connect(self.server.tcp)
            await client.close()
            await client.close()
            with self.assertRaisesRegex(ConnectionClosedError, "nothing was sent"):
                await client.ping()

        asyncio.run(run())


class AsyncVersionTwoCommands(AsyncServerTestCase):
    def test_every_version_2_command(self) -> None:
        async def body(client: AsyncClient) -> None:
            self.assertIs(await client.add("v2:k", "first", ttl_ms=60_000), True)
            self.assertIs(await client.add("v2:k", "second"), False)
            self.assertIs(await client.replace("v2:k", "third"), True)
            self.assertIs(await client.replace("v2:missing", "x"), False)
            self.assertEqual(await client.get("v2:k"), b"third")
            self.assertEqual(await client.append("v2:k", "!"), 6)
            with self.assertRaises(NotIntegerError):
                await client.incr("v2:k")
            self.assertEqual(
                await asyncio.gather(*(client.incr("v2:n", 2) for _ in range(100))), list(range(2, 201, 2))
            )
            self.assertEqual(await client.incr("v2:n", -(2**63)), 200 - 2**63)
            with self.assertRaises(ValueTooLargeError) as caught:
                await client.append("v2:k", b"x" * (client.limits.max_value_bytes + 1))
            self.assertTrue(caught.exception.local)
            cursor, keys = await client.scan(0, 1000, "v2:")
            self.assertIsInstance(cursor, int)
            self.assertTrue(all(key.startswith(b"v2:") for key in keys))

        self.run_with(self.server.tcp, body)

    def test_a_scan_walk_with_the_async_generator(self) -> None:
        async def body(client: AsyncClient) -> None:
            await asyncio.gather(*(client.set(f"walk:a:{i}", "a") for i in range(2500)))
            await asyncio.gather(*(client.set(f"walk:b:{i}", "b") for i in range(1500)))
            keys = [key async for key in client.scan_iter(prefix="walk:a:", count=10)]
            self.assertEqual(len(keys), 2500, "no key twice")
            self.assertEqual(set(keys), {f"walk:a:{i}".encode() for i in range(2500)})

        self.run_with(self.server.unix, body)

    def test_hello_1_refuses_version_2_calls_locally_until_hello_2(self) -> None:
        async def body(client: AsyncClient) -> None:
            await client.hello(1)
            self.assertEqual(client.protocol_version, 1)
            with self.assertRaises(UnknownCommandError) as caught:
                await client.flush()
            self.assertTrue(caught.exception.local)
            with self.assertRaises(UnknownCommandError):
                [key async for key in client.scan_iter()]
            await client.hello(2)
            self.assertEqual(await client.incr("hello:n"), 1)

        self.run_with(self.server.tcp, body)

    def test_flush(self) -> None:
        server = BlinkServer()
        self.addCleanup(server.cleanup)

        async def body(client: AsyncClient) -> None:
            await client.set("a", "1")
            await client.flush()
            self.assertIsNone(await client.get("a"))
            self.assertEqual([key async for key in client.scan_iter()], [])

        self.run_with(server.tcp, body)


class AsyncWithToken(AsyncServerTestCase):
    server_token = "s3cret"

    def test_token_is_sent_at_connect(self) -> None:
        async def body(client: AsyncClient) -> None:
            await client.set("k", "v")
            self.assertEqual(await client.get("k"), b"v")

        self.run_with(self.server.tcp, body, token="s3cret")

    def test_without_a_token_commands_need_auth(self) -> None:
        async def body(client: AsyncClient) -> None:
            with self.assertRaises(AuthRequiredError):
                await client.get("k")
            await client.auth("s3cret")
            self.assertIsNone(await client.get("never set"))

        self.run_with(self.server.tcp, body)

    def test_wrong_token_fails_to_connect(self) -> None:
        with self.assertRaises(AuthFailedError):
            asyncio.run(AsyncClient.connect(self.server.tcp, token="wrong"))

    def test_a_refused_auth_is_never_followed_by_a_reconnect(self) -> None:
        before = self.server.stats(token="s3cret")["connections_total"]  # counts this STATS connection

        async def body(client: AsyncClient) -> None:
            with self.assertRaises(AuthFailedError):
                await client.auth("wrong")  # the server closes the connection
            for _ in range(20):
                with self.assertRaises(AuthFailedError):
                    await client.get("k")
            self.assertEqual(client.reconnects, 0)

        self.run_with(self.server.tcp, body)
        self.assertEqual(self.server.stats(token="s3cret")["connections_total"], before + 2)


class AsyncReconnect(unittest.TestCase):
    """A lost connection is replaced on the next call, with backoff, and never after a wrong token."""

    def server(self, **settings: str) -> BlinkServer:
        server = BlinkServer(**settings)
        self.addCleanup(server.cleanup)
        return server

    def test_calls_fail_while_the_server_is_down_then_succeed_on_the_same_client(self) -> None:
        first = self.server()
        backoff = Backoff(base_s=0.05, cap_s=0.2, jitter_s=0.05)

        async def run() -> None:
            async with await AsyncClient.connect(first.tcp, backoff=backoff) as client:
                await client.set("k", "before")
                first.kill()
                with self.assertRaises(BlinkConnectionError):  # the lost connection, or a refused reconnect
                    await client.get("k")
                for _ in range(5):  # refused, or failing fast in the backoff window: never a hang
                    started_s = time.monotonic()
                    with self.assertRaises(ConnectError):
                        await client.get("k")
                    self.assertLess(time.monotonic() - started_s, 0.5)
                    await asyncio.sleep(0)
                self.assertTrue(client.closed)
                restarted = self.server(tcp=first.tcp, unix_path=first.unix_path)
                deadline_s = time.monotonic() + 5.0
                while True:  # the condition: a call succeeds once the backoff window has passed
                    try:
                        value = await client.get("k")
                        break
                    except ConnectError:
                        self.assertLess(time.monotonic(), deadline_s, "no reconnect after the restart")
                        await asyncio.sleep(0.01)
                self.assertIsNone(value, "a new server, on a new connection")
                await client.set("k", "after")
                self.assertEqual(await client.get("k"), b"after")
                self.assertFalse(client.closed)
                self.assertEqual(client.reconnects, 1)
                # One reconnect reached the new server, plus the STATS connection itself.
                self.assertEqual(restarted.stats()["connections_total"], 2)

        asyncio.run(run())

    def test_concurrent_calls_share_one_reconnect(self) -> None:
        first = self.server()

        async def run() -> None:
            async with await AsyncClient.connect(first.tcp) as client:
                await client.set("k", "v")
                await client._link.close()  # as if the server had closed it
                results = await asyncio.gather(*(client.get("k") for _ in range(50)))
                self.assertEqual(results, [b"v"] * 50)
                self.assertEqual(client.reconnects, 1)

        asyncio.run(run())
        self.assertEqual(first.stats()["connections_total"], 3)  # the first, its replacement, this one

    def test_a_wrong_token_after_a_restart_does_not_cause_a_reconnect_loop(self) -> None:
        first = self.server(token="s3cret")
        no_backoff = Backoff(base_s=0.0, cap_s=0.0, jitter_s=0.0)  # any loop would run unchecked

        async def run() -> BlinkServer:
            async with await AsyncClient.connect(first.tcp, token="s3cret", backoff=no_backoff) as client:
                await client.set("k", "v")
                first.kill()
                restarted = self.server(tcp=first.tcp, unix_path=first.unix_path, token="rotated")
                with self.assertRaises(BlinkConnectionError):  # the lost connection, or the refused reconnect
                    await client.get("k")
                for _ in range(50):
                    with self.assertRaises(AuthFailedError):
                        await client.get("k")
                self.assertEqual(client.reconnects, 0)
                return restarted

        restarted = asyncio.run(run())
        # The one refused reconnect reached the new server, plus the STATS connection itself.
        self.assertEqual(restarted.stats(token="rotated")["connections_total"], 2)


if __name__ == "__main__":
    unittest.main()
