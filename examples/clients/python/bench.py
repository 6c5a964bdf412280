"""Throughput of blink_client against blink-store, beside redis-py against redis-server.

    python3 bench.py [--duration-s 1.0] [--rounds 3] [--profile]

Measures single-connection round trips/s (GET of a 100-byte value) and
pipelined GETs/s (batches of 100 GETs of 100-byte values). Both servers run
pinned to core 1 (`taskset -c 1`) and this process to core 0 when the
machine has two cores. Each figure is the best of `--rounds` runs of
`--duration-s`, the two clients' runs interleaved so both see the same load.
Prints a markdown table. Installs redis-py (pip) and redis-server (apt, as
root) when missing. Not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pathlib
import pstats
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import blink_client

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
VALUE = b"v" * 100
KEY = "bench:key"
BATCH = 100
SERVER_CORE = "1"
CLIENT_CORE = 0


def ensure_redis() -> Any:
    """The redis module, and redis-server on PATH, installing them when missing."""
    try:
        return importlib.import_module("redis")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "redis"], check=True)
    if shutil.which("redis-server") is None:
        if os.geteuid() != 0:
            sys.exit("bench.py: redis-server is missing; install Debian's redis-server")
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "redis-server"], check=True)
    return importlib.import_module("redis")


def pinned(command: list[str]) -> list[str]:
    if (os.cpu_count() or 1) > 1 and shutil.which("taskset"):
        return ["taskset", "-c", SERVER_CORE, *command]
    return command


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port: int = listener.getsockname()[1]
        return port


@contextmanager
def blink_store() -> Iterator[str]:
    binary = os.environ.get("BLINK_STORE_BIN") or str(REPO_ROOT / "target" / "release" / "blink-store")
    process = subprocess.Popen(
        pinned([binary, "--tcp", "127.0.0.1:0"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, BLINK_LOG_LEVEL="warn"),
        text=True,
    )
    try:
        assert process.stdout is not None
        match = re.match(r"ready tcp (\S+?)(,|$)", process.stdout.readline().strip())
        if match is None:
            sys.exit(f"bench.py: {binary} did not start")
        yield match[1]
    finally:
        process.terminate()
        process.wait()


@contextmanager
def redis_server(redis: Any) -> Iterator[int]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="blink-bench-redis-") as workdir:
        process = subprocess.Popen(
            pinned(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline_s = time.monotonic() + 10
            while True:
                try:
                    redis.Redis(port=port).ping()
                    break
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline_s:
                        sys.exit("bench.py: redis-server did not start")
                    time.sleep(0.01)
            yield port
        finally:
            process.terminate()
            process.wait()


def rate(operation: Callable[[], int], duration_s: float) -> float:
    """Operations per second of `operation` (which returns how many it did) over `duration_s`."""
    operation()  # warm up
    done = 0
    start_s = time.perf_counter()
    while (elapsed_s := time.perf_counter() - start_s) < duration_s:
        done += operation()
    return done / elapsed_s


def blink_operations(client: blink_client.Client) -> tuple[Callable[[], int], Callable[[], int]]:
    client.set(KEY, VALUE)

    def round_trip() -> int:
        client.get(KEY)
        return 1

    def pipelined() -> int:
        batch = client.batch()
        for _ in range(BATCH):
            batch.get(KEY)
        batch.execute()
        return BATCH

    return round_trip, pipelined


def redis_operations(client: Any) -> tuple[Callable[[], int], Callable[[], int]]:
    client.set(KEY, VALUE)

    def round_trip() -> int:
        client.get(KEY)
        return 1

    def pipelined() -> int:
        pipe = client.pipeline(transaction=False)
        for _ in range(BATCH):
            pipe.get(KEY)
        pipe.execute()
        return BATCH

    return round_trip, pipelined


def profile(operation: Callable[[], int], duration_s: float) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(rate, operation, duration_s)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(12)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration-s", type=float, default=1.0, help="length of one measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--profile", action="store_true", help="cProfile blink_client's pipelined GETs")
    args = parser.parse_args()
    redis = ensure_redis()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {CLIENT_CORE})
    with blink_store() as blink_address, redis_server(redis) as redis_port:
        blink = blink_client.Client(blink_address)
        other = redis.Redis(port=redis_port)
        blink_ops = blink_operations(blink)
        redis_ops = redis_operations(other)
        best: dict[tuple[str, int], float] = {}
        for _ in range(args.rounds):
            for name, ops in (("blink", blink_ops), ("redis", redis_ops)):
                for index, operation in enumerate(ops):
                    best[name, index] = max(best.get((name, index), 0.0), rate(operation, args.duration_s))
        if args.profile:
            profile(blink_ops[1], args.duration_s)
        blink.close()
        other.close()
    version_line = subprocess.run(["redis-server", "--version"], check=True, capture_output=True, text=True).stdout
    redis_server_version = version_line.split()[2].removeprefix("v=")
    rows = [
        ("blink_client", "blink-store", best["blink", 0], best["blink", 1]),
        (f"redis-py {redis.__version__}", f"redis-server {redis_server_version}", best["redis", 0], best["redis", 1]),
    ]
    print(f"| client | server | round trips/s (GET, 100 B) | pipelined GETs/s (batches of {BATCH}, 100 B) |")
    print("|---|---|---:|---:|")
    for client_name, server_name, round_trips, pipelined in rows:
        print(f"| {client_name} | {server_name} | {round_trips:,.0f} | {pipelined:,.0f} |")
    print()
    print(
        f"blink_client / redis-py: round trips x{best['blink', 0] / best['redis', 0]:.2f}, "
        f"pipelined x{best['blink', 1] / best['redis', 1]:.2f} "
        f"(Python {sys.version.split()[0]}, best of {args.rounds} x {args.duration_s} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
