#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while (default 60 s each) on the
# nightly toolchain. Each run caps single allocations just above the largest
# frame the target can see, so an allocation sized from a declared length
# fails the run. Usage: scripts/fuzz-smoke.sh [SECONDS]
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "the nightly toolchain is needed for cargo-fuzz: rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo fuzz --help >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
[ -x scripts/fuzz-seed.sh ] && scripts/fuzz-seed.sh

# target : largest single allocation allowed (MiB)
for spec in decode:2 roundtrip:2 resp:2 store_ops:8 session:8; do
    target="${spec%%:*}"
    malloc_limit_mb="${spec##*:}"
    dict=()
    [ -f "fuzz/dict/$target.dict" ] && dict=("-dict=fuzz/dict/$target.dict")
    [ -f fuzz/dict/protocol.dict ] && [ "$target" != store_ops ] && dict=("-dict=fuzz/dict/protocol.dict")
    # A whole session replays every chunk through the store: keep inputs short.
    [ "$target" = session ] && dict+=("-max_len=8192")
    # Long op streams are what grow the store's index: reach them at once.
    [ "$target" = store_ops ] && dict+=("-max_len=4096")
    mkdir -p "fuzz/corpus/$target"
    echo "-- fuzz $target for ${seconds}s (malloc limit ${malloc_limit_mb} MiB)"
    log="fuzz/fuzz-$target.log"
    if ! cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -malloc_limit_mb="$malloc_limit_mb" -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $target FAILED (artifacts in fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$log" || true
done
