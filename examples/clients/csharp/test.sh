#!/usr/bin/env bash
# Builds and runs the C# client's whole suite (examples/clients/conformance/README.md, "The
# test.sh contract"): the library with mcs -warnaserror, the NUnit tests (wire module against the
# protocol vectors, the sessions, every fault case, the pool under load) against real servers,
# and the quickstart over TCP and the Unix socket. Last line: "csharp: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${TMPDIR:-/tmp}/blink-csharp-client
mkdir -p "$work"
# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"
kit_begin csharp

packages=(mono-mcs mono-runtime mono-devel libmono-posix4.0-cil libmono-system-web-extensions4.0-cil nunit-console libnunit-cil-dev)
if ! command -v mcs >/dev/null 2>&1 || ! command -v nunit-console >/dev/null 2>&1 ||
	[ ! -f /usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll ]; then
	kit_install "${packages[@]}" || { failed=1; kit_finish; }
fi

kit_server_bin || { failed=1; kit_finish; }

kit_check build "$here/build.sh" || kit_finish

(cd "$here/bin" && nunit-console BlinkStore.Client.Tests.dll -nologo -labels -xml:"$work/TestResult.xml") 2>&1 | tee "$work/test.log"
summary=$(grep -E '^Tests run: ' "$work/test.log" | tail -1)
if [ -z "$summary" ]; then
	echo "FAIL: nunit-console printed no summary" >&2
	failed=$((failed + 1))
else
	run=$(sed -E 's/^Tests run: ([0-9]+).*/\1/' <<<"$summary")
	errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
	failures=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary")
	notrun=$(sed -E 's/.*Not run: ([0-9]+).*/\1/' <<<"$(grep -E '^ *Not run: ' "$work/test.log" | tail -1)")
	passed=$((passed + run - errors - failures))
	failed=$((failed + errors + failures + ${notrun:-0}))
fi

# The quickstart program against a server of its own, over TCP and the Unix socket.
quickstart() {
	local dir pid addr ok=1
	dir=$(mktemp -d)
	"$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$dir/blink.sock" >"$dir/out" 2>"$dir/err" &
	pid=$!
	for _ in $(seq 200); do
		grep -q '^ready ' "$dir/out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	addr=$(sed -n 's/^ready tcp \([^,]*\),.*/\1/p' "$dir/out")
	if [ -n "$addr" ] && mono "$here/bin/Quickstart.exe" "$addr" &&
		mono "$here/bin/Quickstart.exe" "unix:$dir/blink.sock"; then
		ok=0
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$dir"
	return $ok
}
kit_check quickstart quickstart
kit_finish
