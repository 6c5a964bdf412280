"""Where and how to connect: server addresses and per-connection settings.

Shared by the sync client, the pool and the asyncio client, so every one of
them takes the same keyword options (`ConnectionOptions`) with the same
defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypedDict, Unpack

from .protocol import PRE_AUTH_FRAME_BYTES

DEFAULT_PORT: Final = 25465
DEFAULT_CONNECT_TIMEOUT_S: Final = 1.0
DEFAULT_READ_TIMEOUT_S: Final = 5.0
DEFAULT_WRITE_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class TcpAddress:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class UnixAddress:
    path: str

    def __str__(self) -> str:
        return f"unix:{self.path}"


Address = TcpAddress | UnixAddress
AddressLike = Address | str | tuple[str, int]


def parse_address(address: AddressLike) -> Address:
    """Accept `host:port`, `[v6]:port`, `unix:/path`, a path with a `/`, or `(host, port)`."""
    if isinstance(address, (TcpAddress, UnixAddress)):
        return address
    if isinstance(address, tuple):
        return TcpAddress(address[0], address[1])
    if address.startswith("unix:"):
        return UnixAddress(address.removeprefix("unix:"))
    if "/" in address:
        return UnixAddress(address)
    host, sep, port = address.rpartition(":")
    if not sep:
        return TcpAddress(address, DEFAULT_PORT)
    if not port.isdigit():
        raise ValueError(f"invalid port in address {address!r}")
    return TcpAddress(host.removeprefix("[").removesuffix("]"), int(port))


class ConnectionOptions(TypedDict, total=False):
    """The keyword options every client and the pool accept (see ConnectionConfig)."""

    token: bytes | str | None
    connect_timeout_s: float
    read_timeout_s: float
    write_timeout_s: float


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything needed to open one connection.

    `read_timeout_s` bounds the wait for the next bytes of a reply and
    `write_timeout_s` the wait for the socket to accept more bytes; either one
    expiring closes the connection (its pending calls' outcome is unknown).
    """

    address: Address
    token: bytes | None = None
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) >= PRE_AUTH_FRAME_BYTES:
            raise ValueError(f"a token is at most {PRE_AUTH_FRAME_BYTES - 1} bytes (SPEC §11), got {len(self.token)}")
        for name in ("connect_timeout_s", "read_timeout_s", "write_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def create(cls, address: AddressLike, **options: Unpack[ConnectionOptions]) -> ConnectionConfig:
        """Build from an address and ConnectionOptions; a str token is encoded UTF-8."""
        token = options.get("token")
        return cls(
            address=parse_address(address),
            token=token.encode() if isinstance(token, str) else token,
            connect_timeout_s=options.get("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S),
            read_timeout_s=options.get("read_timeout_s", DEFAULT_READ_TIMEOUT_S),
            write_timeout_s=options.get("write_timeout_s", DEFAULT_WRITE_TIMEOUT_S),
        )
