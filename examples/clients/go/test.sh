#!/usr/bin/env bash
# Builds and runs the Go client's whole suite (examples/clients/conformance/README.md,
# "The test.sh contract"): gofmt and go vet, the unit tests against the protocol
# vectors, the integration and fault tests against real servers (with the race
# detector), and the quickstart program. Last line: "go: N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${TMPDIR:-/tmp}/blink-go-client
mkdir -p "$work"
# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"
kit_begin go

if ! command -v go >/dev/null 2>&1; then
	kit_install golang-go || { failed=1; kit_finish; }
fi

kit_server_bin || { failed=1; kit_finish; }
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOTELEMETRY=off
export GOCACHE=$work/gocache GOPATH=$work/gopath
cd "$here" || exit 1

unformatted() { [ -z "$(gofmt -l .)" ] || { gofmt -l . >&2; return 1; }; }
kit_check gofmt unformatted
kit_check "go vet" go vet ./...

# The race detector needs cgo; without a C compiler the suite runs without it.
race=-race
command -v gcc >/dev/null 2>&1 || race=
go test $race -count=1 -p 1 -v ./... 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}
runs=$(grep -cE '^\s*--- PASS' "$work/test.log")
fails=$(grep -cE '^\s*--- FAIL' "$work/test.log")
passed=$((passed + runs))
failed=$((failed + fails))
if [ "$status" -ne 0 ] && [ "$fails" -eq 0 ]; then
	echo "FAIL: go test exited $status without a failing test (a build error?)" >&2
	failed=$((failed + 1))
fi

# The quickstart binary itself against a server of its own.
quickstart() {
	local dir pid addr ok=1
	dir=$(mktemp -d)
	"$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$dir/blink.sock" >"$dir/out" 2>"$dir/err" &
	pid=$!
	for _ in $(seq 200); do
		grep -q '^ready ' "$dir/out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	addr=$(sed -n 's/^ready tcp \([^,]*\),.*/\1/p' "$dir/out")
	if [ -n "$addr" ] && go run ./cmd/quickstart -addr "$addr" &&
		go run ./cmd/quickstart -network unix -addr "$dir/blink.sock"; then
		ok=0
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$dir"
	return $ok
}
kit_check quickstart quickstart
kit_finish
