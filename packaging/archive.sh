#!/usr/bin/env bash
# Packs one target's release archive, as the release workflow publishes it:
#   packaging/archive.sh TARGET VERSION BIN_DIR OUT_DIR
# makes OUT_DIR/blink-store-vVERSION-TARGET.tar.gz (.zip for Windows) holding
# one directory of that name with blink-store, blink-cli, README.md and the
# licence files, and prints the archive's path.
set -euo pipefail
if [ "$#" -ne 4 ]; then
	echo "usage: $0 TARGET VERSION BIN_DIR OUT_DIR" >&2
	exit 2
fi
target=$1 version=$2 bin_dir=$3 out=$4
root=$(cd "$(dirname "$0")/.." && pwd)
name=blink-store-v$version-$target
exe=
[[ $target == *windows* ]] && exe=.exe
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" "$out"
cp "$bin_dir/blink-store$exe" "$bin_dir/blink-cli$exe" "$stage/$name/"
cp "$root/README.md" "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$stage/$name/"
out=$(cd "$out" && pwd)
if [ -n "$exe" ]; then
	python=$(command -v python3 || command -v python)
	(cd "$stage" && "$python" -m zipfile -c "$out/$name.zip" "$name")
	echo "$out/$name.zip"
else
	tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
	echo "$out/$name.tar.gz"
fi
