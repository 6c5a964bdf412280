# shellcheck shell=bash
# blink.sh: a Bash client library for Blink-Store, wire protocol v2 (protocol/SPEC.md), which
# also speaks to version-1 servers.
#
#   source blink.sh
#   blink_set greeting hello && blink_get greeting        # prints "hello"
#
# One call, one short connection: connect, HELLO 2 (pipelined with AUTH when a token is
# configured), check the negotiated version and keep the limits HELLO reports, refuse an
# oversized key or value, or a version-2 command the server does not have, before sending
# (SPEC §14), send the request, read its reply, close. The request waits for the HELLO
# reply rather than riding behind it: the limits and the version it reports decide whether
# the request may be sent at all, and "refused locally, nothing sent" is worth a round trip
# on a connection that lives for one call.
#
# Each exchange runs in a child bash under timeout(1), for two reasons. A call can then
# never outlive BLINK_TIMEOUT_S, whether it is stuck connecting (/dev/tcp has no connect
# timeout), writing to a server that stopped reading, or waiting for a reply; timeout(1)
# kills the whole child process group, so no helper outlives the call either. And the
# caller's shell options (set -euo pipefail, or none) never reach the protocol code, which
# sets its own. The public functions below only parse arguments and buffer a SET value.
#
# Requirements: bash >= 4.3, GNU coreutils (timeout, head, od, wc, mktemp) and, for
# BLINK_UNIX_SOCKET only, socat. GNU head -c never reads past its count, which is what
# lets it take one frame's body off a socket and leave the next frame in place.
#
# Configuration, from the environment at each call:
#   BLINK_TCP=host:port          TCP address (default 127.0.0.1:25465; [::1]:port for IPv6)
#   BLINK_UNIX_SOCKET=path       a Unix socket instead of TCP (takes precedence; needs socat)
#   BLINK_AUTH_TOKEN=secret      token for AUTH, or
#   BLINK_AUTH_TOKEN_FILE=path   a file holding it (trailing whitespace dropped, as the
#                                server does with --auth-token-file); not both
#   BLINK_TIMEOUT_S=2            deadline of one whole call in seconds (decimals allowed)
#   BLINK_PROTOCOL_VERSION=2     the version HELLO asks for: 2, or 1 to speak as a
#                                version-1 client (the v2 commands are then refused)
#
# Commands. Options come before the key; `--` ends them (for keys starting with "-").
# -x: the key is given as hex digits, for keys argv cannot carry: an argument cannot hold a
# NUL byte, so `blink_get -x 006b` reads the key "\0k".
#   blink_ping                          exit 0 when the server answers
#   blink_hello                         "name value" lines: version, auth_required, limits
#   blink_get [-x] KEY                  the value's exact bytes on stdout (nothing on failure)
#   blink_set [-x] [-t TTL_MS] KEY [VALUE]
#                                       VALUE, or all of stdin when VALUE is absent (binary
#                                       safe: blink_set key < file); TTL_MS 0 = no TTL
#   blink_del [-x] KEY                  exit 0 if a live key was removed, 1 if none
#   blink_expire [-x] KEY TTL_MS        new TTL from now; TTL_MS 0 makes the key persistent
#   blink_ttl [-x] KEY                  milliseconds left, or an empty output for no TTL
#   blink_stats                         the server's "name value" lines (SPEC §12)
#   blink_stat NAME                     one statistic's value; exit 1 if the server has none
# Version 2 (a version-1 server has none of them: exit 8, ERR_UNKNOWN_COMMAND, nothing sent):
#   blink_add [-x] [-t TTL_MS] KEY [VALUE]
#                                       as blink_set, only if KEY does not exist; exit 1 if it
#                                       does (EXISTS: nothing stored)
#   blink_replace [-x] [-t TTL_MS] KEY [VALUE]
#                                       as blink_set, only if KEY exists; exit 1 if it does not
#   blink_incr [-x] KEY [DELTA]         adds DELTA (default 1, a decimal i64, negative to
#                                       decrement); prints the new value; exit 9 if the value
#                                       is not an integer or the result would overflow
#   blink_append [-x] KEY [SUFFIX]      SUFFIX, or all of stdin; prints the new length
#   blink_flush                         removes every key
#   blink_scan [-x] [--prefix P] [--count N] [--cursor C]
#                                       the keys starting with P, one per line, in no order
#                                       (-x: P and the keys in hex). Without --cursor, the
#                                       whole walk, one call (connection, deadline) per page;
#                                       with it, one page: the next cursor on the first line
#                                       (0: the walk is complete), then the page's keys.
#                                       N is a hint of keys per page (default 1000).
#
# Exit codes (the BLINK_EXIT_* variables), one per class of SPEC §13. NOT_FOUND is a normal
# outcome, like grep's 1; every other nonzero code comes with one line on stderr:
#   "blink: <command>: <STATUS>: <detail>".
BLINK_EXIT_OK=0          # OK
BLINK_EXIT_NOT_FOUND=1   # NOT_FOUND: no such key (or statistic)
BLINK_EXIT_EXISTS=1      # EXISTS: blink_add found the key, nothing stored (shares NOT_FOUND's code)
BLINK_EXIT_USAGE=2       # bad arguments or configuration, socat missing; nothing was sent
BLINK_EXIT_TOO_LARGE=3   # key, value, item or frame too large (checked locally first): don't retry
BLINK_EXIT_AUTH=4        # ERR_AUTH_REQUIRED / ERR_AUTH_FAILED: a configuration error, don't loop
BLINK_EXIT_BUSY=5        # ERR_TOO_MANY_CONNECTIONS / ERR_BUSY / ERR_SHUTTING_DOWN: back off, retry
BLINK_EXIT_CONNECTION=6  # cannot connect, or closed before the reply (ERR_TIMEOUT too): outcome unknown
BLINK_EXIT_TIMEOUT=7     # no reply within BLINK_TIMEOUT_S: outcome unknown
BLINK_EXIT_PROTOCOL=8    # malformed or unexpected reply, ERR_MALFORMED, ERR_UNKNOWN_COMMAND (also a
                         # v2 command refused on a version-1 connection), ERR_UNSUPPORTED_VERSION,
                         # unknown status: a bug, a foreign server, or one too old
BLINK_EXIT_NOT_INTEGER=9 # ERR_NOT_INTEGER: blink_incr of a value that is not an integer, or an
                         # overflowing result; nothing changed: don't retry

# SPEC §3.1: no valid frame is longer than this, whatever the limits; a reply is checked
# against it until HELLO has reported the server's own max_frame_bytes.
_BLINK_FRAME_CEILING=268435456
# SPEC §11: before AUTH the server accepts frames of at most 4096 bytes, so a token is at
# most 4095.
_BLINK_PRE_AUTH_FRAME_BYTES=4096
_BLINK_DEFAULT_TCP=127.0.0.1:25465
_BLINK_DEFAULT_TIMEOUT_S=2
# SPEC §10: the version HELLO asks for, the highest this library speaks.
_BLINK_DEFAULT_VERSION=2
# SCAN's count when --count is absent: a hint of keys per page (SPEC §5.2). Each page costs a
# bash, a connection and a HELLO, so pages are large; the server still bounds its work per
# page (count / 8 slices of its index, at most 1024) and the reply to max_frame_bytes.
_BLINK_SCAN_COUNT_DEFAULT=1000
# timeout(1) exits 124 when it sent TERM, 137 when the child needed the KILL as well.
_BLINK_TIMEOUT_EXITS=" 124 137 "

# Status names and exit codes, indexed by status code (SPEC §6.2). EXISTS and ERR_NOT_INTEGER
# exist only on a connection at version 2 (_BLINK_V2_STATUSES); at version 1 they are unknown.
_BLINK_STATUS_NAME=(
  [0x00]=OK [0x01]=NOT_FOUND [0x02]=EXISTS [0x80]=ERR_UNKNOWN_COMMAND [0x81]=ERR_MALFORMED
  [0x82]=ERR_FRAME_TOO_LARGE [0x83]=ERR_KEY_TOO_LARGE [0x84]=ERR_VALUE_TOO_LARGE
  [0x85]=ERR_ITEM_TOO_LARGE [0x86]=ERR_AUTH_REQUIRED [0x87]=ERR_AUTH_FAILED
  [0x88]=ERR_UNSUPPORTED_VERSION [0x89]=ERR_TOO_MANY_CONNECTIONS [0x8A]=ERR_TIMEOUT
  [0x8B]=ERR_BUSY [0x8C]=ERR_SHUTTING_DOWN [0x8D]=ERR_NOT_INTEGER
)
_BLINK_STATUS_EXIT=(
  [0x00]=$BLINK_EXIT_OK [0x01]=$BLINK_EXIT_NOT_FOUND [0x02]=$BLINK_EXIT_EXISTS
  [0x80]=$BLINK_EXIT_PROTOCOL [0x81]=$BLINK_EXIT_PROTOCOL [0x82]=$BLINK_EXIT_TOO_LARGE
  [0x83]=$BLINK_EXIT_TOO_LARGE [0x84]=$BLINK_EXIT_TOO_LARGE [0x85]=$BLINK_EXIT_TOO_LARGE
  [0x86]=$BLINK_EXIT_AUTH [0x87]=$BLINK_EXIT_AUTH [0x88]=$BLINK_EXIT_PROTOCOL
  [0x89]=$BLINK_EXIT_BUSY [0x8A]=$BLINK_EXIT_CONNECTION [0x8B]=$BLINK_EXIT_BUSY
  [0x8C]=$BLINK_EXIT_BUSY [0x8D]=$BLINK_EXIT_NOT_INTEGER
)
_BLINK_V2_STATUSES=" 2 141 "
# The commands a connection may send only at version 2 (SPEC §5, §10).
_BLINK_V2_COMMANDS=" add replace incr append flush scan "

# The worker runs this file again, by absolute path, whatever the caller's cwd is later.
_BLINK_LIB=${BASH_SOURCE[0]}
[[ $_BLINK_LIB == /* ]] || _BLINK_LIB=$PWD/$_BLINK_LIB

# ---------------------------------------------------------------------------------------
# Public commands: parse arguments in the caller's shell, run the exchange in the worker.
# ---------------------------------------------------------------------------------------

# These three take no arguments; "$@" is passed on so that stray ones are refused.
# shellcheck disable=SC2120
blink_ping() { _blink_call ping '' 0 0 "$@"; }
# shellcheck disable=SC2120
blink_hello() { _blink_call hello '' 0 0 "$@"; }
# shellcheck disable=SC2120
blink_stats() { _blink_call stats '' 0 0 "$@"; }
blink_get() { _blink_call get x 1 1 "$@"; }
blink_del() { _blink_call del x 1 1 "$@"; }
blink_ttl() { _blink_call ttl x 1 1 "$@"; }
blink_expire() { _blink_call expire x 2 2 "$@"; }
blink_set() { _blink_call set xt: 1 2 "$@"; }
blink_add() { _blink_call add xt: 1 2 "$@"; }
blink_replace() { _blink_call replace xt: 1 2 "$@"; }
blink_incr() { _blink_call incr x 1 2 "$@"; }
blink_append() { _blink_call append x 1 2 "$@"; }
# shellcheck disable=SC2120
blink_flush() { _blink_call flush '' 0 0 "$@"; }

# blink_scan [-x] [--prefix PREFIX] [--count COUNT] [--cursor CURSOR]: a walk over the keys
# (SPEC §5.2). -p, -n and -c are the short forms; --name=value works too.
blink_scan() {
  local key_kind=text prefix='' count=$_BLINK_SCAN_COUNT_DEFAULT cursor='' name value
  while (($#)); do
    case $1 in
      -x) key_kind=hex ;;
      --) shift && break ;;
      -p | -n | -c | --prefix | --count | --cursor)
        (($# >= 2)) || { _blink_usage scan "$1 needs a value"; return; }
        name=$1 value=$2
        shift
        ;;
      --prefix=* | --count=* | --cursor=*) name=${1%%=*} value=${1#*=} ;;
      *) _blink_usage scan "unknown argument $1 (usage: blink_scan [-x] [--prefix P] [--count N] [--cursor C])" || return ;;
    esac
    case ${name-} in
      -p | --prefix) prefix=$value ;;
      -n | --count) count=$value ;;
      -c | --cursor) cursor=$value ;;
    esac
    name=''
    shift
  done
  (($# == 0)) || _blink_usage scan "unexpected argument $1" || return
  if [[ ! $count =~ ^(0|[1-9][0-9]{0,4})$ ]] || ((count > 65535)); then
    _blink_usage scan "COUNT must be a decimal from 0 to 65535: $count" || return
  fi
  if [[ -n $cursor ]] && ! _blink_is_u64 "$cursor"; then
    _blink_usage scan "CURSOR must be a decimal u64: $cursor" || return
  fi
  if [[ $key_kind == hex && ! $prefix =~ ^([0-9a-fA-F]{2})*$ ]]; then
    _blink_usage scan "-x wants an even number of hex digits: $prefix" || return
  fi
  if [[ -n $cursor ]]; then
    _blink_run scan "$key_kind" "$prefix" "$cursor" '' "$count"
    return
  fi
  _blink_scan_walk "$key_kind" "$prefix" "$count"
}

# _blink_scan_walk KEY_KIND PREFIX COUNT: pages from cursor 0 until the server returns 0, each
# page its own call (a connection and a deadline of its own: cursors stay valid across
# connections). The worker prints a page's keys and writes its next cursor to a file. A
# failed page ends the walk with its exit code, after the keys of the pages before it.
_blink_scan_walk() {
  local cursor=0 cursor_file rc=0
  cursor_file=$(mktemp "${TMPDIR:-/tmp}/blink-cursor.XXXXXX") || return "$BLINK_EXIT_USAGE"
  while :; do
    _blink_run scan "$1" "$2" "$cursor" "$cursor_file" "$3" || { rc=$? && break; }
    if ! IFS= read -r cursor <"$cursor_file" || [[ $cursor == 0 ]]; then break; fi
  done
  rm -f -- "$cursor_file"
  return "$rc"
}

# blink_stat NAME: one statistic's value, from blink_stats.
blink_stat() {
  if (($# != 1)); then
    _blink_error stat USAGE "usage: blink_stat NAME"
    return "$BLINK_EXIT_USAGE"
  fi
  local stats name value
  stats=$(_blink_call stats '' 0 0) || return
  while IFS=' ' read -r name value; do
    if [[ $name == "$1" ]]; then
      printf '%s\n' "$value"
      return "$BLINK_EXIT_OK"
    fi
  done <<<"$stats"
  return "$BLINK_EXIT_NOT_FOUND"
}

# _blink_call COMMAND OPTIONS MIN_ARGS MAX_ARGS ARGS...: checks the arguments, buffers a SET,
# ADD or REPLACE value or an APPEND suffix in a temp file, then runs the worker under the
# deadline. OPTIONS is the getopts spec of COMMAND (x: hex key, t: TTL).
# Helpers that store into a variable named by the caller (printf -v) give their own locals
# names no caller uses, since bash scopes are dynamic.
_blink_call() {
  local cmd=$1 allowed=$2 min=$3 max=$4
  shift 4
  local key_kind=text ttl_ms=0 opt OPTIND=1
  while getopts ":$allowed" opt; do
    case $opt in
      x) key_kind=hex ;;
      t) ttl_ms=$OPTARG ;;
      *) _blink_usage "$cmd" "unknown option -$OPTARG" || return ;;
    esac
  done
  shift $((OPTIND - 1))
  if (($# < min || $# > max)); then
    _blink_usage "$cmd" "expected $min to $max arguments after the options, got $#" || return
  fi
  # The number the request carries: a TTL, or INCR's delta.
  local number=$ttl_ms
  if [[ $cmd == expire ]]; then number=$2; fi
  if [[ $cmd == incr ]]; then
    number=${2-1}
    _blink_is_i64 "$number" || _blink_usage "$cmd" "DELTA must be a decimal i64: $number" || return
  else
    _blink_is_u64 "$number" || _blink_usage "$cmd" "TTL_MS must be a decimal u64: $number" || return
  fi
  if [[ $key_kind == hex && ! $1 =~ ^([0-9a-fA-F]{2})*$ ]]; then
    _blink_usage "$cmd" "-x wants an even number of hex digits: $1" || return
  fi
  if [[ $_BLINK_VALUE_COMMANDS != *" $cmd "* ]]; then
    _blink_run "$cmd" "$key_kind" "${1-}" "$number" ''
    return
  fi
  local value_file rc=0
  value_file=$(mktemp "${TMPDIR:-/tmp}/blink-value.XXXXXX") || return "$BLINK_EXIT_USAGE"
  _blink_buffer_value "$value_file" "$@" && _blink_run "$cmd" "$key_kind" "$1" "$number" "$value_file" || rc=$?
  rm -f -- "$value_file"
  return "$rc"
}

# The commands whose value (APPEND: suffix) is the rest of the frame, from VALUE or stdin.
_BLINK_VALUE_COMMANDS=" set add replace append "

# _blink_buffer_value FILE KEY [VALUE]: writes VALUE, or stdin, to FILE. Reading stdin
# happens here, outside the deadline: a slow producer is the caller's business. At most one
# byte past the protocol ceiling is kept, so an endless stdin cannot fill the disk.
_blink_buffer_value() {
  if (($# == 3)); then
    printf '%s' "$3" >"$1"
  else
    head -c $((_BLINK_FRAME_CEILING + 1)) >"$1"
  fi
}

# _blink_run COMMAND KEY_KIND KEY NUMBER FILE [COUNT]: the worker under the deadline (see
# _blink_worker for the arguments).
_blink_run() {
  local timeout_s=${BLINK_TIMEOUT_S:-$_BLINK_DEFAULT_TIMEOUT_S} rc=0
  if [[ ! $timeout_s =~ ^[0-9]*\.?[0-9]+$ || $timeout_s =~ ^[0.]*$ ]]; then
    _blink_usage "$1" "BLINK_TIMEOUT_S must be a positive number of seconds: $timeout_s"
    return
  fi
  LC_ALL=C timeout -k 1 "$timeout_s" "$BASH" "$_BLINK_LIB" --worker "$@" || rc=$?
  if [[ $_BLINK_TIMEOUT_EXITS == *" $rc "* ]]; then
    _blink_error "$1" TIMEOUT "no reply within ${timeout_s}s (outcome unknown)"
    return "$BLINK_EXIT_TIMEOUT"
  fi
  return "$rc"
}

# _blink_is_u64 STRING: a decimal u64 without sign or leading zeros (SPEC §9 TTLs). A
# twenty-digit one must not exceed 2^64 - 1 = 1 8446744073 709551615, compared in parts
# that fit bash's signed 64-bit arithmetic (10# reads leading zeros as decimal).
_blink_is_u64() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,19})$ ]] || return 1
  ((${#1} < 20)) && return 0
  local high=$((10#${1:1:10})) low=$((10#${1:11}))
  [[ ${1:0:1} == 1 ]] && ((high < 8446744073 || (high == 8446744073 && low <= 709551615)))
}

# _blink_is_i64 STRING: a decimal i64 (INCR's delta): an optional "-", no "+" or leading
# zeros, within -2^63 .. 2^63 - 1 = 922337203685477580 7, a nineteen-digit one compared in
# parts that fit bash's arithmetic.
_blink_is_i64() {
  [[ $1 =~ ^-?(0|[1-9][0-9]{0,18})$ && $1 != -0 ]] || return 1
  local digits=${1#-} last_max=7
  ((${#digits} < 19)) && return 0
  [[ $1 == -* ]] && last_max=8
  local high=$((10#${digits:0:18})) last=${digits:18}
  ((high < 922337203685477580 || (high == 922337203685477580 && last <= last_max)))
}

_blink_error() {
  printf 'blink: %s: %s: %s\n' "$1" "$2" "$3" >&2
}

# Always returns BLINK_EXIT_USAGE, so callers can write `_blink_usage ... || return`.
_blink_usage() {
  _blink_error "$1" USAGE "$2"
  return "$BLINK_EXIT_USAGE"
}

# ---------------------------------------------------------------------------------------
# Wire format (SPEC §3, §5, §6): request encoders and the reply decoder. They write to
# stdout and read from the fd in _blink_rfd, so tests can drive them with files.
# ---------------------------------------------------------------------------------------

# _blink_esc_u32 N VAR / _blink_esc_u16 N VAR: N big-endian, as printf %b escapes in VAR.
_blink_esc_u32() {
  printf -v "$2" '\\x%02x\\x%02x\\x%02x\\x%02x' \
    $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}
_blink_esc_u16() {
  printf -v "$2" '\\x%02x\\x%02x' $(($1 >> 8 & 255)) $(($1 & 255))
}

# _blink_esc_hex HEX VAR: hex digits as printf %b escapes (hex keys, tokens, u64 fields).
_blink_esc_hex() {
  local _eh_esc='' _eh_i
  for ((_eh_i = 0; _eh_i < ${#1}; _eh_i += 2)); do _eh_esc+="\\x${1:_eh_i:2}"; done
  printf -v "$2" '%s' "$_eh_esc"
}

# _blink_esc_u64 DECIMAL VAR: a validated decimal u64 (bash's printf converts it unsigned), or
# i64 (INCR's delta: printf writes a negative one in two's complement, as SPEC §5 wants).
_blink_esc_u64() {
  local _eu_hex
  printf -v _eu_hex '%016x' "$1"
  _blink_esc_hex "$_eu_hex" "$2"
}

# The key of the current call (SCAN: its prefix): its bytes as a printf format and argument
# (text keys go out with %s untouched, hex keys as %b escapes), its length in bytes, and its
# kind, which is also how SCAN prints the keys it finds.
_blink_key_fmt=%s _blink_key_arg='' _blink_key_len=0 _blink_key_kind=text

# _blink_set_key KIND KEY: fills the four variables above. Runs under LC_ALL=C, so
# ${#KEY} counts bytes.
_blink_set_key() {
  _blink_key_kind=$1
  if [[ $1 == hex ]]; then
    _blink_key_fmt=%b _blink_key_len=$((${#2} / 2))
    _blink_esc_hex "$2" _blink_key_arg
  else
    _blink_key_fmt=%s _blink_key_len=${#2} _blink_key_arg=$2
  fi
}

# _blink_write_frame PAYLOAD_LEN OPCODE_AND_FIELDS_ESC [WITH_KEY]: the frame header and
# fixed fields, then the current key when WITH_KEY is "key" (SPEC §5).
_blink_write_frame() {
  local len_esc
  _blink_esc_u32 "$1" len_esc
  if [[ ${3-} == key ]]; then
    printf "%b$_blink_key_fmt" "$len_esc$2" "$_blink_key_arg"
  else
    printf '%b' "$len_esc$2"
  fi
}

# _blink_encode COMMAND NUMBER FILE FILE_LEN [COUNT]: the request frame for COMMAND and the
# current key on stdout. NUMBER is the TTL (SET, ADD, REPLACE, EXPIRE), the delta (INCR) or
# the cursor (SCAN); FILE holds the value or suffix, FILE_LEN bytes; COUNT is SCAN's.
_blink_encode() {
  local key_len_esc num_esc count_esc
  _blink_esc_u16 "$_blink_key_len" key_len_esc
  case $1 in
    ping) _blink_write_frame 1 '\x01' ;;
    stats) _blink_write_frame 1 '\x20' ;;
    flush) _blink_write_frame 1 '\x21' ;;
    get) _blink_write_frame $((3 + _blink_key_len)) "\\x10$key_len_esc" key ;;
    del) _blink_write_frame $((3 + _blink_key_len)) "\\x12$key_len_esc" key ;;
    ttl) _blink_write_frame $((3 + _blink_key_len)) "\\x14$key_len_esc" key ;;
    expire | incr)
      _blink_esc_u64 "$2" num_esc
      _blink_write_frame $((11 + _blink_key_len)) "${_BLINK_OPCODE_ESC[$1]}$num_esc$key_len_esc" key
      ;;
    set | add | replace)
      _blink_esc_u64 "$2" num_esc
      _blink_write_frame $((11 + _blink_key_len + $4)) "${_BLINK_OPCODE_ESC[$1]}$num_esc$key_len_esc" key &&
        cat -- "$3"
      ;;
    append) _blink_write_frame $((3 + _blink_key_len + $4)) "\\x18$key_len_esc" key && cat -- "$3" ;;
    scan)
      _blink_esc_u64 "$2" num_esc
      _blink_esc_u16 "$5" count_esc
      _blink_write_frame $((11 + _blink_key_len)) "\\x22$num_esc$count_esc" key
      ;;
  esac
}

# The opcodes of the commands that share a layout (SPEC §5), as printf escapes.
declare -gA _BLINK_OPCODE_ESC=(
  [set]='\x11' [add]='\x15' [replace]='\x16' [expire]='\x13' [incr]='\x17'
)

# _blink_encode_hello VERSION / _blink_encode_auth TOKEN_ESC: the handshake frames (SPEC §10,
# §11).
_blink_encode_hello() {
  local version_esc
  printf -v version_esc '\\x%02x' "$1"
  _blink_write_frame 2 "\\x02$version_esc"
}
_blink_encode_auth() { _blink_write_frame $((1 + ${#1} / 4)) "\\x03$1"; }

# The reply being read: its status code and body length.
_blink_status=0 _blink_body_len=0

# _blink_read_byte VAR: one byte from _blink_rfd as a number. `read -d ''` stops at a NUL
# and succeeds with an empty string, which is the byte 0; at EOF it fails.
_blink_read_byte() {
  local _rb_c
  IFS= read -r -d '' -n 1 -u "$_blink_rfd" _rb_c || return 1
  printf -v "$1" '%d' "'$_rb_c"
}

# _blink_read_header MAX_FRAME_BYTES: reads a reply's length and status into _blink_status
# and _blink_body_len. Incremental, as SPEC §13 asks: a first byte of 0x20 or more is
# refused on that byte alone, a zero or oversized length on the header alone, before any of
# the body is read. Returns 0, BLINK_EXIT_CONNECTION at EOF, or BLINK_EXIT_PROTOCOL.
_blink_read_header() {
  local b0 b1 b2 b3 len
  _blink_read_byte b0 || return "$BLINK_EXIT_CONNECTION"
  if ((b0 >= 0x20)); then
    _blink_worker_error PROTOCOL "$(printf 'reply starts with byte 0x%02x: not a Blink frame' "$b0")"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_read_byte b1 && _blink_read_byte b2 && _blink_read_byte b3 || return "$BLINK_EXIT_CONNECTION"
  len=$((b0 << 24 | b1 << 16 | b2 << 8 | b3))
  if ((len == 0 || len > $1)); then
    _blink_worker_error PROTOCOL "reply length $len is outside 1..$1"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_read_byte _blink_status || return "$BLINK_EXIT_CONNECTION"
  _blink_body_len=$((len - 1))
}

# _blink_read_hex N VAR: the next N body bytes as hex digits (small fixed bodies).
_blink_read_hex() {
  local _rh_hex='' _rh_byte _rh_i
  for ((_rh_i = 0; _rh_i < $1; _rh_i++)); do
    _blink_read_byte _rh_byte || return "$BLINK_EXIT_CONNECTION"
    printf -v _rh_hex '%s%02x' "$_rh_hex" "$_rh_byte"
  done
  printf -v "$2" '%s' "$_rh_hex"
}

# _blink_read_body FILE: copies the current reply's body, exactly, into FILE.
_blink_read_body() {
  local got
  head -c "$_blink_body_len" <&"$_blink_rfd" >"$1" && got=$(wc -c <"$1") || return "$BLINK_EXIT_CONNECTION"
  ((got == _blink_body_len)) || return "$BLINK_EXIT_CONNECTION"
}

# ---------------------------------------------------------------------------------------
# The worker: one call's connection, handshake and exchange. It runs in its own bash (see
# the top of this file) with LC_ALL=C.
# ---------------------------------------------------------------------------------------

_blink_cmd=worker _blink_rfd=0 _blink_wfd=1 _blink_tmp=''
# Limits from HELLO (SPEC §4), and whether this connection still has to AUTH.
_blink_max_frame=$_BLINK_FRAME_CEILING _blink_max_key=0 _blink_max_value=0 _blink_auth_pending=0
# The version HELLO asks for, and the one its reply negotiated (version 1 until then, SPEC §10).
_blink_asked_version=$_BLINK_DEFAULT_VERSION _blink_version=1

_blink_worker_error() { _blink_error "$_blink_cmd" "$1" "$2"; }

# _blink_worker COMMAND KEY_KIND KEY NUMBER FILE [COUNT]: KEY is SCAN's prefix too; NUMBER is
# the TTL, INCR's delta or SCAN's cursor; FILE holds the value or APPEND's suffix, or is where
# a walking SCAN writes its next cursor ('' prints it before the keys); COUNT is SCAN's.
_blink_worker() {
  set -uo pipefail
  _blink_cmd=$1
  # A write to a peer that closed must fail as an error we report, not kill us.
  trap '' PIPE
  trap '_blink_cleanup' EXIT
  local token_esc=''
  _blink_token_esc token_esc || return
  _blink_protocol_version || return
  _blink_connect || return
  _blink_handshake "$token_esc" || return
  _blink_set_key "$2" "$3"
  case $1 in
    hello) _blink_print_hello ;;
    *) _blink_exchange "$1" "$4" "$5" "${6-}" ;;
  esac
}

# _blink_protocol_version: the version HELLO asks for, from BLINK_PROTOCOL_VERSION.
_blink_protocol_version() {
  _blink_asked_version=${BLINK_PROTOCOL_VERSION:-$_BLINK_DEFAULT_VERSION}
  [[ $_blink_asked_version == [12] ]] && return 0
  _blink_worker_error USAGE "BLINK_PROTOCOL_VERSION must be 1 or 2, not '$_blink_asked_version'"
  return "$BLINK_EXIT_USAGE"
}

_blink_cleanup() {
  if [[ -n $_blink_tmp ]]; then rm -f -- "$_blink_tmp"; fi
  if [[ -n ${_BLINK_SOCAT_PID-} ]]; then kill "$_BLINK_SOCAT_PID" 2>/dev/null; fi
  return 0
}

# _blink_token_esc VAR: the configured token as printf escapes, or empty for none.
_blink_token_esc() {
  local _te_token=${BLINK_AUTH_TOKEN-} _te_file=${BLINK_AUTH_TOKEN_FILE-} _te_hex
  if [[ -n $_te_token && -n $_te_file ]]; then
    _blink_worker_error USAGE "set either BLINK_AUTH_TOKEN or BLINK_AUTH_TOKEN_FILE, not both"
    return "$BLINK_EXIT_USAGE"
  elif [[ -n $_te_file ]]; then
    if ! _te_hex=$(od -An -v -tx1 -- "$_te_file" 2>/dev/null); then
      _blink_worker_error USAGE "cannot read BLINK_AUTH_TOKEN_FILE $_te_file"
      return "$BLINK_EXIT_USAGE"
    fi
  elif [[ -n $_te_token ]]; then
    _te_hex=$(printf '%s' "$_te_token" | od -An -v -tx1)
  else
    printf -v "$1" ''
    return 0
  fi
  _te_hex=${_te_hex//[$' \n']/}
  if [[ -n $_te_file ]]; then
    # Trailing ASCII whitespace (space, \t, \n, \f, \r) is dropped, as the server does.
    while [[ $_te_hex =~ (20|09|0a|0c|0d)$ ]]; do _te_hex=${_te_hex:0:-2}; done
  fi
  if ((${#_te_hex} == 0 || ${#_te_hex} / 2 >= _BLINK_PRE_AUTH_FRAME_BYTES)); then
    _blink_worker_error USAGE "the auth token must be 1 to $((_BLINK_PRE_AUTH_FRAME_BYTES - 1)) bytes"
    return "$BLINK_EXIT_USAGE"
  fi
  _blink_esc_hex "$_te_hex" "$1"
}

# _blink_connect: opens the configured transport; replies are read from _blink_rfd and
# requests written to _blink_wfd.
_blink_connect() {
  if [[ -n ${BLINK_UNIX_SOCKET-} ]]; then
    _blink_connect_unix "$BLINK_UNIX_SOCKET"
  else
    _blink_connect_tcp "${BLINK_TCP:-$_BLINK_DEFAULT_TCP}"
  fi
}

# _blink_connect_tcp HOST:PORT, through bash's /dev/tcp (brackets allowed around IPv6).
_blink_connect_tcp() {
  local host=${1%:*} port=${1##*:}
  host=${host#\[} host=${host%\]}
  if [[ $1 != *:* || -z $host || ! $port =~ ^[0-9]+$ ]]; then
    _blink_worker_error USAGE "BLINK_TCP must be host:port, not '$1'"
    return "$BLINK_EXIT_USAGE"
  fi
  if ! { exec {_blink_rfd}<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    _blink_worker_error CONNECTION "cannot connect to tcp $1"
    return "$BLINK_EXIT_CONNECTION"
  fi
  _blink_wfd=$_blink_rfd
}

# _blink_connect_unix PATH, through a socat coprocess: bash cannot open a Unix socket.
_blink_connect_unix() {
  if ! command -v socat >/dev/null; then
    _blink_worker_error USAGE "BLINK_UNIX_SOCKET needs socat, which is not installed (apt-get install socat)"
    return "$BLINK_EXIT_USAGE"
  fi
  # socat parses these characters in an address; quoting them differs between versions.
  if [[ $1 == *[,\\!\'\"\(\)\[\]\{\}]* ]]; then
    _blink_worker_error USAGE "socat cannot address a path holding any of , \\ ! ' \" ( ) [ ] { }: $1"
    return "$BLINK_EXIT_USAGE"
  fi
  if [[ ! -S $1 ]]; then
    _blink_worker_error CONNECTION "no Unix socket at $1"
    return "$BLINK_EXIT_CONNECTION"
  fi
  coproc _BLINK_SOCAT { exec socat - "UNIX-CONNECT:$1" 2>/dev/null; }
  _blink_rfd=${_BLINK_SOCAT[0]} _blink_wfd=${_BLINK_SOCAT[1]}
}

# _blink_handshake TOKEN_ESC: HELLO, pipelined with AUTH when there is a token (SPEC §14).
# A failed write is not checked here: whatever the server sent before it closed (say
# ERR_TOO_MANY_CONNECTIONS) is still read and reported.
_blink_handshake() {
  {
    _blink_encode_hello "$_blink_asked_version"
    if [[ -n $1 ]]; then _blink_encode_auth "$1"; fi
  } 1>&"$_blink_wfd" 2>/dev/null
  _blink_read_hello || return
  if [[ -n $1 ]]; then
    _blink_read_reply AUTH || return
    ((_blink_status == 0)) || _blink_unexpected AUTH || return
    _blink_expect_empty AUTH || return
    _blink_auth_pending=0
  fi
}

# _blink_read_hello: checks the negotiated version and keeps the limits (SPEC §6.3, §10). The
# reply's version must be one this library speaks and at most the one asked for.
_blink_read_hello() {
  local hex version
  _blink_read_reply HELLO || return
  ((_blink_status == 0)) || _blink_unexpected HELLO || return
  if ((_blink_body_len != 14)); then
    _blink_worker_error PROTOCOL "HELLO reply body is $_blink_body_len bytes, not 14"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_read_hex 14 hex || _blink_closed_during HELLO || return
  version=$((16#${hex:0:2}))
  if ((version < 1 || version > _blink_asked_version)); then
    _blink_worker_error PROTOCOL "server negotiated protocol version $version in reply to HELLO $_blink_asked_version; this client speaks 1 and 2"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_version=$version
  _blink_auth_pending=$((16#${hex:2:2} & 1))
  _blink_max_frame=$((16#${hex:4:8})) _blink_max_key=$((16#${hex:12:8}))
  _blink_max_value=$((16#${hex:20:8}))
  ((_blink_max_frame <= _BLINK_FRAME_CEILING)) || _blink_max_frame=$_BLINK_FRAME_CEILING
}

# _blink_exchange COMMAND NUMBER FILE COUNT: checks, sends and answers one request.
_blink_exchange() {
  local value_len=0
  if [[ $_BLINK_VALUE_COMMANDS == *" $1 "* ]]; then value_len=$(wc -c <"$3"); fi
  _blink_check_request "$1" "$value_len" || return
  # As in the handshake, a failed write shows up as the reply the server sent, or as EOF.
  _blink_encode "$1" "$2" "$3" "$value_len" "$4" 1>&"$_blink_wfd" 2>/dev/null
  _blink_read_reply "$1" || return
  case $1:$_blink_status in
    get:0 | stats:0) _blink_copy_body ;;
    ttl:0) _blink_print_ttl ;;
    incr:0) _blink_print_u64_body INCR d ;;
    append:0) _blink_print_u64_body APPEND u ;;
    scan:0) _blink_print_scan "$3" ;;
    *:0) _blink_expect_empty "$1" ;;
    get:1 | del:1 | expire:1 | ttl:1 | replace:1 | add:2)
      _blink_expect_empty "$1" && return "$BLINK_EXIT_NOT_FOUND"
      ;;
    *) _blink_unexpected "$1" ;;
  esac
}

# _blink_check_request COMMAND VALUE_LEN: refuses, before sending, what the server would
# refuse (SPEC §4, §10, §11): a version-2 command on a version-1 connection, too large for
# the HELLO limits, or needing an AUTH we cannot send. A SCAN prefix is not a key: only the
# frame limit applies to it.
_blink_check_request() {
  local payload
  case $1 in
    ping | stats | flush) payload=1 ;;
    set | add | replace) payload=$((11 + _blink_key_len + $2)) ;;
    expire | incr | scan) payload=$((11 + _blink_key_len)) ;;
    append) payload=$((3 + _blink_key_len + $2)) ;;
    *) payload=$((3 + _blink_key_len)) ;;
  esac
  if ((_blink_version < 2)) && [[ $_BLINK_V2_COMMANDS == *" $1 "* ]]; then
    _blink_worker_error ERR_UNKNOWN_COMMAND \
      "the connection negotiated protocol version $_blink_version, which has no ${1^^} (not sent)"
    return "$BLINK_EXIT_PROTOCOL"
  elif ((_blink_auth_pending)) && [[ $1 != ping ]]; then
    _blink_worker_error ERR_AUTH_REQUIRED "the server wants a token: set BLINK_AUTH_TOKEN or BLINK_AUTH_TOKEN_FILE"
  elif [[ $1 != scan ]] && ((_blink_key_len > _blink_max_key)); then
    _blink_too_large ERR_KEY_TOO_LARGE "key of $_blink_key_len bytes" "$_blink_max_key"
  elif [[ $_BLINK_VALUE_COMMANDS == *" $1 "* ]] && (($2 > _blink_max_value)); then
    _blink_too_large ERR_VALUE_TOO_LARGE "${_BLINK_VALUE_NAME[$1]} of $2 bytes" "$_blink_max_value"
  elif ((payload > _blink_max_frame)); then
    _blink_too_large ERR_FRAME_TOO_LARGE "request of $payload bytes" "$_blink_max_frame"
  else
    return 0
  fi
  ((_blink_auth_pending)) && return "$BLINK_EXIT_AUTH"
  return "$BLINK_EXIT_TOO_LARGE"
}

declare -gA _BLINK_VALUE_NAME=([set]=value [add]=value [replace]=value [append]=suffix)

_blink_too_large() {
  _blink_worker_error "$1" "$2 is over the server's limit of $3 (not sent)"
}

# _blink_read_reply WHAT: reads a reply header. Returns 0 for an outcome (OK, NOT_FOUND, and
# EXISTS at version 2), its code in _blink_status and its body still to read; for an error
# status it reports the status with the server's message and returns its exit code (SPEC §13).
_blink_read_reply() {
  local rc=0
  _blink_read_header "$_blink_max_frame" || rc=$?
  if ((rc == BLINK_EXIT_CONNECTION)); then _blink_closed_during "$1"; fi
  ((rc == 0)) || return "$rc"
  if ((_blink_status <= 1 || (_blink_status == 2 && _blink_version >= 2))); then return 0; fi
  _blink_reply_error
}

# _blink_reply_error: an error or unknown status (a version-2 status is unknown on a version-1
# connection, SPEC §6.2); its body is a message to display, never to parse (the first 256
# bytes, printable ones only).
_blink_reply_error() {
  local name=${_BLINK_STATUS_NAME[_blink_status]-} message
  message=$(head -c $((_blink_body_len < 256 ? _blink_body_len : 256)) <&"$_blink_rfd" | tr -c '[:print:]' '?')
  if ((_blink_version < 2)) && [[ $_BLINK_V2_STATUSES == *" $_blink_status "* ]]; then name=''; fi
  if [[ -z $name ]] || ((_blink_status < 0x80)); then
    _blink_worker_error PROTOCOL "$(printf 'unknown status 0x%02x: %s' "$_blink_status" "$message")"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_worker_error "$name" "${message:-(no message)}"
  return "${_BLINK_STATUS_EXIT[_blink_status]}"
}

# Always returns BLINK_EXIT_CONNECTION.
_blink_closed_during() {
  _blink_worker_error CONNECTION "connection closed before the end of the $1 reply (outcome unknown)"
  return "$BLINK_EXIT_CONNECTION"
}

# Always returns BLINK_EXIT_PROTOCOL.
_blink_unexpected() {
  _blink_worker_error PROTOCOL "$(printf 'unexpected %s (status 0x%02x) to %s' \
    "${_BLINK_STATUS_NAME[_blink_status]}" "$_blink_status" "$1")"
  return "$BLINK_EXIT_PROTOCOL"
}

# _blink_expect_empty WHAT: the replies that carry no body (SPEC §6.3).
_blink_expect_empty() {
  ((_blink_body_len == 0)) && return 0
  _blink_worker_error PROTOCOL "$1 reply has an unexpected $_blink_body_len-byte body"
  return "$BLINK_EXIT_PROTOCOL"
}

# _blink_copy_body: the body to stdout, only once all of it has arrived.
_blink_copy_body() {
  if [[ -z $_blink_tmp ]]; then _blink_tmp=$(mktemp "${TMPDIR:-/tmp}/blink-reply.XXXXXX") || return; fi
  _blink_read_body "$_blink_tmp" || _blink_closed_during "$_blink_cmd" || return
  cat -- "$_blink_tmp"
}

# _blink_print_ttl: remaining_ms as an unsigned decimal (SPEC §9: it may exceed 2^63),
# or nothing for a key without a TTL.
_blink_print_ttl() {
  local hex
  case $_blink_body_len in
    0) return 0 ;;
    8) _blink_read_hex 8 hex || _blink_closed_during TTL || return ;;
    *)
      _blink_worker_error PROTOCOL "TTL reply body is $_blink_body_len bytes, not 0 or 8"
      return "$BLINK_EXIT_PROTOCOL"
      ;;
  esac
  printf '%u\n' "0x$hex"
}

# _blink_print_u64_body WHAT FORMAT: an 8-byte body as a decimal, signed (d: INCR's i64, which
# bash's arithmetic reads in two's complement) or unsigned (u: APPEND's u64).
_blink_print_u64_body() {
  local hex
  if ((_blink_body_len != 8)); then
    _blink_worker_error PROTOCOL "$1 reply body is $_blink_body_len bytes, not 8"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  _blink_read_hex 8 hex || _blink_closed_during "$1" || return
  if [[ $2 == d ]]; then
    printf '%d\n' "$((16#$hex))"
  else
    printf '%u\n' "0x$hex"
  fi
}

# _blink_print_scan CURSOR_FILE: a SCAN page (SPEC §6.3): the next cursor into CURSOR_FILE, or
# first on stdout when there is none, then each key on a line of its own (in hex with -x).
# Nothing is printed unless the whole body arrived and its keys fill it exactly.
_blink_print_scan() {
  local hex cursor keys='' pos len key_esc
  if ((_blink_body_len < 8)); then
    _blink_worker_error PROTOCOL "SCAN reply body is $_blink_body_len bytes, shorter than its 8-byte cursor"
    return "$BLINK_EXIT_PROTOCOL"
  fi
  if [[ -z $_blink_tmp ]]; then _blink_tmp=$(mktemp "${TMPDIR:-/tmp}/blink-reply.XXXXXX") || return; fi
  _blink_read_body "$_blink_tmp" || _blink_closed_during SCAN || return
  hex=$(od -An -v -tx1 <"$_blink_tmp") && hex=${hex//[$' \n']/}
  printf -v cursor '%u' "0x${hex:0:16}"
  for ((pos = 16; pos < ${#hex}; pos += 4 + 2 * len)); do
    len=$((${#hex} - pos >= 4 ? 16#${hex:pos:4} : -1))
    if ((len < 0 || 2 * len > ${#hex} - pos - 4)); then
      _blink_worker_error PROTOCOL "SCAN reply keys do not fill its body (at byte $((pos / 2)))"
      return "$BLINK_EXIT_PROTOCOL"
    fi
    if [[ $_blink_key_kind == hex ]]; then
      keys+=${hex:pos+4:2*len}'\n'
    else
      _blink_esc_hex "${hex:pos+4:2*len}" key_esc
      keys+=$key_esc'\n'
    fi
  done
  if [[ -n $1 ]]; then
    printf '%s\n' "$cursor" >"$1" || return "$BLINK_EXIT_USAGE"
  else
    printf '%s\n' "$cursor"
  fi
  printf '%b' "$keys"
}

_blink_print_hello() {
  printf 'version %d\nauth_required %d\nmax_frame_bytes %d\nmax_key_bytes %d\nmax_value_bytes %d\n' \
    "$_blink_version" "$_blink_auth_pending" "$_blink_max_frame" "$_blink_max_key" "$_blink_max_value"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  if [[ ${1-} == --worker ]]; then
    shift
    _blink_worker "$@"
    exit
  fi
  echo "blink.sh is a library: source it, then call blink_get, blink_set, ... (see README.md)" >&2
  exit "$BLINK_EXIT_USAGE"
fi
