#!/usr/bin/env bash
# Runs every test suite: the server's (unit, property, wire-level and doc
# tests of the workspace, but for the crates whose own test.sh runs them), then every client's examples/clients/*/test.sh
# and the HTTP backend examples (examples/test.sh) against the release
# server, then the conformance kit's coverage check; with
# BLINK_RELEASE_SUITES=1 (as .ci/run sets it), also scripts/cross.sh,
# scripts/packages.sh and scripts/container.sh.
# Builds and installs what it needs (cargo must exist; each client installs
# its own toolchain). Ends with one line per suite and a total; exits
# non-zero if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust with your package manager or rustup first" >&2
    exit 1
fi

summaries=()
failed_suites=0
total_passed=0
total_failed=0

# record NAME PASSED FAILED STATUS: one summary line per suite.
record() {
    summaries+=("$1: $2 passed, $3 failed")
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    if [ "$4" -ne 0 ] || [ "$3" -ne 0 ]; then
        failed_suites=$((failed_suites + 1))
        [ "$4" -ne 0 ] && [ "$3" -eq 0 ] && summaries[-1]+=" (exit $4)"
    fi
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_suite NAME COMMAND...: runs a suite whose output ends with the line
# "NAME: N passed, M failed" (every client's test.sh and examples/test.sh).
run_suite() {
    local name=$1 status line passed failed
    shift
    "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -n 1)
    if [ -z "$line" ]; then
        record "$name" 0 1 "$status"
        summaries[-1]+=" (no summary line)"
        return
    fi
    read -r _ passed _ failed _ <<<"$line"
    record "$name" "$passed" "$failed" "$status"
}

echo "== server: cargo test"
cargo test --workspace --exclude blink-client --exclude backend-http --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(awk '/^test result:/ { sum += $4 } END { print sum + 0 }' "$log")
failed=$(awk '/^test result:/ { sum += $6 } END { print sum + 0 }' "$log")
record server "$passed" "$failed" "$status"

echo "== release server and blink-cli for the clients"
if [ -z "${BLINK_STORE_BIN:-}" ]; then
    cargo build --release --locked -p blink-store || exit 1
    export BLINK_STORE_BIN="$root/target/release/blink-store"
fi
if [ -z "${BLINK_CLI_BIN:-}" ]; then
    cargo build --release --locked -p blink-client --bin blink-cli || exit 1
    export BLINK_CLI_BIN="$root/target/release/blink-cli"
fi
# The shell examples of blink-cli run, never skip.
export BLINK_REQUIRE_CLI=1

for suite in examples/clients/*/test.sh; do
    name=$(basename "$(dirname "$suite")")
    echo "== client: $name"
    run_suite "$name" "$suite"
done

echo "== HTTP backend examples"
run_suite examples examples/test.sh
run_suite resp tests/resp/test.sh

echo "== conformance kit"
python3 examples/clients/conformance/check.py 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
covered=$(grep -c ': all ' "$log")
missing=$(grep -c ': missing ' "$log")
record conformance "$covered" "$missing" "$status"

# The install paths (release targets, packages, the container image) take
# about ten minutes more: .ci/run asks for them, a plain run does not.
if [ "${BLINK_RELEASE_SUITES:-0}" = 1 ]; then
    echo "== release targets: scripts/cross.sh"
    run_suite cross scripts/cross.sh
    echo "== packages: scripts/packages.sh"
    run_suite packages scripts/packages.sh
    echo "== container image: scripts/container.sh"
    run_suite container scripts/container.sh
fi

echo
echo "== summary"
for line in "${summaries[@]}"; do
    echo "$line"
done
echo "total: $total_passed passed, $total_failed failed, $failed_suites of ${#summaries[@]} suites failed"
[ "$failed_suites" -eq 0 ]
