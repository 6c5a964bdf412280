#!/usr/bin/env bats
# The scripts in examples/, run against a real blink-store, and the README's code, which
# must be the tested scripts' code. The blink-cli examples run when a blink-cli binary is
# found ($BLINK_CLI_BIN, target/release/blink-cli, target/debug/blink-cli); without one
# they are skipped, unless BLINK_REQUIRE_CLI=1 makes that a failure.

# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr
# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

EXAMPLES=$SHELL_CLIENT_DIR/examples

setup_file() {
  start_server MAIN
  export MAIN_PID MAIN_TCP MAIN_UNIX
}

teardown_file() {
  stop_server MAIN
}

setup() {
  export BLINK_TCP=$MAIN_TCP
  export COUNTER=$BATS_TEST_TMPDIR/runs
  : >"$COUNTER"
}

teardown() {
  stop_server AUX
}

# require_cli: exports BLINK_CLI_BIN for the cli-*.sh examples, or skips the test.
require_cli() {
  local candidate
  for candidate in "${BLINK_CLI_BIN-}" "$REPO_ROOT/target/release/blink-cli" "$REPO_ROOT/target/debug/blink-cli"; do
    if [[ -n $candidate && -x $candidate ]]; then
      export BLINK_CLI_BIN=$candidate
      return 0
    fi
  done
  if [[ ${BLINK_REQUIRE_CLI-} == 1 ]]; then
    echo "BLINK_REQUIRE_CLI=1 but no blink-cli at \$BLINK_CLI_BIN or target/{release,debug}/blink-cli" >&2
    return 1
  fi
  skip "blink-cli not built"
}

# slow_command: what the cache examples cache; each run adds a line to $COUNTER.
slow_command() {
  echo run >>"$COUNTER"
  printf 'report\n\0binary tail\n'
}
export -f slow_command

runs() { wc -l <"$COUNTER"; }

@test "quickstart.sh runs as the README says" {
  run -0 "$EXAMPLES/quickstart.sh" "$MAIN_UNIX"
  [[ ${lines[0]} == "hello, world" ]]
  ((lines[1] > 29000 && lines[1] <= 30000))
  [[ ${lines[2]} == "blob round-tripped" ]]
  [[ ${lines[3]} == "user:7 is not cached" ]]
  [[ ${lines[4]} == "hello, world (over the Unix socket)" ]]
  [[ ${lines[5]} == "lock taken" && ${lines[6]} == 1 && ${lines[7]} == 11 && ${lines[8]} == 8 ]]
  [[ ${lines[9]} == user:1 && ${lines[10]} == user:2 && ${#lines[@]} == 11 ]]
  run -0 blink_ttl session:42
  [[ -z $output ]]
}

@test "the README's code blocks are the tested examples' anchored lines" {
  local readme=$SHELL_CLIENT_DIR/README.md marker file anchor count=0
  while read -r marker; do
    file=${marker%#*} anchor=${marker#*#}
    diff <(awk -v n="$anchor" '$0 == "# ANCHOR_END: " n {p = 0} p {print} $0 == "# ANCHOR: " n {p = 1}' "$SHELL_CLIENT_DIR/$file") \
      <(awk -v m="<!-- include: $marker -->" '$0 == m {f = 1; next} f && /^```/ {if (b) exit; b = 1; next} b {print}' "$readme")
    count=$((count + 1))
  done < <(sed -n 's/^<!-- include: \(.*\) -->$/\1/p' "$readme")
  ((count == 7))
}

@test "cache-command.sh runs the command once per TTL and returns its exact bytes" {
  "$EXAMPLES/cache-command.sh" 60000 report slow_command >"$BATS_TEST_TMPDIR/first"
  "$EXAMPLES/cache-command.sh" 60000 report slow_command >"$BATS_TEST_TMPDIR/second"
  [[ $(runs) == 1 ]]
  slow_command >"$BATS_TEST_TMPDIR/direct"
  cmp "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/first"
  cmp "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/second"
}

@test "cache-command.sh runs the command again once the TTL is over" {
  "$EXAMPLES/cache-command.sh" 100 short slow_command >/dev/null
  expired() { ! blink_get short >/dev/null; }
  await expired
  "$EXAMPLES/cache-command.sh" 100 short slow_command >/dev/null
  [[ $(runs) == 2 ]]
}

@test "cache-command.sh bypasses a cache that is down, and caches no failure" {
  BLINK_TCP=127.0.0.1:1 run -0 --separate-stderr "$EXAMPLES/cache-command.sh" 60000 k slow_command
  [[ $stderr == *"cache unavailable (exit $BLINK_EXIT_CONNECTION)"* && $(runs) == 1 ]]
  run -3 "$EXAMPLES/cache-command.sh" 60000 failing bash -c 'exit 3'
  run -1 blink_get failing
}

@test "health-check.sh succeeds at once on a live server" {
  run -0 "$EXAMPLES/health-check.sh" 3
  [[ $output == "healthy after 1 attempt(s)" ]]
}

@test "health-check.sh gives up after its attempts with the connection error" {
  BLINK_TCP=127.0.0.1:1 run -"$BLINK_EXIT_CONNECTION" --separate-stderr "$EXAMPLES/health-check.sh" 3
  [[ $stderr == *"unhealthy after 3 attempts"* ]]
  [[ $(grep -c 'CONNECTION: cannot connect' <<<"$stderr") == 3 ]]
}

@test "health-check.sh does not retry an auth error" {
  SERVER_TOKEN=s3cret start_server AUX
  BLINK_TCP=$AUX_TCP BLINK_AUTH_TOKEN=wrong run -"$BLINK_EXIT_AUTH" --separate-stderr "$EXAMPLES/health-check.sh" 5
  [[ $(grep -c ERR_AUTH_FAILED <<<"$stderr") == 1 ]]
}

@test "health-check.sh waits for a server that starts later on its address" {
  # The address of a server that ran and stopped: free, and known.
  start_server AUX
  local address=$AUX_TCP
  stop_server AUX
  BLINK_TCP=$address "$EXAMPLES/health-check.sh" 40 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  local checker=$!
  await grep -q 'CONNECTION: cannot connect' "$BATS_TEST_TMPDIR/err"
  SERVER_TCP=$address start_server AUX
  wait "$checker"
  [[ $(cat "$BATS_TEST_TMPDIR/out") =~ ^healthy\ after\ ([2-9]|[1-4][0-9])\ attempt ]]
}

@test "stats-vars.sh reads the stats into variables" {
  blink_set counted x
  blink_get counted >/dev/null
  run -0 "$EXAMPLES/stats-vars.sh"
  [[ $output =~ ^items\ [0-9]+,\ used\ [0-9]+\ of\ 268435456\ bytes,\ hit\ ratio\ [0-9]+%\ of\ [1-9][0-9]*\ lookups$ ]]
}

@test "blink-cli: cli-cache-command.sh runs the command once per TTL" {
  require_cli
  run -0 "$EXAMPLES/cli-cache-command.sh" 60000 cli-report echo from-the-command
  [[ $output == from-the-command ]]
  run -0 "$EXAMPLES/cli-cache-command.sh" 60000 cli-report echo not-run
  [[ $output == from-the-command ]]
  BLINK_UNIX_SOCKET=$MAIN_UNIX run -0 "$EXAMPLES/cli-cache-command.sh" 60000 cli-report echo not-run
  [[ $output == from-the-command ]]
}

@test "blink-cli: cli-health-check.sh succeeds on a live server and gives up on none" {
  require_cli
  run -0 "$EXAMPLES/cli-health-check.sh" 3
  [[ $output == "healthy after 1 attempt(s)" ]]
  BLINK_TCP=127.0.0.1:1 run --separate-stderr "$EXAMPLES/cli-health-check.sh" 2
  ((status != 0))
  [[ $stderr == *"unhealthy after 2 attempts"* ]]
}

@test "blink-cli: cli-stats-vars.sh reads the stats into variables" {
  require_cli
  run -0 "$EXAMPLES/cli-stats-vars.sh"
  [[ $output =~ ^items\ [0-9]+,\ used\ [0-9]+\ of\ 268435456\ bytes, ]]
}
