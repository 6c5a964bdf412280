#!/usr/bin/env bash
# test.sh: the shell client's whole suite, per the conformance kit's contract
# (examples/clients/conformance/README.md): installs what it lacks, builds the server if
# needed, runs shellcheck and every bats file, and ends with "shell: N passed, M failed".
# Works from any cwd. BLINK_STORE_BIN names a prebuilt server; BLINK_CLI_BIN a blink-cli
# (else target/{release,debug}/blink-cli); BLINK_REQUIRE_CLI=1 fails without one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=/dev/null
. "$here/../conformance/kit.sh"
# shellcheck disable=SC2034 # read by kit_install
KIT_NAME=shell
missing=()
for tool in bats shellcheck socat python3; do
  command -v "$tool" >/dev/null || missing+=("$tool") # each package is named as its command
done
if ((${#missing[@]})); then
  kit_install "${missing[@]}" >/dev/null || { echo "shell: 0 passed, 1 failed"; exit 1; }
fi
kit_server_bin || exit 1

passed=0 failed=0 not_run=0
if (cd "$here" && shellcheck -x blink.sh bench.sh test.sh examples/*.sh examples/cli.bash tests/*.bash tests/*.bats); then
  echo "ok shellcheck"
  passed=$((passed + 1))
else
  echo "not ok shellcheck"
  failed=$((failed + 1))
fi

# The TAP stream, shown as it comes and counted: a skipped test is neither passed nor
# failed, and is reported as not run.
tap=$(mktemp)
trap 'rm -f -- "$tap"' EXIT
bats --tap "$here/tests" | tee "$tap" || true
passed=$((passed + $(grep -E '^ok ' "$tap" | grep -cv ' # skip' || true)))
not_run=$(grep -cE '^ok .* # skip' "$tap" || true)
failed=$((failed + $(grep -cE '^not ok ' "$tap" || true)))
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap")
# A suite that died early ran fewer tests than it planned: those count as failed.
failed=$((failed + ${planned:-1} - $(grep -cE '^(not )?ok ' "$tap" || true)))

if ((not_run > 0)); then
  echo "shell: $not_run blink-cli tests not run (no blink-cli: set BLINK_CLI_BIN, or build examples/clients/rust)"
fi
echo "shell: $passed passed, $failed failed"
((failed == 0))
