"""Sync sockets: opening TCP and Unix connections, and checking an idle one for life.

Owns the socket options (TCP_NODELAY, SO_KEEPALIVE) and the mapping of OS
connect failures to ConnectError / BlinkTimeoutError. The sockets it returns
are non-blocking; `connection.py` waits on them with poll.
"""

from __future__ import annotations

import socket

from .config import Address, TcpAddress
from .errors import BlinkTimeoutError, ConnectError


def open_socket(address: Address, connect_timeout_s: float) -> socket.socket:
    """Connect to `address` within `connect_timeout_s`; the socket returned is non-blocking."""
    try:
        if isinstance(address, TcpAddress):
            sock = socket.create_connection((address.host, address.port), timeout=connect_timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(connect_timeout_s)
                sock.connect(address.path)
            except BaseException:
                sock.close()
                raise
    except TimeoutError as exc:
        raise BlinkTimeoutError(f"connecting to {address} timed out after {connect_timeout_s} s") from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {address}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


def peer_closed(sock: socket.socket) -> bool:
    """True if an idle connection is unusable: the peer closed it or sent bytes unasked.

    A cheap non-blocking peek (go-redis `connCheck`). Bytes on an idle Blink
    connection can only be an unsolicited closing status (SPEC §7.3), so they
    condemn it as surely as EOF does.
    """
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True
