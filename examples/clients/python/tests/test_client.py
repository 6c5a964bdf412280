"""Integration tests of the sync Client and Batch against a real blink-store (and a few fake peers)."""

from __future__ import annotations

import socket
import threading
import unittest
from collections.abc import Callable

import blink_client
from blink_client import (
    PERSISTENT,
    AuthRequiredError,
    BlinkTimeoutError,
    BusyError,
    Client,
    ConnectError,
    ConnectionClosedError,
    ItemTooLargeError,
    KeyTooLargeError,
    NotIntegerError,
    ProtocolError,
    ServerTimeoutError,
    TcpAddress,
    UnixAddress,
    UnknownCommandError,
    UnsupportedVersionError,
    ValueTooLargeError,
    parse_address,
)
from blink_client.protocol import Limits

from .support import FakePeer, ServerTestCase, elapsed, hello_reply, read_frame, wait_for_eof

U64_MAX = 2**64 - 1


class EveryCommand(ServerTestCase):
    def check_every_command(self, client: Client) -> None:
        client.ping()
        hello = client.hello()
        self.assertEqual((hello.version, hello.auth_required), (2, False))
        self.assertEqual(client.protocol_version, 2)
        self.assertEqual(hello.limits, Limits(1_052_672, 1024, 1_048_576))
        self.assertEqual(client.limits, hello.limits)
        client.auth("any token: this server has none")
        client.set("k", "v1")
        self.assertEqual(client.get("k"), b"v1")
        self.assertIs(client.ttl("k"), PERSISTENT)
        self.assertTrue(client.expire("k", 60_000))
        remaining_ms = client.ttl("k")
        assert isinstance(remaining_ms, int)
        self.assertTrue(0 < remaining_ms <= 60_000)
        self.assertTrue(client.expire("k", 0))
        self.assertIs(client.ttl("k"), PERSISTENT)
        self.assertTrue(client.delete("k"))
        stats = client.stats()
        self.assertGreaterEqual(stats["cmd_set"], 1)
        self.assertTrue(all(isinstance(v, int) for v in stats.values()))

    def test_every_command_over_tcp(self) -> None:
        self.check_every_command(self.client())

    def test_every_command_over_unix_socket(self) -> None:
        with Client(self.server.unix) as client:
            self.check_every_command(client)
        self.assertTrue(client.closed)

    def test_not_found_is_a_value(self) -> None:
        client = self.client()
        self.assertIsNone(client.get("missing"))
        self.assertIs(client.delete("missing"), False)
        self.assertIs(client.expire("missing", 1000), False)
        self.assertIsNone(client.ttl("missing"))

    def test_binary_keys_and_values(self) -> None:
        client = self.client()
        key = bytes(range(256))
        value = b"\x00\n\xff" + bytes(range(256)) * 100
        client.set(key, value)
        self.assertEqual(client.get(key), value)
        client.set(b"", b"")
        self.assertEqual(client.get(b""), b"")
        client.set("clé ✓", "välue ✓")
        self.assertEqual(client.get("clé ✓".encode()), "välue ✓".encode())

    def test_ttl_is_a_full_u64(self) -> None:
        client = self.client()
        client.set("forever", "x", ttl_ms=U64_MAX)
        remaining_ms = client.ttl("forever")
        assert isinstance(remaining_ms, int)
        self.assertGreater(remaining_ms, 2**63)
        self.assertLessEqual(remaining_ms, U64_MAX)

    def test_largest_value_round_trips(self) -> None:
        client = self.client()
        value = b"v" * client.limits.max_value_bytes
        client.set("k" * client.limits.max_key_bytes, value)
        self.assertEqual(client.get("k" * client.limits.max_key_bytes), value)


class VersionTwoCommands(ServerTestCase):
    def test_add_stores_only_a_missing_key(self) -> None:
        client = self.client()
        self.assertIs(client.add("add:k", "first", ttl_ms=60_000), True)
        self.assertIs(client.add("add:k", "second"), False)
        self.assertEqual(client.get("add:k"), b"first")
        remaining_ms = client.ttl("add:k")
        assert isinstance(remaining_ms, int)
        self.assertTrue(0 < remaining_ms <= 60_000)

    def test_replace_stores_only_an_existing_key_and_resets_its_ttl(self) -> None:
        client = self.client()
        self.assertIs(client.replace("replace:k", "v"), False)
        self.assertIsNone(client.get("replace:k"))
        client.set("replace:k", "old", ttl_ms=60_000)
        self.assertIs(client.replace("replace:k", "new"), True)
        self.assertEqual(client.get("replace:k"), b"new")
        self.assertIs(client.ttl("replace:k"), PERSISTENT)

    def test_incr_counts_in_i64_and_refuses_what_is_not_an_integer(self) -> None:
        client = self.client()
        self.assertEqual(client.incr("incr:n"), 1)
        self.assertEqual(client.incr("incr:n", 41), 42)
        self.assertEqual(client.incr("incr:n", -50), -8)
        self.assertEqual(client.get("incr:n"), b"-8")
        client.set("incr:max", str(2**63 - 1))
        with self.assertRaises(NotIntegerError) as caught:
            client.incr("incr:max")
        self.assertFalse(caught.exception.local)
        self.assertEqual(client.incr("incr:max", -(2**63)), -1)
        client.set("incr:text", "12a")
        with self.assertRaises(NotIntegerError):
            client.incr("incr:text")
        self.assertEqual(client.get("incr:text"), b"12a", "nothing changed")
        with self.assertRaises(ValueError):
            client.incr("incr:n", 2**63)
        self.assertFalse(client.closed)

    def test_append_returns_the_new_length(self) -> None:
        client = self.client()
        self.assertEqual(client.append("append:k", "ab"), 2)
        self.assertEqual(client.append("append:k", b"\x00\xff"), 4)
        self.assertEqual(client.append("append:k", ""), 4)
        self.assertEqual(client.get("append:k"), b"ab\x00\xff")

    def test_version_2_batches(self) -> None:
        client = self.client()
        results = (
            client.batch()
            .incr("batch:n")
            .incr("batch:n", 2)
            .append("batch:n", "x")
            .incr("batch:n")
            .add("batch:n", "y")
            .replace("batch:n", "7")
            .scan(0, 10, "batch:")
            .execute(raise_on_error=False)
        )
        self.assertEqual(results[:3], [1, 3, 2])
        self.assertIsInstance(results[3], NotIntegerError)
        self.assertEqual(results[4:6], [False, True])
        self.assertIsInstance(results[6], tuple)

    def test_hello_1_turns_the_version_2_commands_off_and_hello_2_on(self) -> None:
        client = self.client()
        # Queued while the connection is at version 2, the second INCR is sent behind HELLO 1: the server refuses it.
        results = client.batch().incr("hello:n").hello(1).incr("hello:n").execute(raise_on_error=False)
        self.assertEqual(results[0], 1)
        self.assertEqual(results[1].version, 1)
        self.assertIsInstance(results[2], UnknownCommandError)
        self.assertFalse(results[2].local)
        self.assertEqual(client.protocol_version, 1)
        with self.assertRaises(UnknownCommandError) as caught:
            client.incr("hello:n")
        self.assertTrue(caught.exception.local)
        self.assertEqual(client.get("hello:n"), b"1")
        self.assertEqual(client.hello().version, 2)
        self.assertEqual(client.incr("hello:n"), 2)

    def test_version_2_writes_are_checked_locally_as_set_is(self) -> None:
        client = self.client()
        limits = client.limits
        too_long = b"v" * (limits.max_value_bytes + 1)
        for write in (client.add, client.replace, client.append):
            with self.subTest(write.__name__):
                with self.assertRaises(ValueTooLargeError) as caught:
                    write("limits:k", too_long)
                self.assertTrue(caught.exception.local)
                with self.assertRaises(KeyTooLargeError):
                    write("k" * (limits.max_key_bytes + 1), "v")
        with self.assertRaises(KeyTooLargeError):
            client.incr("k" * (limits.max_key_bytes + 1))
        self.assertEqual(client.scan(prefix="k" * (limits.max_key_bytes + 1))[1], [])

    def test_an_append_past_the_value_limit_is_refused_by_the_server(self) -> None:
        client = self.client()
        half = b"h" * (client.limits.max_value_bytes // 2 + 1)
        client.set("append:big", half)
        with self.assertRaises(ValueTooLargeError) as caught:
            client.append("append:big", half)
        self.assertFalse(caught.exception.local)
        self.assertEqual(client.get("append:big"), half)


class ScanWalk(ServerTestCase):
    """The conformance kit's SCAN walk: thousands of keys under two prefixes, one walked with a small count."""

    USERS = 3000
    ORDERS = 2000

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        with cls.server.client() as client:
            batch = client.batch()
            for i in range(cls.USERS):
                batch.set(f"user:{i}", "u")
            for i in range(cls.ORDERS):
                batch.set(f"order:{i}", "o")
            batch.set(b"user", "no colon").set(b"\x00user:", "starts with a NUL byte")
            batch.execute()

    def test_a_walk_returns_each_key_under_the_prefix_once(self) -> None:
        keys = list(self.client().scan_iter(prefix="user:", count=10))
        self.assertEqual(len(keys), self.USERS, "no key twice")
        self.assertEqual(set(keys), {f"user:{i}".encode() for i in range(self.USERS)})

    def test_a_walk_without_a_prefix_returns_every_key(self) -> None:
        keys = list(self.client().scan_iter(count=1000))
        self.assertEqual(len(keys), self.USERS + self.ORDERS + 2)
        self.assertEqual(len(set(keys)), len(keys))

    def test_pages_by_hand_end_at_cursor_0(self) -> None:
        client = self.client()
        cursor, pages, keys = 0, 0, set()
        while True:
            cursor, page = client.scan(cursor, count=50, prefix=b"order:")
            pages += 1
            keys.update(page)
            if cursor == 0:
                break
        self.assertEqual(keys, {f"order:{i}".encode() for i in range(self.ORDERS)})
        self.assertGreater(pages, 1)

    def test_a_walk_through_the_pool(self) -> None:
        with blink_client.ConnectionPool(self.server.tcp) as pool, pool.client() as client:
            self.assertEqual(sum(1 for _ in client.scan_iter(prefix=b"order:1", count=16)), 1111)


class Flush(ServerTestCase):
    def test_flush_removes_every_key(self) -> None:
        client = self.client()
        client.batch().set("a", "1").set("b", "2", ttl_ms=60_000).execute()
        client.flush()
        self.assertEqual(client.batch().get("a").get("b").execute(), [None, None])
        self.assertEqual(client.stats()["items"], 0)
        self.assertEqual(list(client.scan_iter()), [])
        self.assertIs(client.add("a", "3"), True)


class Batches(ServerTestCase):
    def test_replies_come_back_in_request_order(self) -> None:
        client = self.client()
        batch = client.batch()
        for i in range(500):
            batch.set(f"k{i}", f"v{i}")
        for i in range(500):
            batch.get(f"k{i}").ttl(f"k{i}")
        batch.delete("k0").delete("k0").get("k0").ping().stats()
        self.assertEqual(len(batch), 1505)
        results = batch.execute()
        self.assertEqual(results[:500], [None] * 500)
        self.assertEqual(results[500:1500:2], [f"v{i}".encode() for i in range(500)])
        self.assertEqual(results[501:1500:2], [PERSISTENT] * 500)
        self.assertEqual(results[1500:1504], [True, False, None, None])
        self.assertIsInstance(results[1504], dict)
        self.assertEqual(len(batch), 0)
        self.assertEqual(batch.execute(), [])

    def test_a_rejected_request_keeps_its_place_and_the_connection(self) -> None:
        client = self.client()
        batch = client.batch().set("a", "1").hello(0).get("a")
        results = batch.execute(raise_on_error=False)
        self.assertIsNone(results[0])
        self.assertIsInstance(results[1], UnsupportedVersionError)
        self.assertEqual(results[2], b"1")
        with self.assertRaises(UnsupportedVersionError):
            client.batch().hello(0).ping().execute()
        self.assertEqual(client.get("a"), b"1")


class WithToken(ServerTestCase):
    server_token = "s3cret"

    def test_token_is_sent_at_connect(self) -> None:
        client = self.client(token="s3cret")
        client.set("k", "v")
        self.assertEqual(client.get("k"), b"v")

    def test_without_a_token_commands_need_auth(self) -> None:
        client = self.client()
        client.ping()
        with self.assertRaises(AuthRequiredError):
            client.get("k")
        with self.assertRaises(ValueTooLargeError) as caught:
            client.set("k", b"v" * 4096)  # over the 4096-byte pre-auth frame limit
        self.assertTrue(caught.exception.local)
        client.auth(b"s3cret")
        client.set("k", b"v" * 4096)
        self.assertEqual(client.get("k"), b"v" * 4096)


class FakePeers(unittest.TestCase):
    def peer(self, handler: FakePeer.Handler) -> FakePeer:
        peer = FakePeer(handler)
        self.addCleanup(peer.close)
        return peer

    def test_hello_and_auth_are_pipelined(self) -> None:
        frames: list[bytes] = []

        def serve(conn: socket.socket) -> None:
            frames.extend([read_frame(conn), read_frame(conn)])  # both, before any reply
            conn.sendall(hello_reply() + bytes.fromhex("00000001 00"))
            wait_for_eof(conn)

        with Client(self.peer(serve).address, token="tok") as client:
            self.assertTrue(client.connection.session.authenticated)
        self.assertEqual(frames, [bytes.fromhex("00000002 02 02"), bytes.fromhex("00000004 03") + b"tok"])

    def test_an_unknown_version_closes(self) -> None:
        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply(version=3))
            wait_for_eof(conn)

        with self.assertRaisesRegex(ProtocolError, "version 3"):
            Client(self.peer(serve).address)

    def test_a_version_1_server_is_spoken_to_at_version_1(self) -> None:
        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply(version=1))
            wait_for_eof(conn)

        with Client(self.peer(serve).address) as client:
            self.assertEqual(client.protocol_version, 1)
            with self.assertRaises(UnknownCommandError) as caught:
                client.incr("n")
            self.assertTrue(caught.exception.local)
            with self.assertRaises(UnknownCommandError):
                client.batch().get("k").scan()
            with self.assertRaises(UnknownCommandError):
                next(client.scan_iter())
            self.assertFalse(client.closed)

    def answering(self, *replies: bytes, version: int = 1) -> FakePeer:
        """A peer that answers HELLO with `version`, then each later request with the next of `replies`."""

        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply(version=version))
            for reply in replies:
                read_frame(conn)
                conn.sendall(reply)
            wait_for_eof(conn)

        return self.peer(serve)

    def test_unknown_statuses_close(self) -> None:
        for status in (0x42, 0x9F):
            with self.subTest(status=status), Client(self.answering(bytes([0, 0, 0, 1, status])).address) as client:
                with self.assertRaises(ProtocolError) as caught:
                    client.get("k")
                self.assertEqual(caught.exception.status, status)
                self.assertTrue(client.closed)

    def test_closing_statuses_fail_every_pending_call(self) -> None:
        busy = bytes.fromhex("00000005 8b") + b"busy"

        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply())
            for _ in range(3):
                read_frame(conn)
            conn.sendall(bytes.fromhex("00000002 00 31") + busy)
            wait_for_eof(conn)

        with Client(self.peer(serve).address) as client:
            results = client.batch().get("a").get("b").get("c").execute(raise_on_error=False)
            self.assertEqual(results[0], b"1")
            self.assertIsInstance(results[1], BusyError)
            self.assertIs(results[1], results[2])
            self.assertIn("outcome unknown", str(results[1]))
            self.assertTrue(client.closed)

    def test_item_too_large_keeps_the_connection(self) -> None:
        peer = self.answering(bytes.fromhex("00000001 85"), bytes.fromhex("00000001 00"))
        with Client(peer.address) as client:
            with self.assertRaises(ItemTooLargeError) as caught:
                client.set("k", "v")
            self.assertFalse(caught.exception.local)
            client.ping()
            self.assertFalse(client.closed)

    def test_a_broken_version_2_reply_closes(self) -> None:
        broken: dict[str, tuple[Callable[[Client], object], bytes]] = {
            "a SCAN key running past the body": (Client.scan, bytes.fromhex("0000000c 00 0000000000000000 0005 6b")),
            "a SCAN body shorter than its cursor": (Client.scan, bytes.fromhex("00000004 00 000000")),
            "an INCR body of 4 bytes": (lambda c: c.incr("k"), bytes.fromhex("00000005 00 00000001")),
            "an APPEND answered EXISTS": (lambda c: c.append("k", "v"), bytes.fromhex("00000001 02")),
        }
        for what, (call, reply) in broken.items():
            with self.subTest(what), Client(self.answering(reply, version=2).address) as client:
                with self.assertRaises(ProtocolError):
                    call(client)
                self.assertTrue(client.closed)

    def test_not_integer_keeps_the_connection(self) -> None:
        peer = self.answering(bytes.fromhex("00000001 8d"), bytes.fromhex("00000001 00"), version=2)
        with Client(peer.address) as client:
            with self.assertRaises(NotIntegerError):
                client.incr("k")
            client.ping()
            self.assertFalse(client.closed)

    def test_server_timeout_status(self) -> None:
        peer = self.answering(bytes.fromhex("00000008 8a 74696d656f7574"))
        with Client(peer.address) as client, self.assertRaises(ServerTimeoutError):
            client.ping()

    def test_eof_fails_the_call_as_closed(self) -> None:
        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply())
            read_frame(conn)

        with Client(self.peer(serve).address) as client:
            with self.assertRaisesRegex(ConnectionClosedError, "outcome unknown"):
                client.get("k")
            self.assertTrue(client.closed)

    def test_write_timeout_when_the_peer_stops_reading(self) -> None:
        stop = threading.Event()

        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply(max_frame_bytes=1 << 24, max_value_bytes=1 << 24))
            stop.wait(10)

        self.addCleanup(stop.set)
        with Client(self.peer(serve).address, write_timeout_s=0.2) as client:
            batch = client.batch()
            for _ in range(64):
                batch.set("k", b"v" * (1 << 20))
            with elapsed() as seconds, self.assertRaisesRegex(BlinkTimeoutError, "write_timeout_s"):
                batch.execute()
            self.assertLess(seconds(), 5)
            self.assertTrue(client.closed)

    def test_connection_refused(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
        with self.assertRaises(ConnectError):
            Client(f"127.0.0.1:{port}")


class Addresses(unittest.TestCase):
    def test_parse_address(self) -> None:
        self.assertEqual(parse_address("127.0.0.1:7000"), TcpAddress("127.0.0.1", 7000))
        self.assertEqual(parse_address("[::1]:7000"), TcpAddress("::1", 7000))
        self.assertEqual(parse_address("localhost"), TcpAddress("localhost", 25465))
        self.assertEqual(parse_address(("h", 1)), TcpAddress("h", 1))
        self.assertEqual(parse_address("unix:blink.sock"), UnixAddress("blink.sock"))
        self.assertEqual(parse_address("/tmp/blink.sock"), UnixAddress("/tmp/blink.sock"))
        with self.assertRaises(ValueError):
            parse_address("host:port")

    def test_timeouts_must_be_positive(self) -> None:
        with self.assertRaises(ValueError):
            blink_client.ConnectionConfig.create("127.0.0.1:1", read_timeout_s=0)
