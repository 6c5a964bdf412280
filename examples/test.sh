#!/usr/bin/env bash
# End-to-end test of the HTTP backend examples, through HTTP only.
#
# For each app (py, js, go, rust; or those named as arguments) it starts its own
# blink-store and the app on free ports, then checks cache-aside (miss, then
# hit), single-flight (50 concurrent cold GETs, one origin read), invalidation
# on write, a stopped and then a killed cache (answers from the origin within a
# bound, errors counted, breaker open), recovery after a restart on the same
# address, and graceful shutdown. Then it runs the SQLite-backed apps together on
# one blink-store and one origin file, and checks that they see each other's
# writes. Conditions are awaited by polling with deadlines, never by fixed sleeps.
#
# It installs what it needs: a venv (examples/backend_py/.venv), npm ci, go build,
# cargo build. blink-store: $BLINK_STORE_BIN, else target/release/blink-store,
# built when missing. The last line is "examples: N passed, M failed".
set -uo pipefail

EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$EXAMPLES")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blink-examples.XXXXXX")
ALL_APPS=(py js go rust)

# The test's settings, chosen so every effect is visible and every wait short.
ORIGIN_DELAY_MS=150   # long enough for 50 concurrent GETs to meet in one flight
CACHE_TIMEOUT_MS=100
BREAKER_FAILURES=3
BREAKER_COOLDOWN_MS=300
# A request on a sick cache waits at most: cache GET + origin + cache SET, plus slack for this shared machine.
BOUND_MS=$((ORIGIN_DELAY_MS + 2 * CACHE_TIMEOUT_MS + 400))
DEADLINE_S=20         # for conditions awaited by polling

passed=0
failed=0
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

# shellcheck source=/dev/null
. "$EXAMPLES/clients/conformance/kit.sh" # kit_install
# shellcheck disable=SC2034 # read by kit_install
KIT_NAME=examples

# check NAME COMMAND...: runs COMMAND; counts and prints the outcome.
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    log "ok   $name"
  else
    failed=$((failed + 1))
    log "FAIL $name"
  fi
}

# await SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline.
await() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------
# Setup: blink-store and each app's dependencies

setup_blink() {
  BLINK=${BLINK_STORE_BIN:-$ROOT/target/release/blink-store}
  if [[ ! -x $BLINK ]]; then
    log "building blink-store"
    (cd "$ROOT" && cargo build --release --locked -p blink-store) >&2 || return 1
  fi
  printf 'examples-test-token\n' >"$WORK/token"
}

setup_py() {
  local dir=$EXAMPLES/backend_py
  [[ -x $dir/.venv/bin/python ]] || python3 -m venv "$dir/.venv" ||
    { kit_install python3-venv && python3 -m venv "$dir/.venv"; } || return 1
  # Relative requirement paths are relative to the working directory.
  (cd "$dir" && .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt) >&2
}

setup_js() {
  local dir=$EXAMPLES/backend_js
  command -v npm >/dev/null || kit_install nodejs npm || return 1
  # npm ci rebuilds better-sqlite3 from source (minutes): only when the lock file changed.
  [[ $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]] && return 0
  (cd "$dir" && npm ci --no-audit --no-fund) >&2
}

setup_go() {
  command -v go >/dev/null || kit_install golang-go || return 1
  (cd "$EXAMPLES/backend_go" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$WORK/backend-go" ../backend_app.go) >&2
}

setup_rust() {
  (cd "$ROOT" && cargo build --release --locked -p backend-http) >&2
}

lint_py() {
  (cd "$EXAMPLES" && backend_py/.venv/bin/ruff format --check --config backend_py/pyproject.toml backend_app.py backend_py &&
    backend_py/.venv/bin/ruff check --config backend_py/pyproject.toml backend_app.py backend_py) >&2
}
lint_js() { (cd "$EXAMPLES/backend_js" && npx --no-install prettier --check . ../backend_app.js) >&2; }
lint_go() {
  [[ -z $(gofmt -l "$EXAMPLES/backend_app.go") ]] &&
    (cd "$EXAMPLES/backend_go" && GOFLAGS=-mod=mod GOPROXY=off go vet ../backend_app.go) >&2
}
lint_rust() {
  (cd "$ROOT" && cargo fmt -p backend-http --check && cargo clippy --release --locked -p backend-http -- -D warnings) >&2
}

# The command that starts an app: what its README says, with this test's paths.
app_command() {
  case $1 in
    py) echo "$EXAMPLES/backend_py/.venv/bin/python $EXAMPLES/backend_app.py" ;;
    js) echo "node $EXAMPLES/backend_app.js" ;;
    go) echo "$WORK/backend-go" ;;
    rust) echo "$ROOT/target/release/backend-http" ;;
  esac
}

# ---------------------------------------------------------------------------
# Processes

# start_blink NAME [PORT]: starts blink-store on PORT (0: any), sets BLINK_PID and BLINK_PORT.
start_blink() {
  local out=$WORK/$1.blink.out
  : >"$out"
  "$BLINK" --tcp "127.0.0.1:${2:-0}" --auth-token-file "$WORK/token" >"$out" 2>"$WORK/$1.blink.err" &
  BLINK_PID=$!
  PIDS+=("$BLINK_PID")
  await 10 grep -q '^ready tcp' "$out" || return 1
  BLINK_PORT=$(sed -n 's/^ready tcp [^ ,]*:\([0-9]*\).*/\1/p' "$out")
}

# start_app APP PORT BLINK_PORT DB [VAR=VALUE...]: starts the app (the VARs override this
# test's settings); sets APP_PID; waits for /healthz.
start_app() {
  local app=$1 port=$2
  # shellcheck disable=SC2046 # the command is words on purpose
  env PORT="$port" BLINK_TCP="127.0.0.1:$3" BLINK_AUTH_TOKEN_FILE="$WORK/token" ORIGIN_PATH="$4" \
    ORIGIN_DELAY_MS=$ORIGIN_DELAY_MS CACHE_TIMEOUT_MS=$CACHE_TIMEOUT_MS BREAKER_FAILURES=$BREAKER_FAILURES \
    BREAKER_COOLDOWN_MS=$BREAKER_COOLDOWN_MS "${@:5}" $(app_command "$app") >>"$WORK/$app.log" 2>&1 &
  APP_PID=$!
  PIDS+=("$APP_PID")
  await "$DEADLINE_S" curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"
}

# ---------------------------------------------------------------------------
# HTTP helpers (BASE is the app under test)

stat() { curl -sf "$BASE/stats" | jq -r ".$1"; }
put() { curl -sf -X PUT -H 'content-type: application/json' --data "$2" "$BASE/items/$1" >/dev/null; }
value_of() { curl -sf "$BASE/items/$1" | jq -c .value; }
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# get_within_bound ID: GET answers 200 within BOUND_MS.
get_within_bound() {
  local out code ms
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$BASE/items/$1")
  read -r code ms <<<"$out"
  ms=$(awk -v s="$ms" 'BEGIN { printf "%d", s * 1000 }')
  [[ $code == 200 ]] && ((ms <= BOUND_MS)) || { log "     GET answered $code in $ms ms (bound $BOUND_MS)"; return 1; }
}

# gets_within_bound ID N: N sequential GETs, each 200 within the bound.
gets_within_bound() {
  local i
  for ((i = 0; i < $2; i++)); do get_within_bound "$1" || return 1; done
}

# concurrent_gets ID N: N GETs in flight at once; true if all answered 200.
concurrent_gets() {
  local urls=() i
  for ((i = 0; i < $2; i++)); do urls+=(-o /dev/null -w '%{http_code}\n' "$BASE/items/$1"); done
  [[ $(curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$2" "${urls[@]}" | grep -c '^200$') == "$2" ]]
}

eq() { [[ $1 == "$2" ]] || { log "     expected '$2', got '$1'"; return 1; }; }
ge() { (($1 >= $2)) || { log "     expected >= $2, got $1"; return 1; }; }
# hit_after_get ID HITS: a GET of ID raises hits above HITS (polled: the breaker must close first).
hit_after_get() { curl -sf -o /dev/null "$BASE/items/$1" && (($(stat hits) > $2)); }
breaker_is() { [[ $(stat breaker) == "$1" ]]; }
# A child that has exited is a zombie until waited for: kill -0 still reaches it.
exited() { [[ ! -e /proc/$1 ]] || [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
exits_zero() { await "$DEADLINE_S" exited "$1" && wait "$1"; }

# ---------------------------------------------------------------------------
# The checks

test_app() {
  local app=$1 port reads hits errors key=k$RANDOM cold=cold$RANDOM
  port=$(free_port)
  BASE=http://127.0.0.1:$port
  check "$app: blink-store starts" start_blink "$app" || return
  check "$app: app starts and /healthz answers" start_app "$app" "$port" "$BLINK_PORT" "$WORK/$app.db" || return

  check "$app: PUT stores an item" put "$key" '{"n":1}'
  reads=$(stat origin_reads) hits=$(stat hits)
  check "$app: first GET returns the item" eq "$(value_of "$key")" '{"n":1}'
  check "$app: first GET is a miss" eq "$(stat misses)" 1
  check "$app: first GET is an origin read" eq "$(stat origin_reads)" $((reads + 1))
  check "$app: second GET returns the item" eq "$(value_of "$key")" '{"n":1}'
  check "$app: second GET is a hit" eq "$(stat hits)" $((hits + 1))
  check "$app: second GET makes no origin read" eq "$(stat origin_reads)" $((reads + 1))

  put "$cold" '"cold"'
  reads=$(stat origin_reads)
  check "$app: 50 concurrent GETs of a cold key answer 200" concurrent_gets "$cold" 50
  check "$app: ... and make exactly one origin read" eq "$(stat origin_reads)" $((reads + 1))

  check "$app: PUT of a new value" put "$key" '{"n":2}'
  check "$app: GET after PUT returns the new value" eq "$(value_of "$key")" '{"n":2}'
  check "$app: DELETE answers 204" eq "$(status_of -X DELETE "$BASE/items/$key")" 204
  check "$app: GET after DELETE answers 404" eq "$(status_of "$BASE/items/$key")" 404
  check "$app: a bad id answers 400" eq "$(status_of "$BASE/items/a%20b")" 400

  # A stopped cache (SIGSTOP: connections open, no replies): timeouts, then the breaker.
  errors=$(stat cache_errors)
  kill -STOP "$BLINK_PID"
  check "$app: cache stopped: GETs answer 200 within ${BOUND_MS} ms" gets_within_bound "$cold" $((BREAKER_FAILURES + 2))
  check "$app: cache stopped: errors counted" ge "$(stat cache_errors)" $((errors + 1))
  check "$app: cache stopped: breaker open" breaker_is open
  kill -CONT "$BLINK_PID"
  hits=$(stat hits)
  check "$app: cache resumed: hits resume" await "$DEADLINE_S" hit_after_get "$cold" "$hits"

  # A killed cache: refused connections, the breaker opens; then a restart on the same address.
  errors=$(stat cache_errors)
  kill -KILL "$BLINK_PID"
  wait "$BLINK_PID" 2>/dev/null
  check "$app: cache killed: GETs answer 200 within ${BOUND_MS} ms" gets_within_bound "$cold" $((BREAKER_FAILURES + 2))
  check "$app: cache killed: errors counted" ge "$(stat cache_errors)" $((errors + 1))
  check "$app: cache killed: breaker open" breaker_is open
  check "$app: cache killed: /healthz still answers 200" eq "$(status_of "$BASE/healthz")" 200
  check "$app: blink-store restarts on the same address" start_blink "$app" "$BLINK_PORT"
  hits=$(stat hits)
  check "$app: cache restarted: hits resume without an app restart" await "$DEADLINE_S" hit_after_get "$cold" "$hits"
  check "$app: cache restarted: breaker closed" breaker_is closed

  kill -TERM "$APP_PID"
  check "$app: SIGTERM: exits 0" exits_zero "$APP_PID"
  kill "$BLINK_PID" 2>/dev/null
}

# The SQLite-backed apps on one blink-store and one origin file.
test_shared() {
  local apps=() app key=shared$RANDOM writer reader
  for app in "${APPS[@]}"; do [[ $app != go ]] && apps+=("$app"); done
  ((${#apps[@]} >= 2)) || return 0
  check "shared: blink-store starts" start_blink shared || return
  declare -A base
  for app in "${apps[@]}"; do
    local port
    port=$(free_port)
    base[$app]=http://127.0.0.1:$port
    check "shared: $app starts" start_app "$app" "$port" "$BLINK_PORT" "$WORK/shared.db" || return
  done
  local n=0
  for writer in "${apps[@]}"; do
    n=$((n + 1))
    BASE=${base[$writer]} put "$key" "{\"by\":\"$writer\",\"n\":$n}"
    for reader in "${apps[@]}"; do
      [[ $reader == "$writer" ]] && continue
      # Each reader has the previous writer's value cached (it read it last round): the
      # write must have invalidated the shared entry for the reader to see the new one.
      check "shared: a write through $writer is seen by $reader" \
        eq "$(BASE=${base[$reader]} value_of "$key")" "{\"by\":\"$writer\",\"n\":$n}"
    done
  done
  BASE=${base[${apps[0]}]} put "$key" '"last"'
  BASE=${base[${apps[1]}]} value_of "$key" >/dev/null # a miss: it fills the shared entry
  BASE=${base[${apps[0]}]}
  local hits
  hits=$(stat hits)
  check "shared: ${apps[0]} reads the entry ${apps[1]} cached" eq "$(value_of "$key")" '"last"'
  check "shared: ... as a hit" eq "$(stat hits)" $((hits + 1))
}

main() {
  APPS=("${@:-${ALL_APPS[@]}}")
  command -v jq >/dev/null || kit_install jq || { log "jq is needed (apt-get install -y jq)"; exit 1; }
  check "setup: blink-store" setup_blink || { echo "examples: $passed passed, $failed failed"; exit 1; }
  local app ready=()
  for app in "${APPS[@]}"; do
    if check "setup: $app" "setup_$app"; then
      check "lint: $app" "lint_$app"
      ready+=("$app")
    fi
  done
  APPS=("${ready[@]}")
  for app in "${APPS[@]}"; do test_app "$app"; done
  test_shared
  echo "examples: $passed passed, $failed failed"
  ((failed == 0))
}

# bench.sh sources this file for its setup and process helpers.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
