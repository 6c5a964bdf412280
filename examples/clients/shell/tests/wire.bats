#!/usr/bin/env bats
# The wire module of blink.sh against protocol/vectors/v1.json: the reply decoder on every
# decode_reply case, the request encoders on every decode_request case the library sends.

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

@test "every decode_reply vector decodes as v1.json says, consuming only its frame" {
  local name max bytes outcome status body frame_len count=0 rc got_status consumed
  while IFS=$'\t' read -r name max bytes outcome status body frame_len; do
    read -r rc got_status _ consumed < <(decode "$bytes" "$max")
    case $outcome in
      reply)
        [[ $rc == 0 && $got_status == "$status" && $consumed == "$frame_len" ]] ||
          { echo "$name: rc $rc status $got_status consumed $consumed" >&2; return 1; }
        cmp "$body" "$BATS_TEST_TMPDIR/body" || { echo "$name: body differs" >&2; return 1; }
        ;;
      need_more)
        [[ $rc == "$BLINK_EXIT_CONNECTION" ]] || { echo "$name: rc $rc, want incomplete" >&2; return 1; }
        ;;
      invalid)
        [[ $rc == "$BLINK_EXIT_PROTOCOL" ]] || { echo "$name: rc $rc, want invalid" >&2; return 1; }
        ;;
    esac
    count=$((count + 1))
  done < <(python3 "$VECTORS_PY" decode-reply "$CASES")
  ((count == 9))
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
  local name command key ttl value bytes count=0 esc
  while IFS=$'\t' read -r name command key ttl value bytes; do
    _blink_set_key hex "$(hex_of "$key")"
    case $command in
      HELLO) _blink_encode_hello ;;
      AUTH)
        _blink_esc_hex "$(hex_of "$value")" esc
        _blink_encode_auth "$esc"
        ;;
      *) _blink_encode "${command,,}" "$ttl" "$value" "$(wc -c <"$value")" ;;
    esac >"$BATS_TEST_TMPDIR/encoded"
    cmp "$bytes" "$BATS_TEST_TMPDIR/encoded" || { echo "$name: encoding differs" >&2; return 1; }
    count=$((count + 1))
  done < <(python3 "$VECTORS_PY" requests "$CASES")
  ((count == 24))
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
