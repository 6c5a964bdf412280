#!/usr/bin/env bash
# cli-health-check.sh [ATTEMPTS]: health-check.sh with blink-cli: `blink-cli ping` until it
# succeeds, at most ATTEMPTS times (default 10), backing off exponentially with jitter.
# blink-cli's exit codes do not tell a retryable failure from a configuration error the
# way blink.sh's do, so every failure is retried, within the bounded attempts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli.bash"

attempts=${1:-10}
delay_ms=50
for ((attempt = 1; ; attempt++)); do
  rc=0
  blink_cli ping >/dev/null || rc=$?
  if ((rc == 0)); then
    echo "healthy after $attempt attempt(s)"
    exit 0
  fi
  if ((attempt >= attempts)); then
    echo "unhealthy after $attempt attempts" >&2
    exit "$rc"
  fi
  pause_ms=$((delay_ms + RANDOM % 50))
  sleep "$((pause_ms / 1000)).$(printf '%03d' $((pause_ms % 1000)))"
  delay_ms=$((delay_ms * 2 > 2000 ? 2000 : delay_ms * 2))
done
