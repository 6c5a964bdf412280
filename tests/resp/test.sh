#!/usr/bin/env bash
# The RESP suite (RELIABILITY I1-I4): proves Blink-Store speaks RESP2/RESP3 like Redis on
# its own port. Installs what it needs (redis-server and redis-tools from apt; redis-py in
# a venv; ioredis and node-redis with npm ci in node/; the redis crate with cargo in
# redis-rs/), starts a reference redis-server and the server under test (each twice: once
# open, once with a password), then runs
#   differential.py  the same command sequences on both, replies compared byte for byte
#   hardening.py     protocol attacks and edge cases (bad lengths, HTTP, slow telnet, auth)
#   peers.py, node/*.mjs, redis-rs, redis-cli, redis-benchmark   real clients, defaults
# and lints its own files. Last line: "resp: N passed, M failed"; non-zero exit on failure.
#
# RESP_TARGET=redis runs everything against a second redis-server instead of Blink, to
# prove the harness. RESP_ONLY=wire runs only the differential and hardening checks,
# RESP_ONLY=peers only the clients and the lints; RESP_FILTER=TEXT keeps only the
# differential and hardening cases whose name contains TEXT.
# BLINK_STORE_BIN picks the server binary (examples/clients/conformance/kit.sh).

# Functions below run through kit_check or trap (SC2317); bash -c scripts take $0/$1 (SC2016).
# shellcheck disable=SC2317,SC2016
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here" || exit 1
# shellcheck source=../../examples/clients/conformance/kit.sh
. "$here/../../examples/clients/conformance/kit.sh"
kit_begin resp

# One run at a time on a machine: runs share node/node_modules (npm ci empties it) and
# would compete for the CPU. Waits at most 15 minutes for another run to end.
exec {lock_fd}>"$here/.suite.lock"
flock -w 900 "$lock_fd" || {
	echo "resp: another run of tests/resp/test.sh held the lock for 15 minutes" >&2
	echo "resp: 0 passed, 1 failed"
	exit 1
}

target="${RESP_TARGET:-blink}"
only="${RESP_ONLY:-all}"
#: Seconds a server may take to accept connections.
ready_timeout_s=10
cache="${XDG_CACHE_HOME:-$HOME/.cache}/blink-resp"

fail_setup() {
	echo "resp: setup failed: $1" >&2
	failed=$((failed + 1))
	kit_finish
}

case "$target" in
blink | redis) ;;
*) fail_setup "RESP_TARGET must be blink or redis, not $target" ;;
esac

# --- tools -------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null ||
	! command -v redis-benchmark >/dev/null; then
	kit_install redis-server redis-tools || fail_setup "cannot install redis-server redis-tools"
fi
if [ "$target" = blink ]; then
	kit_server_bin || fail_setup "no blink-store binary"
fi
echo "== reference: $(redis-server --version)"
echo "== target: $target ${BLINK_STORE_BIN:-}"

python="$cache/venv/bin/python"
if [ ! -x "$python" ] || ! "$python" -c 'import redis' 2>/dev/null; then
	python3 -m venv "$cache/venv" || { kit_install python3-venv && python3 -m venv "$cache/venv"; } ||
		fail_setup "python3 -m venv failed"
fi
"$python" -m pip install --quiet --upgrade redis ruff || fail_setup "pip install redis ruff failed"

# --- servers -----------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/blink-resp.XXXXXX")"
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

token="resp-suite-token-$$"
printf '%s' "$token" >"$work/token"

# start_redis NAME [FLAG...]: a redis-server on a free port and a socket; sets NAME_tcp, NAME_unix.
start_redis() {
	local name=$1 dir="$work/$1" port pid attempt deadline
	shift
	mkdir -p "$dir"
	for attempt in 1 2 3; do
		port="$(free_port)"
		redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$dir/s.sock" \
			--unixsocketperm 700 --save '' --appendonly no --databases 1 --dir "$dir" \
			--logfile "$dir/redis.log" "$@" {lock_fd}>&- &
		pid=$!
		deadline=$((SECONDS + ready_timeout_s))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			if redis-cli -p "$port" ping 2>&1 | grep -qE '^(PONG|NOAUTH)'; then
				pids+=("$pid")
				printf -v "${name}_pid" '%s' "$pid"
				printf -v "${name}_tcp" 'tcp:127.0.0.1:%s' "$port"
				printf -v "${name}_unix" 'unix:%s' "$dir/s.sock"
				echo "== $name: redis-server on 127.0.0.1:$port (attempt $attempt)"
				return 0
			fi
			sleep 0.05
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "redis-server $name did not start; its log:" >&2
	cat "$dir/redis.log" >&2
	return 1
}

# start_blink NAME [FLAG...]: blink-store on 127.0.0.1:0 and a socket; the bound address is
# the "ready tcp ADDR, unix PATH" line it prints (as the Python client's tests read it).
start_blink() {
	local name=$1 dir="$work/$1" line
	shift
	mkdir -p "$dir"
	mkfifo "$dir/stdout"
	BLINK_LOG_LEVEL=warn "$BLINK_STORE_BIN" --tcp 127.0.0.1:0 --unix-socket "$dir/s.sock" "$@" \
		>"$dir/stdout" 2>"$dir/stderr" {lock_fd}>&- &
	pids+=("$!")
	printf -v "${name}_pid" '%s' "$!"
	exec {fd}<>"$dir/stdout"
	if ! read -r -t "$ready_timeout_s" -u "$fd" line ||
		[[ ! "$line" =~ ^ready\ tcp\ ([^,]+),\ unix\ (.+)$ ]]; then
		echo "blink-store $name did not print its ready line (got '${line:-}'); stderr:" >&2
		cat "$dir/stderr" >&2
		return 1
	fi
	printf -v "${name}_tcp" 'tcp:%s' "${BASH_REMATCH[1]}"
	printf -v "${name}_unix" 'unix:%s' "${BASH_REMATCH[2]}"
	echo "== $name: blink-store $line"
}

start_redis ref || fail_setup "reference redis-server"
start_redis ref_auth --requirepass "$token" || fail_setup "reference redis-server (password)"
if [ "$target" = blink ]; then
	start_blink tgt || fail_setup "blink-store"
	start_blink tgt_auth --auth-token-file "$work/token" || fail_setup "blink-store (token)"
	# differential.py's blink-cap section: a cap small enough to fill (the frame limit
	# may be at most half of it).
	start_blink tgt_small --memory-limit 1MiB --max-frame-bytes 262144 --max-value-bytes 131072 ||
		fail_setup "blink-store (1 MiB cap)"
	# hardening.py's timeout attacks: short frame, idle and output timeouts.
	start_blink tgt_timeouts --frame-timeout-ms 500 --idle-timeout-ms 1000 --output-timeout-ms 500 ||
		fail_setup "blink-store (short timeouts)"
	# shellcheck disable=SC2154 # set by start_blink through printf -v
	export RESP_TGT_SMALL_TCP="$tgt_small_tcp" RESP_TGT_TIMEOUTS_TCP="$tgt_timeouts_tcp"
else
	start_redis tgt || fail_setup "target redis-server"
	start_redis tgt_auth --requirepass "$token" || fail_setup "target redis-server (password)"
fi
# shellcheck disable=SC2154 # set by start_redis / start_blink through printf -v
export RESP_REF_TCP="$ref_tcp" RESP_REF_UNIX="$ref_unix" RESP_TGT_TCP="$tgt_tcp" \
	RESP_TGT_UNIX="$tgt_unix" RESP_REF_AUTH_TCP="$ref_auth_tcp" RESP_TGT_AUTH_TCP="$tgt_auth_tcp" \
	RESP_AUTH_TOKEN="$token" RESP_TARGET="$target" RESP_TGT_PID="$tgt_pid"

tgt_host_port="${RESP_TGT_TCP#tcp:}"
tgt_host="${tgt_host_port%:*}"
tgt_port="${tgt_host_port##*:}"
tgt_sock="${RESP_TGT_UNIX#unix:}"

# --- the Python suites: each adds its own counts (one per case) --------------------------
export RESP_COUNTS_FILE="$work/counts"
: >"$RESP_COUNTS_FILE"
run_counted() {
	local name=$1 status before_lines
	shift
	echo "== $name"
	before_lines="$(wc -l <"$RESP_COUNTS_FILE" 2>/dev/null || echo 0)"
	nice "$@"
	status=$?
	if [ "$(wc -l <"$RESP_COUNTS_FILE" 2>/dev/null || echo 0)" -le "$before_lines" ]; then
		echo "FAIL: $name printed no counts (exit $status)" >&2
		failed=$((failed + 1))
		return
	fi
	local _n p f
	read -r _n p f < <(tail -n 1 "$RESP_COUNTS_FILE")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited $status with no failed check" >&2
		failed=$((failed + 1))
	fi
}

# survived: the target's process still runs and answers PING.
survived() {
	local address=${RESP_TGT_TCP#tcp:}
	kill -0 "$RESP_TGT_PID" 2>/dev/null &&
		[ "$(timeout 10 redis-cli -h "${address%:*}" -p "${address##*:}" PING)" = PONG ]
}
if [ "$only" != peers ]; then
	run_counted differential "$python" differential.py
	run_counted hardening "$python" hardening.py
	kit_check "the target server survived the differential and hardening checks" survived
fi
if [ "$only" = wire ]; then
	kit_finish
fi
run_counted "redis-py" "$python" peers.py

# --- Node: ioredis and node-redis at their defaults --------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	kit_install nodejs npm || fail_setup "cannot install nodejs npm"
fi
echo "== node $(node --version): npm ci in node/"
if (cd node && nice npm ci --no-audit --no-fund --loglevel=error); then
	for transport in tcp unix; do
		kit_check "ioredis over $transport" nice node node/ioredis.mjs "$transport"
		kit_check "node-redis over $transport" nice node node/node-redis.mjs "$transport"
	done
else
	echo "FAIL: npm ci in node/" >&2
	failed=$((failed + 1))
fi

# --- Rust: the redis crate, sync API ---------------------------------------------------
echo "== redis-rs: cargo build (its own workspace and target/)"
redis_rs="$here/redis-rs/target/release/blink-resp-redis-rs"
if nice cargo build --release --locked --quiet --manifest-path redis-rs/Cargo.toml; then
	kit_check "redis-rs over tcp" "$redis_rs" "$RESP_TGT_TCP"
	kit_check "redis-rs over unix" "$redis_rs" "$RESP_TGT_UNIX"
else
	echo "FAIL: cargo build of redis-rs" >&2
	failed=$((failed + 1))
fi

# --- redis-cli and redis-benchmark ---------------------------------------------------------
cli() { timeout 60 redis-cli -h "$tgt_host" -p "$tgt_port" "$@"; }
expect_output() { # expect_output WANTED COMMAND...: COMMAND's whole stdout must be WANTED
	local want=$1 got
	shift
	got="$("$@" 2>&1)"
	[ "$got" = "$want" ] || {
		echo "    expected: $want" >&2
		echo "    actual:   $got" >&2
		return 1
	}
}
# mass_insert N: N SETs in RESP through redis-cli --pipe; its report must show no error.
mass_insert() {
	local report
	cli FLUSHALL >/dev/null
	report="$("$python" -c 'import sys
for n in range(int(sys.argv[1])):
    k, v = b"pipe:%d" % n, b"value-%d" % n
    sys.stdout.buffer.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))' "$1" |
		cli --pipe 2>&1)"
	echo "$report" | tail -n 1
	grep -q "errors: 0, replies: $1" <<<"$report" && [ "$(cli DBSIZE)" = "$1" ]
}
info_has_fields() {
	local body
	body="$(cli INFO)"
	grep -q '^redis_version:' <<<"$body" && grep -q '^loading:0' <<<"$body" &&
		grep -q '^connected_clients:' <<<"$body" && grep -q '^# Keyspace' <<<"$body"
}
repeat_incr() {
	cli DEL counter >/dev/null && cli -r 100 INCR counter >/dev/null && [ "$(cli GET counter)" = 100 ]
}
scan_count() { # after mass_insert 10000: pipe:1* matches 1 + 10 + 100 + 1000 keys
	[ "$(cli --scan --pattern 'pipe:1*' | sort -u | wc -l)" = 1111 ]
}
benchmark() {
	local out
	# -q redraws a progress line with CRs: one line per CR or LF.
	out="$(timeout 120 nice redis-benchmark -h "$tgt_host" -p "$tgt_port" -t get,set -n 20000 -P 16 "$@" 2>&1 |
		tr '\r' '\n')"
	echo "$out" | tail -n 3
	! grep -qiE 'error|ERR|WARN' <<<"$out" || return 1
	if [ "${1:-}" = --csv ]; then
		grep -qE '^"SET","[0-9.]+"' <<<"$out" && grep -qE '^"GET","[0-9.]+"' <<<"$out"
	else
		grep -qE '^SET: [0-9.]+ requests per second' <<<"$out" &&
			grep -qE '^GET: [0-9.]+ requests per second' <<<"$out"
	fi
}
# --bigkeys walks SCAN, TYPE and STRLEN; --memkeys MEMORY USAGE, which on Blink is the
# exact charge: (1+1+57) + (1+2+57) + (1+3+57) = 180 bytes for these three keys.
bigkeys() {
	local out
	cli FLUSHALL >/dev/null && cli MSET a 1 b 22 c 333 >/dev/null || return 1
	out="$(cli --bigkeys 2>&1)"
	grep -q "Biggest string found '\"c\"' has 3 bytes" <<<"$out" && grep -q '^3 strings with 6 bytes' <<<"$out"
}
memkeys() {
	local out want='^3 strings with [0-9]+ bytes'
	[ "$target" = blink ] && want='^3 strings with 180 bytes'
	cli FLUSHALL >/dev/null && cli MSET a 1 b 22 c 333 >/dev/null || return 1
	out="$(cli --memkeys 2>&1)"
	grep -qE "$want" <<<"$out" || {
		echo "    no line matching $want in:" >&2
		echo "$out" | tail -n 6 >&2
		return 1
	}
}
benchmark_more() {
	local out test
	out="$(timeout 120 nice redis-benchmark -h "$tgt_host" -p "$tgt_port" -t ping,incr,mset -n 10000 -P 16 --csv 2>&1)"
	echo "$out" | tail -n 4
	! grep -qiE 'error|ERR|WARN' <<<"$out" || return 1
	for test in PING_INLINE PING_MBULK INCR 'MSET (10 keys)'; do
		grep -qF "\"$test\"," <<<"$out" || return 1
	done
}
tgt_auth_host_port="${RESP_TGT_AUTH_TCP#tcp:}"

kit_check "redis-cli PING" expect_output PONG cli PING
kit_check "redis-cli SET / GET" expect_output $'OK\nhello world' bash -c \
	'redis-cli -h "$0" -p "$1" SET greeting "hello world" && redis-cli -h "$0" -p "$1" GET greeting' \
	"$tgt_host" "$tgt_port"
kit_check "redis-cli over the Unix socket" expect_output PONG timeout 60 redis-cli -s "$tgt_sock" PING
kit_check "redis-cli -3 (RESP3) PING" expect_output PONG cli -3 PING
kit_check "redis-cli -3 GET of a missing key" expect_output "" cli -3 GET missing-key
kit_check "redis-cli -3 HELLO 3 proto" bash -c 'redis-cli -h "$0" -p "$1" -3 HELLO 3 | grep -qx "proto 3"' \
	"$tgt_host" "$tgt_port"
kit_check "redis-cli INFO has Redis's fields" info_has_fields
kit_check "redis-cli -r 100 INCR" repeat_incr
kit_check "redis-cli --pipe mass insert of 10000 SETs" mass_insert 10000
kit_check "redis-cli --scan --pattern" scan_count
kit_check "redis-cli with a password (REDISCLI_AUTH)" expect_output PONG env REDISCLI_AUTH="$token" \
	timeout 60 redis-cli -h "${tgt_auth_host_port%:*}" -p "${tgt_auth_host_port##*:}" PING
kit_check "redis-benchmark -t get,set -n 20000 -P 16 -q" benchmark -q
kit_check "redis-benchmark --csv" benchmark --csv
kit_check "redis-benchmark -t ping,incr,mset --csv" benchmark_more
kit_check "redis-cli --bigkeys" bigkeys
kit_check "redis-cli --memkeys" memkeys

# --- the server under test lived through all of it --------------------------------------
kit_check "the target server survived the clients" survived

# --- lints of the suite's own files --------------------------------------------------------
kit_check "ruff format --check" "$python" -m ruff format --check .
kit_check "ruff check" "$python" -m ruff check .
if command -v shellcheck >/dev/null || kit_install shellcheck; then
	kit_check "shellcheck test.sh" shellcheck -x test.sh
else
	echo "FAIL: shellcheck unavailable" >&2
	failed=$((failed + 1))
fi
kit_check "prettier --check node/" bash -c 'cd node && npx prettier --check .'
kit_check "cargo fmt --check (redis-rs)" cargo fmt --manifest-path redis-rs/Cargo.toml -- --check
kit_check "cargo clippy (redis-rs)" nice cargo clippy --release --locked --quiet \
	--manifest-path redis-rs/Cargo.toml -- -D warnings

kit_finish
