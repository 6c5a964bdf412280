#!/usr/bin/env bats
# The wire module of blink.sh against protocol/vectors/v1.json and v2.json: the reply decoder
# on every decode_reply case, the INCR, APPEND and SCAN body readers on every encode_reply case
# of theirs, the request encoders on every decode_request case the library sends.

# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr

# shellcheck source=helpers.bash
source "$BATS_TEST_DIRNAME/helpers.bash"

setup() {
  CASES=$BATS_TEST_TMPDIR/cases
  mkdir -p "$CASES"
  # The worker runs under LC_ALL=C, so the tests of its functions do too.
  export LC_ALL=C
}

# decode FILE MAX_FRAME_BYTES: runs the decoder on FILE; prints "rc status body_len
# consumed" and leaves the body in $BATS_TEST_TMPDIR/body.
decode() {
  local rc=0 total remaining
  exec {_blink_rfd}<"$1"
  _blink_read_header "$2" 2>/dev/null || rc=$?
  if ((rc == 0)); then
    _blink_read_body "$BATS_TEST_TMPDIR/body" || rc=$?
  fi
  total=$(wc -c <"$1")
  remaining=$(cat <&"$_blink_rfd" | wc -c)
  exec {_blink_rfd}<&-
  echo "$rc $_blink_status $_blink_body_len $((total - remaining))"
}

@test "every decode_reply vector decodes as v1.json and v2.json say, consuming only its frame" {
  local file name max bytes outcome status body frame_len count=0 rc got_status consumed
  while IFS=$'\t' read -r file name max bytes outcome status body frame_len; do
    read -r rc got_status _ consumed < <(decode "$bytes" "$max")
    case $outcome in
      reply)
        [[ $rc == 0 && $got_status == "$status" && $consumed == "$frame_len" ]] ||
          { echo "$file $name: rc $rc status $got_status consumed $consumed" >&2; return 1; }
        cmp "$body" "$BATS_TEST_TMPDIR/body" || { echo "$file $name: body differs" >&2; return 1; }
        ;;
      need_more)
        [[ $rc == "$BLINK_EXIT_CONNECTION" ]] || { echo "$file $name: rc $rc, want incomplete" >&2; return 1; }
        ;;
      invalid)
        [[ $rc == "$BLINK_EXIT_PROTOCOL" ]] || { echo "$file $name: rc $rc, want invalid" >&2; return 1; }
        ;;
    esac
    count=$((count + 1))
  done < <(python3 "$VECTORS_PY" decode-reply "$CASES")
  ((count == 9 + 2))
}

# print_reply FILE KIND: the header of the reply in FILE, then what the library prints for
# an OK reply of KIND (integer: INCR, length: APPEND, scan: a page, keys in hex) on a
# version-2 connection; returns the printer's exit code.
print_reply() {
  local rc=0
  exec {_blink_rfd}<"$1"
  _blink_version=2 _blink_key_kind=hex
  _blink_read_header 4096 || rc=$?
  if ((rc == 0)); then
    case $2 in
      integer) _blink_print_u64_body INCR d ;;
      length) _blink_print_u64_body APPEND u ;;
      scan) _blink_print_scan '' ;;
    esac || rc=$?
  fi
  exec {_blink_rfd}<&-
  return "$rc"
}

@test "every INCR, APPEND and SCAN encode_reply vector prints as v2.json says" {
  local file name kind bytes output count=0
  while IFS=$'\t' read -r file name kind bytes output; do
    print_reply "$bytes" "$kind" >"$BATS_TEST_TMPDIR/printed" ||
      { echo "$file $name: exit $?" >&2; return 1; }
    cmp "$output" "$BATS_TEST_TMPDIR/printed" ||
      { echo "$file $name: printed $(cat "$BATS_TEST_TMPDIR/printed")" >&2; return 1; }
    count=$((count + 1))
  done < <(python3 "$VECTORS_PY" encode-reply "$CASES")
  ((count == 6))
}

@test "a SCAN page goes to a cursor file when walking, and text keys print as their bytes" {
  # next_cursor 7, then the keys "a\0b" and "" (two zero bytes).
  printf '\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\x03a\x00b\x00\x00' >"$CASES/page"
  exec {_blink_rfd}<"$CASES/page"
  _blink_version=2 _blink_key_kind=text
  _blink_read_header 4096
  _blink_print_scan "$CASES/cursor" >"$CASES/keys"
  exec {_blink_rfd}<&-
  [[ $(cat "$CASES/cursor") == 7 && $(hex_of "$CASES/keys") == 6100620a0a ]]
}

@test "a SCAN body its keys do not fill exactly is a protocol error, and prints nothing" {
  local body frame esc
  # A key length running past the body; a key length cut in half; a body shorter than the cursor.
  for body in 000000000000000000056b 000000000000000000 00000000000000; do
    printf -v frame '%08x00%s' $((1 + ${#body} / 2)) "$body"
    _blink_esc_hex "$frame" esc
    printf '%b' "$esc" >"$CASES/page"
    _blink_cmd=scan
    run -"$BLINK_EXIT_PROTOCOL" --separate-stderr print_reply "$CASES/page" scan
    [[ -z $output && $stderr == "blink: scan: PROTOCOL: SCAN reply "* ]] || { echo "$body: $stderr" >&2; return 1; }
  done
}

@test "INCR and APPEND bodies are 8 bytes: a signed value and an unsigned length" {
  printf '\x00\x00\x00\x09\x00\xff\xff\xff\xff\xff\xff\xff\xff' >"$CASES/max"
  run -0 print_reply "$CASES/max" integer
  [[ $output == -1 ]]
  run -0 print_reply "$CASES/max" length
  [[ $output == 18446744073709551615 ]]
  printf '\x00\x00\x00\x05\x00\x00\x00\x00\x01' >"$CASES/short"
  _blink_cmd=incr
  run -"$BLINK_EXIT_PROTOCOL" --separate-stderr print_reply "$CASES/short" integer
  [[ $stderr == "blink: incr: PROTOCOL: INCR reply body is 4 bytes, not 8" ]]
}

@test "on a version-1 connection EXISTS and ERR_NOT_INTEGER are unknown statuses" {
  printf '\x00\x00\x00\x01\x8d' >"$CASES/not_integer"
  printf '\x00\x00\x00\x01\x02' >"$CASES/exists"
  local file
  for file in not_integer exists; do
    exec {_blink_rfd}<"$CASES/$file"
    _blink_version=1 _blink_cmd=add
    run -"$BLINK_EXIT_PROTOCOL" --separate-stderr _blink_read_reply add
    [[ $stderr == "blink: add: PROTOCOL: unknown status "* ]]
    exec {_blink_rfd}<&-
    exec {_blink_rfd}<"$CASES/$file"
    _blink_version=2
    run --separate-stderr _blink_read_reply add
    exec {_blink_rfd}<&-
    [[ $file == exists && $status == 0 || $file == not_integer && $status == "$BLINK_EXIT_NOT_INTEGER" ]]
  done
}

@test "an invalid header is refused from the bytes it needs, without reading the body" {
  # A foreign first byte is decided on that byte alone; a length over the limit on the
  # four header bytes, even with a body behind it.
  printf -- '-ERR\r\n' >"$CASES/text"
  read -r rc _ _ consumed < <(decode "$CASES/text" 4096)
  [[ $rc == "$BLINK_EXIT_PROTOCOL" && $consumed == 1 ]]
  { printf '\x00\x00\x10\x01\x00'; head -c 4096 /dev/zero; } >"$CASES/big"
  read -r rc _ _ consumed < <(decode "$CASES/big" 4096)
  [[ $rc == "$BLINK_EXIT_PROTOCOL" && $consumed == 4 ]]
}

@test "a malformed reply names the problem on stderr" {
  printf '\x00\x00\x00\x00' >"$CASES/zero"
  exec {_blink_rfd}<"$CASES/zero"
  _blink_cmd='get'
  run -"$BLINK_EXIT_PROTOCOL" _blink_read_header 4096
  [[ $output == "blink: get: PROTOCOL: reply length 0 is outside 1..4096" ]]
}

@test "every decode_request vector the library sends is encoded byte for byte" {
  local file name command key number value bytes count_field esc
  local -A count=([v1.json]=0 [v2.json]=0)
  while IFS=$'\t' read -r file name command key number value bytes count_field; do
    _blink_set_key hex "$(hex_of "$key")"
    case $command in
      HELLO) _blink_encode_hello "$number" ;;
      AUTH)
        _blink_esc_hex "$(hex_of "$value")" esc
        _blink_encode_auth "$esc"
        ;;
      *) _blink_encode "${command,,}" "$number" "$value" "$(wc -c <"$value")" "$count_field" ;;
    esac >"$BATS_TEST_TMPDIR/encoded"
    cmp "$bytes" "$BATS_TEST_TMPDIR/encoded" || { echo "$file $name: encoding differs" >&2; return 1; }
    count[$file]=$((count[$file] + 1))
  done < <(python3 "$VECTORS_PY" requests "$CASES")
  # v1.json: every request but HELLO 0 and 255 and the over-long AUTH tokens; v2.json: all 14.
  [[ ${count[v1.json]} == 24 && ${count[v2.json]} == 14 ]]
}

@test "HELLO asks for version 2, or 1; SPEC §14's bytes" {
  _blink_encode_hello 2 >"$BATS_TEST_TMPDIR/hello"
  [[ $(hex_of "$BATS_TEST_TMPDIR/hello") == 000000020202 ]]
  _blink_encode_hello 1 >"$BATS_TEST_TMPDIR/hello"
  [[ $(hex_of "$BATS_TEST_TMPDIR/hello") == 000000020201 ]]
}

@test "text keys are encoded as their bytes (the worker counts them under LC_ALL=C)" {
  _blink_set_key text 'clé'
  [[ $_blink_key_len == 4 ]]
  _blink_encode get 0 '' 0 >"$BATS_TEST_TMPDIR/encoded"
  [[ $(hex_of "$BATS_TEST_TMPDIR/encoded") == 00000007100004636cc3a9 ]]
}

@test "u64 fields are encoded unsigned up to 2^64 - 1" {
  local esc
  _blink_esc_u64 18446744073709551615 esc
  [[ $esc == '\xff\xff\xff\xff\xff\xff\xff\xff' ]]
  _blink_esc_u64 9223372036854775808 esc
  [[ $esc == '\x80\x00\x00\x00\x00\x00\x00\x00' ]]
}

@test "INCR deltas must be decimal i64s" {
  _blink_is_i64 0
  _blink_is_i64 -1
  _blink_is_i64 9223372036854775807
  _blink_is_i64 -9223372036854775808
  _blink_is_i64 999999999999999999
  run -1 _blink_is_i64 9223372036854775808
  run -1 _blink_is_i64 -9223372036854775809
  run -1 _blink_is_i64 10000000000000000000
  run -1 _blink_is_i64 -0
  run -1 _blink_is_i64 +1
  run -1 _blink_is_i64 01
  run -1 _blink_is_i64 ''
  run -1 _blink_is_i64 1.0
}

@test "TTL arguments must be decimal u64s" {
  _blink_is_u64 0
  _blink_is_u64 18446744073709551615
  _blink_is_u64 9999999999999999999
  run -1 _blink_is_u64 18446744073709551616
  run -1 _blink_is_u64 99999999999999999999
  run -1 _blink_is_u64 007
  run -1 _blink_is_u64 -1
  run -1 _blink_is_u64 ''
  run -1 _blink_is_u64 5s
}
