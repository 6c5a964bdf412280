#!/usr/bin/env bash
# shellcheck disable=SC2317 # the checks run through kit_check, which shellcheck cannot follow
# Every release target, as far as this Linux x86_64 machine can take it:
#   - cargo check of the server and blink-cli for the targets only GitHub's
#     runners can build and run (windows-msvc and apple-darwin, x86_64 and
#     aarch64);
#   - real builds with cargo-zigbuild (zig from PyPI's ziglang) for
#     x86_64/aarch64-unknown-linux-musl and x86_64-pc-windows-gnu, in the
#     `dist` profile the release ships;
#   - each built server started and answering PING: x86_64 musl natively,
#     aarch64 musl under Debian's qemu-user-static, Windows under wine (over
#     TCP: no Unix sockets there), each probed by its own `blink-store ping`
#     and `blink-cli ping`, and the Linux ones stopped by SIGTERM with exit 0.
# Installs what it needs (rustup targets, cargo-zigbuild, ziglang,
# qemu-user-static, wine). Ends with "cross: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
# shellcheck source=examples/clients/conformance/kit.sh
source examples/clients/conformance/kit.sh
kit_begin cross

CHECK_TARGETS=(x86_64-pc-windows-msvc aarch64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin)
BUILD_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
# A cold start under emulation (wine's first boot makes its prefix).
PATIENCE_S=60

work=$(mktemp -d)
server_pid=
export WINEPREFIX=$work/wine WINEDEBUG=-all
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	# Only this run's prefix: its wineserver and the programs it runs.
	[ -d "$WINEPREFIX" ] && wineserver -k 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

tools() {
	rustup target add "${CHECK_TARGETS[@]}" "${BUILD_TARGETS[@]}" || return 1
	command -v cargo-zigbuild >/dev/null || cargo install --locked cargo-zigbuild || return 1
	python3 -m ziglang version >/dev/null 2>&1 || pip install --quiet ziglang || return 1
	local missing=()
	command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
	[ -x /usr/lib/wine/wine64 ] || missing+=(wine wine64)
	command -v file >/dev/null || missing+=(file)
	if [ "${#missing[@]}" -gt 0 ]; then
		kit_install "${missing[@]}" || return 1
	fi
}

check_others() {
	local args=()
	for target in "${CHECK_TARGETS[@]}"; do
		args+=(--target "$target")
	done
	nice cargo check --locked "${args[@]}" -p blink-store -p blink-client --bins --lib
}

# One invocation for every target: cargo builds them side by side.
zig_build() {
	local args=()
	for target in "${BUILD_TARGETS[@]}"; do
		args+=(--target "$target")
	done
	nice cargo zigbuild --locked --profile dist "${args[@]}" \
		-p blink-store -p blink-client --bin blink-store --bin blink-cli
}

bin() {
	local suffix=
	[[ $1 == *windows* ]] && suffix=.exe
	echo "$root/target/$1/dist/$2$suffix"
}

# file_says FILE WORDS: file(1)'s description of FILE, shown, contains WORDS.
file_says() {
	local description
	description=$(file "$1")
	echo "$description" >&2
	grep -q "$2" <<<"$description"
}

is_pe32_plus() {
	file_says "$1" 'PE32+ executable'
}

is_static() {
	file_says "$1" 'statically linked'
}

# start_server RUNNER... : starts the server on a free port, waits for its
# ready line, sets SERVER_PORT; RUNNER is the emulator (or none) and binary.
start_server() {
	SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# Emptied here, not by the background redirect: the wait below must
	# never read the previous server's ready line.
	: >"$work/server.out"
	"$@" --tcp "127.0.0.1:$SERVER_PORT" --memory-limit 64MiB >"$work/server.out" 2>"$work/server.err" &
	server_pid=$!
	local deadline=$((SECONDS + PATIENCE_S))
	until grep -q '^ready tcp' "$work/server.out"; do
		if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$server_pid" 2>/dev/null; then
			echo "server did not start: $*" >&2
			tail -5 "$work/server.err" >&2
			return 1
		fi
		sleep 0.1
	done
}

# A raw PING from this shell: 00 00 00 01 01 answered by 00 00 00 01 00.
raw_ping() {
	exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || return 1
	printf '\0\0\0\1\1' >&3
	local reply
	reply=$(timeout 5 head -c 5 <&3 | od -An -tx1 | tr -d ' \n')
	exec 3<&-
	[ "$reply" = 0000000100 ]
}

cli_ping() {
	[ "$("$@" --tcp "127.0.0.1:$SERVER_PORT" ping | tr -d '\r')" = PONG ]
}

stop_server() {
	kill -TERM "$server_pid"
	local status
	wait "$server_pid"
	status=$?
	server_pid=
	[ "$status" -eq 0 ]
}

# linux_target TARGET RUNNER...: static, starts, answers, stops.
linux_target() {
	local target=$1
	shift
	local server cli
	server=$(bin "$target" blink-store)
	cli=$(bin "$target" blink-cli)
	kit_check "$target: blink-store is static" is_static "$server"
	kit_check "$target: blink-cli is static" is_static "$cli"
	if ! start_server "$@" "$server"; then
		failed=$((failed + 1))
		return
	fi
	kit_check "$target: raw PING answered" raw_ping
	kit_check "$target: blink-store ping" "$@" "$server" ping --tcp "127.0.0.1:$SERVER_PORT"
	kit_check "$target: blink-cli ping" cli_ping "$@" "$cli"
	kit_check "$target: SIGTERM exits 0" stop_server
}

# Exit 2 (a usage error) naming why, where there are no Unix sockets.
refuses_unix_socket() {
	local output status
	output=$("$@" --unix-socket x.sock 2>&1)
	status=$?
	echo "$output" | tr -d '\r' | tail -2 >&2
	[ "$status" -eq 2 ] && grep -q 'not available on this system' <<<"$output"
}

windows_target() {
	local target=x86_64-pc-windows-gnu wine=/usr/lib/wine/wine64
	local server cli
	server=$(bin "$target" blink-store)
	cli=$(bin "$target" blink-cli)
	kit_check "$target: blink-store.exe is a PE32+ executable" is_pe32_plus "$server"
	# The flag exists and says why it cannot work there.
	kit_check "$target: --unix-socket is refused with a reason" refuses_unix_socket "$wine" "$server"
	if ! start_server "$wine" "$server"; then
		failed=$((failed + 1))
		return
	fi
	kit_check "$target: raw PING answered under wine" raw_ping
	kit_check "$target: blink-store.exe ping" "$wine" "$server" ping --tcp "127.0.0.1:$SERVER_PORT"
	kit_check "$target: blink-cli.exe ping" cli_ping "$wine" "$cli"
	# Wine does not turn SIGTERM into a console control event; end our prefix.
	wineserver -k 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
}

tools || kit_abort "installing the targets, cargo-zigbuild, ziglang, qemu-user-static, wine"
kit_check "cargo check: ${CHECK_TARGETS[*]}" check_others
zig_build || kit_abort "cargo zigbuild ${BUILD_TARGETS[*]}"
linux_target x86_64-unknown-linux-musl
linux_target aarch64-unknown-linux-musl qemu-aarch64-static
windows_target
kit_finish
