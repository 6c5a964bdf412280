#!/usr/bin/env bash
# Builds and runs the Node client's whole suite (examples/clients/conformance
# README, "The test.sh contract"): installs Node and the dev dependencies when
# missing, locates or builds blink-store, runs the formatter, the linters and
# the type check, then every test (wire vectors, integration, sessions, fault
# cases, quickstart). Last line: "node: N passed, M failed".
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
failed_checks=0

fail_setup() {
  echo "test.sh: $1" >&2
  echo "node: 0 passed, 1 failed"
  exit 1
}

# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"

# The toolchain: Debian's nodejs (20 or later) and npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  kit_install nodejs npm || fail_setup "cannot install nodejs and npm"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail_setup "node $node_major is too old; blink-client needs 20 or later"

# The server binary, per the kit.
kit_server_bin || fail_setup "no blink-store binary (build failed?)"

cd "$here" || fail_setup "cannot enter $here"
npm ci --no-audit --no-fund --loglevel=error || fail_setup "npm ci failed"

check() {
  local name="$1"
  shift
  echo "== $name"
  if ! "$@"; then
    echo "test.sh: $name FAILED" >&2
    failed_checks=$((failed_checks + 1))
  fi
}

sources=(src/*.js test/*.js test/helpers/*.js quickstart.js bench.mjs eslint.config.js)
check "prettier --check" npx prettier --check .
check "eslint" npx eslint .
check "node --check" bash -c 'for f in "$@"; do node --check "$f" || exit 1; done' _ "${sources[@]}"
check "tsc --noEmit (index.d.ts)" npx tsc -p test/types

echo "== node --test"
log="$(mktemp "${TMPDIR:-/tmp}/blink-node-test.XXXXXX")"
node --test --test-reporter=spec test/*.test.js 2>&1 | tee "$log"
runner_status="${PIPESTATUS[0]}"
passed="$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -n1)"
failed="$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -n1)"
rm -f "$log"
if [ -z "$passed" ] || [ -z "$failed" ]; then
  echo "test.sh: no summary from the test runner (exit $runner_status)" >&2
  passed="${passed:-0}"
  failed="$((${failed:-0} + 1))"
elif [ "$runner_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

total_failed=$((failed + failed_checks))
echo "node: $passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
