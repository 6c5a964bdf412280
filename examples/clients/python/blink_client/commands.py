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


class NoTtl(enum.Enum):
    """The type of `PERSISTENT`."""

    PERSISTENT = "persistent"


#: What `ttl()` returns for a key that exists and has no TTL.
PERSISTENT: Final = NoTtl.PERSISTENT
#: What `ttl()` returns: milliseconds left, PERSISTENT, or None for a missing key.
TtlResult = int | Literal[NoTtl.PERSISTENT] | None


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


_PING_DECODE: Final = _empty_ok(Opcode.PING)
_AUTH_DECODE: Final = _empty_ok(Opcode.AUTH)
_SET_DECODE: Final = _empty_ok(Opcode.SET)
_DEL_DECODE: Final = _found(Opcode.DEL)
_EXPIRE_DECODE: Final = _found(Opcode.EXPIRE)


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
