"""Replays the vectors' sessions (protocol/vectors/v1.json and v2.json) through the public API.

Per the conformance kit: each session runs on a fresh server configured as it
says, through a client opened without a token; each frame of a step becomes
one API call (a step of several frames is one Batch); frames the API cannot
express are not sent; frames over the session's limits must fail locally, and
so must a version-2 command once the connection is at version 1.
"""

from __future__ import annotations

import struct
import unittest
from dataclasses import dataclass
from typing import Any

from blink_client import PERSISTENT, BlinkError, Client, ConnectionClosedError, HelloInfo, protocol
from blink_client.protocol import Opcode

from .support import ERRORS, VECTOR_FILES, BlinkServer, limit_flags, load_vectors, vector_bytes

#: Steps replayed across all sessions, per file; a change to the vectors must update it knowingly.
EXPECTED_STEPS_REPLAYED = {"v1.json": 36, "v2.json": 78}
#: Steps not sent because the API cannot express them (unknown opcode, malformed, header only).
EXPECTED_STEPS_SKIPPED = {"v1.json": 5, "v2.json": 0}
#: Opcodes whose fields are ttl_ms, key_len, key, then the value as the rest (SPEC §5).
STORE_OPCODES = (Opcode.SET, Opcode.ADD, Opcode.REPLACE)
#: Opcodes whose only fields are key_len and key.
KEY_OPCODES = (Opcode.GET, Opcode.DEL, Opcode.TTL)


@dataclass(frozen=True)
class Expected:
    """What a step's calls are checked against: the session's limits, and the version the step starts at."""

    limits: dict[str, int]
    version: int

    def refused_locally(self, call: Call) -> bool:
        """The client refuses a call before sending: over the limits, or a v2 command at version 1."""
        if self.version < 2 and Opcode[call.command] in protocol.VERSION_2_OPCODES:
            return True
        return len(call.key) > self.limits["max_key_bytes"] or len(call.value) > self.limits["max_value_bytes"]


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
    if opcode in (Opcode.PING, Opcode.STATS, Opcode.FLUSH) and not fields:
        return Call(Opcode(opcode).name, ())
    if opcode == Opcode.HELLO and len(fields) == 1:
        return Call("HELLO", (fields[0],))
    if opcode == Opcode.AUTH:
        return Call("AUTH", (fields,))
    if opcode == Opcode.SCAN and len(fields) >= 10:
        cursor, count = int.from_bytes(fields[:8], "big"), int.from_bytes(fields[8:10], "big")
        return Call("SCAN", (cursor, count, fields[10:]))
    if opcode == Opcode.INCR and len(fields) >= 8:
        return decode_keyed("INCR", int.from_bytes(fields[:8], "big", signed=True), fields[8:], with_rest=False)
    if opcode in (*STORE_OPCODES, Opcode.EXPIRE) and len(fields) >= 8:
        ttl_ms = int.from_bytes(fields[:8], "big")
        return decode_keyed(Opcode(opcode).name, ttl_ms, fields[8:], with_rest=opcode in STORE_OPCODES)
    if opcode == Opcode.APPEND:
        return decode_keyed("APPEND", None, fields, with_rest=True)
    if opcode in KEY_OPCODES:
        return decode_keyed(Opcode(opcode).name, None, fields, with_rest=False)
    return None


def decode_keyed(name: str, number: int | None, fields: bytes, *, with_rest: bool) -> Call | None:
    """key_len, key and, `with_rest`, the value; `number` (a TTL or a delta) goes after the key or the value."""
    if len(fields) < 2:
        return None
    key_len = int.from_bytes(fields[:2], "big")
    key, rest = fields[2 : 2 + key_len], fields[2 + key_len :]
    if len(key) < key_len or (rest and not with_rest):
        return None
    args: tuple[Any, ...] = (key, rest) if with_rest else (key,)
    if number is not None:
        args += (number,)
    return Call(name, args, key, rest)


class SessionReplay(unittest.TestCase):
    def test_every_session_through_the_api(self) -> None:
        replayed = dict.fromkeys(VECTOR_FILES, 0)
        skipped = dict.fromkeys(VECTOR_FILES, 0)
        for file in VECTOR_FILES:
            vectors = load_vectors(file)
            for session in vectors["sessions"]:
                if "cap_bytes" in session["server"]:
                    continue  # needs a memory cap below the server's minimum, as tests/vectors.rs says
                with self.subTest(file=file, session=session["name"]):
                    ran, not_sent = self.replay(session, vectors["limits"])
                    replayed[file] += ran
                    skipped[file] += not_sent
        self.assertEqual(replayed, EXPECTED_STEPS_REPLAYED)
        self.assertEqual(skipped, EXPECTED_STEPS_SKIPPED)

    def replay(self, session: dict[str, Any], limit_sets: dict[str, dict[str, int]]) -> tuple[int, int]:
        config = session["server"]
        limits = limit_sets[config["limits"]]
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
                # Calls are checked, so v2 ones refused, at the version the step starts at (a batch is
                # checked as it is queued, before its own HELLO replies arrive).
                version = client.protocol_version
                outcomes = self.run_step(client, calls)
                for call, outcome, expected in zip(calls, outcomes, step["replies"], strict=True):
                    self.check(call, outcome, expected, Expected(limits, version), f"{session['name']} step {number}")
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

    def check(self, call: Call, outcome: object, expected: dict[str, Any], context: Expected, where: str) -> None:
        status = expected["status"]
        if status in ERRORS:
            self.assertIsInstance(outcome, ERRORS[status], where)
            self.assertEqual(
                getattr(outcome, "local", False), context.refused_locally(call), f"{where}: refused locally"
            )
            return
        self.assertNotIsInstance(outcome, BlinkError, where)
        if status in ("NOT_FOUND", "EXISTS"):
            self.assertIn(outcome, (None, False), where)
            absent_is_false = call.command in ("DEL", "EXPIRE", "ADD", "REPLACE")
            self.assertEqual(outcome, False if absent_is_false else None, where)
            self.assertEqual(status == "EXISTS", call.command == "ADD", where)
            return
        self.assertEqual(status, "OK", where)
        body = vector_bytes(expected["body"]) if "body" in expected else None
        if call.command in ("INCR", "APPEND"):
            assert body is not None
            self.assertEqual(outcome, int.from_bytes(body, "big", signed=call.command == "INCR"), where)
        elif call.command == "SCAN":
            self.assertNotIn("body", expected, "a SCAN page depends on the server's index")
            self.assert_scan_page(outcome, call, where)
        else:
            self.check_v1_ok(call, outcome, expected, body, where)

    def assert_scan_page(self, outcome: object, call: Call, where: str) -> None:
        """Any page of the right shape: a u64 cursor and keys that start with the prefix."""
        assert isinstance(outcome, tuple), where
        cursor, keys = outcome
        self.assertTrue(0 <= cursor < 2**64, where)
        prefix = call.args[2]
        self.assertTrue(all(isinstance(key, bytes) and key.startswith(prefix) for key in keys), where)

    def check_v1_ok(
        self, call: Call, outcome: object, expected: dict[str, Any], body: bytes | None, where: str
    ) -> None:
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
        elif call.command in ("DEL", "EXPIRE", "ADD", "REPLACE"):
            self.assertIs(outcome, True, where)
        elif call.command == "STATS":
            self.assertIsInstance(outcome, dict, where)
        else:
            self.assertIsNone(outcome, where)  # PING, AUTH, SET, FLUSH
