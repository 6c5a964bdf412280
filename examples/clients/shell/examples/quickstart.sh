#!/usr/bin/env bash
# quickstart.sh [UNIX_SOCKET]: the README's quickstart, run by tests/examples.bats against
# a real server; the README shows the parts between the ANCHOR lines. With UNIX_SOCKET, it
# also reads a key back through that socket.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# ANCHOR: configure
source "$here/../blink.sh"
export BLINK_TCP=${BLINK_TCP:-127.0.0.1:25465} # or: export BLINK_UNIX_SOCKET=/run/blink.sock
export BLINK_TIMEOUT_S=2                        # a whole call, connect to reply
# ANCHOR_END: configure

# ANCHOR: get_set
blink_set greeting "hello, world"
greeting=$(blink_get greeting)
echo "$greeting"                              # hello, world
# ANCHOR_END: get_set

# ANCHOR: ttl
blink_set -t 30000 session:42 alice           # expires in 30 s
blink_ttl session:42                          # milliseconds left, e.g. 29998
blink_expire session:42 0                     # no TTL any more: blink_ttl prints nothing
# ANCHOR_END: ttl

# ANCHOR: binary
head -c 65536 /dev/urandom >"$work/blob"
blink_set blob <"$work/blob"                  # the value is all of stdin
blink_get blob >"$work/copy"                  # the exact bytes, or nothing on failure
cmp "$work/blob" "$work/copy" && echo "blob round-tripped"
blink_set -x 00ff k-with-nul                  # -x: a key given in hex, NUL bytes and all
# ANCHOR_END: binary

# ANCHOR: exit_codes
if value=$(blink_get user:7); then
  echo "cached: $value"
else
  case $? in
    "$BLINK_EXIT_NOT_FOUND") echo "user:7 is not cached" ;;
    "$BLINK_EXIT_BUSY" | "$BLINK_EXIT_CONNECTION" | "$BLINK_EXIT_TIMEOUT") echo "cache unavailable, carrying on" ;;
    *) exit 1 ;; # too large, auth, protocol or usage: a bug to fix, not to retry
  esac
fi
# ANCHOR_END: exit_codes

# ANCHOR: unix
if [[ -n ${1-} ]]; then
  # BLINK_UNIX_SOCKET takes precedence over BLINK_TCP; socat carries the bytes.
  echo "$(BLINK_UNIX_SOCKET=$1 blink_get greeting) (over the Unix socket)"
fi
# ANCHOR_END: unix

# ANCHOR: version_2
if blink_add -t 30000 lock:report "$$"; then  # stored only if the key is new: exit 1 if it exists
  echo "lock taken"
fi
blink_incr visits                             # 1: a missing counter starts from 0
blink_incr visits 10                          # 11 (a negative delta decrements)
blink_append log "started;"                   # 8: the value's new length
blink_set user:1 alice && blink_set user:2 bob
blink_scan --prefix user: | sort              # user:1, user:2: every key under the prefix, once
# ANCHOR_END: version_2
