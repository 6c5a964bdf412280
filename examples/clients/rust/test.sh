#!/usr/bin/env bash
# Builds and runs the Rust client's whole suite, per the conformance kit's
# test.sh contract (examples/clients/conformance/README.md): rustfmt, clippy
# and rustdoc with warnings denied, the unit, vector, fault, CLI and
# integration tests against a real blink-store, and the quickstart example.
# The last line is `rust: N passed, M failed`; the exit status is non-zero on
# any failure. Runs from any working directory.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"

passed=0
failed=0
gate() { # gate NAME COMMAND...: a check that counts as one test
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "rust: $name FAILED" >&2
        failed=$((failed + 1))
    fi
}
finish() {
    echo "rust: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"

if ! command -v cargo >/dev/null; then
    kit_install cargo rustfmt rust-clippy || { echo "rust: cargo not found and cannot be installed" >&2; failed=1; finish; }
fi
kit_server_bin || { failed=1; finish; }

gate rustfmt cargo fmt -p blink-client -- --check
gate clippy cargo clippy -p blink-client --all-targets --all-features --locked -- -D warnings
gate rustdoc env RUSTDOCFLAGS="-D warnings" cargo doc -p blink-client --no-deps --all-features --locked

log="$(mktemp)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$log" "$work"
}
trap cleanup EXIT

cargo test -p blink-client --all-features --locked 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
read -r tests_passed tests_failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) { if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i }
} END { print p + 0, f + 0 }' "$log")
passed=$((passed + tests_passed))
failed=$((failed + tests_failed))
if [ "$test_status" -ne 0 ] && [ "$tests_failed" -eq 0 ]; then
    echo "rust: cargo test failed before reporting results" >&2
    failed=$((failed + 1))
fi

quickstart() {
    "$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$work/blink.sock" --log-level warn >"$work/ready" &
    server_pid=$!
    local waited=0
    until grep -q '^ready ' "$work/ready"; do
        kill -0 "$server_pid" 2>/dev/null || return 1
        [ "$waited" -ge 100 ] && return 1
        sleep 0.1
        waited=$((waited + 1))
    done
    local addr
    addr="$(sed -E 's/^ready tcp ([^,]+),.*/\1/' "$work/ready")"
    cargo run -q -p blink-client --locked --features tokio --example quickstart -- "$addr"
}
gate quickstart quickstart

finish
