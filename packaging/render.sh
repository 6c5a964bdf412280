#!/usr/bin/env bash
# Renders the Homebrew formula and the Chocolatey package for one release
# from its SHA256SUMS, so neither is ever edited by hand:
#   packaging/render.sh VERSION SHA256SUMS OUT_DIR
# fills @VERSION@ and every @SHA256:<target>@ in packaging/homebrew/ and
# packaging/chocolatey/ with the checksum of blink-store-vVERSION-<target>
# (.tar.gz, or .zip for Windows) and writes the results under OUT_DIR.
# Fails, naming it, when an archive is missing from SHA256SUMS.
set -euo pipefail
if [ "$#" -ne 3 ]; then
	echo "usage: $0 VERSION SHA256SUMS OUT_DIR" >&2
	exit 2
fi
version=$1 sums=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || {
	echo "render: $version is not a version like 1.2.3" >&2
	exit 2
}

# checksum_of FILE_NAME: its SHA-256 from SHA256SUMS (sha256sum's format).
checksum_of() {
	awk -v name="$1" '{ file = $2; sub(/^\*/, "", file) } file == name { print $1 }' "$sums"
}

render() {
	local template=$1 target_path=$2 text token target ext name sum
	text=$(<"$template")
	text=${text//@VERSION@/$version}
	local -a tokens
	mapfile -t tokens < <(grep -o '@SHA256:[a-z0-9_-]*@' <<<"$text" | sort -u)
	for token in "${tokens[@]}"; do
		target=${token#@SHA256:}
		target=${target%@}
		ext=tar.gz
		[[ $target == *windows* ]] && ext=zip
		name=blink-store-v$version-$target.$ext
		sum=$(checksum_of "$name")
		[[ $sum =~ ^[0-9a-f]{64}$ ]] || {
			echo "render: no SHA-256 for $name in $sums" >&2
			return 1
		}
		text=${text//$token/$sum}
	done
	if grep -q '@[A-Z0-9:_-]*@' <<<"$text"; then
		echo "render: $template keeps a placeholder" >&2
		return 1
	fi
	mkdir -p "$(dirname "$target_path")"
	printf '%s\n' "$text" >"$target_path"
}

render "$here/homebrew/blink-store.rb" "$out/homebrew/blink-store.rb"
render "$here/chocolatey/blink-store.nuspec" "$out/chocolatey/blink-store.nuspec"
render "$here/chocolatey/tools/chocolateyinstall.ps1" "$out/chocolatey/tools/chocolateyinstall.ps1"
echo "rendered $version into $out"
