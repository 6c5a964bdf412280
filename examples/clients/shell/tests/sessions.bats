#!/usr/bin/env bats
# The sessions of protocol/vectors/v1.json replayed through the library's public
# functions, by the conformance kit's rules (examples/clients/conformance/README.md).
#
# The shell library opens one connection per call, so a session's connection state lives
# in the environment: once its AUTH step succeeds, later calls carry the token, as a
# script that authenticates would. Its pipelined steps are issued one call at a time:
# the library has no batch API.

# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

# The calls the vectors' sessions hold that the shell API can express; a change to the
# vectors must change this number too, so it cannot shrink unnoticed.
REPLAYED_CALLS=41

teardown() {
  stop_server SESSION
}

# Exit codes by status name, written out here rather than taken from blink.sh.
declare -gA WANT_EXIT=(
  [OK]=0 [NOT_FOUND]=1 [ERR_KEY_TOO_LARGE]=3 [ERR_VALUE_TOO_LARGE]=3
  [ERR_AUTH_REQUIRED]=4 [ERR_AUTH_FAILED]=4
)

# hello_hex: blink_hello's lines in $OUT as the 14-byte HELLO body, in hex.
hello_hex() {
  local -A field
  local name value
  while read -r name value; do field[$name]=$value; done <"$OUT"
  printf '%02x%02x%08x%08x%08x' "${field[version]}" "${field[auth_required]}" \
    "${field[max_frame_bytes]}" "${field[max_key_bytes]}" "${field[max_value_bytes]}"
}

# call COMMAND KEY_FILE TTL_MS VALUE_FILE TOKEN_FILE: one frame as one library call, its
# output in $OUT; returns the call's exit code.
call() {
  local key
  key=$(hex_of "$2")
  case $1 in
    HELLO) blink_hello ;;
    PING) blink_ping ;;
    STATS) blink_stats ;;
    AUTH) BLINK_AUTH_TOKEN=$(cat "$5") blink_ping ;;
    GET) blink_get -x "$key" ;;
    DEL) blink_del -x "$key" ;;
    TTL) blink_ttl -x "$key" ;;
    EXPIRE) blink_expire -x "$key" "$3" ;;
    SET) blink_set -x -t "$3" "$key" <"$4" ;;
  esac >"$OUT" 2>/dev/null
}

# check_output COMMAND STATUS BODY_FILE BODY_LEN: the call's output against the reply.
check_output() {
  if [[ $2 != OK ]]; then
    [[ ! -s $OUT ]]
  elif [[ $1 == HELLO ]]; then
    [[ $(hello_hex) == "$(hex_of "$3")" ]]
  elif [[ $1 == STATS ]]; then
    [[ -s $OUT ]]
  elif [[ $1 == TTL && $4 == 8 ]]; then
    [[ $(cat "$OUT") =~ ^[0-9]+$ ]]
  else
    cmp -s "$3" "$OUT" # GET's value; the empty body of every other OK, TTL without TTL
  fi
}

@test "every vectors session replays through the API, $REPLAYED_CALLS calls in all" {
  OUT=$BATS_TEST_TMPDIR/out
  mkdir "$BATS_TEST_TMPDIR/cases"
  local session token flags step command key ttl value auth status body body_len
  local current='' replayed=0 total rc esc
  while IFS=$'\t' read -r session token flags step command key ttl value auth status body body_len; do
    if [[ $session == total ]]; then
      total=$token
      break
    fi
    if [[ $session != "$current" ]]; then
      stop_server SESSION
      SERVER_TOKEN=''
      if [[ $token != - ]]; then
        _blink_esc_hex "$token" esc
        printf -v SERVER_TOKEN '%b' "$esc"
      fi
      # shellcheck disable=SC2086 # the flags are words
      SERVER_TOKEN=$SERVER_TOKEN start_server SESSION $flags
      export BLINK_TCP=$SESSION_TCP
      unset BLINK_AUTH_TOKEN
      current=$session
    fi
    rc=0
    call "$command" "$key" "$ttl" "$value" "$auth" || rc=$?
    [[ $rc == "${WANT_EXIT[$status]}" ]] ||
      { echo "$session step $step $command: exit $rc, want $status" >&2; return 1; }
    check_output "$command" "$status" "$body" "$body_len" ||
      { echo "$session step $step $command: output $(hex_of "$OUT")" >&2; return 1; }
    if [[ $command == AUTH && $rc == 0 ]]; then export BLINK_AUTH_TOKEN; BLINK_AUTH_TOKEN=$(cat "$auth"); fi
    replayed=$((replayed + 1))
  done < <(python3 "$VECTORS_PY" sessions "$BATS_TEST_TMPDIR/cases")
  echo "replayed $replayed of $total" >&2
  ((replayed == total && replayed == REPLAYED_CALLS))
}
