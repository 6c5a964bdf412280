#!/usr/bin/env bash
# Side-by-side benchmark of Blink-Store, Redis and memcached on this machine,
# and of the floor server (benches/floor: the same loop shape and decoder,
# a canned reply, no store), against which Blink's CPU per request is
# reported as a multiple. Blink runs twice: "blink" spoken to in its own
# protocol, "blink-resp" (a second, identical server) in RESP, as Redis
# clients speak to it.
#
# Each server starts fresh, pinned to CPU 0 (memcached with -t 1); the load
# generator (blink-bench, and redis-benchmark for calibration) is pinned to
# CPU 1. Everything runs on loopback, every step is bounded in time, and
# every server started here is killed on exit.
#
# Workloads (100-byte values, 100k keys, 16-byte keys, 50 connections):
#   get90-set10 at pipeline 1 and 16, set-only at pipeline 1, and get90-set10
#   open loop at a fixed rate (latency at the same load); over TCP, and Blink
#   and the floor also over their Unix sockets.
# Memory: 1,000,000 items of 100-byte values: RSS and overhead per item.
# Memory cap: 64 MiB cap, 1 GiB of values of 100 B..100 KiB written: peak
#   RSS (VmHWM) / cap and the final accounted bytes.
# Calibration: redis-benchmark and blink-bench on the same GET workload
#   against Redis should agree within 15%.
# Third-party tool: redis-benchmark -t get,set at pipeline 1 and 16 against
#   Redis and Blink over RESP: ops/s, server CPU per request, errors.
#
# Output: docs/benchmarks.md and docs/benchmarks.png.
#
# Instructions: with valgrind installed, Redis, Blink and the floor also run under
#   callgrind for 50,000 requests at pipeline 1 and 16: user-space
#   instructions per request, a figure that noise on the machine cannot move.
#
# Usage: benches/compare.sh [--quick] [--install] [--skip-build]
#   --quick       3-second runs (whole script under 3 minutes)
#   --install     apt-get install the servers and valgrind if missing (root)
#   --skip-build  use the release binaries already in target/release
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="benches/compare.sh $*"
QUICK=0 INSTALL=0 BUILD=1
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --install) INSTALL=1 ;;
        --skip-build) BUILD=0 ;;
        -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# Run lengths, seconds. Quick mode keeps the whole script under 3 minutes.
# Each (server, workload) pair runs ROUNDS times; the report keeps the median.
if [ "$QUICK" = 1 ]; then DURATION_S=3 ROUNDS=1; else DURATION_S=5 ROUNDS=3; fi
CONNECTIONS=50
KEYS=100000
VALUE_BYTES=100
MEMORY_ITEMS=1000000
CAP_MIB=64
CAP_WRITE_BYTES=$((1 << 30))
CAP_VALUE_RANGE="100-102400"
# Mean of the uniform value-size range: requests needed to write 1 GiB.
CAP_REQUESTS=$(( CAP_WRITE_BYTES / ((100 + 102400) / 2) + 1 ))
# Memory limit for the throughput and per-item memory runs: large enough
# that nothing is evicted.
BIG_MIB=1024
# Open-loop rate for comparing latency at the same load: below what every
# server sustains at pipeline 1 on a shared 2-core machine.
OPEN_RATE_PER_S=20000
# Calibration: rounds per tool and pipeline depth, and seconds per round.
CALIBRATION_ROUNDS=3
if [ "$QUICK" = 1 ]; then CALIBRATION_S=2; else CALIBRATION_S=4; fi
STEP_TIMEOUT_S=120
# Requests per callgrind run (valgrind slows the server about 50-fold).
CALLGRIND_REQUESTS=50000
SERVER_START_TIMEOUT_S=10

REDIS_PORT=16379
MEMCACHED_PORT=11311
BLINK_PORT=26465
FLOOR_PORT=26466
BLINK_RESP_PORT=26467
# Requests per redis-benchmark test (GET and SET each).
if [ "$QUICK" = 1 ]; then REDIS_BENCHMARK_REQUESTS=50000; else REDIS_BENCHMARK_REQUESTS=400000; fi

OUT_DIR="$ROOT/docs"
TARGET_DIR="$ROOT/target"
BENCH="$TARGET_DIR/release/blink-bench"
BLINK="$TARGET_DIR/release/blink-store"
FLOOR="$TARGET_DIR/release/blink-floor"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blink-compare.XXXXXX")
RESULTS="$WORK/results.jsonl"
SOCKET="$WORK/blink.sock"
FLOOR_SOCKET="$WORK/floor.sock"
BLINK_RESP_SOCKET="$WORK/blink-resp.sock"
: > "$RESULTS"

# PID of each running server, by name.
declare -A PIDS=()
# Command the servers run under (callgrind for the instruction counts).
WRAP=()
cleanup() {
    local name
    for name in "${!PIDS[@]}"; do stop_server "$name"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- prerequisites
check_tools() {
    local missing=()
    for tool in redis-server redis-benchmark redis-cli memcached taskset python3 cargo; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ]; then
        log "installing redis-server redis-tools memcached"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools memcached util-linux python3 python3-venv valgrind >/dev/null
        return 0
    fi
    echo "missing: ${missing[*]}" >&2
    echo "install with: sudo apt-get install -y redis-server redis-tools memcached python3 python3-venv" >&2
    echo "(or rerun this script as root with --install)" >&2
    exit 1
}

# A python3 that can import matplotlib: the system one, or a venv under target/.
chart_python() {
    if python3 -c 'import matplotlib' 2>/dev/null; then
        echo python3
        return
    fi
    local venv="$TARGET_DIR/bench-venv"
    if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
        log "installing matplotlib into $venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q matplotlib >&2
    fi
    echo "$venv/bin/python"
}

# ---------------------------------------------------------------- servers
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME CAP_MIB: starts NAME pinned to CPU 0 and waits until it
# accepts connections; records its PID in PIDS. Returns 1 if it never comes up.
start_server() {
    local name=$1 cap_mib=$2 port
    case "$name" in
        redis)
            port=$REDIS_PORT
            taskset -c 0 "${WRAP[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
                --maxmemory "${cap_mib}mb" --maxmemory-policy allkeys-lru \
                --logfile "$WORK/redis.log" --dir "$WORK" &
            ;;
        memcached)
            port=$MEMCACHED_PORT
            local user=()
            [ "$(id -u)" = 0 ] && user=(-u root)
            taskset -c 0 memcached -l 127.0.0.1 -p "$port" -U 0 -t 1 -m "$cap_mib" -c 4096 "${user[@]}" \
                >"$WORK/memcached.log" 2>&1 &
            ;;
        blink)
            port=$BLINK_PORT
            rm -f "$SOCKET"
            taskset -c 0 "${WRAP[@]}" "$BLINK" --tcp "127.0.0.1:$port" --unix-socket "$SOCKET" \
                --memory-limit "${cap_mib}MiB" --log-dir "$WORK/blink-logs" \
                >"$WORK/blink.out" 2>&1 &
            ;;
        blink-resp)
            port=$BLINK_RESP_PORT
            rm -f "$BLINK_RESP_SOCKET"
            taskset -c 0 "${WRAP[@]}" "$BLINK" --tcp "127.0.0.1:$port" --unix-socket "$BLINK_RESP_SOCKET" \
                --memory-limit "${cap_mib}MiB" --log-dir "$WORK/blink-resp-logs" \
                >"$WORK/blink-resp.out" 2>&1 &
            ;;
        floor)
            port=$FLOOR_PORT
            rm -f "$FLOOR_SOCKET"
            taskset -c 0 "${WRAP[@]}" "$FLOOR" --tcp "127.0.0.1:$port" --unix-socket "$FLOOR_SOCKET" \
                --value-size "$VALUE_BYTES" >"$WORK/floor.out" 2>&1 &
            ;;
    esac
    PIDS[$name]=$!
    local waited=0
    until port_open "$port"; do
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null || [ "$waited" -ge $((SERVER_START_TIMEOUT_S * 10)) ]; then
            log "$name did not start on port $port"
            stop_server "$name"
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    if [ -n "$(server_socket "$name")" ]; then
        local socket
        socket=$(server_socket "$name")
        waited=0
        until [ -S "$socket" ] || [ "$waited" -ge 50 ]; do sleep 0.1; waited=$((waited + 1)); done
    fi
}

stop_server() {
    local pid=${PIDS[$1]:-}
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "PIDS[$1]"
    fi
}

# floor-resp is the floor process spoken to in RESP (it answers both).
server_protocol() { case "$1" in redis|blink-resp|floor-resp) echo resp ;; memcached) echo memcache ;; blink|floor) echo blink ;; esac; }
server_port() { case "$1" in redis) echo $REDIS_PORT ;; memcached) echo $MEMCACHED_PORT ;; blink) echo $BLINK_PORT ;; floor|floor-resp) echo $FLOOR_PORT ;; blink-resp) echo $BLINK_RESP_PORT ;; esac; }
server_socket() { case "$1" in blink) echo "$SOCKET" ;; floor|floor-resp) echo "$FLOOR_SOCKET" ;; blink-resp) echo "$BLINK_RESP_SOCKET" ;; esac; }

# target_args SERVER TRANSPORT
target_args() {
    if [ "$2" = uds ]; then echo "--unix-socket $(server_socket "$1")"; else echo "--tcp 127.0.0.1:$(server_port "$1")"; fi
}

# CPU time of a process so far (user + system, all threads), in µs.
proc_cpu_us() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d\n", ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"
}

proc_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# The server's own count of bytes held: used_bytes (Blink STATS),
# used_memory (Redis INFO), bytes (memcached stats).
accounted_bytes() {
    timeout 10 python3 - "$1" "$(server_port "$1")" <<'PY' || echo null
import socket, struct, sys
name, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
except OSError:
    print("null")
    sys.exit(0)
def read_until(marker):
    data = b""
    while marker not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
if name == "redis":
    s.sendall(b"INFO memory\r\n")
    text, key = read_until(b"\r\n\r\n").decode(), "used_memory"
elif name == "memcached":
    s.sendall(b"stats\r\n")
    text, key = read_until(b"END\r\n").decode(), "bytes"
else:
    s.sendall(b"\x00\x00\x00\x01\x20")
    head = b""
    while len(head) < 4:
        head += s.recv(4 - len(head))
    (length,) = struct.unpack(">I", head)
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    text, key = body[1:].decode(), "used_bytes"
for line in text.replace("\r", "").splitlines():
    parts = line.replace(":", " ").split()
    if parts and parts[0] == "STAT":
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] == key:
        print(parts[1])
        break
else:
    print("null")
PY
}

# bench SERVER TRANSPORT WORKLOAD ROUND ARGS...: one blink-bench run pinned
# to CPU 1, its JSON appended to the results.
bench() {
    local server=$1 transport=$2 workload=$3 round=$4
    shift 4
    local json
    # shellcheck disable=SC2046
    if ! json=$(timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$(server_protocol "$server")" \
            $(target_args "$server" "$transport") --connections "$CONNECTIONS" --keys "$KEYS" \
            --value-size "$VALUE_BYTES" --duration-s "$DURATION_S" --server-pid "${PIDS[$server]}" \
            --label "$server/$transport/$workload" --json --quiet "$@"); then
        log "  $server $transport $workload: blink-bench failed (${json:-no output})"
        [ -z "$json" ] && return 0
    fi
    printf '{"kind":"run","server":"%s","transport":"%s","workload":"%s","round":%s,"result":%s}\n' \
        "$server" "$transport" "$workload" "$round" "$json" >> "$RESULTS"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-28s %9.0f ops/s  cpu %s us/req  p50 %.0f p99 %.0f p99.9 %.0f us  errors %d/%d" % (r["label"], r["ops_per_s"], "%.2f" % r["server_cpu_us_per_request"] if r["server_cpu_us_per_request"] is not None else "-", r["latency_us"]["p50"], r["latency_us"]["p99"], r["latency_us"]["p99.9"], r["error_replies"], r["conn_errors"]))' "$json" >&2
}

# prefill SERVER KEYS: SETs every key once; a failure is logged, and the
# runs that follow report their misses.
prefill() {
    # shellcheck disable=SC2046
    if ! timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$(server_protocol "$1")" \
        $(target_args "$1" tcp) --connections "$CONNECTIONS" --keys "$2" --value-size "$VALUE_BYTES" \
        --prefill --prefill-timeout-s $((STEP_TIMEOUT_S - 10)) --duration-s 0 --quiet 2>&1 | sed 's/^/  /' >&2; then
        log "  $1: prefill of $2 keys failed"
    fi
}

# ---------------------------------------------------------------- phases
# The four throughput workloads: name, then blink-bench flags.
WORKLOADS=(
    "get90-set10-p1|--ratio 1:9 --pipeline 1"
    "get90-set10-p16|--ratio 1:9 --pipeline 16"
    "set-p1|--ratio 1:0 --pipeline 1"
    "get90-set10-open|--ratio 1:9 --pipeline 16 --rate $OPEN_RATE_PER_S"
)

# All servers run at once (idle ones cost nothing) and the runs rotate
# through them, ROUNDS times per workload: a burst of noise from other
# processes on this shared machine then lands on every server alike, and
# the report takes each one's median round.
throughput() {
    log "throughput: $ROUNDS round(s) of ${DURATION_S} s per server and workload"
    local server targets=() entry workload flags round target
    for server in redis memcached blink blink-resp floor; do
        start_server "$server" "$BIG_MIB" || continue
        prefill "$server" "$KEYS"
        targets+=("$server/tcp")
        if [ -n "$(server_socket "$server")" ]; then targets+=("$server/uds"); fi
    done
    if [ -n "${PIDS[floor]:-}" ]; then
        PIDS[floor-resp]=${PIDS[floor]}
        targets+=("floor-resp/tcp" "floor-resp/uds")
    fi
    for entry in "${WORKLOADS[@]}"; do
        workload=${entry%%|*} flags=${entry#*|}
        for round in $(seq "$ROUNDS"); do
            for target in "${targets[@]}"; do
                # shellcheck disable=SC2086
                bench "${target%/*}" "${target#*/}" "$workload" "$round" $flags
            done
        done
    done
    unset "PIDS[floor-resp]"
    for server in redis memcached blink blink-resp floor; do stop_server "$server"; done
}

# The same third-party tool against Redis and Blink over RESP:
# redis-benchmark's GET and SET tests (random keys over the prefilled key
# space, 100-byte values), server CPU per request from /proc, and the
# errors redis-benchmark counts.
third_party() {
    log "redis-benchmark: GET and SET, $REDIS_BENCHMARK_REQUESTS requests each, pipeline 1 and 16"
    local server pipeline cpu_before cpu_after csv
    for server in redis blink-resp; do
        start_server "$server" "$BIG_MIB" || continue
        prefill "$server" "$KEYS"
        for pipeline in 1 16; do
            cpu_before=$(proc_cpu_us "${PIDS[$server]}")
            if ! csv=$(timeout "$STEP_TIMEOUT_S" taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$(server_port "$server")" \
                    -c "$CONNECTIONS" -n "$REDIS_BENCHMARK_REQUESTS" -P "$pipeline" -t get,set \
                    -r "$KEYS" -d "$VALUE_BYTES" --csv 2>&1); then
                log "  $server pipeline $pipeline: redis-benchmark failed"
                continue
            fi
            cpu_after=$(proc_cpu_us "${PIDS[$server]}")
            python3 - "$server" "$pipeline" "$((cpu_after - cpu_before))" "$((2 * REDIS_BENCHMARK_REQUESTS))" "$csv" >> "$RESULTS" <<'PY'
import csv, io, json, sys
server, pipeline, cpu_us, requests, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = [r for r in csv.reader(io.StringIO(text)) if r and r[0] in ("GET", "SET")]
header = next(r for r in csv.reader(io.StringIO(text)) if r and r[0] == "test")
tests = {r[0]: dict(zip(header, r)) for r in rows}
print(json.dumps({"kind": "redis-benchmark", "server": server, "pipeline": pipeline,
    "server_cpu_us_per_request": cpu_us / requests, "requests": requests,
    "errors": text.count("ERR"),
    "tests": {name: {"rps": float(t["rps"]), "p50_ms": float(t.get("p50_latency_ms", "nan")),
                     "p99_ms": float(t.get("p99_latency_ms", "nan"))} for name, t in tests.items()}}))
PY
            log "  $server pipeline $pipeline: $(echo "$csv" | grep -E '^"(GET|SET)"' | cut -d, -f1,2 | tr '\n' ' ')"
        done
        stop_server "$server"
    done
}

# timed CMD...: runs CMD with its stdout in $WORK/timed.out and sets
# CPU_SHARE to the share of one core it used ((user + system) / wall time).
timed() {
    local user sys wall
    read -r user sys wall < <({ TIMEFORMAT='%U %S %R'; time "$@" >"$WORK/timed.out" 2>/dev/null; } 2>&1)
    CPU_SHARE=$(python3 -c "print(round(($user + $sys) / max($wall, 1e-3), 3))")
}

# Calibration: blink-bench and redis-benchmark alternate on the same GET
# workload against one Redis, CALIBRATION_ROUNDS times each; the medians are
# compared, so a burst of noise from other processes hits both tools alike.
# redis-benchmark takes a request count, not a duration: it gets the count
# blink-bench just completed, so both runs last about as long. Each tool's
# own CPU use is recorded: a tool at 100% of its core measures itself, not
# the server.
calibration() {
    log "calibration: redis-benchmark vs blink-bench, GET only, against Redis"
    start_server redis "$BIG_MIB" || return 0
    prefill redis "$KEYS"
    local pipeline round ours requests rb ours_all rb_all ours_cpu rb_cpu rb_server cpu_before
    for pipeline in 1 16; do
        ours_all="" rb_all="" ours_cpu="" rb_cpu="" ours_server="" rb_server=""
        for round in $(seq "$CALIBRATION_ROUNDS"); do
            timed timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol resp --tcp "127.0.0.1:$REDIS_PORT" \
                --connections "$CONNECTIONS" --keys "$KEYS" --pipeline "$pipeline" --ratio 0:1 \
                --duration-s "$CALIBRATION_S" --json --quiet --label "calibration-p$pipeline" \
                --server-pid "${PIDS[redis]}"
            ours=$(cat "$WORK/timed.out")
            if [ -z "$ours" ]; then
                log "  pipeline $pipeline round $round: blink-bench failed"
                continue
            fi
            ours_all+="${ours_all:+,}$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ops_per_s"])' "$ours")"
            ours_cpu+="${ours_cpu:+,}$CPU_SHARE"
            ours_server+="${ours_server:+,}$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["server_cpu_us_per_request"])' "$ours")"
            requests=$(python3 -c 'import json,sys; print(max(1000, json.loads(sys.argv[1])["requests"]))' "$ours")
            cpu_before=$(proc_cpu_us "${PIDS[redis]}")
            timed timeout "$STEP_TIMEOUT_S" taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" \
                -c "$CONNECTIONS" -n "$requests" -P "$pipeline" -d "$VALUE_BYTES" -r "$KEYS" -t get --csv
            rb=$(awk -F'"' '$2 == "GET" { print $4 }' "$WORK/timed.out")
            rb_all+="${rb_all:+,}${rb:-null}"
            rb_cpu+="${rb_cpu:+,}$CPU_SHARE"
            rb_server+="${rb_server:+,}$(( ($(proc_cpu_us "${PIDS[redis]}") - cpu_before) * 100 / requests ))e-2"
        done
        printf '{"kind":"calibration","pipeline":%s,"redis_benchmark_ops_per_s":[%s],"blink_bench_ops_per_s":[%s],"redis_benchmark_cpu_share":[%s],"blink_bench_cpu_share":[%s],"redis_cpu_us_per_request_under_redis_benchmark":[%s],"redis_cpu_us_per_request_under_blink_bench":[%s]}\n' \
            "$pipeline" "$rb_all" "$ours_all" "$rb_cpu" "$ours_cpu" "$rb_server" "$ours_server" >> "$RESULTS"
        log "  pipeline $pipeline: redis-benchmark [$rb_all] ops/s (client CPU [$rb_cpu]), blink-bench [$ours_all] ops/s (client CPU [$ours_cpu])"
    done
    stop_server redis
}

memory_per_item() {
    local server=$1 before after
    log "$server: memory of $MEMORY_ITEMS items of $VALUE_BYTES B"
    start_server "$server" "$BIG_MIB" || return 0
    before=$(proc_kib "${PIDS[$server]}" VmRSS)
    prefill "$server" "$MEMORY_ITEMS"
    after=$(proc_kib "${PIDS[$server]}" VmRSS)
    printf '{"kind":"memory","server":"%s","items":%s,"key_bytes":16,"value_bytes":%s,"rss_before_kib":%s,"rss_after_kib":%s,"accounted_bytes":%s}\n' \
        "$server" "$MEMORY_ITEMS" "$VALUE_BYTES" "$before" "$after" "$(accounted_bytes "$server")" >> "$RESULTS"
    log "  RSS ${before} KiB -> ${after} KiB: $(( (after - before) * 1024 / MEMORY_ITEMS )) B/item"
    stop_server "$server"
}

memory_cap() {
    local server=$1 json hwm
    log "$server: ${CAP_MIB} MiB cap, 1 GiB of values of $CAP_VALUE_RANGE B"
    start_server "$server" "$CAP_MIB" || return 0
    json=$(timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$(server_protocol "$server")" \
        $(target_args "$server" tcp) --connections 8 --keys "$MEMORY_ITEMS" --distribution sequential \
        --ratio 1:0 --value-size "$CAP_VALUE_RANGE" --requests "$CAP_REQUESTS" \
        --duration-s "$STEP_TIMEOUT_S" --json --quiet --label "$server/cap" || true)
    hwm=$(proc_kib "${PIDS[$server]}" VmHWM)
    printf '{"kind":"cap","server":"%s","cap_mib":%s,"peak_rss_kib":%s,"accounted_bytes":%s,"result":%s}\n' \
        "$server" "$CAP_MIB" "$hwm" "$(accounted_bytes "$server")" "${json:-null}" >> "$RESULTS"
    log "  peak RSS ${hwm} KiB = $(python3 -c "print('%.2f' % ($hwm / 1024 / $CAP_MIB))") x cap"
    stop_server "$server"
}

# Instructions per request: Redis, Blink and the floor under callgrind, counters zeroed
# after the prefill and dumped after each run. (memcached is left out: it
# refuses to start under valgrind, whose descriptors lower its fd limit.)
instruction_counts() {
    if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
        log "instructions: valgrind not installed (apt-get install valgrind); skipped"
        return 0
    fi
    log "instructions: Redis, Blink, Blink over RESP and the floor under callgrind, $CALLGRIND_REQUESTS requests per run"
    local server pid pipeline json dump
    for server in redis blink blink-resp floor; do
        WRAP=(valgrind --tool=callgrind "--callgrind-out-file=$WORK/callgrind.$server" "--log-file=$WORK/valgrind.$server.log")
        SERVER_START_TIMEOUT_S=60 start_server "$server" "$BIG_MIB" || { WRAP=(); continue; }
        WRAP=()
        pid=${PIDS[$server]}
        prefill "$server" "$KEYS"
        callgrind_control -z "$pid" >/dev/null 2>&1
        for pipeline in 1 16; do
            json=$(timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$(server_protocol "$server")" \
                $(target_args "$server" tcp) --connections "$CONNECTIONS" --keys "$KEYS" \
                --value-size "$VALUE_BYTES" --ratio 1:9 --pipeline "$pipeline" --requests "$CALLGRIND_REQUESTS" \
                --duration-s "$STEP_TIMEOUT_S" --json --quiet || true)
            callgrind_control -d "p$pipeline" "$pid" >/dev/null 2>&1
            callgrind_control -z "$pid" >/dev/null 2>&1
            # shellcheck disable=SC2012
            dump=$(ls -t "$WORK/callgrind.$server".* | head -1)
            printf '{"kind":"instructions","server":"%s","pipeline":%s,"instructions":%s,"result":%s}\n' \
                "$server" "$pipeline" "$(awk '/^summary:/ { print $2 }' "$dump")" "${json:-null}" >> "$RESULTS"
            log "  $server pipeline $pipeline: $(awk -v n="$CALLGRIND_REQUESTS" '/^summary:/ { printf "%.0f", $2 / n }' "$dump") instructions/request"
        done
        stop_server "$server"
    done
}

machine_json() {
    python3 - "$COMMAND" "$QUICK" "$DURATION_S" "$ROUNDS" <<'PY'
import json, os, platform, subprocess, sys
def out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "unknown"
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
print(json.dumps({"kind": "machine", "cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
    "redis": out(["redis-server", "--version"]), "memcached": out(["memcached", "--version"]),
    "rustc": out(["rustc", "--version"]), "command": sys.argv[1], "quick": sys.argv[2] == "1",
    "duration_s": int(sys.argv[3]), "rounds": int(sys.argv[4]),
    "load_average": open("/proc/loadavg").read().split()[:3]}))
PY
}

# ---------------------------------------------------------------- main
check_tools
for port in $REDIS_PORT $MEMCACHED_PORT $BLINK_PORT $FLOOR_PORT $BLINK_RESP_PORT; do
    if port_open "$port"; then echo "port $port is already in use; stop whatever listens there" >&2; exit 1; fi
done
if [ "$BUILD" = 1 ]; then
    log "building blink-store, blink-floor and blink-bench (release)"
    (cd "$ROOT" && cargo build --release --quiet -p blink-store -p blink-floor -p blink-bench)
fi
PYTHON=$(chart_python)
machine_json >> "$RESULTS"

throughput
calibration
third_party
for server in redis memcached blink; do memory_per_item "$server"; done
for server in redis memcached blink; do memory_cap "$server"; done
instruction_counts

mkdir -p "$OUT_DIR"
cp "$RESULTS" "$OUT_DIR/benchmarks.jsonl"
"$PYTHON" "$ROOT/benches/compare_report.py" "$RESULTS" "$OUT_DIR/benchmarks.md" "$OUT_DIR/benchmarks.png"
log "wrote $OUT_DIR/benchmarks.md, benchmarks.png and benchmarks.jsonl"
