#!/usr/bin/env bash
# Builds and runs the Java client's whole suite (examples/clients/conformance/README.md,
# "The test.sh contract"): compiles the sources with javac -Xlint:all -Werror, runs the JUnit 5
# tests (the wire module against the protocol vectors, the session replay, every fault case,
# the pool and connection tests, all against real servers and fake peers), then the quickstart
# program against a server of its own. Last line: "java: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$here/target
junit=/usr/share/java/junit-platform-console-standalone.jar
# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"
kit_begin java

if ! command -v javac >/dev/null 2>&1; then
	kit_install openjdk-17-jdk-headless || { failed=1; kit_finish; }
fi
if [ ! -f "$junit" ]; then
	kit_install junit5 || { failed=1; kit_finish; }
fi

kit_server_bin || { failed=1; kit_finish; }

compile() { # compile OUT CLASSPATH DIR: every .java under DIR, warnings are errors
	rm -rf "$1" && mkdir -p "$1" &&
		find "$3" -name '*.java' -print0 | xargs -0 javac -Xlint:all -Werror -encoding UTF-8 --release 17 -cp "$2" -d "$1"
}
kit_check "javac src/main" compile "$build/classes" "" "$here/src/main/java"
kit_check "javac src/test" compile "$build/test-classes" "$build/classes:$junit" "$here/src/test/java"
[ "$failed" -eq 0 ] || kit_finish

cd "$here" || exit 1
java -Dblink.root="$root" -jar "$junit" --disable-banner --disable-ansi-colors --details=tree \
	--class-path "$build/classes:$build/test-classes" --select-package dev.blinkstore.client \
	--reports-dir "$build/test-reports" 2>&1 | tee "$build/test.log"
status=${PIPESTATUS[0]}
count() { # count LABEL: a number from the launcher's summary, 0 if absent
	local n
	n=$(sed -n "s/^\[ *\([0-9]*\) $1 *\]$/\1/p" "$build/test.log" | tail -1)
	echo "${n:-0}"
}
runs=$(count "tests successful")
fails=$(($(count "tests failed") + $(count "tests aborted") + $(count "containers failed")))
passed=$((passed + runs))
failed=$((failed + fails))
if [ "$status" -ne 0 ] && [ "$fails" -eq 0 ]; then
	echo "FAIL: the JUnit launcher exited $status without a failing test" >&2
	failed=$((failed + 1))
fi

# The quickstart program itself, over TCP and the Unix socket of a server of its own.
quickstart() {
	local dir pid addr ok=1
	dir=$(mktemp -d)
	"$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$dir/blink.sock" </dev/null >"$dir/out" 2>"$dir/err" &
	pid=$!
	for _ in $(seq 200); do
		grep -q '^ready ' "$dir/out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	addr=$(sed -n 's/^ready tcp \([^,]*\),.*/\1/p' "$dir/out")
	local cp="$build/classes:$build/test-classes"
	if [ -n "$addr" ] &&
		java -cp "$cp" dev.blinkstore.client.examples.Quickstart "$addr" &&
		java -cp "$cp" dev.blinkstore.client.examples.Quickstart "unix:$dir/blink.sock"; then
		ok=0
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$dir"
	return $ok
}
kit_check quickstart quickstart
kit_finish
