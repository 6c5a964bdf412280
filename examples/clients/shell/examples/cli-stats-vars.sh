#!/usr/bin/env bash
# cli-stats-vars.sh: stats-vars.sh with blink-cli: `blink-cli stats` prints the server's
# "name value" lines, read into an associative array.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli.bash"

declare -A stat
stats=$(blink_cli stats)
while read -r name value; do stat[$name]=$value; done <<<"$stats"

lookups=$((stat[hits] + stat[misses]))
printf 'items %d, used %d of %d bytes, hit ratio %d%% of %d lookups\n' \
  "${stat[items]}" "${stat[used_bytes]}" "${stat[cap_bytes]}" \
  $((lookups ? 100 * stat[hits] / lookups : 0)) "$lookups"
