"""Every fault case of examples/clients/conformance/faults.json, one test named after each id.

Fake peers (accept-and-hang, malformed and oversized replies) are in-process
listeners from tests/support.py; the other cases run a real blink-store.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import unittest
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import blink_client
from blink_client import (
    AsyncClient,
    AuthFailedError,
    Backoff,
    BlinkConnectionError,
    BlinkTimeoutError,
    Client,
    ConnectError,
    ConnectionClosedError,
    ConnectionPool,
    KeyTooLargeError,
    PoolTimeoutError,
    ProtocolError,
    ServerUnavailableError,
    TooManyConnectionsError,
    UnknownCommandError,
    ValueTooLargeError,
)

from .support import BlinkServer, FakePeer, elapsed, hello_reply, read_frame, wait_for_eof, wait_until

#: The fault list's "about 200 ms" read timeout, and the 10x it allows on a loaded machine.
SHORT_TIMEOUT_S = 0.2
LOADED_MACHINE_FACTOR = 10


def fresh_server(test: unittest.TestCase, *flags: str, token: str | None = None) -> BlinkServer:
    server = BlinkServer(*flags, token=token)
    test.addCleanup(server.cleanup)
    return server


def assert_suffix_of_failures(test: unittest.TestCase, results: Sequence[object], values: list[bytes]) -> int:
    """Replies that arrived are the right ones, every later call failed closed; returns the failures."""
    failures = 0
    for result, value in zip(results, values, strict=True):
        if isinstance(result, BaseException):
            test.assertIsInstance(result, ConnectionClosedError)
            failures += 1
        else:
            test.assertEqual(failures, 0, "a reply arrived after a call had failed")
            test.assertEqual(result, value)
    return failures


class FaultServerKilledMidPipeline(unittest.TestCase):
    VALUE_BYTES = 256 * 1024
    CALLS = 1000

    def setUp(self) -> None:
        self.server = fresh_server(self, "--memory-limit", "512MiB")
        self.values = [f"{i:06d}".encode() * (self.VALUE_BYTES // 6) for i in range(self.CALLS)]
        with self.server.client() as client:
            for number in range(0, self.CALLS, 100):
                batch = client.batch()
                for i in range(number, number + 100):
                    batch.set(f"k{i}", self.values[i])
                batch.execute()

    def kill_once_replies_flow(self) -> None:
        wait_until(lambda: self.server.stats()["bytes_out"] > 4 * self.VALUE_BYTES, what="replies flowing")
        self.server.kill()

    def test_fault_server_killed_mid_pipeline(self) -> None:
        pool = ConnectionPool(self.server.tcp, read_timeout_s=2.0, checkout_timeout_s=5.0)
        self.addCleanup(pool.close)
        killer = threading.Thread(target=self.kill_once_replies_flow)
        with pool.client() as client, elapsed() as seconds:
            batch = client.batch()
            for i in range(self.CALLS):
                batch.get(f"k{i}")
            killer.start()
            results = batch.execute(raise_on_error=False)
        killer.join()
        self.assertLess(seconds(), 2.0 * LOADED_MACHINE_FACTOR)
        self.assertGreater(assert_suffix_of_failures(self, results, self.values), 0)
        self.assertTrue(client.closed)
        restarted = BlinkServer(tcp=self.server.tcp, unix_path=self.server.unix_path)
        self.addCleanup(restarted.cleanup)
        with pool.client() as client:
            self.assertEqual(client.get("k0"), None)  # a new server, on a new connection
        self.assertEqual(pool.metrics().connections_broken, 1)

    def test_fault_server_killed_mid_pipeline_async(self) -> None:
        async def run() -> list[bytes | BaseException | None]:
            backoff = Backoff(base_s=5.0, jitter_s=0.0)
            async with await AsyncClient.connect(self.server.unix, read_timeout_s=2.0, backoff=backoff) as client:
                calls = [client.get(f"k{i}") for i in range(self.CALLS)]
                killer = asyncio.create_task(asyncio.to_thread(self.kill_once_replies_flow))
                results = await asyncio.gather(*calls, return_exceptions=True)
                await killer
                self.assertTrue(client.closed)
                with self.assertRaises(ConnectError):  # the next call tries to reconnect: refused
                    await client.ping()
                with self.assertRaisesRegex(ConnectError, "next reconnect in"):  # then fails fast while backing off
                    await client.ping()
                return results

        self.assertGreater(assert_suffix_of_failures(self, asyncio.run(run()), self.values), 0)


class FaultServerRestarted(unittest.TestCase):
    OUTAGE_S = 1.0

    def check_restart(self, which: str) -> None:
        first = fresh_server(self)
        pool = ConnectionPool(getattr(first, which), read_timeout_s=1.0, checkout_timeout_s=0.3)
        self.addCleanup(pool.close)
        with pool.client() as client:
            client.set("k", "before")
        first.kill()
        attempts_before = pool.metrics().connect_attempts
        failures = 0
        with elapsed() as outage_s:
            while outage_s() < self.OUTAGE_S:
                with elapsed() as call_s:
                    try:
                        with pool.client() as client:
                            client.ping()
                    except BlinkConnectionError:
                        failures += 1
                self.assertLess(call_s(), 1.0 * LOADED_MACHINE_FACTOR)
        self.assertGreater(failures, 0)
        self.assertLess(pool.metrics().connect_attempts - attempts_before, 20)
        second = BlinkServer(tcp=first.tcp, unix_path=first.unix_path)
        self.addCleanup(second.cleanup)

        def call_succeeds() -> bool:
            try:
                with pool.client() as client:
                    client.set("k", "after")
                    return client.get("k") == b"after"
            except BlinkConnectionError:
                return False

        wait_until(call_succeeds, timeout_s=5.0, what="a call on the restarted server")

    def test_fault_server_restarted_tcp(self) -> None:
        self.check_restart("tcp")

    def test_fault_server_restarted_unix(self) -> None:
        self.check_restart("unix")


def hang(conn: socket.socket) -> None:
    """A peer that accepts and never answers (it reads until the client goes away)."""
    while conn.recv(65536):
        pass


class FaultAcceptsAndNeverAnswers(unittest.TestCase):
    def setUp(self) -> None:
        self.peer = FakePeer(hang)
        self.addCleanup(self.peer.close)

    def test_fault_accepts_and_never_answers(self) -> None:
        with elapsed() as seconds, self.assertRaises(BlinkTimeoutError):
            Client(self.peer.address, read_timeout_s=SHORT_TIMEOUT_S)
        self.assertGreaterEqual(seconds(), SHORT_TIMEOUT_S)
        self.assertLess(seconds(), SHORT_TIMEOUT_S * LOADED_MACHINE_FACTOR)

    def test_fault_accepts_and_never_answers_pooled(self) -> None:
        pool = ConnectionPool(self.peer.address, read_timeout_s=SHORT_TIMEOUT_S)
        self.addCleanup(pool.close)
        with elapsed() as seconds, self.assertRaises(BlinkTimeoutError), pool.client():
            pass
        self.assertLess(seconds(), SHORT_TIMEOUT_S * LOADED_MACHINE_FACTOR)
        metrics = pool.metrics()
        self.assertEqual((metrics.idle, metrics.in_use, metrics.connections_created), (0, 0, 0))

    def test_fault_accepts_and_never_answers_async(self) -> None:
        async def connect() -> None:
            await AsyncClient.connect(self.peer.address, read_timeout_s=SHORT_TIMEOUT_S)

        with elapsed() as seconds, self.assertRaises(BlinkTimeoutError):
            asyncio.run(connect())
        self.assertLess(seconds(), SHORT_TIMEOUT_S * LOADED_MACHINE_FACTOR)


class BadReplyPeer:
    """Answers HELLO correctly, then every other request with `reply`; records whether the client hung up."""

    def __init__(self, reply: bytes, max_frame_bytes: int = 4096) -> None:
        self.reply = reply
        self.max_frame_bytes = max_frame_bytes
        self.client_closed = threading.Event()
        self.peer = FakePeer(self.serve)

    def serve(self, conn: socket.socket) -> None:
        self.assert_hello(read_frame(conn))
        conn.sendall(hello_reply(self.max_frame_bytes))
        if read_frame(conn):
            conn.sendall(self.reply)
            if wait_for_eof(conn):
                self.client_closed.set()

    @staticmethod
    def assert_hello(frame: bytes) -> None:
        if frame != bytes.fromhex("00000002 02 02"):
            raise AssertionError(f"expected HELLO 2 first, got {frame.hex()}")


class FaultBadReplies(unittest.TestCase):
    def serve(self, reply: bytes) -> BadReplyPeer:
        peer = BadReplyPeer(reply)
        self.addCleanup(peer.peer.close)
        return peer

    def check_protocol_error_closes(self, reply: bytes) -> None:
        peer = self.serve(reply)
        with Client(peer.peer.address, read_timeout_s=5.0) as client:
            with elapsed() as seconds, self.assertRaises(ProtocolError):
                client.get("k")
            self.assertLess(seconds(), 2.0, "decided from the header, without waiting for a body")
            self.assertTrue(client.closed)
            self.assertTrue(peer.client_closed.wait(5))

    def check_pool_replaces(self, reply: bytes) -> None:
        peer = self.serve(reply)
        pool = ConnectionPool(peer.peer.address, read_timeout_s=5.0)
        self.addCleanup(pool.close)
        for _ in range(2):
            with self.assertRaises(ProtocolError), pool.client() as client:
                client.get("k")
        self.assertEqual(peer.peer.accepted, 2)
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_broken, metrics.idle), (2, 0))

    def test_fault_malformed_reply_zero_length(self) -> None:
        self.check_protocol_error_closes(bytes.fromhex("00000000"))
        self.check_pool_replaces(bytes.fromhex("00000000"))

    def test_fault_malformed_reply_foreign_text(self) -> None:
        self.check_protocol_error_closes(b"-ERR\r\n")
        self.check_pool_replaces(b"-ERR\r\n")

    def test_fault_oversized_reply(self) -> None:
        self.check_protocol_error_closes(bytes.fromhex("00001001"))
        self.check_pool_replaces(bytes.fromhex("00001001"))


class FaultTooManyConnections(unittest.TestCase):
    def test_fault_too_many_connections(self) -> None:
        server = fresh_server(self, "--max-connections", "1")
        with server.client() as first:
            with self.assertRaises(TooManyConnectionsError) as caught:
                server.client()
            self.assertIsInstance(caught.exception, ServerUnavailableError)
            self.assertNotIsInstance(caught.exception, (AuthFailedError, ProtocolError))
            first.set("k", "v")
            self.assertEqual(first.get("k"), b"v")

    def test_fault_too_many_connections_pooled_backs_off(self) -> None:
        server = fresh_server(self, "--max-connections", "1")
        pool = ConnectionPool(server.tcp, checkout_timeout_s=0.5)
        self.addCleanup(pool.close)
        with server.client() as first:
            with self.assertRaises(TooManyConnectionsError), pool.client():
                pass
            metrics = pool.metrics()
            self.assertGreater(metrics.connect_attempts, 1, "retried within the checkout timeout")
            self.assertLess(metrics.connect_attempts, 10, "with backoff, not in a loop")
            first.ping()


class FaultWrongToken(unittest.TestCase):
    def test_fault_wrong_token(self) -> None:
        server = fresh_server(self, token="s3cret")
        with self.assertRaises(AuthFailedError):
            server.client(token="wrong")
        before = server.stats(token="s3cret")["connections_total"]
        pool = ConnectionPool(server.tcp, token="wrong", checkout_timeout_s=2.0)
        self.addCleanup(pool.close)
        calls = 3
        for _ in range(calls):
            with self.assertRaises(AuthFailedError), pool.client():
                pass
        after = server.stats(token="s3cret")["connections_total"]
        self.assertLessEqual(after - before, calls + 1)  # + the second STATS connection
        self.assertEqual(pool.metrics().connect_attempts, calls)


class FaultLimitsEnforcedLocally(unittest.TestCase):
    def test_fault_limits_enforced_locally(self) -> None:
        server = fresh_server(self, "--max-frame-bytes=4096", "--max-key-bytes=4", "--max-value-bytes=8")
        with server.client() as client:
            self.assertEqual((client.limits.max_key_bytes, client.limits.max_value_bytes), (4, 8))
            before = server.stats()["bytes_in"]
            with self.assertRaises(KeyTooLargeError) as key_error:
                client.get("12345")
            self.assertTrue(key_error.exception.local)
            with self.assertRaises(KeyTooLargeError):
                client.set("12345", "v")
            with self.assertRaises(ValueTooLargeError):
                client.set("k", "123456789")
            with self.assertRaises(ValueTooLargeError):
                client.batch().ping().set("k", "123456789")
            after = server.stats()["bytes_in"]
            stats_connection_bytes = len(blink_client.protocol.encode_hello()) + len(
                blink_client.protocol.encode_stats()
            )
            self.assertEqual(after - before, stats_connection_bytes, "nothing of the refused calls was sent")
            client.set("k", "12345678")
            self.assertEqual(client.get("k"), b"12345678")


class FaultTimedOutCallKeepsItsReply(unittest.TestCase):
    def setUp(self) -> None:
        self.server = fresh_server(self)
        with self.server.client() as client:
            client.set("a", "value of a")
            client.set("b", "value of b")

    def test_fault_timed_out_call_keeps_its_reply(self) -> None:
        pool = ConnectionPool(self.server.tcp, read_timeout_s=SHORT_TIMEOUT_S)
        self.addCleanup(pool.close)
        with pool.client() as client:
            self.server.pause()
            try:
                with self.assertRaises(BlinkTimeoutError):
                    client.get("a")
            finally:
                self.server.resume()
            with self.assertRaises(ConnectionClosedError):
                client.get("b")  # the same Client: its connection was closed, never reused
        with pool.client() as client:
            self.assertEqual(client.get("b"), b"value of b")
        self.assertEqual(pool.metrics().connections_created, 2)

    def test_fault_timed_out_call_keeps_its_reply_async_cancelled(self) -> None:
        async def run() -> None:
            async with await AsyncClient.connect(self.server.tcp) as client:
                self.server.pause()
                try:
                    call = asyncio.ensure_future(client.get("a"))
                    done, _ = await asyncio.wait([call], timeout=SHORT_TIMEOUT_S)
                    self.assertEqual(done, set())
                    call.cancel()
                    with self.assertRaises(asyncio.CancelledError):
                        await call
                    self.assertEqual(client.pending_calls, 1, "the cancelled call keeps its slot")
                finally:
                    self.server.resume()
                self.assertEqual(await client.get("b"), b"value of b")
                self.assertEqual(client.pending_calls, 0)
                self.assertFalse(client.closed)

        asyncio.run(run())

    def test_fault_timed_out_call_keeps_its_reply_async_timeout(self) -> None:
        async def run() -> None:
            async with await AsyncClient.connect(self.server.tcp, read_timeout_s=SHORT_TIMEOUT_S) as client:
                self.server.pause()
                try:
                    with self.assertRaises(BlinkTimeoutError):
                        await client.get("a")
                finally:
                    self.server.resume()
                self.assertTrue(client.closed)
                await client.ping()  # the next call reconnects
                self.assertEqual(client.reconnects, 1)
                self.assertFalse(client.closed)

        asyncio.run(run())


class FaultIdleConnectionClosedByServer(unittest.TestCase):
    def test_fault_idle_connection_closed_by_server(self) -> None:
        server = fresh_server(self, "--idle-timeout-ms", "200")
        pool = ConnectionPool(server.tcp)
        self.addCleanup(pool.close)
        with pool.client() as client:
            client.set("k", "v")
        wait_until(lambda: server.stats()["closed_idle"] >= 1, what="the server closing the idle connection")
        with pool.client() as client:
            self.assertEqual(client.get("k"), b"v")
        metrics = pool.metrics()
        self.assertEqual((metrics.connections_broken, metrics.connections_created), (1, 2))


class FaultPoolExhaustion(unittest.TestCase):
    def test_fault_pool_exhaustion(self) -> None:
        server = fresh_server(self)
        pool = ConnectionPool(server.tcp, max_size=2, checkout_timeout_s=0.2, read_timeout_s=5.0)
        self.addCleanup(pool.close)
        with pool.client() as first, pool.client():
            with elapsed() as seconds, self.assertRaises(PoolTimeoutError), pool.client():
                pass
            self.assertGreaterEqual(seconds(), 0.2)
            self.assertLess(seconds(), 2.0)
            first.ping()
        with elapsed() as seconds, pool.client() as client:
            client.ping()
        self.assertLess(seconds(), 0.2)
        metrics = pool.metrics()
        self.assertEqual((metrics.checkout_timeouts, metrics.connections_created), (1, 2))


class FaultSharedBy64Workers(unittest.TestCase):
    WORKERS = 64
    OPERATIONS = 200

    def test_fault_shared_by_64_workers(self) -> None:
        server = fresh_server(self)
        pool = ConnectionPool(server.tcp, max_size=8, checkout_timeout_s=30.0)
        self.addCleanup(pool.close)
        crossed: list[str] = []

        def worker(number: int) -> None:
            for i in range(self.OPERATIONS // 2):
                key, value = f"w{number}:{i}", f"value {number} {i}".encode()
                with pool.client() as client:
                    client.set(key, value)
                    got = client.get(key)
                if got != value:
                    crossed.append(f"{key}: {got!r}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(self.WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(crossed, [])
        self.assertEqual(pool.metrics().checkouts, self.WORKERS * self.OPERATIONS // 2)
        self.assertLessEqual(pool.metrics().connections_created, 8)

    def test_fault_shared_by_64_workers_async(self) -> None:
        server = fresh_server(self)

        async def run() -> list[str]:
            async with await AsyncClient.connect(server.tcp) as client:

                async def worker(number: int) -> list[str]:
                    crossed = []
                    for i in range(self.OPERATIONS // 2):
                        key, value = f"w{number}:{i}", f"value {number} {i}".encode()
                        await client.set(key, value)
                        got = await client.get(key)
                        if got != value:
                            crossed.append(f"{key}: {got!r}")
                    return crossed

                results = await asyncio.gather(*(worker(n) for n in range(self.WORKERS)))
                return [c for worker_crossed in results for c in worker_crossed]

        self.assertEqual(asyncio.run(run()), [])


class FaultLargePipelineDoesNotDeadlock(unittest.TestCase):
    def test_fault_large_pipeline_does_not_deadlock(self) -> None:
        server = fresh_server(self)
        value = bytes(range(256)) * 64  # 16 KiB
        with server.client(read_timeout_s=30.0) as client:
            client.set("big", value)
            batch = client.batch()
            for _ in range(20_000):
                batch.get("big")
            with elapsed() as seconds:
                results = batch.execute()
            self.assertEqual(len(results), 20_000)
            self.assertTrue(all(result == value for result in results))
            self.assertFalse(client.closed)
            self.assertLess(seconds(), 60)


class VersionOneServer:
    """The fault list's fake version-1 server: HELLO 2 gets version 1, GET gets NOT_FOUND.

    Every other frame is recorded in `unexpected` (and answered ERR_UNKNOWN_COMMAND, as a
    version-1 server would, so a client that sent one would not hang).
    """

    HELLO_2: Final = bytes.fromhex("00000002 02 02")
    HELLO_V1_REPLY: Final = bytes.fromhex("0000000f 00 01 00 00101000 00000400 00100000")
    NOT_FOUND: Final = bytes.fromhex("00000001 01")
    UNKNOWN_COMMAND: Final = bytes.fromhex("00000001 80")

    def __init__(self) -> None:
        self.unexpected: list[bytes] = []
        self.gets = 0
        self.peer = FakePeer(self.serve)

    def serve(self, conn: socket.socket) -> None:
        if read_frame(conn) != self.HELLO_2:
            raise AssertionError("expected HELLO 2 first")
        conn.sendall(self.HELLO_V1_REPLY)
        while frame := read_frame(conn):
            if frame[4] == blink_client.protocol.Opcode.GET:
                self.gets += 1
                conn.sendall(self.NOT_FOUND)
            else:
                self.unexpected.append(frame)
                conn.sendall(self.UNKNOWN_COMMAND)


class FaultVersion1Server(unittest.TestCase):
    def setUp(self) -> None:
        self.server = VersionOneServer()
        self.addCleanup(self.server.peer.close)

    def assert_unsupported(self, call: Callable[[], object]) -> None:
        with self.assertRaises(UnknownCommandError) as caught:
            call()
        self.assertTrue(caught.exception.local, "refused before sending")

    def version_2_calls(self, client: Client) -> list[Callable[[], object]]:
        return [
            lambda: client.add("k", "v"),
            lambda: client.replace("k", "v"),
            lambda: client.incr("k"),
            lambda: client.append("k", "v"),
            client.flush,
            client.scan,
            lambda: next(client.scan_iter()),
            lambda: client.batch().get("k").incr("k"),
        ]

    def test_fault_version_1_server(self) -> None:
        with Client(self.server.peer.address) as client:
            self.assertEqual(client.protocol_version, 1)
            self.assertIsNone(client.get("k"))
            for call in self.version_2_calls(client):
                with self.subTest():
                    self.assert_unsupported(call)
            self.assertIsNone(client.get("k"))
            self.assertFalse(client.closed)
        self.assertEqual((self.server.unexpected, self.server.gets), ([], 2))

    def test_fault_version_1_server_pooled(self) -> None:
        with ConnectionPool(self.server.peer.address, max_size=1) as pool:
            for _ in range(2):
                with pool.client() as client:
                    for call in self.version_2_calls(client):
                        self.assert_unsupported(call)
                    self.assertIsNone(client.get("k"))
            self.assertEqual(pool.metrics().connections_created, 1, "a refused call keeps the connection")
        self.assertEqual(self.server.unexpected, [])

    def test_fault_version_1_server_async(self) -> None:
        async def run() -> None:
            async with await AsyncClient.connect(self.server.peer.address) as client:
                self.assertEqual(client.protocol_version, 1)
                self.assertIsNone(await client.get("k"))
                calls: list[Awaitable[object]] = [
                    client.add("k", "v"),
                    client.replace("k", "v"),
                    client.incr("k"),
                    client.append("k", "v"),
                    client.flush(),
                    client.scan(),
                    anext(client.scan_iter()),
                ]
                for call in calls:
                    with self.assertRaises(UnknownCommandError) as caught:
                        await call
                    self.assertTrue(caught.exception.local)
                self.assertIsNone(await client.get("k"))
                self.assertFalse(client.closed)

        asyncio.run(run())
        self.assertEqual((self.server.unexpected, self.server.gets), ([], 2))
