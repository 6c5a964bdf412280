"""Integration tests of the sync Client and Batch against a real blink-store (and a few fake peers)."""

from __future__ import annotations

import socket
import threading
import unittest

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
    ProtocolError,
    ServerTimeoutError,
    TcpAddress,
    UnixAddress,
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
        self.assertEqual((hello.version, hello.auth_required), (1, False))
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
        self.assertEqual(frames, [bytes.fromhex("00000002 02 01"), bytes.fromhex("00000004 03") + b"tok"])

    def test_an_unknown_version_closes(self) -> None:
        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply()[:5] + b"\x02" + hello_reply()[6:])
            wait_for_eof(conn)

        with self.assertRaisesRegex(ProtocolError, "version 2"):
            Client(self.peer(serve).address)

    def answering(self, *replies: bytes) -> FakePeer:
        """A peer that answers HELLO, then each later request with the next of `replies`."""

        def serve(conn: socket.socket) -> None:
            read_frame(conn)
            conn.sendall(hello_reply())
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
