#!/usr/bin/env bash
# Runs each protocol fuzz target briefly, as CI does:
#   scripts/fuzz-run.sh [seconds per target, default 60] [target ...]
# Seeds the corpora from the test vectors first. -malloc_limit_mb is just above
# the default max frame (1 MiB + 4 KiB), so any allocation sized from a
# declared length fails the run. Needs nightly and cargo-fuzz
# (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode roundtrip)

scripts/fuzz-seed.sh
for target in "${targets[@]}"; do
    echo "== fuzz ${target} for ${seconds}s"
    cargo +nightly fuzz run "${target}" "fuzz/corpus/${target}" -- \
        -max_total_time="${seconds}" \
        -malloc_limit_mb=2 \
        -rss_limit_mb=512 \
        -dict=fuzz/dict/protocol.dict
done
