#!/usr/bin/env bats
# The conformance kit's fault cases that apply to every client (faults.json, "applies":
# "all"), each test named after its id, plus every SPEC §13 status through a fake peer, and
# a version-1 server (the kit's pipelined-client case, as it applies to one call per connection).

# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr
# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

teardown() {
  if [[ -n ${AUX_PID-} ]]; then kill -CONT "$AUX_PID" 2>/dev/null || true; fi
  stop_server AUX
  stop_fake_peer
}

# elapsed_ms START: milliseconds since START (an $EPOCHREALTIME).
elapsed_ms() {
  local now=$EPOCHREALTIME
  echo $(((${now/./} - ${1/./}) / 1000))
}

# The fake peer printed "closed": the client closed the connection it gave up on.
peer_saw_close() { grep -q '^closed$' "$FAKE_LOG"; }

@test "fault accepts_and_never_answers: the call times out within its deadline and closes" {
  start_fake_peer hang
  local start=$EPOCHREALTIME
  BLINK_TCP=$FAKE_TCP BLINK_TIMEOUT_S=0.2 run -"$BLINK_EXIT_TIMEOUT" --separate-stderr blink_ping
  (($(elapsed_ms "$start") < 2000))
  [[ $stderr == "blink: ping: TIMEOUT: no reply within 0.2s (outcome unknown)" ]]
  await peer_saw_close
}

@test "fault malformed_reply: a zero length, then a foreign first byte, are protocol errors" {
  local reply
  for reply in 00000000 2d4552520d0a; do
    start_fake_peer answer 1052672 "$reply"
    BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_get k
    [[ $stderr == "blink: get: PROTOCOL: "* && -z $output ]]
    await peer_saw_close
    stop_fake_peer
  done
}

@test "fault oversized_reply: a header over the HELLO limit fails at once, body unread" {
  start_fake_peer answer 4096 00001001
  local start=$EPOCHREALTIME
  BLINK_TCP=$FAKE_TCP BLINK_TIMEOUT_S=5 run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_get k
  # Well inside the 5 s deadline: nothing waited for the 4097 bytes that never come.
  (($(elapsed_ms "$start") < 2000))
  [[ $stderr == "blink: get: PROTOCOL: reply length 4097 is outside 1..4096" ]]
  await peer_saw_close
}

@test "fault too_many_connections: the second connection gets the back-off class" {
  start_server AUX --max-connections 1
  local hold reply
  exec {hold}<>"/dev/tcp/${AUX_TCP%:*}/${AUX_TCP##*:}"
  # A PING answered on the held connection proves it has the server's one slot.
  printf '\x00\x00\x00\x01\x01' >&"$hold"
  reply=$(head -c 5 <&"$hold" | od -An -tx1 | tr -d ' \n')
  [[ $reply == 0000000100 ]]
  BLINK_TCP=$AUX_TCP run -"$BLINK_EXIT_BUSY" --separate-stderr blink_ping
  [[ $stderr == "blink: ping: ERR_TOO_MANY_CONNECTIONS: "* ]]
  printf '\x00\x00\x00\x01\x01' >&"$hold"
  reply=$(head -c 5 <&"$hold" | od -An -tx1 | tr -d ' \n')
  [[ $reply == 0000000100 ]]
  exec {hold}>&-
}

@test "fault wrong_token: an auth-failed error, and no reconnect loop" {
  SERVER_TOKEN=s3cret start_server AUX
  export BLINK_TCP=$AUX_TCP
  local before after
  before=$(BLINK_AUTH_TOKEN=s3cret blink_stat connections_total)
  BLINK_AUTH_TOKEN=wrong run -"$BLINK_EXIT_AUTH" --separate-stderr blink_get k
  [[ $stderr == "blink: get: ERR_AUTH_FAILED: "* ]]
  after=$(BLINK_AUTH_TOKEN=s3cret blink_stat connections_total)
  # The failed call and the second STATS call: one connection each.
  ((after - before <= 2))
}

@test "fault limits_enforced_locally: oversized keys and values are refused before sending" {
  start_server AUX --max-frame-bytes 4096 --max-key-bytes 4 --max-value-bytes 8
  export BLINK_TCP=$AUX_TCP
  local s0 s1 s2
  s0=$(blink_stat bytes_in)
  s1=$(blink_stat bytes_in)
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_set kkkkk v
  [[ $stderr == "blink: set: ERR_KEY_TOO_LARGE: key of 5 bytes is over the server's limit of 4 (not sent)" ]]
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_get kkkkk
  [[ $stderr == "blink: get: ERR_KEY_TOO_LARGE: "* ]]
  run -"$BLINK_EXIT_TOO_LARGE" --separate-stderr blink_set k 123456789
  [[ $stderr == "blink: set: ERR_VALUE_TOO_LARGE: value of 9 bytes is over the server's limit of 8 (not sent)" ]]
  s2=$(blink_stat bytes_in)
  # Each refused call sent its HELLO (6 bytes) and nothing else; s1 - s0 is what one
  # STATS call adds.
  ((s2 - s1 == 3 * 6 + s1 - s0))
  blink_set kkkk 12345678
  run -0 blink_get kkkk
  [[ $output == 12345678 ]]
}

@test "fault timed_out_call_keeps_its_reply: after a timed-out GET a, GET b returns b" {
  start_server AUX
  export BLINK_TCP=$AUX_TCP
  blink_set a value-of-a
  blink_set b value-of-b
  kill -STOP "$AUX_PID"
  BLINK_TIMEOUT_S=0.3 run -"$BLINK_EXIT_TIMEOUT" --separate-stderr blink_get a
  [[ -z $output ]]
  kill -CONT "$AUX_PID"
  run -0 blink_get b
  [[ $output == value-of-b ]]
}

@test "every SPEC §13 status maps to its exit code and is named on stderr" {
  local code want name
  # status code, expected exit code, name printed (independent of blink.sh's tables).
  local -a table=(
    80 8 ERR_UNKNOWN_COMMAND 81 8 ERR_MALFORMED 82 3 ERR_FRAME_TOO_LARGE
    83 3 ERR_KEY_TOO_LARGE 84 3 ERR_VALUE_TOO_LARGE 85 3 ERR_ITEM_TOO_LARGE
    86 4 ERR_AUTH_REQUIRED 87 4 ERR_AUTH_FAILED 88 8 ERR_UNSUPPORTED_VERSION
    89 5 ERR_TOO_MANY_CONNECTIONS 8a 6 ERR_TIMEOUT 8b 5 ERR_BUSY 8c 5 ERR_SHUTTING_DOWN
    8d 8 PROTOCOL 42 8 PROTOCOL 02 8 PROTOCOL
  )
  set -- "${table[@]}"
  while (($#)); do
    code=$1 want=$2 name=$3
    shift 3
    # The status, then the message "oops". The peer is a version-1 server, which has no
    # ERR_NOT_INTEGER (0x8d) or EXISTS (0x02): at version 1 they are unknown statuses.
    start_fake_peer answer 1052672 "00000005${code}6f6f7073"
    BLINK_TCP=$FAKE_TCP run --separate-stderr blink_get k
    [[ $status == "$want" && $stderr == "blink: get: $name: "*oops ]] ||
      { echo "status 0x$code: exit $status, stderr $stderr" >&2; return 1; }
    stop_fake_peer
  done
}

@test "at version 2, ERR_NOT_INTEGER exits 9, and EXISTS is an outcome of add alone" {
  start_fake_peer --version 2 answer 1052672 000000058d6f6f7073
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_NOT_INTEGER" --separate-stderr blink_incr k
  [[ $stderr == "blink: incr: ERR_NOT_INTEGER: oops" ]]
  stop_fake_peer
  start_fake_peer --version 2 answer 1052672 0000000102
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_EXISTS" --separate-stderr blink_add k v
  [[ -z $stderr ]]
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_replace k v
  [[ $stderr == "blink: replace: PROTOCOL: unexpected EXISTS (status 0x02) to replace" ]]
}

@test "a HELLO reply with a version not asked for, or not spoken, is a protocol error" {
  start_fake_peer --version 2 answer 1052672 0000000100
  BLINK_TCP=$FAKE_TCP BLINK_PROTOCOL_VERSION=1 run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_ping
  [[ $stderr == "blink: ping: PROTOCOL: server negotiated protocol version 2 in reply to HELLO 1; this client speaks 1 and 2" ]]
  await peer_saw_close
  stop_fake_peer
  start_fake_peer --version 3 answer 1052672 0000000100
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_ping
  [[ $stderr == "blink: ping: PROTOCOL: server negotiated protocol version 3 in reply to HELLO 2"* ]]
}

@test "version-2 replies of the wrong size are protocol errors" {
  local reply
  # INCR with a 4-byte body; SCAN with a key running past its body.
  for reply in 000000050000000001 0000000c0000000000000000000000056b; do
    start_fake_peer --version 2 answer 1052672 "$reply"
    BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_incr k
    [[ -z $output && $stderr == "blink: incr: PROTOCOL: "* ]]
    BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_scan --cursor 0
    [[ -z $output && $stderr == "blink: scan: PROTOCOL: "* ]]
    stop_fake_peer
  done
}

@test "a version-1 server: the version-2 commands exit 8 without sending anything; GET works" {
  # A peer that answers HELLO 2 with version 1, and its one request with NOT_FOUND.
  start_fake_peer answer 1052672 0000000101
  export BLINK_TCP=$FAKE_TCP
  local command name
  for command in "blink_add k v" "blink_replace k v" "blink_incr k" "blink_append k v" blink_flush blink_scan; do
    name=${command%% *} name=${name#blink_}
    # shellcheck disable=SC2086 # the command and its arguments are words
    run -"$BLINK_EXIT_PROTOCOL" --separate-stderr $command
    [[ $stderr == "blink: $name: ERR_UNKNOWN_COMMAND: the connection negotiated protocol version 1"*"(not sent)" ]] ||
      { echo "$command: $stderr" >&2; return 1; }
  done
  run -"$BLINK_EXIT_NOT_FOUND" blink_get k
  # The peer serves one connection at a time, so by the GET's reply it has seen every
  # earlier one: the GET is the only request it received.
  [[ $(grep '^request ' "$FAKE_LOG") == "request 00000004100001""6b" ]]
}

@test "an OK reply with a body where none belongs is a protocol error" {
  start_fake_peer answer 1052672 000000020078
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_PROTOCOL" --separate-stderr blink_del k
  [[ $stderr == "blink: del: PROTOCOL: del reply has an unexpected 1-byte body" ]]
}

@test "a reply cut off mid-body is a connection error, and nothing reaches stdout" {
  # GET's reply promises a 5-byte value; the peer sends 2 bytes of it and closes.
  start_fake_peer answer 1052672 00000006007631 close
  BLINK_TCP=$FAKE_TCP run -"$BLINK_EXIT_CONNECTION" --separate-stderr blink_get k
  [[ -z $output ]]
  [[ $stderr == "blink: get: CONNECTION: connection closed before the end of the get reply (outcome unknown)" ]]
}
