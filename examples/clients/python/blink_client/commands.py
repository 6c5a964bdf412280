"""One `Request` per API call: its frame, its sizes, and how its reply becomes a result.

Every front end (the sync `Client`, its `Batch`, the `AsyncClient`) builds its
requests here, so each command's argument handling and result mapping exist
once. Keys, values and tokens are bytes; a str is encoded UTF-8.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final, Generic, Literal, TypeVar

from . import protocol
from .errors import ProtocolError
from .protocol import HelloInfo, Opcode, Status

T_co = TypeVar("T_co", covariant=True)
Bytes = bytes | str

_U64_MAX: Final = (1 << 64) - 1
_I64_MIN: Final = -(1 << 63)
_I64_MAX: Final = (1 << 63) - 1
_U16_MAX: Final = 0xFFFF
#: SCAN's default `count`: a hint of keys per page (SPEC §5.2). The server bounds each page's
#: work (count / 8 slices of its index) and size (max_frame_bytes); 100 keeps a walk to about
#: one round trip per hundred keys.
SCAN_COUNT_DEFAULT: Final = 100


class NoTtl(enum.Enum):
    """The type of `PERSISTENT`."""

    PERSISTENT = "persistent"


#: What `ttl()` returns for a key that exists and has no TTL.
PERSISTENT: Final = NoTtl.PERSISTENT
#: What `ttl()` returns: milliseconds left, PERSISTENT, or None for a missing key.
TtlResult = int | Literal[NoTtl.PERSISTENT] | None
#: What `scan()` returns: the cursor to pass next (0: the walk is complete) and the page's keys.
ScanPage = tuple[int, list[bytes]]


class Request(Generic[T_co]):
    """A ready-to-send request frame and the decoder of its OK / NOT_FOUND reply."""

    __slots__ = ("decode", "frame", "key_bytes", "opcode", "value_bytes")

    def __init__(
        self,
        opcode: Opcode,
        frame: bytes,
        decode: Callable[[int, bytes], T_co],
        key_bytes: int = 0,
        value_bytes: int = 0,
    ) -> None:
        self.opcode = opcode
        self.frame = frame
        #: Maps (status, body) of a status below 0x80 to the result.
        self.decode = decode
        self.key_bytes = key_bytes
        self.value_bytes = value_bytes


def as_bytes(data: Bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _check_ttl_ms(ttl_ms: int) -> int:
    if not 0 <= ttl_ms <= _U64_MAX:
        raise ValueError(f"ttl_ms must be within 0..2**64-1, got {ttl_ms}")
    return ttl_ms


def _check_range(name: str, number: int, low: int, high: int, kind: str) -> int:
    if not low <= number <= high:
        raise ValueError(f"{name} must be {kind} ({low}..{high}), got {number}")
    return number


def _unexpected(opcode: Opcode, status: int) -> ProtocolError:
    return ProtocolError(f"status 0x{status:02x} is not a valid reply to {opcode.name}", status=status)


def _empty_ok(opcode: Opcode) -> Callable[[int, bytes], None]:
    def decode(status: int, body: bytes) -> None:
        if status != Status.OK:
            raise _unexpected(opcode, status)

    return decode


def _found(opcode: Opcode) -> Callable[[int, bytes], bool]:
    def decode(status: int, body: bytes) -> bool:
        if status == Status.OK:
            return True
        if status == Status.NOT_FOUND:
            return False
        raise _unexpected(opcode, status)

    return decode


def _stored(opcode: Opcode, refused: Status) -> Callable[[int, bytes], bool]:
    """ADD and REPLACE: True when stored, False for the status that means "not stored"."""

    def decode(status: int, body: bytes) -> bool:
        if status == Status.OK:
            return True
        if status == refused:
            return False
        raise _unexpected(opcode, status)

    return decode


def _value(status: int, body: bytes) -> bytes | None:
    if status == 0:  # Status.OK, spelled out on the hottest path
        return body
    if status == 1:  # Status.NOT_FOUND
        return None
    raise _unexpected(Opcode.GET, status)


def _hello(status: int, body: bytes) -> HelloInfo:
    if status != Status.OK:
        raise _unexpected(Opcode.HELLO, status)
    return protocol.decode_hello(body)


def _ttl(status: int, body: bytes) -> TtlResult:
    if status == Status.NOT_FOUND:
        return None
    if status != Status.OK:
        raise _unexpected(Opcode.TTL, status)
    remaining_ms = protocol.decode_ttl(body)
    return PERSISTENT if remaining_ms is None else remaining_ms


def _stats(status: int, body: bytes) -> dict[str, int]:
    if status != Status.OK:
        raise _unexpected(Opcode.STATS, status)
    return protocol.decode_stats(body)


def _integer(status: int, body: bytes) -> int:
    if status != Status.OK:
        raise _unexpected(Opcode.INCR, status)
    return protocol.decode_integer(body)


def _length(status: int, body: bytes) -> int:
    if status != Status.OK:
        raise _unexpected(Opcode.APPEND, status)
    return protocol.decode_length(body)


def _scan(status: int, body: bytes) -> ScanPage:
    if status != Status.OK:
        raise _unexpected(Opcode.SCAN, status)
    return protocol.decode_scan(body)


_PING_DECODE: Final = _empty_ok(Opcode.PING)
_AUTH_DECODE: Final = _empty_ok(Opcode.AUTH)
_SET_DECODE: Final = _empty_ok(Opcode.SET)
_DEL_DECODE: Final = _found(Opcode.DEL)
_EXPIRE_DECODE: Final = _found(Opcode.EXPIRE)
_ADD_DECODE: Final = _stored(Opcode.ADD, Status.EXISTS)
_REPLACE_DECODE: Final = _stored(Opcode.REPLACE, Status.NOT_FOUND)
_FLUSH_DECODE: Final = _empty_ok(Opcode.FLUSH)


def ping() -> Request[None]:
    return Request(Opcode.PING, protocol.encode_ping(), _PING_DECODE)


def hello(version: int = protocol.PROTOCOL_VERSION) -> Request[HelloInfo]:
    if not 0 <= version <= 0xFF:
        raise ValueError(f"HELLO version must be a u8, got {version}")
    return Request(Opcode.HELLO, protocol.encode_hello(version), _hello)


def auth(token: Bytes) -> Request[None]:
    return Request(Opcode.AUTH, protocol.encode_auth(as_bytes(token)), _AUTH_DECODE)


def get(key: Bytes) -> Request[bytes | None]:
    k = as_bytes(key)
    return Request(Opcode.GET, protocol.encode_get(k), _value, len(k))


def set(key: Bytes, value: Bytes, ttl_ms: int = 0) -> Request[None]:
    k = as_bytes(key)
    v = as_bytes(value)
    return Request(Opcode.SET, protocol.encode_set(k, v, _check_ttl_ms(ttl_ms)), _SET_DECODE, len(k), len(v))


def delete(key: Bytes) -> Request[bool]:
    k = as_bytes(key)
    return Request(Opcode.DEL, protocol.encode_del(k), _DEL_DECODE, len(k))


def expire(key: Bytes, ttl_ms: int) -> Request[bool]:
    k = as_bytes(key)
    return Request(Opcode.EXPIRE, protocol.encode_expire(k, _check_ttl_ms(ttl_ms)), _EXPIRE_DECODE, len(k))


def ttl(key: Bytes) -> Request[TtlResult]:
    k = as_bytes(key)
    return Request(Opcode.TTL, protocol.encode_ttl(k), _ttl, len(k))


def stats() -> Request[dict[str, int]]:
    return Request(Opcode.STATS, protocol.encode_stats(), _stats)


def add(key: Bytes, value: Bytes, ttl_ms: int = 0) -> Request[bool]:
    k = as_bytes(key)
    v = as_bytes(value)
    return Request(Opcode.ADD, protocol.encode_add(k, v, _check_ttl_ms(ttl_ms)), _ADD_DECODE, len(k), len(v))


def replace(key: Bytes, value: Bytes, ttl_ms: int = 0) -> Request[bool]:
    k = as_bytes(key)
    v = as_bytes(value)
    frame = protocol.encode_replace(k, v, _check_ttl_ms(ttl_ms))
    return Request(Opcode.REPLACE, frame, _REPLACE_DECODE, len(k), len(v))


def incr(key: Bytes, delta: int = 1) -> Request[int]:
    k = as_bytes(key)
    frame = protocol.encode_incr(k, _check_range("delta", delta, _I64_MIN, _I64_MAX, "an i64"))
    return Request(Opcode.INCR, frame, _integer, len(k))


def append(key: Bytes, suffix: Bytes) -> Request[int]:
    k = as_bytes(key)
    s = as_bytes(suffix)
    # The server checks the suffix against max_value_bytes as it does a SET value (SPEC §7.1 step 10).
    return Request(Opcode.APPEND, protocol.encode_append(k, s), _length, len(k), len(s))


def flush() -> Request[None]:
    return Request(Opcode.FLUSH, protocol.encode_flush(), _FLUSH_DECODE)


def scan(cursor: int = 0, count: int = SCAN_COUNT_DEFAULT, prefix: Bytes = b"") -> Request[ScanPage]:
    # A prefix is not a key: no key limit applies, only the frame limit.
    frame = protocol.encode_scan(
        _check_range("cursor", cursor, 0, _U64_MAX, "a u64"),
        _check_range("count", count, 0, _U16_MAX, "a u16"),
        as_bytes(prefix),
    )
    return Request(Opcode.SCAN, frame, _scan)
