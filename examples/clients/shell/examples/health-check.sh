#!/usr/bin/env bash
# health-check.sh [ATTEMPTS]: waits until the server answers PING, for at most ATTEMPTS
# tries (default 10), backing off exponentially with jitter between them (50 ms doubling,
# capped at 2 s, plus up to 50 ms). Exits 0 once it answers. Only the retryable classes
# are retried (connection, timeout, busy); auth, protocol and usage errors exit at once
# with their code: retrying cannot fix a configuration. Each failure's line is on stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../blink.sh"

attempts=${1:-10}
delay_ms=50
for ((attempt = 1; ; attempt++)); do
  rc=0
  blink_ping || rc=$?
  case $rc in
    "$BLINK_EXIT_OK")
      echo "healthy after $attempt attempt(s)"
      exit 0
      ;;
    "$BLINK_EXIT_CONNECTION" | "$BLINK_EXIT_TIMEOUT" | "$BLINK_EXIT_BUSY") ;;
    *) exit "$rc" ;;
  esac
  if ((attempt >= attempts)); then
    echo "unhealthy after $attempt attempts" >&2
    exit "$rc"
  fi
  pause_ms=$((delay_ms + RANDOM % 50))
  sleep "$((pause_ms / 1000)).$(printf '%03d' $((pause_ms % 1000)))"
  delay_ms=$((delay_ms * 2 > 2000 ? 2000 : delay_ms * 2))
done
