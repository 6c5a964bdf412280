#!/usr/bin/env bash
# stats-vars.sh: reads the server's STATS into an associative array and prints a summary
# line: items, memory use against the cap, and the hit ratio.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../blink.sh"

declare -A stat
# Captured first, so a failed call stops the script here (a pipe into `while` would hide
# its exit code).
stats=$(blink_stats)
while read -r name value; do stat[$name]=$value; done <<<"$stats"

lookups=$((stat[hits] + stat[misses]))
printf 'items %d, used %d of %d bytes, hit ratio %d%% of %d lookups\n' \
  "${stat[items]}" "${stat[used_bytes]}" "${stat[cap_bytes]}" \
  $((lookups ? 100 * stat[hits] / lookups : 0)) "$lookups"
