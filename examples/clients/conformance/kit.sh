# Shell helpers every client's test.sh shares (source it; the contract is in
# README.md, "The test.sh contract"):
#   kit_begin NAME          start counting; kit_finish prints "NAME: N passed, M failed"
#   kit_check LABEL CMD...  run one check, count it as passed or failed
#   kit_finish              print the summary line and exit (non-zero on any failure)
#   kit_abort LABEL         count LABEL as failed and finish now (nothing after it can run)
#   kit_install PACKAGE...  apt-get install as root, or through sudo when it needs no
#                           password (apt-get update once per run), or fail loudly
#   kit_server_bin          export BLINK_STORE_BIN: as given, else the repository's
#                           release build, built with cargo when missing
# shellcheck shell=bash

KIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

kit_begin() {
	KIT_NAME=$1
	passed=0
	failed=0
}

kit_check() {
	if "${@:2}"; then
		passed=$((passed + 1))
	else
		echo "FAIL: $1" >&2
		failed=$((failed + 1))
	fi
}

kit_finish() {
	echo "$KIT_NAME: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

kit_abort() {
	echo "FAIL: $1" >&2
	failed=$((failed + 1))
	kit_finish
}

kit_install() {
	local as_root=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
			echo "${KIT_NAME:-client}: $* missing, and installing needs root or sudo without a password" >&2
			return 1
		fi
		as_root=(sudo -n)
	fi
	if [ -z "${KIT_APT_UPDATED:-}" ]; then
		"${as_root[@]}" apt-get update -qq || return 1
		export KIT_APT_UPDATED=1 # the suites this one starts inherit it
	fi
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

kit_server_bin() {
	if [ -z "${BLINK_STORE_BIN:-}" ]; then
		BLINK_STORE_BIN=$KIT_ROOT/target/release/blink-store
		if [ ! -x "$BLINK_STORE_BIN" ]; then
			(cd "$KIT_ROOT" && cargo build --release --locked -p blink-store) || return 1
		fi
	fi
	[ -x "$BLINK_STORE_BIN" ] || {
		echo "${KIT_NAME:-client}: no blink-store binary at $BLINK_STORE_BIN" >&2
		return 1
	}
	export BLINK_STORE_BIN
}
