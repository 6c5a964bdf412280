"""Unit tests of the wire module (blink_client.protocol), driven by protocol/vectors/v1.json."""

from __future__ import annotations

import random
import unittest
from typing import Any

from blink_client import PERSISTENT, ProtocolError, commands, protocol
from blink_client.protocol import Opcode, ReplyDecoder, Status

from .support import load_vectors, vector_bytes

VECTORS = load_vectors()


def encode_request(request: dict[str, Any]) -> bytes:
    """Re-encode a decode_request vector's request through the wire module."""
    command = request["command"]
    key = vector_bytes(request.get("key", ""))
    if command == "PING":
        return protocol.encode_ping()
    if command == "HELLO":
        return protocol.encode_hello(request["version"])
    if command == "AUTH":
        return protocol.encode_auth(vector_bytes(request["token"]))
    if command == "GET":
        return protocol.encode_get(key)
    if command == "SET":
        return protocol.encode_set(key, vector_bytes(request["value"]), int(request["ttl_ms"]))
    if command == "DEL":
        return protocol.encode_del(key)
    if command == "EXPIRE":
        return protocol.encode_expire(key, int(request["ttl_ms"]))
    if command == "TTL":
        return protocol.encode_ttl(key)
    if command == "STATS":
        return protocol.encode_stats()
    raise AssertionError(f"unknown command {command}")


class DecodeReplyVectors(unittest.TestCase):
    def check(self, case: dict[str, Any], chunks: list[bytes]) -> None:
        """Feed the chunks in turn until a reply comes out; compare with the expected outcome."""
        decoder = ReplyDecoder(case["max_frame_bytes"])
        expect = case["expect"]
        fed = 0
        reply = None
        try:
            for chunk in chunks:
                decoder.feed(chunk)
                fed += len(chunk)
                reply = decoder.next_reply()
                if reply is not None:
                    break
        except ProtocolError:
            self.assertEqual(expect["outcome"], "invalid", case["name"])
            return
        if expect["outcome"] == "need_more":
            self.assertIsNone(reply, case["name"])
            self.assertEqual(decoder.buffered_bytes, fed)
        else:
            self.assertEqual(expect["outcome"], "reply", case["name"])
            assert reply is not None
            self.assertEqual(reply, (expect["status_code"], vector_bytes(expect["body"])))
            self.assertEqual(fed - decoder.buffered_bytes, expect["frame_len"], case["name"])

    def test_every_case_whole(self) -> None:
        for case in VECTORS["decode_reply"]:
            with self.subTest(case["name"]):
                self.check(case, [vector_bytes(case["bytes"])])

    def test_every_case_byte_by_byte(self) -> None:
        for case in VECTORS["decode_reply"]:
            with self.subTest(case["name"]):
                data = vector_bytes(case["bytes"])
                self.check(case, [data[i : i + 1] for i in range(len(data))])

    def test_covers_every_outcome(self) -> None:
        outcomes = {case["expect"]["outcome"] for case in VECTORS["decode_reply"]}
        self.assertEqual(outcomes, {"reply", "need_more", "invalid"})


class EncodeReplyVectors(unittest.TestCase):
    """Each encode_reply frame decodes to the reply the vector describes."""

    def decode(self, data: bytes) -> tuple[int, bytes]:
        decoder = ReplyDecoder()
        decoder.feed(data)
        reply = decoder.next_reply()
        assert reply is not None
        self.assertEqual(decoder.buffered_bytes, 0)
        return reply

    def test_every_case(self) -> None:
        limits = VECTORS["limits"]
        for case in VECTORS["encode_reply"]:
            with self.subTest(case["name"]):
                status, body = self.decode(vector_bytes(case["bytes"]))
                reply = case["reply"]
                kind = reply["kind"]
                if kind == "status":
                    self.assertEqual((status, body), (Status[reply["status"]], vector_bytes(reply["body"])))
                elif kind == "error":
                    self.assertEqual(status, Status[reply["status"]])
                    self.assertGreaterEqual(status, 0x80)
                    body.decode("utf-8")
                elif kind == "hello":
                    hello = commands.hello().decode(status, body)
                    self.assertEqual(hello.version, 1)
                    self.assertEqual(hello.auth_required, reply["auth_required"])
                    self.assertEqual(hello.limits, protocol.Limits(**limits[reply["limits"]]))
                elif kind == "ttl":
                    expected = PERSISTENT if reply["remaining_ms"] is None else int(reply["remaining_ms"])
                    self.assertEqual(commands.ttl(b"k").decode(status, body), expected)
                else:
                    self.assertEqual(kind, "stats")
                    self.assertEqual(
                        commands.stats().decode(status, body), {name: int(v) for name, v in reply["stats"]}
                    )


class RequestEncodingVectors(unittest.TestCase):
    def test_every_valid_request_reencodes_to_its_bytes(self) -> None:
        checked = 0
        for case in VECTORS["decode_request"]:
            expect = case["expect"]
            if expect["outcome"] != "request":
                continue
            with self.subTest(case["name"]):
                data = vector_bytes(case["bytes"])
                self.assertEqual(encode_request(expect["request"]), data[: expect["frame_len"]])
                checked += 1
        self.assertGreaterEqual(checked, 9)

    def test_spec_example(self) -> None:
        self.assertEqual(protocol.encode_get(b"user:1"), bytes.fromhex("00000009 10 0006 757365723a31"))
        self.assertEqual(protocol.encode_hello(), bytes.fromhex("00000002 02 01"))

    def test_commands_encode_str_as_utf8_and_record_sizes(self) -> None:
        request = commands.set("clé", "välue", ttl_ms=2**64 - 1)
        self.assertEqual(request.opcode, Opcode.SET)
        self.assertEqual(request.frame, protocol.encode_set("clé".encode(), "välue".encode(), 2**64 - 1))
        self.assertEqual((request.key_bytes, request.value_bytes), (4, 6))

    def test_ttl_out_of_u64_range_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            commands.set(b"k", b"v", ttl_ms=2**64)
        with self.assertRaises(ValueError):
            commands.expire(b"k", -1)


class ReplyDecoderStream(unittest.TestCase):
    def test_many_frames_split_at_random_points(self) -> None:
        rng = random.Random(7)
        bodies = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000))) for _ in range(500)]
        stream = b"".join((1 + len(b)).to_bytes(4, "big") + b"\x00" + b for b in bodies)
        decoder = ReplyDecoder()
        decoded: list[bytes] = []
        position = 0
        while position < len(stream):
            step = rng.randrange(1, 9000)
            decoder.feed(stream[position : position + step])
            position += step
            while (reply := decoder.next_reply()) is not None:
                decoded.append(reply[1])
        self.assertEqual(decoded, bodies)
        self.assertEqual(decoder.buffered_bytes, 0)

    def test_invalid_header_is_refused_before_the_body(self) -> None:
        decoder = ReplyDecoder(max_frame_bytes=4096)
        decoder.feed((4097).to_bytes(4, "big"))
        with self.assertRaises(ProtocolError):
            decoder.next_reply()

    def test_stats_lines_must_be_name_value(self) -> None:
        with self.assertRaises(ProtocolError):
            protocol.decode_stats(b"items three\n")
        self.assertEqual(protocol.decode_stats(b"a 1\nb 18446744073709551615\n"), {"a": 1, "b": 2**64 - 1})
