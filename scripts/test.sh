#!/usr/bin/env bash
# Runs every test: unit, property, wire-level integration and doc tests of
# every crate in the workspace. Builds what it needs; needs only cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust with your package manager or rustup first" >&2
    exit 1
fi

# Property tests: enough cases to mean something, bounded for CI.
export PROPTEST_CASES="${PROPTEST_CASES:-256}"
exec cargo test --workspace --locked "$@"
