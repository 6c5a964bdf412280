# shellcheck shell=bash
# cli.bash: sourced by the cli-*.sh examples. blink_cli ARGS... runs blink-cli
# ($BLINK_CLI_BIN, else blink-cli on PATH) against the server named by BLINK_UNIX_SOCKET or
# BLINK_TCP, the variables blink.sh reads, passed as its --unix-socket / --tcp flags.
blink_cli() {
  local -a address=()
  if [[ -n ${BLINK_UNIX_SOCKET-} ]]; then
    address=(--unix-socket "$BLINK_UNIX_SOCKET")
  elif [[ -n ${BLINK_TCP-} ]]; then
    address=(--tcp "$BLINK_TCP")
  fi
  "${BLINK_CLI_BIN:-blink-cli}" "${address[@]}" "$@"
}
