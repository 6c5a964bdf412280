"""Unit tests of blink_client.session: status classification (SPEC §13) and local limit checks."""

from __future__ import annotations

import unittest

from blink_client import (
    CommandError,
    ConnectionClosedError,
    ConnectionConfig,
    KeyTooLargeError,
    Limits,
    ProtocolError,
    ValueTooLargeError,
    commands,
)
from blink_client.protocol import ReplyDecoder, Status
from blink_client.session import Session

from .support import ERRORS, load_vectors, vector_bytes

VECTORS = load_vectors()
KEPT = {"ERR_UNKNOWN_COMMAND", "ERR_KEY_TOO_LARGE", "ERR_VALUE_TOO_LARGE", "ERR_ITEM_TOO_LARGE"}
KEPT |= {"ERR_AUTH_REQUIRED", "ERR_UNSUPPORTED_VERSION"}


def session(limits: Limits | None = None) -> Session:
    state = Session(ConnectionConfig.create("127.0.0.1:1"))
    if limits is not None:
        state.limits = limits
    return state


class StatusClassification(unittest.TestCase):
    def test_every_error_reply_of_the_vectors(self) -> None:
        cases = [case for case in VECTORS["encode_reply"] if case["reply"]["kind"] == "error"]
        self.assertEqual({case["reply"]["status"] for case in cases}, set(ERRORS))
        for case in cases:
            name = case["reply"]["status"]
            with self.subTest(name):
                decoder = ReplyDecoder()
                decoder.feed(vector_bytes(case["bytes"]))
                reply = decoder.next_reply()
                assert reply is not None
                if name in KEPT:
                    outcome = session().complete(commands.get(b"k"), *reply)
                    self.assertIsInstance(outcome, ERRORS[name])
                    self.assertIsInstance(outcome, CommandError)
                else:
                    with self.assertRaises(ConnectionClosedError) as caught:
                        session().complete(commands.get(b"k"), *reply)
                    self.assertIsInstance(caught.exception, ERRORS[name])
                    self.assertEqual(caught.exception.status, Status[name])
                    self.assertIn("outcome unknown", str(caught.exception))

    def test_unknown_statuses_close(self) -> None:
        for status in (0x02, 0x7F, 0x8D, 0xFF):
            with self.subTest(status=status), self.assertRaises(ProtocolError):
                session().complete(commands.get(b"k"), status, b"")

    def test_a_body_that_does_not_fit_the_command_closes(self) -> None:
        with self.assertRaises(ProtocolError):
            session().complete(commands.ttl(b"k"), Status.OK, b"\x00" * 5)
        with self.assertRaises(ProtocolError):
            session().complete(commands.hello(), Status.OK, b"\x01")

    def test_hello_sets_limits_and_decoder_limit(self) -> None:
        state = session()
        body = bytes.fromhex("01 01 00001000 00000004 00000008")
        state.complete(commands.hello(), Status.OK, body)
        self.assertEqual(state.limits, Limits(4096, 4, 8))
        self.assertEqual(state.decoder.max_frame_bytes, 4096)
        self.assertTrue(state.auth_required)
        self.assertEqual(state.frame_limit, 4096)


class LocalChecks(unittest.TestCase):
    def test_key_value_and_frame_limits(self) -> None:
        state = session(Limits(max_frame_bytes=4096, max_key_bytes=4, max_value_bytes=8))
        state.check(commands.set(b"1234", b"12345678"))
        with self.assertRaises(KeyTooLargeError):
            state.check(commands.get(b"12345"))
        with self.assertRaises(ValueTooLargeError):
            state.check(commands.set(b"k", b"123456789"))
        wide = session(Limits(max_frame_bytes=4096, max_key_bytes=1024, max_value_bytes=1 << 20))
        wide.check(commands.set(b"k", b"v" * (4096 - 11 - 1)))
        with self.assertRaises(ValueTooLargeError) as caught:
            wide.check(commands.set(b"k", b"v" * (4096 - 11)))
        self.assertTrue(caught.exception.local)

    def test_pre_auth_frame_limit(self) -> None:
        state = session(Limits(max_frame_bytes=1 << 20, max_key_bytes=1024, max_value_bytes=1 << 20))
        state.auth_required = True
        with self.assertRaises(ValueTooLargeError):
            state.check(commands.set(b"k", b"v" * 4096))
        state.complete(commands.auth(b"t"), Status.OK, b"")
        state.check(commands.set(b"k", b"v" * 4096))

    def test_tokens_fit_the_pre_auth_frame(self) -> None:
        ConnectionConfig.create("127.0.0.1:1", token=b"t" * 4095)
        with self.assertRaises(ValueError):
            ConnectionConfig.create("127.0.0.1:1", token=b"t" * 4096)
