"""blink_client: a Python client for Blink-Store (protocol v2, and v1 servers; standard library only).

- `Client`: sync commands on one connection (a context manager); `Client.batch()` pipelines.
- `ConnectionPool`: a bounded, thread-safe, fork-safe pool handing out Clients via `with`.
- `AsyncClient`: asyncio; concurrent calls on one connection are pipelined.
- Errors: `BlinkError` and its subclasses, one per failure class of SPEC §13.
"""

from .aio import AsyncClient
from .backoff import Backoff
from .batch import Batch
from .client import Client
from .commands import PERSISTENT, SCAN_COUNT_DEFAULT, NoTtl, ScanPage, TtlResult
from .config import AddressLike, ConnectionConfig, ConnectionOptions, TcpAddress, UnixAddress, parse_address
from .errors import (
    AuthFailedError,
    AuthRequiredError,
    BlinkConnectionError,
    BlinkError,
    BlinkTimeoutError,
    BusyError,
    CommandError,
    ConnectError,
    ConnectionClosedError,
    FrameTooLargeError,
    ItemTooLargeError,
    KeyTooLargeError,
    MalformedRequestError,
    NotIntegerError,
    PoolClosedError,
    PoolTimeoutError,
    ProtocolError,
    ServerTimeoutError,
    ServerUnavailableError,
    ShuttingDownError,
    TooManyConnectionsError,
    UnknownCommandError,
    UnsupportedVersionError,
    ValueTooLargeError,
)
from .pool import ConnectionPool, PoolMetrics
from .protocol import PROTOCOL_VERSION, HelloInfo, Limits

__all__ = [
    "PERSISTENT",
    "PROTOCOL_VERSION",
    "SCAN_COUNT_DEFAULT",
    "AddressLike",
    "AsyncClient",
    "AuthFailedError",
    "AuthRequiredError",
    "Backoff",
    "Batch",
    "BlinkConnectionError",
    "BlinkError",
    "BlinkTimeoutError",
    "BusyError",
    "Client",
    "CommandError",
    "ConnectError",
    "ConnectionClosedError",
    "ConnectionConfig",
    "ConnectionOptions",
    "ConnectionPool",
    "FrameTooLargeError",
    "HelloInfo",
    "ItemTooLargeError",
    "KeyTooLargeError",
    "Limits",
    "MalformedRequestError",
    "NoTtl",
    "NotIntegerError",
    "PoolClosedError",
    "PoolMetrics",
    "PoolTimeoutError",
    "ProtocolError",
    "ScanPage",
    "ServerTimeoutError",
    "ServerUnavailableError",
    "ShuttingDownError",
    "TcpAddress",
    "TooManyConnectionsError",
    "TtlResult",
    "UnixAddress",
    "UnknownCommandError",
    "UnsupportedVersionError",
    "ValueTooLargeError",
    "parse_address",
]
