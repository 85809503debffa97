#!/usr/bin/env bash
# Finality benchmark: starts 4 validators (scripts/testnet.sh, --chain local, 1 s slots) on
# 127.0.0.1 in a temporary directory, measures for $DURATION seconds (default 60) through
# node 1's JSON-RPC how long blocks take from the start of their slot to finality, then
# stops and deletes the network. Last line:
#   RESULT finality_p50_ms=<n> finality_p99_ms=<n> blocks_per_s=<n>
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-4}
DURATION=${DURATION:-60}
TESTNET_DIR=$(mktemp -d /tmp/arceon-bench-finality.XXXXXX)
export TESTNET_DIR
export P2P_BASE=${P2P_BASE:-31400} RPC_BASE=${RPC_BASE:-9970} PROMETHEUS_BASE=${PROMETHEUS_BASE:-9680}
trap './scripts/testnet.sh wipe >/dev/null 2>&1 || true' EXIT
./scripts/testnet.sh start "$NODES" >&2
python3 scripts/finality_probe.py --rpc "http://127.0.0.1:$((RPC_BASE + 1))" --duration "$DURATION"
./scripts/testnet.sh status "$NODES" >&2
