#!/usr/bin/env bash
# Explorer indexing benchmark: makes a chain with `arceon-node benchmark make-chain`
# ($BLOCKS blocks of $TRANSFERS signed transfers, archive state), starts a node on it,
# indexes it from genesis with `arceon-explorer bench` into SQLite and into PostgreSQL
# (a local server from scripts/ensure-postgres.sh; skipped with POSTGRES=0), then runs the
# node's own `benchmark import` for comparison. Prints one line per database:
#   RESULT indexed_blocks_per_s=<n> indexed_extrinsics_per_s=<n> database=sqlite|postgres ...
# and the import figure (`RESULT import_extrinsics_per_s=...`). PROFILE=debug uses debug
# builds (faster to build, slower to run).
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS="${BLOCKS:-1000}"
TRANSFERS="${TRANSFERS:-20}"
PROFILE="${PROFILE:-release}"
POSTGRES="${POSTGRES:-1}"
./scripts/ensure-deps.sh
TARGET="${CARGO_TARGET_DIR:-target}"
if [ "$PROFILE" = release ]; then
    cargo build --release --locked -p arceon-node -p arceon-explorer
else
    cargo build --locked -p arceon-node -p arceon-explorer
fi
NODE="$TARGET/$PROFILE/arceon-node"
EXPLORER="$TARGET/$PROFILE/arceon-explorer"

WORK="$(mktemp -d)"
NODE_PID=""
cleanup() {
    if [ -n "$NODE_PID" ]; then kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> making a chain of $BLOCKS blocks x $TRANSFERS transfers" >&2
"$NODE" benchmark make-chain --chain dev --blocks "$BLOCKS" --transfers "$TRANSFERS" \
    --state-pruning archive --base-path "$WORK/chain" >&2
PORT="${RPC_PORT:-19955}"
"$NODE" --chain dev --base-path "$WORK/chain" --state-pruning archive --rpc-port "$PORT" \
    --prometheus-port "$((PORT + 1))" --listen-addr /ip4/127.0.0.1/tcp/0 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 1 300); do
    if curl -sf -H 'Content-Type: application/json' \
        -d '{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}' \
        "http://127.0.0.1:$PORT" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done

echo "==> indexing into SQLite" >&2
"$EXPLORER" --node "ws://127.0.0.1:$PORT" --database "sqlite://$WORK/explorer.db" bench

if [ "$POSTGRES" = 1 ]; then
    ADMIN="$(./scripts/ensure-postgres.sh | tail -n 1)"
    DB="arceon_explorer_bench_$$"
    psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB" && psql "$ADMIN" -qc "CREATE DATABASE $DB"
    echo "==> indexing into PostgreSQL" >&2
    "$EXPLORER" --node "ws://127.0.0.1:$PORT" --database "${ADMIN%/*}/$DB" bench
    psql "$ADMIN" -qc "DROP DATABASE $DB"
fi

echo "==> the node's block import on this machine, for comparison" >&2
"$NODE" benchmark import --blocks 8 --extrinsics "$TRANSFERS" --verify-samples 2000 2>&1 | grep RESULT
