#!/usr/bin/env bash
# The Python client's whole suite (examples/clients/conformance/README.md, "The test.sh
# contract"): locate or build blink-store, install ruff and mypy when missing, run the
# formatter, linter and type checker, then the unit, integration, fault and quickstart
# tests. The last line is `python: N passed, M failed`; any failure exits non-zero.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$HERE"

summary() {
    echo "python: $1 passed, $2 failed"
}

die() {
    echo "python: $*" >&2
    summary 0 1
    exit 1
}

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "blink_client needs Python 3.11 or later, found $("$PYTHON" --version 2>&1)"

# shellcheck source=/dev/null
. "$HERE/../conformance/kit.sh"
kit_server_bin || die "no blink-store binary (build failed?)"

pip_install() {
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        kit_install python3-pip || die "cannot install python3-pip"
    fi
    "$PYTHON" -m pip install --quiet "$@" \
        || "$PYTHON" -m pip install --quiet --break-system-packages "$@" \
        || die "pip install $* failed"
}

missing=()
"$PYTHON" -m ruff --version >/dev/null 2>&1 || missing+=(ruff)
"$PYTHON" -m mypy --version >/dev/null 2>&1 || missing+=(mypy)
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}"
    pip_install "${missing[@]}"
fi

lint_failed=0
run_check() {
    echo "== $*"
    "$@" || { lint_failed=$((lint_failed + 1)); echo "FAILED: $*"; }
}
run_check "$PYTHON" -m ruff format --check .
run_check "$PYTHON" -m ruff check .
run_check "$PYTHON" -m mypy --strict

echo "== tests (server: $BLINK_STORE_BIN)"
counts="$(mktemp)"
trap 'rm -f "$counts"' EXIT
"$PYTHON" -m tests --counts-file "$counts"
tests_status=$?
read -r passed failed < "$counts" || { passed=0; failed=1; }
if ((tests_status != 0 && failed == 0)); then
    failed=1
fi

summary "$passed" "$((failed + lint_failed))"
((tests_status == 0 && lint_failed == 0))
