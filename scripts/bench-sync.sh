#!/usr/bin/env bash
# Full-sync benchmark: authors $BLOCKS blocks (default 2000, each with 4 signed transfers)
# into a dev-chain node's database, starts that node on 127.0.0.1, then starts a second,
# empty node with the first as its boot node and times how long it takes to download,
# verify and import them all. Last line:
#   RESULT sync_blocks_per_s=<n>
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${BLOCKS:-2000}
P2P_PORT=${P2P_PORT:-31500}
RPC_A=${RPC_A:-9990}
RPC_B=${RPC_B:-9991}
if [ -n "${ARCEON_NODE:-}" ]; then
    BIN=$ARCEON_NODE
else
    ./scripts/ensure-deps.sh
    cargo build --release --locked -p arceon-node >&2
    BIN=$PWD/target/release/arceon-node
fi
DIR=$(mktemp -d /tmp/arceon-bench-sync.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

echo "==> authoring $BLOCKS blocks into the source node's database" >&2
"$BIN" benchmark make-chain --chain dev --base-path "$DIR/a" --blocks "$BLOCKS" >&2
KEY=$(printf 'arceon-bench-sync' | sha256sum | cut -d' ' -f1)
PEER=$(echo "$KEY" | "$BIN" key inspect-node-key)
"$BIN" --chain dev --alice --base-path "$DIR/a" --listen-addr "/ip4/127.0.0.1/tcp/$P2P_PORT" \
    --node-key "$KEY" --rpc-port "$RPC_A" --no-prometheus 2>"$DIR/a.log" &
PIDS+=($!)
rpc() {
    curl -s --max-time 3 -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":[]}" "http://127.0.0.1:$1" 2>/dev/null || true
}
best_of() {
    rpc "$1" chain_getHeader | python3 -c 'import json,sys
try: print(int(json.load(sys.stdin)["result"]["number"],16))
except Exception: print(-1)'
}
for _ in $(seq 1 300); do [ "$(best_of "$RPC_A")" -ge "$BLOCKS" ] && break; sleep 0.2; done
echo "==> source node up at #$(best_of "$RPC_A"); starting an empty node" >&2
START=$(date +%s.%N)
"$BIN" --chain dev --base-path "$DIR/b" --listen-addr "/ip4/127.0.0.1/tcp/$((P2P_PORT + 1))" \
    --bootnodes "/ip4/127.0.0.1/tcp/$P2P_PORT/p2p/$PEER" --rpc-port "$RPC_B" --no-prometheus \
    2>"$DIR/b.log" &
PIDS+=($!)
DEADLINE=$(( $(date +%s) + 900 ))
while :; do
    BEST=$(best_of "$RPC_B")
    if [ "$BEST" -ge "$BLOCKS" ]; then break; fi
    if [ "$(date +%s)" -gt "$DEADLINE" ]; then
        echo "sync did not finish in 900 s (best #$BEST); log:" >&2
        tail -20 "$DIR/b.log" >&2
        exit 1
    fi
    sleep 0.1
done
END=$(date +%s.%N)
python3 - "$START" "$END" "$BLOCKS" <<'PY'
import sys
start, end, blocks = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
elapsed = end - start
print(f"synced {blocks} blocks in {elapsed:.1f} s (node start included)", file=sys.stderr)
print(f"RESULT sync_blocks_per_s={blocks / elapsed:.0f}")
PY
