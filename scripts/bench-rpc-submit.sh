#!/usr/bin/env bash
# JSON-RPC submit benchmark (issue 19): how many signed transfers per second a node takes
# in through `author_submitAndWatchExtrinsic`, and how long they wait for a block.
#
#   scripts/bench-rpc-submit.sh [--nodes 1|4|both]     (default both)
#
# First runs `arceon-node benchmark import --workload transfers` (the import rate of this
# machine, in the same run). Then, for each network asked for:
#   --nodes 1   one dev validator (Alice, the dev chain) that authors and finalizes alone;
#   --nodes 4   the 4 validators of the local testnet plus a fifth node (Eve's keys, not an
#               authority: it never authors) that takes every submission, so transfers
#               reach the authors by gossip;
# with $ACCOUNTS accounts (10,000; `//player/<i>`) endowed in the chain spec
# (`arceon-loadgen transfers-spec`). `arceon-loadgen transfers` submits pre-signed
# transfers between them over $CONNECTIONS WebSocket connections (100), an open-loop
# Poisson stream at each of $RATES transfers/s (2000,4000,5000,6000,7000; on 4 nodes
# $RATES_4: 500,1000,1500,2000) for
# $DURATION seconds (15) each, and times each from its scheduled send to `inBlock` and to
# `finalized` (waiting at most $SETTLE = 30 s after each rate). Prints per rate
#   RESULT nodes=<1|4> rate=<offered/s> submit_per_s=<accepted/s> included_per_s=<n>
#          inclusion_p50_ms=<n> inclusion_p99_ms=<n> finalized_p99_ms=<n> dropped=<n>
# then per network
#   RESULT ceiling_included_per_s=<n> nodes=<1|4> rate=<offered/s>
# (the rate with the most included transfers/s among those with inclusion p99 under two
# slots and nothing refused, failed or dropped), and last, with a dev node measured,
#   RESULT import_extrinsics_per_s=<n> ceiling_included_per_s=<n> included_vs_import_ratio=<r>
# `dropped` counts transfers the pool accepted that no block included within the settle
# window; refusals (by JSON-RPC error code: 1014 priority too low, 1016 pool full, ...) and
# everything else go to stderr as INFO lines. The nodes run with `--rpc-rate-limit 0`
# (the benchmark measures the node, not the per-connection limit).
# Ports: P2P 32800+i, RPC 11010+i, Prometheus 9820+i (P2P_BASE, RPC_BASE, PROMETHEUS_BASE).
# $EXTRA_NODE_ARGS is added to every node's command line (e.g. `-l info,txpool=debug`).
# Binaries: $ARCEON_NODE and $ARCEON_LOADGEN, else target/release (cargo build --release
# --workspace first). KEEP=1 keeps the directories with the nodes' logs.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=both
while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) NODES=${2:-}; shift 2 ;;
    --nodes=*) NODES=${1#--nodes=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (--nodes 1|4|both)" >&2; exit 2 ;;
    esac
done
case "$NODES" in
1 | 4) NETWORKS=$NODES ;;
both) NETWORKS="1 4" ;;
*) echo "--nodes must be 1, 4 or both" >&2; exit 2 ;;
esac
ACCOUNTS=${ACCOUNTS:-10000}
CONNECTIONS=${CONNECTIONS:-100}
RATES=${RATES:-2000,4000,5000,6000,7000}
RATES_4=${RATES_4:-500,1000,1500,2000}
DURATION=${DURATION:-15}
SETTLE=${SETTLE:-30}
export P2P_BASE=${P2P_BASE:-32800} RPC_BASE=${RPC_BASE:-11010} PROMETHEUS_BASE=${PROMETHEUS_BASE:-9820}

if [ -n "${ARCEON_NODE:-}" ]; then
    LOADGEN=${ARCEON_LOADGEN:-$(dirname "$ARCEON_NODE")/arceon-loadgen}
else
    ./scripts/ensure-deps.sh >&2
    echo "==> cargo build --release --workspace" >&2
    cargo build --release --workspace >&2
    ARCEON_NODE=$PWD/target/release/arceon-node
    LOADGEN=${ARCEON_LOADGEN:-$PWD/target/release/arceon-loadgen}
fi
export ARCEON_NODE
[ -x "$LOADGEN" ] || { echo "no load generator at $LOADGEN" >&2; exit 1; }

WORK=$(mktemp -d /tmp/arceon-bench-rpc-submit.XXXXXX)
TESTNET_DIR=
cleanup() {
    if [ -n "$TESTNET_DIR" ]; then
        TESTNET_DIR=$TESTNET_DIR ./scripts/testnet.sh stop >/dev/null 2>&1 || true
    fi
    if [ -n "${KEEP:-}" ]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "==> arceon-node benchmark import --workload transfers" >&2
IMPORT_OUT=$("$ARCEON_NODE" benchmark import --workload transfers 2>&1 | tee /dev/stderr)
IMPORT_RATE=$(echo "$IMPORT_OUT" | sed -n 's/^RESULT import_extrinsics_per_s=\([0-9.]*\).*/\1/p' | tail -n 1)
[ -n "$IMPORT_RATE" ] || { echo "benchmark import printed no RESULT line" >&2; exit 1; }

rpc() {
    curl -s --max-time 3 -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" \
        "http://127.0.0.1:$((RPC_BASE + $1))" 2>/dev/null || true
}
# Every node has authored or imported a few blocks and sees all the others.
ready() {
    local total=$1 i best peers
    for i in $(seq 1 "$total"); do
        best=$(rpc "$i" chain_getHeader | python3 -c 'import json,sys
try: print(int(json.load(sys.stdin)["result"]["number"],16))
except Exception: print(-1)')
        peers=$(rpc "$i" system_health | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["result"]["peers"])
except Exception: print(-1)')
        [ "$best" -ge 2 ] && [ "$peers" -ge $((total - 1)) ] || return 1
    done
}

CEILING_1=
STATUS=0
for N in $NETWORKS; do
    if [ "$N" = 1 ]; then
        BASE=dev TOTAL=1 TARGET=1 SWEEP=$RATES
    else
        BASE=local TOTAL=5 TARGET=5 SWEEP=$RATES_4
    fi
    TESTNET_DIR=$WORK/nodes$N
    export TESTNET_DIR
    mkdir -p "$TESTNET_DIR"
    SPEC=$TESTNET_DIR/transfers-spec.json
    "$LOADGEN" transfers-spec --out "$SPEC" --base "$BASE" --accounts "$ACCOUNTS" >&2
    echo "==> nodes=$N: starting $TOTAL node(s), submissions to node $TARGET" >&2
    CHAIN=$SPEC NODE_ARGS="--rpc-max-connections $((CONNECTIONS + 50)) --rpc-rate-limit 0 ${EXTRA_NODE_ARGS:-}" \
        ./scripts/testnet.sh start "$TOTAL" >&2
    DEADLINE=$(($(date +%s) + 120))
    until ready "$TOTAL"; do
        if [ "$(date +%s)" -gt "$DEADLINE" ]; then
            echo "the network did not come up in 120 s" >&2
            ./scripts/testnet.sh status "$TOTAL" >&2 || true
            tail -n 20 "$TESTNET_DIR"/node*.log >&2 || true
            exit 1
        fi
        sleep 1
    done
    RATE_COUNT=$(echo "$SWEEP" | tr ',' '\n' | grep -c .)
    LIMIT=$((120 + RATE_COUNT * (DURATION + SETTLE + 60)))
    OUT=$TESTNET_DIR/loadgen.out
    RUN=0
    timeout --kill-after=10 "$LIMIT" "$LOADGEN" transfers \
        --rpc "ws://127.0.0.1:$((RPC_BASE + TARGET))" --nodes "$N" --accounts "$ACCOUNTS" \
        --connections "$CONNECTIONS" --rates "$SWEEP" --duration "$DURATION" \
        --settle "$SETTLE" >"$OUT" || RUN=$?
    cat "$OUT"
    ./scripts/testnet.sh status "$TOTAL" >&2 || true
    if [ "$RUN" -ne 0 ]; then
        echo "arceon-loadgen failed ($RUN); last node log lines:" >&2
        tail -n 20 "$TESTNET_DIR"/node*.log >&2 || true
        STATUS=$RUN
    fi
    if [ "$N" = 1 ]; then
        CEILING_1=$(sed -n 's/^RESULT ceiling_included_per_s=\([0-9.]*\).*/\1/p' "$OUT" | tail -n 1)
    fi
    ./scripts/testnet.sh stop >&2 || true
    TESTNET_DIR=
done
if [ -n "$CEILING_1" ]; then
    python3 -c "import sys; i, c = float(sys.argv[1]), float(sys.argv[2]); print(f'RESULT import_extrinsics_per_s={i:.0f} ceiling_included_per_s={c:.0f} included_vs_import_ratio={c / i if i else 0:.2f}')" \
        "$IMPORT_RATE" "$CEILING_1"
fi
exit "$STATUS"
