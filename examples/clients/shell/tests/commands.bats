#!/usr/bin/env bats
# Every command of blink.sh against a real blink-store, over TCP and the Unix socket:
# outputs, exit codes, binary safety, TTLs, auth and configuration errors.
# shellcheck disable=SC2016 # the bash -c scripts expand their own "$1"
# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr

# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

setup_file() {
  start_server MAIN
  export MAIN_PID MAIN_TCP MAIN_UNIX
}

teardown_file() {
  stop_server MAIN
}

setup() {
  export BLINK_TCP=$MAIN_TCP
}

teardown() {
  stop_server AUX
}

@test "ping answers and hello reports the version and the server's limits" {
  blink_ping
  run -0 blink_hello
  [[ $output == $'version 1\nauth_required 0\nmax_frame_bytes 1052672\nmax_key_bytes 1024\nmax_value_bytes 1048576' ]]
}

@test "set then get returns the value; get of a missing key exits 1 and says nothing" {
  blink_set greeting "hello, world"
  run -0 blink_get greeting
  [[ $output == "hello, world" ]]
  run -1 --separate-stderr blink_get no-such-key
  [[ -z $output && -z $stderr ]]
}

@test "del removes a live key once: 0, then 1" {
  blink_set doomed x
  run -0 blink_del doomed
  run -1 blink_del doomed
  run -1 blink_get doomed
}

@test "a 1 MiB value holding every byte value round-trips exactly, over TCP and Unix" {
  python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)' >"$BATS_TEST_TMPDIR/value"
  [[ $(wc -c <"$BATS_TEST_TMPDIR/value") == 1048576 ]]
  blink_set blob <"$BATS_TEST_TMPDIR/value"
  blink_get blob >"$BATS_TEST_TMPDIR/tcp"
  cmp "$BATS_TEST_TMPDIR/value" "$BATS_TEST_TMPDIR/tcp"
  BLINK_UNIX_SOCKET=$MAIN_UNIX blink_get blob >"$BATS_TEST_TMPDIR/unix"
  cmp "$BATS_TEST_TMPDIR/value" "$BATS_TEST_TMPDIR/unix"
}

@test "values keep trailing newlines and may be empty; the empty key is a key" {
  blink_set nl $'line\n\n'
  blink_get nl >"$BATS_TEST_TMPDIR/nl"
  [[ $(hex_of "$BATS_TEST_TMPDIR/nl") == 6c696e650a0a ]]
  blink_set empty ''
  blink_get empty >"$BATS_TEST_TMPDIR/empty"
  [[ ! -s $BATS_TEST_TMPDIR/empty ]]
  blink_set '' 'for the empty key'
  run -0 blink_get ''
  [[ $output == 'for the empty key' ]]
}

@test "-x takes keys argv cannot carry: a NUL byte is a key byte" {
  blink_set -x 006b00 nul-key
  run -0 blink_get -x 006b00
  [[ $output == nul-key ]]
  run -1 blink_get -x 006b
  blink_set -x 6b31 via-hex
  run -0 blink_get k1
  [[ $output == via-hex ]]
}

@test "-- ends the options, so a key may start with a dash" {
  blink_set -t 60000 -- -dash dashed
  run -0 blink_get -- -dash
  [[ $output == dashed ]]
}

@test "set -t, expire and ttl follow SPEC §9" {
  blink_set -t 60000 session alice
  run -0 blink_ttl session
  ((output > 0 && output <= 60000))
  blink_expire session 0
  run -0 blink_ttl session
  [[ -z $output ]]
  blink_expire session 18446744073709551615
  run -0 blink_ttl session
  # remaining_ms = u64::MAX - the server's clock in ms: u64::MAX less at most about a day.
  [[ $output == 184467440737* && ${#output} == 20 ]]
  blink_set session again
  run -0 blink_ttl session
  [[ -z $output ]]
  run -1 blink_ttl nobody
  run -1 blink_expire nobody 1000
}

@test "a key past its TTL is missing" {
  blink_set -t 50 short-lived x
  await_missing() { ! blink_get short-lived >/dev/null; }
  await await_missing
  run -1 blink_ttl short-lived
}

@test "stats prints name value lines; stat NAME prints one value or exits 1" {
  run -0 blink_stats
  [[ $output == *$'\nitems '* ]]
  while read -r line; do
    [[ $line =~ ^[a-z0-9_]+\ (0|[1-9][0-9]*)$ ]] || { echo "bad line: $line" >&2; return 1; }
  done <<<"$output"
  run -0 blink_stat protocol_version
  [[ $output == 1 ]]
  run -1 blink_stat no_such_stat
  run -"$BLINK_EXIT_USAGE" blink_stat
}

@test "BLINK_UNIX_SOCKET takes precedence over BLINK_TCP" {
  blink_set where unix
  BLINK_UNIX_SOCKET=$MAIN_UNIX BLINK_TCP=127.0.0.1:1 blink_ping
  run -0 env BLINK_UNIX_SOCKET="$MAIN_UNIX" BLINK_TCP=127.0.0.1:1 bash -c \
    'source "$1" && blink_get where && blink_stat items >/dev/null' _ "$SHELL_CLIENT_DIR/blink.sh"
  [[ $output == unix ]]
}

@test "a token from BLINK_AUTH_TOKEN or BLINK_AUTH_TOKEN_FILE authenticates; none is a config error" {
  SERVER_TOKEN=s3cret start_server AUX
  export BLINK_TCP=$AUX_TCP
  run -"$BLINK_EXIT_AUTH" --separate-stderr blink_get k
  [[ $stderr == "blink: get: ERR_AUTH_REQUIRED: the server wants a token"* ]]
  blink_ping
  run -0 blink_hello
  [[ $output == *$'auth_required 1\n'* ]]
  BLINK_AUTH_TOKEN=s3cret blink_set k v
  run -0 env BLINK_AUTH_TOKEN=s3cret bash -c 'source "$1" && blink_hello' _ "$SHELL_CLIENT_DIR/blink.sh"
  [[ $output == *$'auth_required 0\n'* ]]
  printf 's3cret\n' >"$BATS_TEST_TMPDIR/token"
  BLINK_AUTH_TOKEN_FILE=$BATS_TEST_TMPDIR/token blink_get k
  run -"$BLINK_EXIT_USAGE" --separate-stderr env BLINK_AUTH_TOKEN=s3cret \
    BLINK_AUTH_TOKEN_FILE="$BATS_TEST_TMPDIR/token" bash -c 'source "$1" && blink_ping' _ "$SHELL_CLIENT_DIR/blink.sh"
  [[ $stderr == *"not both"* ]]
}

@test "bad arguments and configuration exit 2 before connecting" {
  export BLINK_TCP=127.0.0.1:1 # nothing listens there: a connection attempt would exit 6
  run -"$BLINK_EXIT_USAGE" blink_get
  run -"$BLINK_EXIT_USAGE" blink_get a b
  run -"$BLINK_EXIT_USAGE" blink_get -t 5 a
  run -"$BLINK_EXIT_USAGE" blink_set -t 5s a b
  run -"$BLINK_EXIT_USAGE" blink_expire a 18446744073709551616
  run -"$BLINK_EXIT_USAGE" blink_get -x 0g
  run -"$BLINK_EXIT_USAGE" blink_get -x 123
  run -"$BLINK_EXIT_USAGE" blink_ping extra
  BLINK_TIMEOUT_S=0 run -"$BLINK_EXIT_USAGE" blink_ping
  BLINK_TIMEOUT_S=soon run -"$BLINK_EXIT_USAGE" blink_ping
  BLINK_TCP=nowhere run -"$BLINK_EXIT_USAGE" blink_ping
  BLINK_TCP=host:port run -"$BLINK_EXIT_USAGE" --separate-stderr blink_ping
  [[ $stderr == "blink: ping: USAGE: BLINK_TCP must be host:port, not 'host:port'" ]]
}

@test "nothing listening is a connection error" {
  run -"$BLINK_EXIT_CONNECTION" --separate-stderr env BLINK_TCP=127.0.0.1:1 bash -c \
    'source "$1" && blink_ping' _ "$SHELL_CLIENT_DIR/blink.sh"
  [[ $stderr == "blink: ping: CONNECTION: cannot connect to tcp 127.0.0.1:1" ]]
  BLINK_UNIX_SOCKET=$BATS_TEST_TMPDIR/none.sock run -"$BLINK_EXIT_CONNECTION" blink_ping
}

@test "without socat, a Unix socket call says what to install" {
  local tools=$BATS_TEST_TMPDIR/tools tool
  mkdir "$tools"
  for tool in timeout head wc cat mktemp rm od tr; do ln -s "$(command -v "$tool")" "$tools/$tool"; done
  BLINK_UNIX_SOCKET=$MAIN_UNIX PATH=$tools run -"$BLINK_EXIT_USAGE" --separate-stderr blink_ping
  [[ $stderr == *"BLINK_UNIX_SOCKET needs socat, which is not installed"* ]]
}

@test "the library works under set -euo pipefail and without it, from any cwd" {
  local script='
    source "$1"
    cd /
    blink_set opts "v"
    [[ $(blink_get opts) == v ]]
    if blink_get missing-key; then exit 10; fi
    rc=0; blink_get missing-key || rc=$?
    [[ $rc == "$BLINK_EXIT_NOT_FOUND" ]] || exit 11
    [[ $(blink_stat items) -ge 1 ]] || exit 12
    echo finished'
  # A relative path to the library, from its own directory.
  cd "$SHELL_CLIENT_DIR"
  run -0 bash -c "set -euo pipefail; $script" _ ./blink.sh
  [[ $output == finished ]]
  run -0 bash -c "$script" _ ./blink.sh
  [[ $output == finished ]]
}

@test "executing blink.sh instead of sourcing it explains itself" {
  run -"$BLINK_EXIT_USAGE" bash "$SHELL_CLIENT_DIR/blink.sh"
  [[ $output == *"source it"* ]]
}
