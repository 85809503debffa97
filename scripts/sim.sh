#!/usr/bin/env bash
# Deterministic simulation of a fast lane under faults (node/fastlane/src/sim.rs): every
# committee member's lane state machine in one process, over a simulated clock and a
# network with delay, reordering, loss, duplication and a partition, with member crashes
# (the primary's too: view changes) that keep the persisted batches, a replica that
# withholds its votes, players forwarding through any member, gossip of certified batches
# and committee handovers (the old lane seals, the new version continues after it), all
# drawn from one seed per run.
#
#   scripts/sim.sh --seeds N [--from S] [--duration-ms D]   runs seeds S..S+N (default 0..100)
#   scripts/sim.sh --seed S [--duration-ms D]               replays one seed, prints its report
#
# A run of seeds prints the first failing seed and what it broke (exit status 1; replay it
# with --seed), or
#   RESULT seeds=<n> passed=<n> simulated_s=<n> receipts=<n> crashes=<n> primary_crashes=<n>
#          view_changes=<n> equivocations=<n> handovers=<n> unsealed_starts=<n> messages=<n>
#          wall_s=<s>
# D is the faulty time per seed (default 3000 ms); every seed then heals for 5 s and is
# checked. ARCEON_SIM_TRACE=1 prints every message of a replayed seed. Builds the release
# simulator first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bin arceon-lane-sim >&2
exec "${CARGO_TARGET_DIR:-target}/release/arceon-lane-sim" "$@"
