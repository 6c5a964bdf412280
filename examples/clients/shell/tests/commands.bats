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
  [[ $output == $'version 2\nauth_required 0\nmax_frame_bytes 1052672\nmax_key_bytes 1024\nmax_value_bytes 1048576' ]]
  BLINK_PROTOCOL_VERSION=1 run -0 blink_hello
  [[ ${lines[0]} == 'version 1' ]]
  BLINK_PROTOCOL_VERSION=3 run -"$BLINK_EXIT_USAGE" --separate-stderr blink_ping
  [[ $stderr == "blink: ping: USAGE: BLINK_PROTOCOL_VERSION must be 1 or 2, not '3'" ]]
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
  [[ $output == 2 ]]
  run -1 blink_stat no_such_stat
  run -"$BLINK_EXIT_USAGE" blink_stat
}

@test "add stores only a missing key: 0, then 1 (EXISTS) with the value kept" {
  run -0 blink_add -t 60000 add:k first
  run -"$BLINK_EXIT_EXISTS" --separate-stderr blink_add add:k second
  [[ -z $output && -z $stderr ]]
  run -0 blink_get add:k
  [[ $output == first ]]
  run -0 blink_ttl add:k
  ((output > 0 && output <= 60000))
  printf 'from\0stdin' | blink_add -x 00616464
  blink_get -x 00616464 >"$BATS_TEST_TMPDIR/value"
  [[ $(hex_of "$BATS_TEST_TMPDIR/value") == 66726f6d00737464696e ]]
}

@test "replace stores only an existing key, with the TTL it is given: 1 (not found), then 0" {
  run -"$BLINK_EXIT_NOT_FOUND" --separate-stderr blink_replace replace:k v
  [[ -z $output && -z $stderr ]]
  run -1 blink_get replace:k
  blink_set -t 60000 replace:k old
  blink_replace replace:k new
  run -0 blink_get replace:k
  [[ $output == new ]]
  run -0 blink_ttl replace:k
  [[ -z $output ]]
  echo -n piped | blink_replace -t 5000 replace:k
  run -0 blink_get replace:k
  [[ $output == piped ]]
}

@test "incr prints the new value: by 1, by a delta, negative, to the ends of i64" {
  run -0 blink_incr incr:n
  [[ $output == 1 ]]
  run -0 blink_incr incr:n 41
  [[ $output == 42 ]]
  run -0 blink_incr incr:n -50
  [[ $output == -8 ]]
  run -0 blink_get incr:n
  [[ $output == -8 ]]
  run -0 blink_incr incr:n -9223372036854775800
  [[ $output == -9223372036854775808 ]]
  run -0 blink_incr -- -dash-key
  [[ $output == 1 ]]
  run -0 blink_incr -x 00 9223372036854775807
  [[ $output == 9223372036854775807 ]]
}

@test "incr of a value that is not an integer, or past i64, exits 9 and changes nothing" {
  blink_set incr:text 12a
  run -"$BLINK_EXIT_NOT_INTEGER" --separate-stderr blink_incr incr:text
  [[ -z $output && $stderr == "blink: incr: ERR_NOT_INTEGER: "* ]]
  run -0 blink_get incr:text
  [[ $output == 12a ]]
  blink_set incr:max 9223372036854775807
  run -"$BLINK_EXIT_NOT_INTEGER" blink_incr incr:max
  run -"$BLINK_EXIT_NOT_INTEGER" blink_incr incr:max 1
  run -0 blink_incr incr:max -1
  [[ $output == 9223372036854775806 ]]
  ((BLINK_EXIT_NOT_INTEGER == 9))
}

@test "append prints the new length, from an argument or stdin, binary safe" {
  run -0 blink_append append:k ab
  [[ $output == 2 ]]
  run -0 bash -c 'printf "\0\n" | { source "$1" && blink_append append:k; }' _ "$SHELL_CLIENT_DIR/blink.sh"
  [[ $output == 4 ]]
  run -0 blink_append append:k ''
  [[ $output == 4 ]]
  blink_get append:k >"$BATS_TEST_TMPDIR/value"
  [[ $(hex_of "$BATS_TEST_TMPDIR/value") == 6162000a ]]
}

@test "a value or suffix over the limits is refused before sending; an append past it by the server" {
  start_server AUX --max-frame-bytes 4096 --max-key-bytes 4 --max-value-bytes 8
  export BLINK_TCP=$AUX_TCP
  local command
  for command in blink_add blink_replace; do
    run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr "$command" k 123456789
    [[ $stderr == "blink: ${command#blink_}: ERR_VALUE_TOO_LARGE: value of 9 bytes is over the server's limit of 8 (not sent)" ]]
    run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr "$command" kkkkk v
    [[ $stderr == *"ERR_KEY_TOO_LARGE: key of 5 bytes"* ]]
  done
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_append k 123456789
  [[ $stderr == "blink: append: ERR_VALUE_TOO_LARGE: suffix of 9 bytes is over the server's limit of 8 (not sent)" ]]
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_incr kkkkk
  [[ $stderr == *"ERR_KEY_TOO_LARGE"*"(not sent)" ]]
  run -0 blink_append k 12345678
  [[ $output == 8 ]]
  # The suffix fits; the value it would make does not: the server refuses, nothing changes.
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_append k 9
  [[ $stderr == "blink: append: ERR_VALUE_TOO_LARGE: "* && $stderr != *"(not sent)" ]]
  run -0 blink_get k
  [[ $output == 12345678 ]]
  # A SCAN prefix is not a key: a long one is sent, and matches nothing.
  run -0 blink_scan --prefix 'longer than the key limit'
  [[ -z $output ]]
}

@test "flush removes every key" {
  start_server AUX
  export BLINK_TCP=$AUX_TCP
  blink_set a 1
  blink_set -t 60000 b 2
  blink_flush
  run -1 blink_get a
  run -1 blink_get b
  [[ $(blink_stat items) == 0 ]]
  run -0 blink_scan
  [[ -z $output ]]
  run -"$BLINK_EXIT_USAGE" blink_flush extra
}

@test "scan walks every key under a prefix exactly once, over a few thousand keys" {
  start_server AUX
  seed_keys "$AUX_TCP" user: 3000
  seed_keys "$AUX_TCP" order: 2000
  export BLINK_TCP=$AUX_TCP
  blink_set user 'no colon'
  blink_scan --prefix user: --count 50 >"$BATS_TEST_TMPDIR/walk"
  [[ $(wc -l <"$BATS_TEST_TMPDIR/walk") == 3000 ]]
  diff <(sort "$BATS_TEST_TMPDIR/walk") <(for ((i = 0; i < 3000; i++)); do echo "user:$i"; done | sort)
  # The whole store with the default count, over the Unix socket.
  BLINK_UNIX_SOCKET=$AUX_UNIX blink_scan >"$BATS_TEST_TMPDIR/all"
  [[ $(sort -u "$BATS_TEST_TMPDIR/all" | wc -l) == 5001 && $(wc -l <"$BATS_TEST_TMPDIR/all") == 5001 ]]
}

@test "scan --cursor gives one page: the next cursor first, then its keys; pages make the walk" {
  start_server AUX
  seed_keys "$AUX_TCP" page: 300
  export BLINK_TCP=$AUX_TCP
  local cursor=0 pages=0 page
  : >"$BATS_TEST_TMPDIR/keys"
  while :; do
    page=$(blink_scan --cursor "$cursor" --count 20 -p page:)
    cursor=${page%%$'\n'*}
    [[ $cursor =~ ^(0|[1-9][0-9]*)$ ]]
    if [[ $page == *$'\n'* ]]; then printf '%s\n' "${page#*$'\n'}" >>"$BATS_TEST_TMPDIR/keys"; fi
    pages=$((pages + 1))
    [[ $cursor != 0 ]] || break
  done
  ((pages > 1))
  [[ $(sort -u "$BATS_TEST_TMPDIR/keys" | wc -l) == 300 && $(wc -l <"$BATS_TEST_TMPDIR/keys") == 300 ]]
}

@test "scan -x takes the prefix in hex and prints keys in hex, for keys a line cannot hold" {
  start_server AUX
  export BLINK_TCP=$AUX_TCP
  blink_set -x 00ff0a01 binary
  blink_set -x 00ff02 other
  blink_set text-key text
  run -0 blink_scan -x --prefix 00ff
  [[ $(sort <<<"$output") == $'00ff02\n00ff0a01' ]]
  run -0 blink_scan -x --prefix=74657874
  [[ $output == 746578742d6b6579 ]]
  run -0 blink_scan --prefix=text
  [[ $output == text-key ]]
}

@test "bad scan and incr arguments exit 2 before connecting" {
  export BLINK_TCP=127.0.0.1:1
  run -"$BLINK_EXIT_USAGE" blink_scan --count 65536
  run -"$BLINK_EXIT_USAGE" blink_scan --count -1
  run -"$BLINK_EXIT_USAGE" blink_scan --cursor 18446744073709551616
  run -"$BLINK_EXIT_USAGE" blink_scan --prefix
  run -"$BLINK_EXIT_USAGE" blink_scan -x --prefix 0
  run -"$BLINK_EXIT_USAGE" --separate-stderr blink_scan --bogus
  [[ $stderr == "blink: scan: USAGE: unknown argument --bogus"* ]]
  run -"$BLINK_EXIT_USAGE" blink_scan stray
  run -"$BLINK_EXIT_USAGE" blink_incr k 9223372036854775808
  run -"$BLINK_EXIT_USAGE" blink_incr k 1.5
  run -"$BLINK_EXIT_USAGE" blink_incr k +1
  run -"$BLINK_EXIT_USAGE" blink_incr
  run -"$BLINK_EXIT_USAGE" blink_add -t soon k v
  run -"$BLINK_EXIT_USAGE" blink_append -t 5 k v
}

@test "at protocol version 1 the version-2 commands exit 8 and send nothing" {
  start_server AUX
  export BLINK_TCP=$AUX_TCP BLINK_PROTOCOL_VERSION=1
  local s0 s1 s2 command name
  s0=$(blink_stat bytes_in)
  s1=$(blink_stat bytes_in)
  for command in "blink_add k v" "blink_replace k v" "blink_incr k" "blink_append k v" blink_flush blink_scan; do
    name=${command%% *} name=${name#blink_}
    # shellcheck disable=SC2086 # the command and its arguments are words
    run -"$BLINK_EXIT_PROTOCOL" --separate-stderr $command
    [[ $stderr == "blink: $name: ERR_UNKNOWN_COMMAND: the connection negotiated protocol version 1, which has no ${name^^} (not sent)" ]] ||
      { echo "$command: $stderr" >&2; return 1; }
  done
  s2=$(blink_stat bytes_in)
  # Each refused call sent its HELLO (6 bytes) and nothing else; s1 - s0 is one STATS call.
  ((s2 - s1 == 6 * 6 + s1 - s0))
  unset BLINK_PROTOCOL_VERSION
  run -0 blink_incr k
  [[ $output == 1 ]]
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
