"""Test fixtures: a real blink-store per test class, the protocol vectors, and fake peers.

The server binary is $BLINK_STORE_BIN, else target/release/blink-store at the
repository root (test.sh builds it). Addresses come from the `ready ...` line
the server prints; nothing here sleeps where a condition can be awaited.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from blink_client import BlinkError, Client, errors

CLIENT_DIR = pathlib.Path(__file__).resolve().parent.parent
REPO_ROOT = CLIENT_DIR.parents[2]
VECTORS_DIR = REPO_ROOT / "protocol" / "vectors"
#: The vector files: every version-1 case, and what version 2 adds (protocol/vectors/README.md).
VECTOR_FILES = ("v1.json", "v2.json")
READY_TIMEOUT_S = 10.0
#: The client's error class for each error status of SPEC §6.2, by the vectors' names.
ERRORS: dict[str, type[BlinkError]] = {
    "ERR_UNKNOWN_COMMAND": errors.UnknownCommandError,
    "ERR_MALFORMED": errors.MalformedRequestError,
    "ERR_FRAME_TOO_LARGE": errors.FrameTooLargeError,
    "ERR_KEY_TOO_LARGE": errors.KeyTooLargeError,
    "ERR_VALUE_TOO_LARGE": errors.ValueTooLargeError,
    "ERR_ITEM_TOO_LARGE": errors.ItemTooLargeError,
    "ERR_AUTH_REQUIRED": errors.AuthRequiredError,
    "ERR_AUTH_FAILED": errors.AuthFailedError,
    "ERR_UNSUPPORTED_VERSION": errors.UnsupportedVersionError,
    "ERR_TOO_MANY_CONNECTIONS": errors.TooManyConnectionsError,
    "ERR_TIMEOUT": errors.ServerTimeoutError,
    "ERR_BUSY": errors.BusyError,
    "ERR_SHUTTING_DOWN": errors.ShuttingDownError,
    "ERR_NOT_INTEGER": errors.NotIntegerError,
}
_READY = re.compile(r"^ready tcp (?P<tcp>\S+?)(?:, unix (?P<unix>\S+))?$")


def server_binary() -> str:
    return os.environ.get("BLINK_STORE_BIN") or str(REPO_ROOT / "target" / "release" / "blink-store")


def load_vectors(name: str) -> dict[str, Any]:
    """One vector file of protocol/vectors/ (v1.json or v2.json), parsed."""
    vectors: dict[str, Any] = json.loads((VECTORS_DIR / name).read_text())
    return vectors


def vector_cases(section: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, case) for every case of `section` in v1.json, then v2.json."""
    for name in VECTOR_FILES:
        for case in load_vectors(name)[section]:
            yield name, case


def vector_bytes(spec: str | list[Any]) -> bytes:
    """Decode the vectors' byte-string encoding: hex with spaces, or a list of hex and repeats."""
    if isinstance(spec, str):
        return bytes.fromhex(spec)
    parts = []
    for part in spec:
        if isinstance(part, str):
            parts.append(bytes.fromhex(part))
        else:
            parts.append(bytes.fromhex(part["repeat"]) * part["count"])
    return b"".join(parts)


def limit_flags(limits: dict[str, int]) -> list[str]:
    """A vector limit set as server flags."""
    return [
        f"--max-frame-bytes={limits['max_frame_bytes']}",
        f"--max-key-bytes={limits['max_key_bytes']}",
        f"--max-value-bytes={limits['max_value_bytes']}",
    ]


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


class BlinkServer:
    """One blink-store process on a loopback port and a Unix socket in a temp directory."""

    def __init__(
        self, *flags: str, token: str | None = None, tcp: str = "127.0.0.1:0", unix_path: str | None = None
    ) -> None:
        self._tempdir = tempfile.TemporaryDirectory(prefix="blink-py-")
        self.unix_path = unix_path or os.path.join(self._tempdir.name, "blink.sock")
        env = dict(os.environ, BLINK_LOG_LEVEL="warn")
        env.pop("BLINK_AUTH_TOKEN", None)
        if token is not None:
            env["BLINK_AUTH_TOKEN"] = token
        self._stderr = open(os.path.join(self._tempdir.name, "stderr.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [server_binary(), "--tcp", tcp, "--unix-socket", self.unix_path, *flags],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        line = self._ready_line()
        match = _READY.match(line)
        if match is None:
            message = f"blink-store did not start: {line!r} {self.stderr_text()}"
            self.cleanup()
            raise AssertionError(message)
        self.tcp = match["tcp"]
        self.unix = f"unix:{match['unix'] or self.unix_path}"

    def _ready_line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], READY_TIMEOUT_S)
        if not ready:
            self.cleanup()
            raise AssertionError(f"blink-store printed no ready line within {READY_TIMEOUT_S} s")
        return self.process.stdout.readline().decode().strip()

    def stderr_text(self) -> str:
        return pathlib.Path(self._stderr.name).read_text(errors="replace")

    def client(self, **options: Any) -> Client:
        return Client(self.tcp, **options)

    def stats(self, **options: Any) -> dict[str, int]:
        """STATS from a fresh connection of its own."""
        with self.client(**options) as client:
            return client.stats()

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def cleanup(self) -> None:
        self.stop()
        self._tempdir.cleanup()


class ServerTestCase(unittest.TestCase):
    """Starts one blink-store for the class, with `server_flags` and `server_token`."""

    server_flags: ClassVar[tuple[str, ...]] = ()
    server_token: ClassVar[str | None] = None
    server: ClassVar[BlinkServer]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.server = BlinkServer(*cls.server_flags, token=cls.server_token)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.cleanup()
        super().tearDownClass()

    def client(self, **options: Any) -> Client:
        client = self.server.client(**options)
        self.addCleanup(client.close)
        return client


class FakePeer:
    """A loopback listener the test owns; each accepted connection runs `handler` on a thread.

    The handler gets the accepted socket (blocking) and returns when done; the
    peer closes it after. `accepted` counts connections.
    """

    Handler = Callable[[socket.socket], None]

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn, contextlib.suppress(OSError):  # the client hanging up is the usual end
            self._handler(conn)

    def close(self) -> None:
        self._stop.set()
        self._accept_thread.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakePeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_frame(conn: socket.socket) -> bytes:
    """One request frame (header included) from a fake peer's connection; b"" on EOF."""
    header = _read_exactly(conn, 4)
    if len(header) < 4:
        return b""
    return header + _read_exactly(conn, int.from_bytes(header, "big"))


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def hello_reply(
    max_frame_bytes: int = 4096, max_key_bytes: int = 1024, max_value_bytes: int = 1024, *, version: int = 1
) -> bytes:
    """An OK reply to HELLO negotiating `version` (1 by default: what a version-1 server answers to HELLO 2)."""
    body = bytes([version, 0]) + b"".join(
        n.to_bytes(4, "big") for n in (max_frame_bytes, max_key_bytes, max_value_bytes)
    )
    return (1 + len(body)).to_bytes(4, "big") + b"\x00" + body


def wait_for_eof(conn: socket.socket, timeout_s: float = 5.0) -> bool:
    """True if the client closed this fake-peer connection within the timeout."""
    conn.settimeout(timeout_s)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return False
    return True


@contextmanager
def elapsed() -> Iterator[Callable[[], float]]:
    """`with elapsed() as seconds:` ... `seconds()` is the time since the block started."""
    start_s = time.monotonic()
    yield lambda: time.monotonic() - start_s
