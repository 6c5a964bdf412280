#!/usr/bin/env bash
# Soak test (RELIABILITY.md B9): mixed traffic at a fixed rate well below
# saturation, a key space ten times the memory cap, values from 100 B to
# 4 KiB, and connections that churn (every round opens and closes its own),
# for a bounded time on loopback. Every interval it samples the server's RSS
# and open descriptors; at the end it checks:
#   - RSS growth over the second half of the run is under 1%;
#   - open descriptors are back to their baseline once the clients are gone;
#   - no request failed and the server is still alive.
#
# Usage: scripts/soak.sh [MINUTES, default 60] [RATE requests/s, default 20000]
# Builds the release binaries if needed. Exit status 0 means every check held.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-60}"
rate="${2:-20000}"
round_s=30
cap="64MiB"
keys=2000000 # about 10x what a 64 MiB cap holds at these value sizes
port=$((30000 + RANDOM % 20000))

cargo build --release --locked -q -p blink-store -p blink-bench
server_bin=target/release/blink-store
bench_bin=target/release/blink-bench

taskset -c 0 "$server_bin" --tcp "127.0.0.1:$port" --memory-limit "$cap" --log-level warn >/dev/null &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }
fds() { ls "/proc/$server_pid/fd" | wc -l; }

baseline_fds=$(fds)
rounds=$((minutes * 60 / round_s))
[ "$rounds" -ge 2 ] || rounds=2
declare -a rss
errors=0
echo "soak: $rounds rounds of ${round_s}s at $rate req/s, cap $cap, $keys keys, port $port"
for round in $(seq 1 "$rounds"); do
    result=$(taskset -c 1 "$bench_bin" --tcp "127.0.0.1:$port" --connections 20 --pipeline 4 \
        --ratio 3:7 --keys "$keys" --value-size 100-4096 --distribution zipf \
        --rate "$rate" --duration-s "$round_s" --json --quiet --seed "$round")
    round_errors=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["error_replies"] + r["conn_errors"])' <<<"$result")
    errors=$((errors + round_errors))
    rss[$round]=$(rss_kib)
    echo "round $round/$rounds: RSS ${rss[$round]} KiB, fds $(fds), errors $round_errors"
done

kill -0 "$server_pid" || { echo "FAIL: the server died"; exit 1; }
half=$((rounds / 2))
growth=$(python3 -c "print(round(100 * (${rss[$rounds]} - ${rss[$half]}) / ${rss[$half]}, 2))")
final_fds=$(fds)
echo "RSS growth over the second half: ${growth}%; fds ${final_fds} (baseline ${baseline_fds}); errors ${errors}"
status=0
python3 -c "import sys; sys.exit(0 if $growth < 1.0 else 1)" || { echo "FAIL: RSS grew ${growth}%"; status=1; }
[ "$final_fds" -le "$baseline_fds" ] || { echo "FAIL: descriptors leaked"; status=1; }
[ "$errors" -eq 0 ] || { echo "FAIL: $errors failed requests"; status=1; }
[ "$status" -eq 0 ] && echo "soak passed"
exit "$status"
