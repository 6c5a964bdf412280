#!/usr/bin/env bash
# The Java client's benchmark against a blink-store of its own, pinned to core 1 with taskset
# (the client JVM is not pinned: its workers, JIT and GC need both cores). Usage: bench.sh [seconds per cell, default 3]. Builds the server
# like test.sh when BLINK_STORE_BIN is unset and target/release/blink-store is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$here/target
junit=/usr/share/java/junit-platform-console-standalone.jar
seconds=${1:-3}

if [ -z "${BLINK_STORE_BIN:-}" ]; then
	BLINK_STORE_BIN=$root/target/release/blink-store
	[ -x "$BLINK_STORE_BIN" ] || (cd "$root" && cargo build --release --locked -p blink-store)
fi

mkdir -p "$build/classes" "$build/test-classes"
find "$here/src/main/java" -name '*.java' -print0 | xargs -0 javac -Xlint:all -Werror --release 17 -d "$build/classes"
find "$here/src/test/java" -name '*.java' -print0 |
	xargs -0 javac -Xlint:all -Werror --release 17 -cp "$build/classes:$junit" -d "$build/test-classes"

dir=$(mktemp -d)
taskset -c 1 "$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$dir/blink.sock" </dev/null >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do
	grep -q '^ready ' "$dir/out" && break
	kill -0 "$pid"
	sleep 0.05
done
addr=$(sed -n 's/^ready tcp \([^,]*\),.*/\1/p' "$dir/out")
echo "blink-store $("$BLINK_STORE_BIN" --version | cut -d' ' -f2) pinned to core 1; client JVM unpinned; $seconds s per cell after 1 s of warm-up; $(date -u +%F), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
java -cp "$build/classes:$build/test-classes" dev.blinkstore.client.examples.Bench "$addr" "$seconds"
