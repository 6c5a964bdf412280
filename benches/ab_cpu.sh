#!/usr/bin/env bash
# Server CPU per request of two or more builds, measured in alternating
# rounds so that noise from other work on the machine lands on each alike:
# the way to compare a change against its parent on a shared machine, where
# one run of each is not enough (benches/compare.sh compares servers, not
# builds).
#
# Every server listed starts at once, pinned to CPU 0, and is prefilled
# (100k keys, 100-byte values); then each round runs blink-bench (pinned to
# CPU 1, 50 connections, get90/set10) against each server in turn. Prints
# one line per run (round, server, CPU µs/request, ops/s, p99.9 µs) and, per
# server, the median and mean CPU of its rounds and the median p99.9.
#
# Usage: benches/ab_cpu.sh [--rounds N] [--pipeline P] [--duration-s S] SERVER...
#   SERVER  a blink-store binary, or "floor" (target/release/blink-floor),
#           driven over the Blink protocol; with ":resp" appended, over RESP
#           (so one build can be compared with itself across protocols)
# Example (the parent commit's build against this one's):
#   git worktree add /tmp/parent HEAD~1 && cargo build --release --manifest-path /tmp/parent/Cargo.toml
#   benches/ab_cpu.sh --pipeline 16 /tmp/parent/target/release/blink-store target/release/blink-store floor
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=5 PIPELINE=16 DURATION_S=4
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --pipeline) PIPELINE=$2; shift ;;
        --duration-s) DURATION_S=$2; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
[ $# -ge 1 ] || { echo "name at least one server (try --help)" >&2; exit 2; }

BENCH="$ROOT/target/release/blink-bench"
FIRST_PORT=26490
SERVER_START_TIMEOUT_S=10
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blink-ab.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# protocol SERVER: the protocol its load speaks; binary SERVER: what to start.
protocol() { case "$1" in *:resp) echo resp ;; *) echo blink ;; esac; }
binary() { echo "${1%:resp}"; }

port=$FIRST_PORT
for server in "$@"; do
    if port_open "$port"; then echo "port $port is already in use" >&2; exit 1; fi
    if [ "$(binary "$server")" = floor ]; then
        taskset -c 0 "$ROOT/target/release/blink-floor" --tcp "127.0.0.1:$port" >/dev/null 2>&1 &
    else
        taskset -c 0 "$(binary "$server")" --tcp "127.0.0.1:$port" --memory-limit 1024MiB --log-dir "$WORK/logs-$port" >/dev/null 2>&1 &
    fi
    PIDS+=($!)
    waited=0
    until port_open "$port"; do
        [ "$waited" -lt $((SERVER_START_TIMEOUT_S * 10)) ] || { echo "$server did not start" >&2; exit 1; }
        sleep 0.1
        waited=$((waited + 1))
    done
    taskset -c 1 "$BENCH" --protocol "$(protocol "$server")" --tcp "127.0.0.1:$port" --prefill --duration-s 0 \
        --quiet >/dev/null 2>&1
    port=$((port + 1))
done

for round in $(seq "$ROUNDS"); do
    for index in $(seq 0 $(($# - 1))); do
        server=${*:$((index + 1)):1}
        json=$(taskset -c 1 "$BENCH" --protocol "$(protocol "$server")" --tcp "127.0.0.1:$((FIRST_PORT + index))" \
            --pipeline "$PIPELINE" \
            --duration-s "$DURATION_S" --server-pid "${PIDS[$index]}" --json --quiet)
        python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%d %s %.3f %.0f %.0f" % (int(sys.argv[3]), sys.argv[2], r["server_cpu_us_per_request"], r["ops_per_s"], r["latency_us"]["p99.9"]))' \
            "$json" "$server" "$round" | tee -a "$WORK/runs"
    done
done
echo
echo "pipeline $PIPELINE, $ROUNDS rounds of $DURATION_S s, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK/runs" "$@" <<'PY'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
print("| server | CPU µs/req median | mean | rounds | p99.9 µs median |")
print("|---|---:|---:|---|---:|")
for server in sys.argv[2:]:
    cpu = [float(r[2]) for r in runs if r[1] == server]
    p999 = [float(r[4]) for r in runs if r[1] == server]
    print("| {} | {:.3f} | {:.3f} | {} | {:,.0f} |".format(server, statistics.median(cpu), statistics.mean(cpu),
                                                          ", ".join("%.2f" % c for c in cpu), statistics.median(p999)))
PY
