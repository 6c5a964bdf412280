"""Unit tests of blink_client.session: status classification (SPEC §13) and local limit checks."""

from __future__ import annotations

import unittest

from blink_client import (
    CommandError,
    ConnectionClosedError,
    ConnectionConfig,
    KeyTooLargeError,
    Limits,
    NotIntegerError,
    ProtocolError,
    UnknownCommandError,
    ValueTooLargeError,
    commands,
)
from blink_client.commands import Request
from blink_client.protocol import ReplyDecoder, Status
from blink_client.session import Session

from .support import ERRORS, vector_bytes, vector_cases

KEPT = {"ERR_UNKNOWN_COMMAND", "ERR_KEY_TOO_LARGE", "ERR_VALUE_TOO_LARGE", "ERR_ITEM_TOO_LARGE"}
KEPT |= {"ERR_AUTH_REQUIRED", "ERR_UNSUPPORTED_VERSION", "ERR_NOT_INTEGER"}
HELLO_V1_BODY = bytes.fromhex("01 00 00101000 00000400 00100000")
HELLO_V2_BODY = bytes.fromhex("02 00 00101000 00000400 00100000")


def session(limits: Limits | None = None, version: int = 2) -> Session:
    """A session as after a handshake that negotiated `version`."""
    state = Session(ConnectionConfig.create("127.0.0.1:1"))
    state.version = version
    if limits is not None:
        state.limits = limits
    return state


def version_2_requests() -> list[Request[object]]:
    return [
        commands.add(b"k", b"v"),
        commands.replace(b"k", b"v"),
        commands.incr(b"k"),
        commands.append(b"k", b"v"),
        commands.flush(),
        commands.scan(),
    ]


class StatusClassification(unittest.TestCase):
    def test_every_error_reply_of_the_vectors(self) -> None:
        cases = [case for _, case in vector_cases("encode_reply") if case["reply"]["kind"] == "error"]
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
        for status in (0x02, 0x03, 0x7F, 0x8E, 0xFF):
            with self.subTest(status=status), self.assertRaises(ProtocolError):
                session().complete(commands.get(b"k"), status, b"")

    def test_version_2_statuses_close_a_version_1_connection(self) -> None:
        self.assertIsInstance(session().complete(commands.incr(b"k"), Status.ERR_NOT_INTEGER, b""), NotIntegerError)
        with self.assertRaisesRegex(ProtocolError, "not a status of protocol version 1"):
            session(version=1).complete(commands.get(b"k"), Status.ERR_NOT_INTEGER, b"")
        with self.assertRaises(ProtocolError):
            session(version=1).complete(commands.get(b"k"), Status.EXISTS, b"")

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


class Versions(unittest.TestCase):
    def test_a_connection_speaks_version_1_until_hello(self) -> None:
        state = Session(ConnectionConfig.create("127.0.0.1:1"))
        self.assertEqual(state.version, 1)
        self.assertEqual([request.frame for request in state.handshake()], [bytes.fromhex("00000002 02 02")])

    def test_every_hello_reply_sets_the_version(self) -> None:
        state = session(version=1)
        state.complete(commands.hello(2), Status.OK, HELLO_V2_BODY)
        self.assertEqual(state.version, 2)
        state.complete(commands.hello(1), Status.OK, HELLO_V1_BODY)
        self.assertEqual(state.version, 1)
        state.complete(commands.hello(255), Status.OK, HELLO_V2_BODY)
        self.assertEqual(state.version, 2)
        self.assertIsInstance(state.complete(commands.hello(0), Status.ERR_UNSUPPORTED_VERSION, b""), CommandError)
        self.assertEqual(state.version, 2, "a refused HELLO changes nothing")

    def test_a_version_it_does_not_speak_or_did_not_ask_for_closes(self) -> None:
        with self.assertRaisesRegex(ProtocolError, "version 3"):
            session().complete(commands.hello(255), Status.OK, b"\x03" + HELLO_V2_BODY[1:])
        with self.assertRaisesRegex(ProtocolError, "version 2 in reply to HELLO 1"):
            session().complete(commands.hello(1), Status.OK, HELLO_V2_BODY)

    def test_version_2_commands_are_refused_locally_at_version_1(self) -> None:
        state = session(version=1)
        for request in version_2_requests():
            with self.subTest(request.opcode.name), self.assertRaises(UnknownCommandError) as caught:
                state.check(request)
            self.assertTrue(caught.exception.local)
            self.assertEqual(caught.exception.status, Status.ERR_UNKNOWN_COMMAND)
            self.assertIn("needs protocol version 2", str(caught.exception))
            session(version=2).check(request)
        state.check(commands.get(b"k"))


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

    def test_version_2_writes_are_checked_as_set_is(self) -> None:
        state = session(Limits(max_frame_bytes=4096, max_key_bytes=4, max_value_bytes=8))
        for make in (commands.add, commands.replace, commands.append):
            state.check(make(b"1234", b"12345678"))
            with self.assertRaises(KeyTooLargeError):
                state.check(make(b"12345", b"v"))
            with self.assertRaises(ValueTooLargeError):
                state.check(make(b"k", b"123456789"))
        with self.assertRaises(KeyTooLargeError):
            state.check(commands.incr(b"12345"))
        state.check(commands.scan(prefix=b"a prefix over the key limit"))
        with self.assertRaises(ValueTooLargeError) as caught:
            state.check(commands.scan(prefix=b"p" * (4096 - 11 + 1)))
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
