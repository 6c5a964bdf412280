#!/usr/bin/env bash
# bench.sh [SECONDS]: blink_get round trips per second against a fresh local server, for
# the record (not a timed test). Each call is a whole connection: timeout(1), a worker
# bash, HELLO, GET and a few coreutils. Uses $BLINK_STORE_BIN, else target/release.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${1:-5}
server=${BLINK_STORE_BIN:-$here/../../../target/release/blink-store}
work=$(mktemp -d)
env -u BLINK_TCP -u BLINK_UNIX_SOCKET -u BLINK_AUTH_TOKEN -u BLINK_AUTH_TOKEN_FILE \
  "$server" --tcp 127.0.0.1:0 >"$work/stdout" 2>/dev/null &
pid=$!
trap 'kill "$pid"; wait "$pid" || true; rm -rf -- "$work"' EXIT
until grep -q '^ready ' "$work/stdout"; do
  kill -0 "$pid" # the server died: stop here
  sleep 0.02
done
export BLINK_TCP
BLINK_TCP=$(sed -n 's/^ready tcp \([^,]*\).*/\1/p' "$work/stdout")
unset BLINK_UNIX_SOCKET BLINK_AUTH_TOKEN BLINK_AUTH_TOKEN_FILE

source "$here/blink.sh"
blink_set bench:key "a 32-byte value for the benchmark"
calls=0
end=$((SECONDS + seconds))
start=$EPOCHREALTIME
while ((SECONDS < end)); do
  blink_get bench:key >/dev/null
  calls=$((calls + 1))
done
now=$EPOCHREALTIME
elapsed_us=$((${now/./} - ${start/./}))
echo "blink_get: $calls calls in $((elapsed_us / 1000)) ms: $((calls * 1000000 / elapsed_us)) round trips/s"
