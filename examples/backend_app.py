"""HTTP backend with Blink-Store as its cache: FastAPI on uvicorn over SQLite.

    python3 -m venv .venv && .venv/bin/pip install -r examples/backend_py/requirements.txt
    .venv/bin/python examples/backend_app.py

Configuration is by environment variable (examples/README.md lists them).
"""

from __future__ import annotations

import signal
import sys

import uvicorn

from backend_py.api import configure_logging, create_app
from backend_py.config import Config, ConfigError


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"backend_app: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    # Uvicorn re-raises SIGINT/SIGTERM once its graceful shutdown is done, into the handlers
    # it found at start. These ignore it: a requested shutdown that completed exits 0,
    # as the other apps and blink-store do, not 128+n.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda _signum, _frame: None)
    # One process, one event loop: single-flight and /stats are per process, and the
    # asyncio client pipelines every request's cache calls over one connection.
    # Uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes requests in flight
    # (bounded by the timeout below), then runs the app's shutdown.
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        access_log=False,  # the app logs each request itself, as JSON
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
