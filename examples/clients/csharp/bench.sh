#!/usr/bin/env bash
# Runs the benchmark (bench/Bench.cs) against a blink-store pinned to CPU 1: pooled throughput
# at 1, 8 and 64 threads, pipelined GETs on one connection, and the pool's borrow/return cost.
# Usage: bench.sh [seconds per row, default 3]. A measurement, not a test.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${BLINK_STORE_BIN:-$root/target/release/blink-store}
[ -x "$bin" ] || (cd "$root" && cargo build --release --locked -p blink-store)
"$here/build.sh"
dir=$(mktemp -d)
taskset -c 1 "$bin" --tcp 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do
	grep -q '^ready ' "$dir/out" 2>/dev/null && break
	sleep 0.05
done
addr=$(sed -n 's/^ready tcp \([^,]*\).*/\1/p' "$dir/out")
mono "$here/bin/Bench.exe" "$addr" "${1:-3}"
