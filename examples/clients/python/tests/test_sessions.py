"""Replays the vectors' sessions (protocol/vectors/v1.json) through the public API.

Per the conformance kit: each session runs on a fresh server configured as it
says, through a client opened without a token; each frame of a step becomes
one API call (a step of several frames is one Batch); frames the API cannot
express are not sent; frames over the session's limits must fail locally.
"""

from __future__ import annotations

import struct
import unittest
from typing import Any

from blink_client import PERSISTENT, BlinkError, Client, ConnectionClosedError, HelloInfo, protocol

from .support import ERRORS, BlinkServer, limit_flags, load_vectors, vector_bytes

VECTORS = load_vectors()
#: Steps replayed across all sessions; a change to the vectors must update it knowingly.
EXPECTED_STEPS_REPLAYED = 36
#: Steps not sent because the API cannot express them (unknown opcode, malformed, header only).
EXPECTED_STEPS_SKIPPED = 5


class Call:
    """One decoded request frame as an API method name and arguments."""

    def __init__(self, command: str, args: tuple[Any, ...], key: bytes = b"", value: bytes = b"") -> None:
        self.command = command
        self.args = args
        self.key = key
        self.value = value

    @property
    def method(self) -> str:
        return {"DEL": "delete"}.get(self.command, self.command.lower())


def decode_calls(data: bytes) -> list[Call] | None:
    """The test's own request decoder (SPEC §5): the frames of `data`, or None if any is inexpressible."""
    calls = []
    position = 0
    while position < len(data):
        if data[position] >= 0x20 or len(data) - position < 5:
            return None
        (length,) = struct.unpack_from(">I", data, position)
        payload = data[position + 4 : position + 4 + length]
        if length == 0 or len(payload) < length:
            return None
        position += 4 + length
        call = decode_payload(payload)
        if call is None:
            return None
        calls.append(call)
    return calls


def decode_payload(payload: bytes) -> Call | None:
    opcode, fields = payload[0], payload[1:]
    if opcode == protocol.Opcode.PING and not fields:
        return Call("PING", ())
    if opcode == protocol.Opcode.STATS and not fields:
        return Call("STATS", ())
    if opcode == protocol.Opcode.HELLO and len(fields) == 1:
        return Call("HELLO", (fields[0],))
    if opcode == protocol.Opcode.AUTH:
        return Call("AUTH", (fields,))
    with_ttl = opcode in (protocol.Opcode.SET, protocol.Opcode.EXPIRE)
    if opcode not in (protocol.Opcode.GET, protocol.Opcode.DEL, protocol.Opcode.TTL) and not with_ttl:
        return None
    ttl_ms = 0
    if with_ttl:
        if len(fields) < 8:
            return None
        ttl_ms, fields = int.from_bytes(fields[:8], "big"), fields[8:]
    if len(fields) < 2:
        return None
    key_len = int.from_bytes(fields[:2], "big")
    key, rest = fields[2 : 2 + key_len], fields[2 + key_len :]
    if len(key) < key_len:
        return None
    name = protocol.Opcode(opcode).name
    if opcode == protocol.Opcode.SET:
        return Call(name, (key, rest, ttl_ms), key, rest)
    if rest:
        return None
    if opcode == protocol.Opcode.EXPIRE:
        return Call(name, (key, ttl_ms), key)
    return Call(name, (key,), key)


class SessionReplay(unittest.TestCase):
    def test_every_session_through_the_api(self) -> None:
        replayed = skipped = 0
        for session in VECTORS["sessions"]:
            if "cap_bytes" in session["server"]:
                continue  # needs a memory cap below the server's minimum, as tests/vectors.rs says
            with self.subTest(session["name"]):
                ran, not_sent = self.replay(session)
                replayed += ran
                skipped += not_sent
        self.assertEqual(replayed, EXPECTED_STEPS_REPLAYED)
        self.assertEqual(skipped, EXPECTED_STEPS_SKIPPED)

    def replay(self, session: dict[str, Any]) -> tuple[int, int]:
        config = session["server"]
        limits = VECTORS["limits"][config["limits"]]
        token = None if config["token"] is None else bytes.fromhex(config["token"]).decode()
        server = BlinkServer(*limit_flags(limits), token=token)
        self.addCleanup(server.cleanup)
        replayed = skipped = 0
        with Client(server.tcp) as client:
            for number, step in enumerate(session["steps"]):
                calls = decode_calls(vector_bytes(step["send"]))
                if calls is None:
                    skipped += 1
                    continue
                self.assertEqual(len(calls), len(step["replies"]))
                outcomes = self.run_step(client, calls)
                for call, outcome, expected in zip(calls, outcomes, step["replies"], strict=True):
                    self.check(call, outcome, expected, limits, f"{session['name']} step {number}")
                if step["then"] == "closed":
                    self.assertTrue(client.closed)
                    with self.assertRaises(ConnectionClosedError):
                        client.ping()
                else:
                    self.assertFalse(client.closed)
                replayed += 1
        return replayed, skipped

    def run_step(self, client: Client, calls: list[Call]) -> list[object]:
        if len(calls) > 1:
            batch = client.batch()
            for call in calls:
                getattr(batch, call.method)(*call.args)
            return batch.execute(raise_on_error=False)
        try:
            return [getattr(client, calls[0].method)(*calls[0].args)]
        except BlinkError as exc:
            return [exc]

    def check(self, call: Call, outcome: object, expected: dict[str, Any], limits: dict[str, int], where: str) -> None:
        status = expected["status"]
        if status in ERRORS:
            self.assertIsInstance(outcome, ERRORS[status], where)
            over_limits = len(call.key) > limits["max_key_bytes"] or len(call.value) > limits["max_value_bytes"]
            self.assertEqual(getattr(outcome, "local", False), over_limits, f"{where}: refused locally")
            return
        self.assertNotIsInstance(outcome, BlinkError, where)
        if status == "NOT_FOUND":
            self.assertIn(outcome, (None, False), where)
            self.assertEqual(outcome, False if call.command in ("DEL", "EXPIRE") else None, where)
            return
        self.assertEqual(status, "OK", where)
        body = vector_bytes(expected["body"]) if "body" in expected else None
        if call.command == "GET":
            self.assertEqual(outcome, body, where)
        elif call.command == "HELLO":
            assert isinstance(outcome, HelloInfo)
            assert body is not None
            self.assertEqual(outcome, protocol.decode_hello(body), where)
        elif call.command == "TTL":
            if "body_len" in expected:
                self.assertEqual(expected["body_len"], 8)
                self.assertIsInstance(outcome, int, where)
            else:
                self.assertEqual(body, b"")
                self.assertIs(outcome, PERSISTENT, where)
        elif call.command in ("DEL", "EXPIRE"):
            self.assertIs(outcome, True, where)
        elif call.command == "STATS":
            self.assertIsInstance(outcome, dict, where)
        else:
            self.assertIsNone(outcome, where)
