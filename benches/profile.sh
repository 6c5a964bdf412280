#!/usr/bin/env bash
# Deterministic per-request costs of blink-store and the floor server
# (benches/floor), under the same blink-bench load as benches/compare.sh's
# instruction counts: 50 connections, get90/set10, 100-byte values, 100k
# keys prefilled, REQUESTS requests per pipeline depth.
#
# For each server and pipeline depth it prints, per request:
#   - user-space instructions (valgrind --tool=callgrind),
#   - simulated D1 and LL misses (callgrind --cache-sim=yes; the caches are
#     this machine's per core: D1 and I1 32 KiB 8-way, LL = the 512 KiB
#     8-way L2, so an LL miss is a trip to the shared L3 or DRAM; --ll-l3
#     simulates the 32 MiB L3 as LL instead),
#   - system calls (strace -c -f on the server running natively), in total
#     and for the four the loop makes (recvfrom, sendto, epoll_wait,
#     epoll_ctl),
#   - with --functions N, blink-store's N costliest functions per request
#     at each depth (self cost, from the same callgrind dumps;
#     benches/callgrind_self.py),
#   - with --perf, the kernel's share of the server's CPU samples (perf
#     record -e cpu-clock on the native server under 6 s of load; a
#     software clock, so it works where hardware counters do not).
# Instruction and miss counts repeat to within about 1% run to run; valgrind
# ignores software prefetches, so the miss counts are lines touched, not
# latency hidden. Kernel work is in none of them except the syscall count.
#
# Usage: benches/profile.sh [--skip-build] [--servers "blink floor"]
#          [--pipelines "1 16"] [--requests N] [--ll-l3] [--no-strace]
#          [--functions N] [--perf] [--blink-args "..."] [--protocol resp]
#   --blink-args  extra flags for blink-store (e.g. "--requests-per-turn 64")
#   --protocol    the load's protocol: blink (default) or resp (both
#                 servers answer RESP on the same port)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=1 SERVERS="blink floor" PIPELINES="1 16" REQUESTS=50000 STRACE=1 PERF=0 FUNCTIONS=0 BLINK_ARGS="" PROTOCOL=blink
LL="524288,8,64"
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) BUILD=0 ;;
        --servers) SERVERS=$2; shift ;;
        --pipelines) PIPELINES=$2; shift ;;
        --requests) REQUESTS=$2; shift ;;
        --ll-l3) LL="33554432,16,64" ;;
        --no-strace) STRACE=0 ;;
        --perf) PERF=1 ;;
        --functions) FUNCTIONS=$2; shift ;;
        --blink-args) BLINK_ARGS=$2; shift ;;
        --protocol) PROTOCOL=$2; shift ;;
        -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

CONNECTIONS=50
KEYS=100000
VALUE_BYTES=100
PORT=26475
STEP_TIMEOUT_S=600
SERVER_START_TIMEOUT_S=60
CACHES=(--I1=32768,8,64 --D1=32768,8,64 "--LL=$LL")
BENCH="$ROOT/target/release/blink-bench"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blink-profile.XXXXXX")
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start SERVER WRAPPER...: the server pinned to CPU 0 under WRAPPER (may be
# empty), once it accepts connections.
start() {
    local server=$1
    shift
    case "$server" in
        # shellcheck disable=SC2086
        blink) taskset -c 0 "$@" "$ROOT/target/release/blink-store" --tcp "127.0.0.1:$PORT" \
                   --memory-limit 1024MiB --log-dir "$WORK/logs" $BLINK_ARGS >"$WORK/server.out" 2>&1 & ;;
        floor) taskset -c 0 "$@" "$ROOT/target/release/blink-floor" --tcp "127.0.0.1:$PORT" \
                   --value-size "$VALUE_BYTES" >"$WORK/server.out" 2>&1 & ;;
        *) echo "unknown server: $server" >&2; exit 2 ;;
    esac
    SERVER_PID=$!
    local waited=0
    until port_open "$PORT"; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$waited" -ge $((SERVER_START_TIMEOUT_S * 10)) ]; then
            echo "$server did not start:" >&2
            cat "$WORK/server.out" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

stop() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# bench ARGS...: blink-bench pinned to CPU 1; prints its JSON.
bench() {
    timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$PROTOCOL" --tcp "127.0.0.1:$PORT" \
        --connections "$CONNECTIONS" --keys "$KEYS" --value-size "$VALUE_BYTES" --ratio 1:9 --duration-s "$STEP_TIMEOUT_S" --json --quiet "$@"
}

prefill() {
    timeout "$STEP_TIMEOUT_S" taskset -c 1 "$BENCH" --protocol "$PROTOCOL" --tcp "127.0.0.1:$PORT" \
        --connections "$CONNECTIONS" --keys "$KEYS" --value-size "$VALUE_BYTES" --prefill --duration-s 0 --quiet >/dev/null 2>&1
}

completed() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$1"; }

# Callgrind with the cache simulation: one dump per pipeline depth.
callgrind_runs() {
    local server=$1 pipeline json dump
    log "$server: callgrind --cache-sim=yes, $REQUESTS requests per pipeline depth"
    start "$server" valgrind --tool=callgrind --cache-sim=yes "${CACHES[@]}" \
        "--callgrind-out-file=$WORK/callgrind.$server" "--log-file=$WORK/valgrind.log"
    prefill
    callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
    for pipeline in $PIPELINES; do
        json=$(bench --pipeline "$pipeline" --requests "$REQUESTS")
        callgrind_control -d "p$pipeline" "$SERVER_PID" >/dev/null 2>&1
        callgrind_control -z "$SERVER_PID" >/dev/null 2>&1
        # shellcheck disable=SC2012
        dump=$(ls -t "$WORK/callgrind.$server".* | head -1)
        cp "$dump" "$WORK/dump.$server.$pipeline"
        awk -v server="$server" -v pipeline="$pipeline" -v n="$(completed "$json")" '
            /^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
            /^summary:/ {
                split($0, v, " ")
                ir = v[col["Ir"] + 1]
                d1 = v[col["D1mr"] + 1] + v[col["D1mw"] + 1]
                ll = v[col["ILmr"] + 1] + v[col["DLmr"] + 1] + v[col["DLmw"] + 1]
                printf "callgrind %s %s %d %.0f %.2f %.2f %.2f\n", server, pipeline, n, ir / n, d1 / n, ll / n, v[col["DLmr"] + 1] / n
            }' "$dump" >> "$WORK/results"
    done
    stop
}

# strace -c on the native server: one attach per pipeline depth.
strace_runs() {
    local server=$1 pipeline json tracer
    log "$server: strace -c -f, $REQUESTS requests per pipeline depth"
    start "$server"
    prefill
    for pipeline in $PIPELINES; do
        strace -c -f -p "$SERVER_PID" -o "$WORK/strace.$server.$pipeline" 2>/dev/null &
        tracer=$!
        until [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$SERVER_PID/status")" != 0 ]; do
            kill -0 "$tracer" 2>/dev/null || { echo "strace could not attach" >&2; exit 1; }
            sleep 0.05
        done
        json=$(bench --pipeline "$pipeline" --requests "$REQUESTS")
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        awk -v server="$server" -v pipeline="$pipeline" -v n="$(completed "$json")" '
            $NF == "total" { total = $4 }
            $NF ~ /^(recvfrom|sendto|epoll_wait|epoll_ctl)$/ { calls[$NF] = $4 }
            END {
                printf "strace %s %s %d %.2f %.2f %.2f %.3f %.3f\n", server, pipeline, n, total / n,
                    calls["recvfrom"] / n, calls["sendto"] / n, calls["epoll_wait"] / n, calls["epoll_ctl"] / n
            }' "$WORK/strace.$server.$pipeline" >> "$WORK/results"
    done
    stop
}

# perf record of the native server under load: the kernel's share of its samples.
perf_runs() {
    local server=$1 pipeline load
    log "$server: perf record -e cpu-clock, 4 s per pipeline depth"
    start "$server"
    prefill
    for pipeline in $PIPELINES; do
        taskset -c 1 "$BENCH" --protocol "$PROTOCOL" --tcp "127.0.0.1:$PORT" --connections "$CONNECTIONS" --keys "$KEYS" \
            --value-size "$VALUE_BYTES" --ratio 1:9 --pipeline "$pipeline" --duration-s 6 --quiet >/dev/null &
        load=$!
        perf record -q -e cpu-clock -F 2000 -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep 4 >/dev/null 2>&1
        wait "$load" || true
        perf report -i "$WORK/perf.data" --sort dso --stdio 2>/dev/null | awk -v server="$server" -v pipeline="$pipeline" '
            $2 == "[kernel.kallsyms]" { kernel = $1 + 0 }
            END { printf "perf %s %s %.1f\n", server, pipeline, kernel }' >> "$WORK/results"
    done
    stop
}

for tool in valgrind callgrind_control taskset python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
[ "$STRACE" = 0 ] || command -v strace >/dev/null || { echo "missing: strace (or pass --no-strace)" >&2; exit 1; }
[ "$PERF" = 0 ] || command -v perf >/dev/null || { echo "missing: perf (or leave out --perf)" >&2; exit 1; }
if port_open "$PORT"; then echo "port $PORT is already in use" >&2; exit 1; fi
if [ "$BUILD" = 1 ]; then
    log "building blink-store, blink-floor and blink-bench (release)"
    (cd "$ROOT" && nice cargo build --release --quiet -p blink-store -p blink-floor -p blink-bench)
fi
: > "$WORK/results"
for server in $SERVERS; do
    callgrind_runs "$server"
    [ "$STRACE" = 0 ] || strace_runs "$server"
    [ "$PERF" = 0 ] || perf_runs "$server"
done

echo "# benches/profile.sh $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo +dirty): $REQUESTS get90/set10 requests over $PROTOCOL, $CONNECTIONS conns, LL $LL${BLINK_ARGS:+, blink-store $BLINK_ARGS}"
echo
echo "| server | pipeline | requests | instructions/req | D1 misses/req | LL misses/req | LL read misses/req |"
echo "|---|---:|---:|---:|---:|---:|---:|"
awk '$1 == "callgrind" { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }' "$WORK/results"
if [ "$STRACE" = 1 ]; then
    echo
    echo "| server | pipeline | requests | syscalls/req | recvfrom/req | sendto/req | epoll_wait/req | epoll_ctl/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    awk '$1 == "strace" { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9 }' "$WORK/results"
fi
if [ "$PERF" = 1 ]; then
    echo
    echo "| server | pipeline | kernel share of CPU samples | user space (server and libc) |"
    echo "|---|---:|---:|---:|"
    awk '$1 == "perf" { printf "| %s | %s | %.1f%% | %.1f%% |\n", $2, $3, $4, 100 - $4 }' "$WORK/results"
fi
if [ "$FUNCTIONS" -gt 0 ]; then
    for pipeline in $PIPELINES; do
        [ -f "$WORK/dump.blink.$pipeline" ] || continue
        echo
        echo "blink-store, pipeline $pipeline, self cost:"
        echo
        python3 "$ROOT/benches/callgrind_self.py" "$WORK/dump.blink.$pipeline" \
            "$(awk -v p="$pipeline" '$1 == "callgrind" && $2 == "blink" && $3 == p { print $4 }' "$WORK/results")" "$FUNCTIONS"
    done
fi
