#!/usr/bin/env bats
# The sessions of protocol/vectors/v1.json and v2.json replayed through the library's public
# functions, by the conformance kit's rules (examples/clients/conformance/README.md).
#
# The shell library opens one connection per call, so a session's connection state lives
# in the environment: once its AUTH step succeeds, later calls carry the token, and after a
# HELLO step later calls ask for its version (BLINK_PROTOCOL_VERSION), as a script would.
# Every call sends HELLO 2 unless told otherwise, so a session starts at version 2 where a
# raw connection starts at version 1; every v2.json session that uses a version-2 command
# sends HELLO 2 first, so the two agree. A HELLO the library does not send (versions other
# than 1 and 2) is not replayed. Pipelined steps are issued one call at a time: the library
# has no batch API.

# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

# The calls the vectors' sessions hold that the shell API can express, per file; a change to
# the vectors must change these numbers too, so they cannot shrink unnoticed.
REPLAYED_V1_CALLS=41
REPLAYED_V2_CALLS=86

teardown() {
  stop_server SESSION
}

# Exit codes by status name, written out here rather than taken from blink.sh.
declare -gA WANT_EXIT=(
  [OK]=0 [NOT_FOUND]=1 [EXISTS]=1 [ERR_KEY_TOO_LARGE]=3 [ERR_VALUE_TOO_LARGE]=3
  [ERR_AUTH_REQUIRED]=4 [ERR_AUTH_FAILED]=4 [ERR_UNKNOWN_COMMAND]=8 [ERR_NOT_INTEGER]=9
)

# hello_hex: blink_hello's lines in $OUT as the 14-byte HELLO body, in hex.
hello_hex() {
  local -A field
  local name value
  while read -r name value; do field[$name]=$value; done <"$OUT"
  printf '%02x%02x%08x%08x%08x' "${field[version]}" "${field[auth_required]}" \
    "${field[max_frame_bytes]}" "${field[max_key_bytes]}" "${field[max_value_bytes]}"
}

# call COMMAND KEY_FILE NUMBER VALUE_FILE TOKEN_FILE COUNT: one frame as one library call,
# its output in $OUT; returns the call's exit code. NUMBER is the frame's TTL, delta, cursor
# or HELLO version; KEY_FILE holds SCAN's prefix, VALUE_FILE APPEND's suffix.
call() {
  local key
  key=$(hex_of "$2")
  case $1 in
    HELLO) BLINK_PROTOCOL_VERSION=$3 blink_hello ;;
    PING) blink_ping ;;
    STATS) blink_stats ;;
    AUTH) BLINK_AUTH_TOKEN=$(cat "$5") blink_ping ;;
    GET) blink_get -x "$key" ;;
    DEL) blink_del -x "$key" ;;
    TTL) blink_ttl -x "$key" ;;
    EXPIRE) blink_expire -x "$key" "$3" ;;
    SET) blink_set -x -t "$3" "$key" <"$4" ;;
    ADD) blink_add -x -t "$3" "$key" <"$4" ;;
    REPLACE) blink_replace -x -t "$3" "$key" <"$4" ;;
    INCR) blink_incr -x "$key" "$3" ;;
    APPEND) blink_append -x "$key" <"$4" ;;
    FLUSH) blink_flush ;;
    SCAN) blink_scan -x --cursor "$3" --count "$6" --prefix "$key" ;;
  esac >"$OUT" 2>/dev/null
}

# check_output COMMAND STATUS BODY_FILE BODY_LEN KEY_FILE: the call's output against the reply.
check_output() {
  if [[ $2 != OK ]]; then
    [[ ! -s $OUT ]]
  elif [[ $1 == HELLO ]]; then
    [[ $(hello_hex) == "$(hex_of "$3")" ]]
  elif [[ $1 == STATS ]]; then
    [[ -s $OUT ]]
  elif [[ $1 == TTL && $4 == 8 ]]; then
    [[ $(cat "$OUT") =~ ^[0-9]+$ ]]
  elif [[ $1 == INCR ]]; then
    [[ $(cat "$OUT") == "$((16#$(hex_of "$3")))" ]]
  elif [[ $1 == APPEND ]]; then
    [[ $(cat "$OUT") == "$(printf '%u' "0x$(hex_of "$3")")" ]]
  elif [[ $1 == SCAN ]]; then
    scan_page_shape "$(hex_of "$5")"
  else
    cmp -s "$3" "$OUT" # GET's value; the empty body of every other OK, TTL without TTL
  fi
}

# scan_page_shape PREFIX_HEX: $OUT is a page as `blink_scan -x --cursor` prints one: a
# decimal cursor line, then keys in hex that start with the prefix. A page's keys depend on
# the server's index, so the shape is all a session can check (the kit's rule).
scan_page_shape() {
  local cursor key
  {
    IFS= read -r cursor && [[ $cursor =~ ^(0|[1-9][0-9]*)$ ]] || return 1
    while IFS= read -r key; do
      [[ $key =~ ^([0-9a-f]{2})*$ && $key == "$1"* ]] || return 1
    done
  } <"$OUT"
}

@test "every vectors session replays through the API, $REPLAYED_V1_CALLS + $REPLAYED_V2_CALLS calls" {
  OUT=$BATS_TEST_TMPDIR/out
  mkdir "$BATS_TEST_TMPDIR/cases"
  local file session token flags step command key number value auth status body body_len count
  local current='' total=0 rc esc listed_v1=-1 listed_v2=-1
  local -i replayed_v1=0 replayed_v2=0
  while IFS=$'\t' read -r file session token flags step command key number value auth status body body_len count; do
    if [[ $file == total ]]; then
      total=$session listed_v1=$token listed_v2=$flags
      break
    fi
    if [[ $file:$session != "$current" ]]; then
      stop_server SESSION
      SERVER_TOKEN=''
      if [[ $token != - ]]; then
        _blink_esc_hex "$token" esc
        printf -v SERVER_TOKEN '%b' "$esc"
      fi
      # shellcheck disable=SC2086 # the flags are words
      SERVER_TOKEN=$SERVER_TOKEN start_server SESSION $flags
      export BLINK_TCP=$SESSION_TCP
      unset BLINK_AUTH_TOKEN BLINK_PROTOCOL_VERSION
      current=$file:$session
    fi
    rc=0
    call "$command" "$key" "$number" "$value" "$auth" "$count" || rc=$?
    [[ $rc == "${WANT_EXIT[$status]}" ]] ||
      { echo "$file $session step $step $command: exit $rc, want $status" >&2; return 1; }
    check_output "$command" "$status" "$body" "$body_len" "$key" ||
      { echo "$file $session step $step $command: output $(hex_of "$OUT")" >&2; return 1; }
    if [[ $command == AUTH && $rc == 0 ]]; then export BLINK_AUTH_TOKEN; BLINK_AUTH_TOKEN=$(cat "$auth"); fi
    if [[ $command == HELLO && $rc == 0 ]]; then export BLINK_PROTOCOL_VERSION=$number; fi
    if [[ $file == v1.json ]]; then replayed_v1+=1; else replayed_v2+=1; fi
  done < <(python3 "$VECTORS_PY" sessions "$BATS_TEST_TMPDIR/cases")
  echo "replayed $replayed_v1 + $replayed_v2 of $total" >&2
  ((replayed_v1 == listed_v1 && replayed_v2 == listed_v2))
  ((replayed_v1 == REPLAYED_V1_CALLS && replayed_v2 == REPLAYED_V2_CALLS))
  ((total == REPLAYED_V1_CALLS + REPLAYED_V2_CALLS))
}
