#!/usr/bin/env bash
# Runs the store's unit tests that touch no memory mapping under Miri
# (nightly), which fails on undefined behaviour: the hash table (its SSE2
# and portable tag matching, unchecked-looking slot arithmetic), the index
# growing from one table into the next, the size classes, the record byte
# layout and the expiry heap. The modules over the mapping (region, pages,
# arena, the store itself) call mmap/madvise, which Miri cannot run.
# Proptest cases are capped (PROPTEST_CASES) to keep this to a few minutes.
# Usage: scripts/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup +nightly component add miri rust-src
fi

filters=(store::table store::index store::size_class store::record store::expiry)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Isolation off only for the clock and the hasher's random seed.
PROPTEST_CASES="${PROPTEST_CASES:-16}" MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}" \
    cargo +nightly miri test --lib -- "${filters[@]}" 2>&1 | tee "$log"
passed="$(grep -Eo '[0-9]+ passed' "$log" | awk '{ sum += $1 } END { print sum + 0 }')"
echo "miri: $passed tests passed in ${filters[*]}"
if [ "$passed" -eq 0 ]; then
    echo "miri: the filters matched no test" >&2
    exit 1
fi
