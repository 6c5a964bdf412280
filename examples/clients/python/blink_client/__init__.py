"""blink_client: a Python client for Blink-Store (protocol v1, standard library only).

- `Client`: sync commands on one connection (a context manager); `Client.batch()` pipelines.
- `ConnectionPool`: a bounded, thread-safe, fork-safe pool handing out Clients via `with`.
- `AsyncClient`: asyncio; concurrent calls on one connection are pipelined.
- Errors: `BlinkError` and its subclasses, one per failure class of SPEC §13.
"""

from .aio import AsyncClient
from .backoff import Backoff
from .batch import Batch
from .client import Client
from .commands import PERSISTENT, NoTtl, TtlResult
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
    "PoolClosedError",
    "PoolMetrics",
    "PoolTimeoutError",
    "ProtocolError",
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
