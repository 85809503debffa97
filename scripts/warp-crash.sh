#!/usr/bin/env bash
# Warp-sync crash test: a warp-syncing node is SIGKILLed at $WARP_CRASH_KILLS (default 50)
# random moments and must restart consistent and finalize with 4 validators each time.
# The seed is printed; WARP_CRASH_SEED=<seed> replays a run exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
export WARP_CRASH_KILLS=${WARP_CRASH_KILLS:-50}
cargo test --workspace --locked --test network -- --nocapture \
    a_warp_syncing_node_killed_at_random_moments_recovers
