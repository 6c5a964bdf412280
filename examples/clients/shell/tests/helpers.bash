# shellcheck shell=bash
# Shared by the bats files: paths, a real blink-store per test file, fake peers.

SHELL_CLIENT_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REPO_ROOT=$(cd "$SHELL_CLIENT_DIR/../../.." && pwd)
# shellcheck disable=SC2034 # used by the bats files
VECTORS_PY=$SHELL_CLIENT_DIR/tests/vectors.py # reads protocol/vectors/v1.json and v2.json
FAKE_PEER_PY=$SHELL_CLIENT_DIR/tests/fake_peer.py
: "${BLINK_STORE_BIN:=$REPO_ROOT/target/release/blink-store}"
# Time allowed for a server to print its ready line, or a polled condition to hold.
READY_TIMEOUT_S=10

# The tests configure the library themselves; nothing leaks in from the caller's shell.
unset BLINK_TCP BLINK_UNIX_SOCKET BLINK_AUTH_TOKEN BLINK_AUTH_TOKEN_FILE BLINK_TIMEOUT_S

bats_require_minimum_version 1.5.0

source "$SHELL_CLIENT_DIR/blink.sh"

# await COMMAND...: runs COMMAND every 20 ms until it succeeds, for at most
# READY_TIMEOUT_S. A condition awaited, never a fixed sleep.
await() {
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$@"; do
    if ((SECONDS > deadline)); then
      echo "await: gave up on: $*" >&2
      return 1
    fi
    sleep 0.02
  done
}

# start_server NAME [FLAGS...]: a fresh blink-store on 127.0.0.1:0 (or SERVER_TCP) and a
# temp Unix socket, with the token in SERVER_TOKEN if set. Sets <NAME>_PID, <NAME>_TCP and <NAME>_UNIX from
# its ready line: "ready tcp 127.0.0.1:41234, unix /tmp/x/blink.sock".
start_server() {
  local name=$1 dir line
  shift
  dir=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/server.XXXXXX")
  env -u BLINK_TCP -u BLINK_UNIX_SOCKET -u BLINK_AUTH_TOKEN -u BLINK_AUTH_TOKEN_FILE \
    ${SERVER_TOKEN:+BLINK_AUTH_TOKEN="$SERVER_TOKEN"} \
    "$BLINK_STORE_BIN" --tcp "${SERVER_TCP:-127.0.0.1:0}" --unix-socket "$dir/blink.sock" "$@" \
    >"$dir/stdout" 2>"$dir/stderr" &
  printf -v "${name}_PID" '%s' "$!"
  printf -v "${name}_DIR" '%s' "$dir"
  await grep -q '^ready ' "$dir/stdout" || { cat "$dir/stderr" >&2; return 1; }
  line=$(head -n 1 "$dir/stdout")
  [[ $line =~ ^ready\ tcp\ ([^,]+),\ unix\ (.+)$ ]] || { echo "bad ready line: $line" >&2; return 1; }
  printf -v "${name}_TCP" '%s' "${BASH_REMATCH[1]}"
  printf -v "${name}_UNIX" '%s' "${BASH_REMATCH[2]}"
}

# seed_keys HOST:PORT PREFIX N: SETs the keys PREFIX0 .. PREFIX<N-1> (value "v") in one
# pipelined write from python3, for the SCAN walks: thousands of blink_set calls would take
# a minute. Version-1 SET frames, so no HELLO is needed.
seed_keys() {
  python3 - "$@" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
prefix, count = sys.argv[2].encode(), int(sys.argv[3])
frames = bytearray()
for i in range(count):
    key = prefix + str(i).encode()
    frames += (12 + len(key)).to_bytes(4, "big") + b"\x11" + bytes(8) + len(key).to_bytes(2, "big") + key + b"v"
replies = b""
with socket.create_connection((host, int(port)), timeout=10) as conn:
    conn.sendall(frames)
    while len(replies) < 5 * count:
        chunk = conn.recv(65536)
        if not chunk:
            break
        replies += chunk
sys.exit(replies != bytes.fromhex("00000001 00") * count)
EOF
}

# stop_server NAME: SIGTERM, then wait for it to exit.
stop_server() {
  local pid_var=${1}_PID
  [[ -n ${!pid_var-} ]] || return 0
  kill -TERM "${!pid_var}" 2>/dev/null || true
  wait "${!pid_var}" 2>/dev/null || true
  printf -v "$pid_var" ''
}

# start_fake_peer ARGS...: tests/fake_peer.py ARGS listening on 127.0.0.1:0; sets
# FAKE_PID, FAKE_TCP and FAKE_LOG (the peer's event lines).
start_fake_peer() {
  FAKE_LOG=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/fake.XXXXXX")
  python3 "$FAKE_PEER_PY" "$@" >"$FAKE_LOG" &
  FAKE_PID=$!
  await grep -q '^listening ' "$FAKE_LOG"
  # shellcheck disable=SC2034 # used by the bats files
  FAKE_TCP=127.0.0.1:$(sed -n 's/^listening //p' "$FAKE_LOG")
}

stop_fake_peer() {
  if [[ -n ${FAKE_PID-} ]]; then
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=''
  fi
}

# hex_of FILE: the file's bytes as hex digits (for comparing bodies in messages).
hex_of() {
  od -An -v -tx1 "$1" | tr -d ' \n'
}
