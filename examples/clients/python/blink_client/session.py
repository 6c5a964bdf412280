"""The protocol state of one connection, independent of how its bytes move.

A `Session` holds what HELLO and AUTH negotiated (version, limits, whether
AUTH is still needed), refuses requests that exceed those limits, or that the
negotiated version does not have, before they are sent, owns the
connection's reply decoder, and turns each reply into a result, a
`CommandError` (the connection is kept), or a raised `ConnectionClosedError`
(the connection must close) as SPEC §13 says. The sync `Connection` and the
`AsyncClient` drive it with their own I/O.

Versions (SPEC §10): a connection speaks version 1 until a HELLO reply says
otherwise. The handshake sends `HELLO 2`; every HELLO reply on the connection,
the handshake's or a later `hello(n)`, sets the version, in reply order,
which is the order the server applied them. At version 1 the version-2
commands are refused locally (UnknownCommandError, nothing sent), and a
version-2 status is one the server must not send: it closes the connection.
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
    SUPPORTED_VERSIONS,
    VERSION_2_OPCODES,
    VERSION_2_STATUSES,
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
    Status.ERR_NOT_INTEGER: errors.NotIntegerError,
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

    __slots__ = ("auth_required", "authenticated", "config", "decoder", "limits", "version")

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.decoder = ReplyDecoder()
        self.limits = CEILING_LIMITS
        self.auth_required = False
        self.authenticated = False
        #: The protocol version of the last successful HELLO; 1 before any (SPEC §10).
        self.version = 1

    def handshake(self) -> list[Request[object]]:
        """HELLO 2, then AUTH when a token is configured: sent pipelined as a connection's first bytes."""
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
        """Refuse a request the server would reject for its opcode or size, before anything is sent."""
        if self.version < 2 and request.opcode in VERSION_2_OPCODES:
            raise errors.UnknownCommandError(
                f"{request.opcode.name} needs protocol version 2; this connection negotiated "
                f"version {self.version} (refused locally, nothing sent)",
                status=Status.ERR_UNKNOWN_COMMAND,
                local=True,
            )
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
                self._negotiated(result, asked=request.frame[-1])
            elif request.opcode == Opcode.AUTH:
                self.authenticated = True
            return result
        command_error = _COMMAND_ERRORS.get(status)
        if command_error is None:
            raise closing_error(status, body)
        if self.version < 2 and status in VERSION_2_STATUSES:
            raise ProtocolError(
                f"{_status_name(status)} is not a status of protocol version {self.version}: "
                "connection closed, outcome unknown",
                status=status,
            )
        return command_error(f"{_status_name(status)}: {_server_text(body)}", status=status)

    def _negotiated(self, hello: HelloInfo, asked: int) -> None:
        """Adopt a HELLO reply's version and limits; `asked` is the version the HELLO carried."""
        if hello.version not in SUPPORTED_VERSIONS or hello.version > asked:
            raise ProtocolError(
                f"the server negotiated protocol version {hello.version} in reply to HELLO {asked}; "
                f"this client speaks {' and '.join(map(str, sorted(SUPPORTED_VERSIONS)))}"
            )
        self.version = hello.version
        self.limits = hello.limits
        self.auth_required = hello.auth_required
        self.decoder.max_frame_bytes = hello.limits.max_frame_bytes
