#!/usr/bin/env bash
# Long hostile-peer run: the test four_validators_survive_hostile_peers
# (node/cli/tests/hostile.rs) with each attack lasting $ATTACK_SECS seconds (default 120)
# against 4 validator processes on 127.0.0.1. Prints a RESULT line per attack:
#   RESULT attack=<name> secs=<n> blocks=<authored during it> finalized_advance=<n>
#          peak_rss_mib=[<victim peaks>]
# The suite (scripts/test.sh) runs the same attacks for 12 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
export ATTACK_SECS=${ATTACK_SECS:-120}
LOG=$(mktemp /tmp/arceon-attack.XXXXXX.log)
status=0
cargo test --workspace --locked --test hostile -- --nocapture >"$LOG" 2>&1 || status=$?
grep -E "^RESULT|test result|panicked" "$LOG" || true
if [ "$status" -ne 0 ]; then
    echo "attack run failed; full output in $LOG" >&2
fi
exit "$status"
