"""The protocol state of one connection, independent of how its bytes move.

A `Session` holds what HELLO and AUTH negotiated (version, limits, whether
AUTH is still needed), refuses requests that exceed those limits before they
are sent, owns the connection's reply decoder, and turns each reply into a
result, a `CommandError` (the connection is kept), or a raised
`ConnectionClosedError` (the connection must close) as SPEC §13 says. The
sync `Connection` and the `AsyncClient` drive it with their own I/O.
"""

from __future__ import annotations

from typing import Final

from . import commands, errors
from .commands import Request
from .config import ConnectionConfig
from .errors import CommandError, ConnectionClosedError, ProtocolError
from .protocol import (
    CEILING_LIMITS,
    PRE_AUTH_FRAME_BYTES,
    PROTOCOL_VERSION,
    HelloInfo,
    Opcode,
    ReplyDecoder,
    Status,
)

_COMMAND_ERRORS: Final[dict[int, type[CommandError]]] = {
    Status.ERR_UNKNOWN_COMMAND: errors.UnknownCommandError,
    Status.ERR_KEY_TOO_LARGE: errors.KeyTooLargeError,
    Status.ERR_VALUE_TOO_LARGE: errors.ValueTooLargeError,
    Status.ERR_ITEM_TOO_LARGE: errors.ItemTooLargeError,
    Status.ERR_AUTH_REQUIRED: errors.AuthRequiredError,
    Status.ERR_UNSUPPORTED_VERSION: errors.UnsupportedVersionError,
}

_CLOSING_ERRORS: Final[dict[int, type[ConnectionClosedError]]] = {
    Status.ERR_MALFORMED: errors.MalformedRequestError,
    Status.ERR_FRAME_TOO_LARGE: errors.FrameTooLargeError,
    Status.ERR_AUTH_FAILED: errors.AuthFailedError,
    Status.ERR_TOO_MANY_CONNECTIONS: errors.TooManyConnectionsError,
    Status.ERR_TIMEOUT: errors.ServerTimeoutError,
    Status.ERR_BUSY: errors.BusyError,
    Status.ERR_SHUTTING_DOWN: errors.ShuttingDownError,
}


def _status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"unknown status 0x{status:02x}"


def _server_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def closing_error(status: int, body: bytes) -> ConnectionClosedError:
    """The error for a status that ends the connection (or one this client cannot know)."""
    cls = _CLOSING_ERRORS.get(status, ProtocolError)
    return cls(
        f"connection closed by the server ({_status_name(status)}: {_server_text(body)}), outcome unknown",
        status=status,
    )


class Session:
    """Negotiated state and reply classification for one connection."""

    __slots__ = ("auth_required", "authenticated", "config", "decoder", "limits")

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.decoder = ReplyDecoder()
        self.limits = CEILING_LIMITS
        self.auth_required = False
        self.authenticated = False

    def handshake(self) -> list[Request[object]]:
        """HELLO, then AUTH when a token is configured: sent pipelined as a connection's first bytes."""
        requests: list[Request[object]] = [commands.hello()]
        if self.config.token is not None:
            requests.append(commands.auth(self.config.token))
        return requests

    @property
    def frame_limit(self) -> int:
        """The largest request payload the server will take now (SPEC §4, §11)."""
        if self.auth_required and not self.authenticated:
            return min(self.limits.max_frame_bytes, PRE_AUTH_FRAME_BYTES)
        return self.limits.max_frame_bytes

    def check(self, request: Request[object]) -> None:
        """Refuse a request the server would reject for its size, before anything is sent."""
        limits = self.limits
        if request.key_bytes > limits.max_key_bytes:
            raise errors.KeyTooLargeError(
                f"key of {request.key_bytes} bytes exceeds the server's max_key_bytes "
                f"of {limits.max_key_bytes} (refused locally, nothing sent)",
                status=Status.ERR_KEY_TOO_LARGE,
                local=True,
            )
        if request.value_bytes > limits.max_value_bytes:
            raise errors.ValueTooLargeError(
                f"value of {request.value_bytes} bytes exceeds the server's max_value_bytes "
                f"of {limits.max_value_bytes} (refused locally, nothing sent)",
                status=Status.ERR_VALUE_TOO_LARGE,
                local=True,
            )
        if len(request.frame) - 4 > self.frame_limit:
            raise errors.ValueTooLargeError(
                f"{request.opcode.name} payload of {len(request.frame) - 4} bytes exceeds the "
                f"connection's frame limit of {self.frame_limit} (refused locally, nothing sent)",
                status=Status.ERR_VALUE_TOO_LARGE,
                local=True,
            )

    def complete(self, request: Request[object], status: int, body: bytes) -> object:
        """The result of `request` (a CommandError for a rejection), or raise if the connection must close."""
        if status < 0x80:
            result = request.decode(status, body)
            if isinstance(result, HelloInfo):
                self._negotiated(result)
            elif request.opcode == Opcode.AUTH:
                self.authenticated = True
            return result
        command_error = _COMMAND_ERRORS.get(status)
        if command_error is None:
            raise closing_error(status, body)
        return command_error(f"{_status_name(status)}: {_server_text(body)}", status=status)

    def _negotiated(self, hello: HelloInfo) -> None:
        if hello.version != PROTOCOL_VERSION:
            raise ProtocolError(
                f"the server negotiated protocol version {hello.version}; this client speaks {PROTOCOL_VERSION}"
            )
        self.limits = hello.limits
        self.auth_required = hello.auth_required
        self.decoder.max_frame_bytes = hello.limits.max_frame_bytes
