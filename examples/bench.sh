#!/usr/bin/env bash
# Benchmark of the HTTP backend examples: each app with its cache and without it
# (CACHE_ENABLED=0), under wrk, GETs of random ids from a key set that fits the
# cache. Prints a markdown table: requests/s, p50, p99, and origin reads made
# during the measured run. Not a test: numbers depend on the machine's load.
#
#   examples/bench.sh [APP...]        # apps: py js go rust (default: all)
#
# Settings by environment: BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_KEYS (1000),
# BENCH_ORIGIN_DELAY_MS (20). wrk comes from Debian (apt-get install -y wrk).
set -uo pipefail

# shellcheck source=test.sh
source "$(dirname "${BASH_SOURCE[0]}")/test.sh"

SECONDS_RUN=${BENCH_SECONDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
KEYS=${BENCH_KEYS:-1000}
DELAY_MS=${BENCH_ORIGIN_DELAY_MS:-20}

# wrk script: GET /items/{random id in 1..KEYS}. Each wrk thread has its own Lua state: seeded
# alike, they would request the same ids in lockstep, and single-flight would merge them.
cat >"$WORK/keys.lua" <<LUA
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) math.randomseed(os.time() * 100 + id) end
request = function() return wrk.format("GET", "/items/" .. math.random(1, $KEYS)) end
LUA

# seed: PUTs every id, then GETs each once (which fills the cache), 50 at a time. The Go
# app's origin is in memory, so every app is seeded through HTTP.
seed() {
  local urls=() i
  for ((i = 1; i <= KEYS; i++)); do urls+=("$BASE/items/$i"); done
  curl -sf --no-progress-meter --parallel --parallel-max 50 -X PUT --data '{"payload":"0123456789abcdef0123456789abcdef"}' \
    "${urls[@]}" >/dev/null
  curl -sf --no-progress-meter --parallel --parallel-max 50 "${urls[@]}" >/dev/null
}

# run_wrk: measures; prints "rps p50 p99" from wrk's --latency output (in ms).
run_wrk() {
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" --latency -s "$WORK/keys.lua" "$BASE" >"$WORK/wrk.out" 2>&1
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ *50%/ { p50 = ms($2) } /^ *99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    END { printf "%d %.2f %.2f\n", rps, p50, p99 }' "$WORK/wrk.out"
}

bench_app() {
  local app=$1 cache=$2 port reads rps p50 p99
  port=$(free_port)
  BASE=http://127.0.0.1:$port
  rm -f "$WORK/bench.db"*
  start_app "$app" "$port" "$BLINK_PORT" "$WORK/bench.db" ORIGIN_DELAY_MS="$DELAY_MS" CACHE_ENABLED="$cache" \
    LOG_LEVEL=warn CACHE_TTL_MS=600000 || { log "$app did not start"; return 1; }
  seed
  # Warm-up (lets the JIT and the connection pools settle), then the measured run.
  wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/keys.lua" "$BASE" >/dev/null 2>&1
  reads=$(stat origin_reads)
  read -r rps p50 p99 < <(run_wrk)
  reads=$(($(stat origin_reads) - reads))
  kill -TERM "$APP_PID"
  wait "$APP_PID" 2>/dev/null
  printf '| %s | %s | %s | %s | %s | %s |\n' "$app" "$([[ $cache == 1 ]] && echo on || echo off)" \
    "$rps" "$p50" "$p99" "$reads"
}

bench_main() {
  local apps=("${@:-${ALL_APPS[@]}}") app
  command -v wrk >/dev/null || { log "wrk is needed: apt-get install -y wrk"; exit 1; }
  setup_blink || exit 1
  for app in "${apps[@]}"; do "setup_$app" || exit 1; done
  start_blink bench || exit 1
  echo "wrk -t2 -c$CONNECTIONS, ${SECONDS_RUN}s per row after a 2 s warm-up; GETs of $KEYS random ids;" \
    "origin delay ${DELAY_MS} ms; request logs off (LOG_LEVEL=warn); $(nproc) cores shared by wrk, the app and blink-store."
  echo
  echo "| app | cache | requests/s | p50 ms | p99 ms | origin reads |"
  echo "|---|---|---:|---:|---:|---:|"
  for app in "${apps[@]}"; do
    bench_app "$app" 1
    bench_app "$app" 0
  done
}

bench_main "$@"
