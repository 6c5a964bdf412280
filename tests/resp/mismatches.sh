#!/usr/bin/env bash
# Development aid while RESP lands: runs the whole suite against a Blink build and
# prepends the failing cases (differential, hardening and redis-py with the expected and
# actual bytes; the other peers' and lints' failing check names) to a Markdown report,
# newest run first.
#
#   tests/resp/mismatches.sh [BINARY] [REPORT]            one run
#   tests/resp/mismatches.sh --watch UNTIL_HH:MM [BINARY] [REPORT]
#       rerun whenever BINARY's mtime changes, checking once a minute, until UNTIL (UTC)
# Defaults: /tmp/blink-resp/blink-store and /tmp/blink-resp/MISMATCHES.md.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
watch_until=""
if [ "${1:-}" = --watch ]; then
	watch_until="$2"
	shift 2
fi
binary="${1:-/tmp/blink-resp/blink-store}"
report="${2:-/tmp/blink-resp/MISMATCHES.md}"
#: Seconds between two looks at the binary's mtime in --watch mode.
poll_s=60

run_once() {
	local failures log summary stamp
	failures="$(mktemp)"
	log="$(mktemp)"
	stamp="$(date -u -r "$binary" '+%Y-%m-%d %H:%M:%S UTC')"
	echo "== $(date -u +%H:%M:%S) checking $binary (built $stamp)"
	# A snapshot of test.sh beside it: bash reads a script as it runs, so an edit made to
	# test.sh during a run would otherwise change the running script.
	cp "$here/test.sh" "$here/.mismatches-test.sh"
	BLINK_STORE_BIN="$binary" RESP_FAILURES_FILE="$failures" \
		timeout 900 "$here/.mismatches-test.sh" >"$log" 2>&1
	rm -f "$here/.mismatches-test.sh"
	summary="$(grep -E '^(differential|hardening|redis-py|resp): ' "$log" | paste -sd ';' | sed 's/;/; /g')"
	# kit_check failures (node, redis-rs, redis-cli, redis-benchmark, lints) name the check only.
	grep -E '^FAIL: ' "$log" | while IFS= read -r line; do
		printf '### peer or lint check: %s\n\n(details in the test.sh output)\n\n' "${line#FAIL: }"
	done >>"$failures"
	{
		echo "## Run at $(date -u '+%H:%M:%S UTC') against the build of $stamp"
		echo
		echo "\`$(sha256sum "$binary" | cut -c1-16)\` — $summary"
		echo
		if [ -s "$failures" ]; then
			grep '^### ' "$failures" | sed 's/^### /- /'
			echo
			echo "Details (redis = the reference's bytes, expected = ours for Blink-only cases):"
			echo
			cat "$failures"
		else
			echo "No failing case."
			echo
		fi
		if [ -f "$report" ]; then
			echo "---"
			echo
			# Earlier runs, minus the file's title.
			sed '1,/^<!-- runs -->$/d' "$report"
		fi
	} >"$report.new"
	{
		echo "# RESP mismatches: Blink vs redis-server 7.0.15"
		echo
		echo "Written by tests/resp/mismatches.sh (the whole RESP suite); newest run first."
		printf '%s\n' 'Bytes are escaped: \r \n \xNN. Rerun some cases by name:' \
			"\`RESP_ONLY=wire RESP_FILTER='SET EX' BLINK_STORE_BIN=$binary tests/resp/test.sh\`" \
			'(RESP_ONLY=peers for the clients alone).'
		echo
		echo "<!-- runs -->"
		cat "$report.new"
	} >"$report"
	rm -f "$report.new" "$failures" "$log"
	echo "== $summary"
}

if [ -z "$watch_until" ]; then
	run_once
	exit
fi
last=""
deadline="$(date -u -d "$watch_until" +%s)" || exit 1
while [ "$(date -u +%s)" -lt "$deadline" ]; do
	if [ -x "$binary" ]; then
		current="$(stat -c %Y "$binary")"
		if [ "$current" != "$last" ]; then
			last="$current"
			run_once
		fi
	fi
	sleep "$poll_s"
done
