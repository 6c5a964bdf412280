#!/usr/bin/env bash
# cache-command.sh TTL_MS KEY COMMAND [ARGS...]: prints COMMAND's output, from the cache
# when KEY holds it, else by running COMMAND and caching its output for TTL_MS. The output
# is kept byte for byte (binary too). A cache that is down is bypassed, never fatal: the
# command runs uncached. A failing command's output is not cached.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../blink.sh"

cached() {
  local ttl_ms=$1 key=$2 out rc=0
  shift 2
  out=$(mktemp)
  # The file goes when the function returns, however it returns.
  trap 'rm -f -- "$out"' RETURN
  blink_get "$key" >"$out" 2>/dev/null || rc=$?
  case $rc in
    "$BLINK_EXIT_OK") cat -- "$out" ;;
    "$BLINK_EXIT_NOT_FOUND")
      "$@" >"$out" || return
      blink_set -t "$ttl_ms" "$key" <"$out" || echo "cache-command: not cached (exit $?)" >&2
      cat -- "$out"
      ;;
    *)
      echo "cache-command: cache unavailable (exit $rc), running uncached" >&2
      "$@"
      ;;
  esac
}

if (($# < 3)); then
  echo "usage: cache-command.sh TTL_MS KEY COMMAND [ARGS...]" >&2
  exit "$BLINK_EXIT_USAGE"
fi
cached "$@"
