"""The exception hierarchy: one class per failure class of SPEC §13.

Owns only the classes and what each promises about the connection. Which
status maps to which class is decided in `session.py`; "not found" is a value
(`None` or `False`), never an exception.

    BlinkError
    ├── CommandError               the server refused this one request; the connection is kept
    │   ├── KeyTooLargeError, ValueTooLargeError, ItemTooLargeError, NotIntegerError
    │   ├── UnknownCommandError, AuthRequiredError, UnsupportedVersionError
    ├── PoolTimeoutError           no pooled connection became free in time
    ├── PoolClosedError            the pool was closed
    └── BlinkConnectionError       the connection is unusable and has been closed
        ├── ConnectError           could not connect; nothing was sent
        ├── BlinkTimeoutError      no progress within a timeout; outcome unknown
        └── ConnectionClosedError  closed with calls pending; outcome unknown
            ├── ServerUnavailableError   back off, then reconnect
            │   ├── TooManyConnectionsError, BusyError, ShuttingDownError
            ├── ServerTimeoutError       the server closed a slow or idle connection
            ├── AuthFailedError          wrong token: a configuration error, never retried
            └── ProtocolError            an invalid reply, or the server saw an invalid request
                ├── MalformedRequestError, FrameTooLargeError
"""

from __future__ import annotations


class BlinkError(Exception):
    """Base class of every error the client raises."""


class CommandError(BlinkError):
    """The server (or the local limit check) refused one request; the connection stays usable."""

    def __init__(self, message: str, *, status: int, local: bool = False) -> None:
        super().__init__(message)
        self.status = status
        #: True when the client refused the request itself, before sending anything.
        self.local = local


class KeyTooLargeError(CommandError):
    """The key is longer than the server's max_key_bytes (ERR_KEY_TOO_LARGE)."""


class ValueTooLargeError(CommandError):
    """The value is longer than the server's max_value_bytes or frame limit (ERR_VALUE_TOO_LARGE)."""


class ItemTooLargeError(CommandError):
    """The item can never be cached by this server: it exceeds the memory cap (ERR_ITEM_TOO_LARGE)."""


class NotIntegerError(CommandError):
    """INCR found a value that is not a decimal i64, or the result would overflow (ERR_NOT_INTEGER).

    Nothing changed on the server.
    """


class UnknownCommandError(CommandError):
    """The server does not support this command (ERR_UNKNOWN_COMMAND).

    Also raised, with `local` set and nothing sent, for a version-2 command on a
    connection that negotiated version 1 (SPEC §10): the server has no such command.
    """


class AuthRequiredError(CommandError):
    """The server has a token and this connection has not authenticated (ERR_AUTH_REQUIRED)."""


class UnsupportedVersionError(CommandError):
    """HELLO asked for a protocol version the server refuses (ERR_UNSUPPORTED_VERSION)."""


class PoolTimeoutError(BlinkError):
    """No connection of the pool became free within its checkout timeout."""


class PoolClosedError(BlinkError):
    """The pool was closed; it hands out no more connections."""


class BlinkConnectionError(BlinkError):
    """The connection cannot be used any more and has been closed."""


class ConnectError(BlinkConnectionError):
    """Connecting failed (refused, unreachable, no such socket); no request was sent."""


class BlinkTimeoutError(BlinkConnectionError):
    """A connect, read or write made no progress within its timeout.

    The connection was closed, so a call that timed out can never hand its late
    reply to another call; whether the server executed it is unknown.
    """


class ConnectionClosedError(BlinkConnectionError):
    """The connection closed while calls were pending: their outcome is unknown (SPEC §8)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: The closing status the server sent, or None when it closed without one.
        self.status = status


class ServerUnavailableError(ConnectionClosedError):
    """The server turned the connection away under load; reconnect after a backoff."""


class TooManyConnectionsError(ServerUnavailableError):
    """The server is at its connection limit (ERR_TOO_MANY_CONNECTIONS)."""


class BusyError(ServerUnavailableError):
    """The server's buffer budget or this connection's output cap is exhausted (ERR_BUSY)."""


class ShuttingDownError(ServerUnavailableError):
    """The server is draining before exit (ERR_SHUTTING_DOWN)."""


class ServerTimeoutError(ConnectionClosedError):
    """The server closed the connection: a frame arrived too slowly or it sat idle (ERR_TIMEOUT)."""


class AuthFailedError(ConnectionClosedError):
    """The token is wrong (ERR_AUTH_FAILED): fix the configuration; reconnecting will not help."""


class ProtocolError(ConnectionClosedError):
    """A reply was not a valid frame or not a valid answer, or the status is unknown."""


class MalformedRequestError(ProtocolError):
    """The server could not parse a request (ERR_MALFORMED): a client bug."""


class FrameTooLargeError(ProtocolError):
    """A request frame exceeded the server's frame limit (ERR_FRAME_TOO_LARGE)."""
