#!/usr/bin/env bash
# cli-cache-command.sh TTL_MS KEY COMMAND [ARGS...]: cache-command.sh with blink-cli, the
# Rust client's one-shot binary, instead of the bash library. blink-cli is $BLINK_CLI_BIN
# or the first on PATH; it reaches the server from BLINK_UNIX_SOCKET or BLINK_TCP.
# Its exit codes: 0 OK, 1 not found, anything else an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli.bash"

if (($# < 3)); then
  echo "usage: cli-cache-command.sh TTL_MS KEY COMMAND [ARGS...]" >&2
  exit 2
fi
ttl_ms=$1 key=$2
shift 2
rc=0
value=$(blink_cli get "$key" 2>/dev/null) || rc=$?
case $rc in
  0) printf '%s\n' "$value" ;;
  1)
    value=$("$@")
    blink_cli set "$key" "$value" --ttl "${ttl_ms}ms" || echo "cli-cache-command: not cached (exit $?)" >&2
    printf '%s\n' "$value"
    ;;
  *)
    echo "cli-cache-command: cache unavailable (exit $rc), running uncached" >&2
    "$@"
    ;;
esac
