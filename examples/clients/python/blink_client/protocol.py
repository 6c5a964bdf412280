"""The Blink wire format, versions 1 and 2 (SPEC §3-§6, §10, §12): the only module that knows bytes.

It encodes requests, decodes reply frames incrementally from one growable
buffer with a read offset, and parses the structured reply bodies (HELLO,
TTL, STATS, and version 2's INCR, APPEND and SCAN). It does no I/O and keeps
no connection state: which opcodes a connection may send is `session.py`'s
business, from `VERSION_2_OPCODES`.

SCAN's reply body, which fills the frame exactly (SPEC §6.3):

    +------------------+--------------+------+-----+--------------+------+
    | next_cursor: u64 | key_len: u16 | key  | ... | key_len: u16 | key  |
    +------------------+--------------+------+-----+--------------+------+
      8                  2              k1           2              kn
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from .errors import ProtocolError

#: The highest protocol version this client speaks: what it sends in HELLO.
PROTOCOL_VERSION: Final = 2
#: The versions a HELLO reply may negotiate; any other closes the connection (SPEC §10).
SUPPORTED_VERSIONS: Final = frozenset({1, 2})
#: No valid frame is longer than this (SPEC §4); the reply limit before HELLO.
FRAME_BYTES_CEILING: Final = 0x1000_0000
#: The frame limit of a connection that has not authenticated yet (SPEC §11).
PRE_AUTH_FRAME_BYTES: Final = 4096
#: Every valid frame starts with a byte below this (SPEC §3.1).
FIRST_BYTE_LIMIT: Final = 0x20
#: HELLO flag bit 0: this connection must still AUTH.
HELLO_FLAG_AUTH_REQUIRED: Final = 0x01


class Opcode(enum.IntEnum):
    PING = 0x01
    HELLO = 0x02
    AUTH = 0x03
    GET = 0x10
    SET = 0x11
    DEL = 0x12
    EXPIRE = 0x13
    TTL = 0x14
    ADD = 0x15
    REPLACE = 0x16
    INCR = 0x17
    APPEND = 0x18
    STATS = 0x20
    FLUSH = 0x21
    SCAN = 0x22


class Status(enum.IntEnum):
    OK = 0x00
    NOT_FOUND = 0x01
    EXISTS = 0x02
    ERR_UNKNOWN_COMMAND = 0x80
    ERR_MALFORMED = 0x81
    ERR_FRAME_TOO_LARGE = 0x82
    ERR_KEY_TOO_LARGE = 0x83
    ERR_VALUE_TOO_LARGE = 0x84
    ERR_ITEM_TOO_LARGE = 0x85
    ERR_AUTH_REQUIRED = 0x86
    ERR_AUTH_FAILED = 0x87
    ERR_UNSUPPORTED_VERSION = 0x88
    ERR_TOO_MANY_CONNECTIONS = 0x89
    ERR_TIMEOUT = 0x8A
    ERR_BUSY = 0x8B
    ERR_SHUTTING_DOWN = 0x8C
    ERR_NOT_INTEGER = 0x8D


#: The opcodes a connection may send only once HELLO has negotiated version 2 (SPEC §5, §10).
VERSION_2_OPCODES: Final = frozenset(
    {Opcode.ADD, Opcode.REPLACE, Opcode.INCR, Opcode.APPEND, Opcode.FLUSH, Opcode.SCAN}
)
#: The statuses a server sends only on a connection at version 2 (SPEC §6.2).
VERSION_2_STATUSES: Final = frozenset({Status.EXISTS, Status.ERR_NOT_INTEGER})


@dataclass(frozen=True)
class Limits:
    """The sizes a server accepts (SPEC §4), as HELLO reports them."""

    max_frame_bytes: int
    max_key_bytes: int
    max_value_bytes: int


#: What a client assumes before HELLO: the SPEC ceilings.
CEILING_LIMITS: Final = Limits(FRAME_BYTES_CEILING, 0xFFFF, FRAME_BYTES_CEILING)


@dataclass(frozen=True)
class HelloInfo:
    """The body of an OK reply to HELLO (SPEC §6.3)."""

    version: int
    auth_required: bool
    limits: Limits


_HEADER: Final = struct.Struct(">I")
_OP: Final = struct.Struct(">IB")
_OP_VERSION: Final = struct.Struct(">IBB")
_OP_KEY: Final = struct.Struct(">IBH")
_OP_TTL_KEY: Final = struct.Struct(">IBQH")
_OP_DELTA_KEY: Final = struct.Struct(">IBqH")
_OP_CURSOR_COUNT: Final = struct.Struct(">IBQH")
_HELLO_BODY: Final = struct.Struct(">BBIII")
_U16: Final = struct.Struct(">H")
_U64: Final = struct.Struct(">Q")
_I64: Final = struct.Struct(">q")

_PING: Final = _OP.pack(1, Opcode.PING)
_STATS: Final = _OP.pack(1, Opcode.STATS)
_FLUSH: Final = _OP.pack(1, Opcode.FLUSH)


def encode_ping() -> bytes:
    return _PING


def encode_hello(version: int = PROTOCOL_VERSION) -> bytes:
    return _OP_VERSION.pack(2, Opcode.HELLO, version)


def encode_auth(token: bytes) -> bytes:
    return _OP.pack(1 + len(token), Opcode.AUTH) + token


def encode_get(key: bytes) -> bytes:
    return _OP_KEY.pack(3 + len(key), Opcode.GET, len(key)) + key


def _encode_store(opcode: Opcode, key: bytes, value: bytes, ttl_ms: int) -> bytes:
    """SET, ADD and REPLACE share one layout: ttl_ms, key_len, key, value (SPEC §5)."""
    header = _OP_TTL_KEY.pack(11 + len(key) + len(value), opcode, ttl_ms, len(key))
    return b"".join((header, key, value))


def encode_set(key: bytes, value: bytes, ttl_ms: int = 0) -> bytes:
    return _encode_store(Opcode.SET, key, value, ttl_ms)


def encode_add(key: bytes, value: bytes, ttl_ms: int = 0) -> bytes:
    return _encode_store(Opcode.ADD, key, value, ttl_ms)


def encode_replace(key: bytes, value: bytes, ttl_ms: int = 0) -> bytes:
    return _encode_store(Opcode.REPLACE, key, value, ttl_ms)


def encode_incr(key: bytes, delta: int = 1) -> bytes:
    """`delta` is an i64, sent in two's complement."""
    return _OP_DELTA_KEY.pack(11 + len(key), Opcode.INCR, delta, len(key)) + key


def encode_append(key: bytes, suffix: bytes) -> bytes:
    return b"".join((_OP_KEY.pack(3 + len(key) + len(suffix), Opcode.APPEND, len(key)), key, suffix))


def encode_flush() -> bytes:
    return _FLUSH


def encode_scan(cursor: int, count: int, prefix: bytes = b"") -> bytes:
    return _OP_CURSOR_COUNT.pack(11 + len(prefix), Opcode.SCAN, cursor, count) + prefix


def encode_del(key: bytes) -> bytes:
    return _OP_KEY.pack(3 + len(key), Opcode.DEL, len(key)) + key


def encode_expire(key: bytes, ttl_ms: int) -> bytes:
    return _OP_TTL_KEY.pack(11 + len(key), Opcode.EXPIRE, ttl_ms, len(key)) + key


def encode_ttl(key: bytes) -> bytes:
    return _OP_KEY.pack(3 + len(key), Opcode.TTL, len(key)) + key


def encode_stats() -> bytes:
    return _STATS


def decode_hello(body: bytes) -> HelloInfo:
    """Parse a HELLO body (14 bytes in versions 1 and 2); later versions may append fields, which are ignored."""
    if len(body) < _HELLO_BODY.size:
        raise ProtocolError(f"HELLO reply body of {len(body)} bytes, expected {_HELLO_BODY.size}")
    version, flags, max_frame, max_key, max_value = _HELLO_BODY.unpack_from(body)
    return HelloInfo(
        version=version,
        auth_required=bool(flags & HELLO_FLAG_AUTH_REQUIRED),
        limits=Limits(max_frame, max_key, max_value),
    )


def decode_ttl(body: bytes) -> int | None:
    """The remaining milliseconds of a TTL reply, or None for a key without TTL."""
    if not body:
        return None
    if len(body) != _U64.size:
        raise ProtocolError(f"TTL reply body of {len(body)} bytes, expected 0 or 8")
    remaining_ms: int = _U64.unpack(body)[0]
    return remaining_ms


def _decode_8_bytes(body: bytes, what: str) -> None:
    if len(body) != 8:
        raise ProtocolError(f"{what} reply body of {len(body)} bytes, expected 8")


def decode_integer(body: bytes) -> int:
    """INCR's new value: an i64 in two's complement."""
    _decode_8_bytes(body, "INCR")
    value: int = _I64.unpack(body)[0]
    return value


def decode_length(body: bytes) -> int:
    """APPEND's new value length: a u64."""
    _decode_8_bytes(body, "APPEND")
    length: int = _U64.unpack(body)[0]
    return length


def decode_scan(body: bytes) -> tuple[int, list[bytes]]:
    """A SCAN page as (next_cursor, keys); the keys must fill the body exactly."""
    if len(body) < _U64.size:
        raise ProtocolError(f"SCAN reply body of {len(body)} bytes, shorter than its 8-byte cursor")
    (next_cursor,) = _U64.unpack_from(body)
    keys: list[bytes] = []
    position, end = _U64.size, len(body)
    while position < end:
        if end - position < _U16.size:
            raise ProtocolError(f"SCAN reply body ends inside a key length at byte {position}")
        (key_len,) = _U16.unpack_from(body, position)
        position += _U16.size
        if key_len > end - position:
            raise ProtocolError(f"SCAN reply key of {key_len} bytes runs past the body's end")
        keys.append(body[position : position + key_len])
        position += key_len
    return next_cursor, keys


def decode_stats(body: bytes) -> dict[str, int]:
    """Parse `name SP value LF` lines (SPEC §12) into a name -> value map."""
    stats: dict[str, int] = {}
    for line in body.decode("ascii", errors="replace").splitlines():
        name, sep, value = line.partition(" ")
        if not sep or not value.isdigit():
            raise ProtocolError(f"STATS line {line!r} is not `name value`")
        stats[name] = int(value)
    return stats


class ReplyDecoder:
    """Cuts reply frames out of the bytes received so far (SPEC §3, §13).

    Bytes are appended to one buffer and read from an offset that advances
    frame by frame; the consumed prefix is dropped only when it is large, so
    decoding n pipelined replies costs O(n) however they were split. A frame
    of zero length, with a first byte of 0x20 or more, or longer than
    `max_frame_bytes` raises ProtocolError from its header alone: the body is
    never waited for or allocated.
    """

    __slots__ = ("_buffer", "_offset", "max_frame_bytes")

    _COMPACT_BYTES: Final = 1 << 16

    def __init__(self, max_frame_bytes: int = FRAME_BYTES_CEILING) -> None:
        self._buffer = bytearray()
        self._offset = 0
        self.max_frame_bytes = max_frame_bytes

    @property
    def buffered_bytes(self) -> int:
        """Bytes received and not yet returned as part of a reply."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data

    def next_reply(self) -> tuple[int, bytes] | None:
        """The next complete reply as (status, body), or None until more bytes arrive."""
        buffer = self._buffer
        start = self._offset
        available = len(buffer) - start
        if available == 0:
            return None
        if buffer[start] >= FIRST_BYTE_LIMIT:
            raise ProtocolError(f"reply starts with byte 0x{buffer[start]:02x}: not a Blink frame")
        if available < 4:
            return None
        (length,) = _HEADER.unpack_from(buffer, start)
        if length == 0:
            raise ProtocolError("reply frame of length 0")
        if length > self.max_frame_bytes:
            raise ProtocolError(f"reply frame of {length} bytes exceeds the frame limit of {self.max_frame_bytes}")
        end = start + 4 + length
        if end > len(buffer):
            return None
        reply = (buffer[start + 4], bytes(buffer[start + 5 : end]))
        if end == len(buffer):
            buffer.clear()
            self._offset = 0
        elif end > self._COMPACT_BYTES and end > len(buffer) // 2:
            del buffer[:end]
            self._offset = 0
        else:
            self._offset = end
        return reply
