"""Unit tests of the wire module (blink_client.protocol), driven by protocol/vectors/v1.json and v2.json."""

from __future__ import annotations

import random
import unittest
from collections.abc import Callable
from typing import Any

from blink_client import PERSISTENT, ProtocolError, commands, protocol
from blink_client.protocol import Opcode, ReplyDecoder, Status

from .support import VECTOR_FILES, load_vectors, vector_bytes, vector_cases

#: decode_request cases that decode to a request, per file: the re-encoding test checks them all.
REQUEST_CASES = {"v1.json": 27, "v2.json": 14}


def encode_request(request: dict[str, Any]) -> bytes:
    """Re-encode a decode_request vector's request through the wire module."""
    key = vector_bytes(request.get("key", ""))
    value = vector_bytes(request.get("value", ""))
    ttl_ms = int(request.get("ttl_ms", "0"))
    encoders: dict[str, Callable[[], bytes]] = {
        "PING": protocol.encode_ping,
        "HELLO": lambda: protocol.encode_hello(request["version"]),
        "AUTH": lambda: protocol.encode_auth(vector_bytes(request["token"])),
        "GET": lambda: protocol.encode_get(key),
        "SET": lambda: protocol.encode_set(key, value, ttl_ms),
        "DEL": lambda: protocol.encode_del(key),
        "EXPIRE": lambda: protocol.encode_expire(key, ttl_ms),
        "TTL": lambda: protocol.encode_ttl(key),
        "STATS": protocol.encode_stats,
        "ADD": lambda: protocol.encode_add(key, value, ttl_ms),
        "REPLACE": lambda: protocol.encode_replace(key, value, ttl_ms),
        "INCR": lambda: protocol.encode_incr(key, int(request["delta"])),
        "APPEND": lambda: protocol.encode_append(key, vector_bytes(request["suffix"])),
        "FLUSH": protocol.encode_flush,
        "SCAN": lambda: protocol.encode_scan(int(request["cursor"]), request["count"], vector_bytes(request["prefix"])),
    }
    return encoders[request["command"]]()


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
        for file, case in vector_cases("decode_reply"):
            with self.subTest(file=file, case=case["name"]):
                self.check(case, [vector_bytes(case["bytes"])])

    def test_every_case_byte_by_byte(self) -> None:
        for file, case in vector_cases("decode_reply"):
            with self.subTest(file=file, case=case["name"]):
                data = vector_bytes(case["bytes"])
                self.check(case, [data[i : i + 1] for i in range(len(data))])

    def test_covers_every_outcome_and_both_files(self) -> None:
        outcomes = {case["expect"]["outcome"] for _, case in vector_cases("decode_reply")}
        self.assertEqual(outcomes, {"reply", "need_more", "invalid"})
        self.assertEqual({file for file, _ in vector_cases("decode_reply")}, set(VECTOR_FILES))

    def test_a_scan_reply_case_parses_as_a_page(self) -> None:
        (case,) = [c for c in load_vectors("v2.json")["decode_reply"] if c["name"] == "scan_reply"]
        self.assertEqual(protocol.decode_scan(vector_bytes(case["expect"]["body"])), (7, [b"k1"]))


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
        kinds = set()
        for file, case in vector_cases("encode_reply"):
            with self.subTest(file=file, case=case["name"]):
                status, body = self.decode(vector_bytes(case["bytes"]))
                kinds.add(case["reply"]["kind"])
                self.check(case["reply"], status, body, load_vectors(file)["limits"])
        self.assertEqual(kinds, {"status", "error", "hello", "ttl", "stats", "integer", "length", "scan"})

    def check(self, reply: dict[str, Any], status: int, body: bytes, limits: dict[str, Any]) -> None:
        """The decoded (status, body) through the command decoder the reply kind belongs to."""
        kind = reply["kind"]
        if kind == "integer":
            self.assertEqual(commands.incr(b"k").decode(status, body), int(reply["value"]))
        elif kind == "length":
            self.assertEqual(commands.append(b"k", b"").decode(status, body), int(reply["length"]))
        elif kind == "scan":
            keys = [vector_bytes(key) for key in reply["keys"]]
            self.assertEqual(commands.scan().decode(status, body), (int(reply["next_cursor"]), keys))
        else:
            self.check_v1_kind(reply, status, body, limits)

    def check_v1_kind(self, reply: dict[str, Any], status: int, body: bytes, limits: dict[str, Any]) -> None:
        kind = reply["kind"]
        if kind == "status":
            self.assertEqual((status, body), (Status[reply["status"]], vector_bytes(reply["body"])))
        elif kind == "error":
            self.assertEqual(status, Status[reply["status"]])
            self.assertGreaterEqual(status, 0x80)
            body.decode("utf-8")
        elif kind == "hello":
            hello = commands.hello().decode(status, body)
            self.assertEqual(hello.version, reply.get("version", 1))
            self.assertEqual(hello.auth_required, reply["auth_required"])
            self.assertEqual(hello.limits, protocol.Limits(**limits[reply["limits"]]))
        elif kind == "ttl":
            expected = PERSISTENT if reply["remaining_ms"] is None else int(reply["remaining_ms"])
            self.assertEqual(commands.ttl(b"k").decode(status, body), expected)
        else:
            self.assertEqual(kind, "stats")
            self.assertEqual(commands.stats().decode(status, body), {name: int(v) for name, v in reply["stats"]})


class RequestEncodingVectors(unittest.TestCase):
    def test_every_valid_request_reencodes_to_its_bytes(self) -> None:
        checked = dict.fromkeys(VECTOR_FILES, 0)
        for file, case in vector_cases("decode_request"):
            expect = case["expect"]
            if expect["outcome"] != "request":
                continue
            with self.subTest(file=file, case=case["name"]):
                data = vector_bytes(case["bytes"])
                self.assertEqual(encode_request(expect["request"]), data[: expect["frame_len"]])
                checked[file] += 1
        self.assertEqual(checked, REQUEST_CASES)

    def test_the_stream_case_reencodes_frame_by_frame(self) -> None:
        (case,) = load_vectors("v2.json")["decode_stream"]
        data = vector_bytes(case["bytes"])
        for expect in case["expect"][:-1]:
            self.assertEqual(encode_request(expect["request"]), data[: expect["frame_len"]])
            data = data[expect["frame_len"] :]
        self.assertEqual(case["expect"][-1], {"outcome": "need_more"})

    def test_spec_example(self) -> None:
        self.assertEqual(protocol.encode_get(b"user:1"), bytes.fromhex("00000009 10 0006 757365723a31"))
        self.assertEqual(protocol.encode_hello(), bytes.fromhex("00000002 02 02"))  # SPEC §14: HELLO 2
        self.assertEqual(protocol.encode_hello(1), bytes.fromhex("00000002 02 01"))

    def test_version_2_requests_record_their_sizes(self) -> None:
        add = commands.add("clé", "välue", ttl_ms=5)
        self.assertEqual((add.opcode, add.key_bytes, add.value_bytes), (Opcode.ADD, 4, 6))
        replace = commands.replace(b"k", b"v")
        self.assertEqual((replace.opcode, replace.key_bytes, replace.value_bytes), (Opcode.REPLACE, 1, 1))
        append = commands.append(b"key", b"suffix")
        self.assertEqual((append.key_bytes, append.value_bytes), (3, 6))  # the suffix is checked as a value
        incr = commands.incr(b"key", -1)
        self.assertEqual((incr.key_bytes, incr.value_bytes), (3, 0))
        scan = commands.scan(prefix=b"p" * 2000)
        self.assertEqual((scan.key_bytes, scan.value_bytes), (0, 0))  # a prefix is not a key
        self.assertEqual(len(scan.frame), 4 + 11 + 2000)
        self.assertEqual(commands.scan().frame, protocol.encode_scan(0, commands.SCAN_COUNT_DEFAULT))
        self.assertEqual(commands.flush().frame, bytes.fromhex("00000001 21"))

    def test_version_2_numbers_out_of_range_are_refused(self) -> None:
        for call in (
            lambda: commands.incr(b"k", 2**63),
            lambda: commands.incr(b"k", -(2**63) - 1),
            lambda: commands.scan(cursor=-1),
            lambda: commands.scan(cursor=2**64),
            lambda: commands.scan(count=-1),
            lambda: commands.scan(count=0x10000),
            lambda: commands.add(b"k", b"v", ttl_ms=-1),
            lambda: commands.replace(b"k", b"v", ttl_ms=2**64),
        ):
            with self.subTest(), self.assertRaises(ValueError):
                call()
        commands.incr(b"k", 2**63 - 1)
        commands.incr(b"k", -(2**63))
        commands.scan(2**64 - 1, 0xFFFF)

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

    def test_scan_bodies_must_be_filled_exactly_by_their_keys(self) -> None:
        cursor = (5).to_bytes(8, "big")
        self.assertEqual(protocol.decode_scan(cursor), (5, []))
        self.assertEqual(protocol.decode_scan(cursor + bytes.fromhex("0000 0001 ff")), (5, [b"", b"\xff"]))
        for body in (b"", cursor[:7], cursor + b"\x00", cursor + bytes.fromhex("0002 61"), cursor + b"\x00\x00\x00"):
            with self.subTest(body=body.hex()), self.assertRaises(ProtocolError):
                protocol.decode_scan(body)

    def test_integer_and_length_bodies_are_8_bytes(self) -> None:
        self.assertEqual(protocol.decode_integer(bytes.fromhex("ffffffffffffffff")), -1)
        self.assertEqual(protocol.decode_length(bytes.fromhex("ffffffffffffffff")), 2**64 - 1)
        for decode in (protocol.decode_integer, protocol.decode_length):
            for body in (b"", b"\x00" * 7, b"\x00" * 9):
                with self.subTest(decode=decode.__name__, body=body.hex()), self.assertRaises(ProtocolError):
                    decode(body)

    def test_add_and_replace_map_their_not_stored_status_to_false(self) -> None:
        self.assertIs(commands.add(b"k", b"v").decode(Status.OK, b""), True)
        self.assertIs(commands.add(b"k", b"v").decode(Status.EXISTS, b""), False)
        self.assertIs(commands.replace(b"k", b"v").decode(Status.NOT_FOUND, b""), False)
        with self.assertRaises(ProtocolError):
            commands.add(b"k", b"v").decode(Status.NOT_FOUND, b"")
        with self.assertRaises(ProtocolError):
            commands.replace(b"k", b"v").decode(Status.EXISTS, b"")
        with self.assertRaises(ProtocolError):
            commands.get(b"k").decode(Status.EXISTS, b"")

    def test_stats_lines_must_be_name_value(self) -> None:
        with self.assertRaises(ProtocolError):
            protocol.decode_stats(b"items three\n")
        self.assertEqual(protocol.decode_stats(b"a 1\nb 18446744073709551615\n"), {"a": 1, "b": 2**64 - 1})
