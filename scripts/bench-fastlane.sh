#!/usr/bin/env bash
# Fast-lane benchmark (issue 13): writes a chain spec with $PLAYERS players (default 10,000)
# over $AREAS areas (64; one crowded area holds $CROWDED = 2,000 of them; $BORDER_PCT = 5%
# stand at a border and walk across it), starts 4 validators on it (scripts/testnet.sh,
# 127.0.0.1, in a temporary directory), and runs arceon-loadgen: $CONNECTIONS WebSocket
# connections (1,000) over the 4 nodes, $SUBSCRIBERS of them (1,000) with an area
# subscription of radius $RADIUS milli-units, an open-loop Poisson stream of signed lane
# actions at each of $RATES (250,500,1000,2000,3000 actions/s) for $DURATION seconds (20),
# then a check of every receipt against the finalized blocks (at most $SETTLE = 60 s of
# waiting for them). Then it stops and deletes the network. Prints per rate
#   RESULT players=<n> rate=<offered/s> actions_per_s=<n> receipt_p50_ms=<n>
#          receipt_p99_ms=<n> border_p99_ms=<n> fanout_p99_ms=<n> included_p99_ms=<n> lost=<n>
# and last
#   RESULT ceiling_actions_per_s=<highest rate with receipt p99 < 25 ms>
# Details per rate go to stderr (INFO lines). $ROUTE=primary sends each action through a
# connection to its area's primary instead of the player's own connection (any node).
# Binaries: $ARCEON_NODE and $ARCEON_LOADGEN, else target/release (cargo build --release
# --workspace first). KEEP=1 keeps the directory with the nodes' logs.
# $NODE_ARGS adds node arguments (e.g. "-l arceon_service::lanes=debug").
#
# --kill-primary-every SECONDS (issue 14's real faults): one rate ($RATES, default 500)
# while the primary of one of the busiest areas is killed (SIGKILL) and restarted
# $RESTART_AFTER_MS (1000) ms later, $KILLS (100) times, SECONDS after the previous
# killed node is back.
# The validators run with --lane-view-timeout $VIEW_TIMEOUT_MS (150). Prints
#   RESULT kills=<n> lost=<n> failover_p50_ms=<n> failover_p99_ms=<n>
#          receipt_p99_during_failover_ms=<n>
# (failover: from a kill to the first receipt of that area from a new primary).
#
# --partition SECONDS (issue 14's 2|2 partition): the validators run in network
# namespaces (testnet.sh NETNS=1; needs root), one rate ($RATES, default 500) for
# $AROUND (10) s, then validators 1,2 and 3,4 are cut apart for SECONDS, healed, and the
# load goes on $AROUND s more. Prints
#   RESULT partition_s=<n> receipts_during=<n> unavailable_during=<n> timeouts_during=<n>
#          other_failures_during=<n> receipt_p99_after_heal_ms=<n> lost=<n>
#
# --chill-at SECONDS (issue 14's committee handover): one rate ($RATES, default 500);
# SECONDS into it validator $CHILL_NODE (4) stops validating (testnet.sh chill), so the
# chain chooses the area committees again at once and every area it served changes
# committee; the load goes on 30 s more. Prints
#   RESULT handover areas_changed=<n> change_seen_after_ms=<n> receipts_during=<n>
#          receipt_p99_during_ms=<n> receipt_max_during_ms=<n> longest_area_gap_ms=<n>
#          wrong_version=<n> unavailable=<n> timeouts=<n> other_failures=<n> lost=<n>
# (during: the 15 s after the chill, for the areas that changed committee; the gap is
# the longest such an area went without a receipt).
#
# --reshape-at SECONDS (issue 14's split and merge): one rate ($RATES, default 500);
# SECONDS into it root splits the busiest area (testnet.sh split: its lane seals, the
# seal goes on chain, the split is made once blocks hold every batch up to it), then
# merges it back 10 s after the split is made; the load goes on 10 s more. Prints
#   RESULT reshape area=<id> children=<n> split_made_after_ms=<n> merge_made_after_ms=<n>
#          receipts_during=<n> receipt_p99_during_ms=<n> receipt_max_during_ms=<n>
#          longest_region_gap_ms=<n> unavailable=<n> other_failures=<n> lost=<n>
# (during: from the split request to 10 s after the merge, for the area and its
# quadrants; the region gap is the longest they all went without a receipt).
set -euo pipefail
cd "$(dirname "$0")/.."
KILL_EVERY=
PARTITION=
CHILL_AT=
RESHAPE_AT=
while [ $# -gt 0 ]; do
    case "$1" in
    --kill-primary-every)
        KILL_EVERY=${2:?--kill-primary-every needs a number of seconds}
        shift 2
        ;;
    --partition)
        PARTITION=${2:?--partition needs a number of seconds}
        shift 2
        ;;
    --chill-at)
        CHILL_AT=${2:?--chill-at needs a number of seconds}
        shift 2
        ;;
    --reshape-at)
        RESHAPE_AT=${2:?--reshape-at needs a number of seconds}
        shift 2
        ;;
    *)
        echo "unknown argument $1 (see the comment at the top of $0)" >&2
        exit 2
        ;;
    esac
done
KILLS=${KILLS:-100}
RESTART_AFTER_MS=${RESTART_AFTER_MS:-1000}
VIEW_TIMEOUT_MS=${VIEW_TIMEOUT_MS:-150}
AROUND=${AROUND:-10}
HOST_PREFIX=127.0.0.1
if [ -n "$CHILL_AT" ] || [ -n "$RESHAPE_AT" ]; then
    RATES=${RATES:-500}
fi
if [ -n "$KILL_EVERY" ] || [ -n "$PARTITION" ]; then
    RATES=${RATES:-500}
    NODE_ARGS="--lane-view-timeout $VIEW_TIMEOUT_MS ${NODE_ARGS:-}"
fi
if [ -n "$PARTITION" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
        echo "--partition needs root and iproute2 (ip netns)" >&2
        exit 2
    fi
    export NETNS=1
    HOST_PREFIX=10.77.0.
fi
# The address of node i.
host_of() { if [ -n "$PARTITION" ]; then echo "$HOST_PREFIX$1"; else echo 127.0.0.1; fi; }
PLAYERS=${PLAYERS:-10000}
AREAS=${AREAS:-64}
CROWDED=${CROWDED:-2000}
BORDER_PCT=${BORDER_PCT:-5}
CONNECTIONS=${CONNECTIONS:-1000}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
RADIUS=${RADIUS:-10000}
RATES=${RATES:-250,500,1000,2000,3000}
DURATION=${DURATION:-20}
SETTLE=${SETTLE:-60}
ROUTE=${ROUTE:-any}
NODES=4
export P2P_BASE=${P2P_BASE:-31800} RPC_BASE=${RPC_BASE:-10010} PROMETHEUS_BASE=${PROMETHEUS_BASE:-9720}

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
export ARCEON_WALLET=${ARCEON_WALLET:-$(dirname "$ARCEON_NODE")/arceon-wallet}
[ -x "$LOADGEN" ] || { echo "no load generator at $LOADGEN" >&2; exit 1; }

TESTNET_DIR=$(mktemp -d /tmp/arceon-bench-fastlane.XXXXXX)
export TESTNET_DIR
cleanup() {
    ./scripts/testnet.sh stop >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then
        echo "kept $TESTNET_DIR" >&2
    else
        rm -rf "$TESTNET_DIR"
    fi
}
trap cleanup EXIT
# 1,000+ sockets in the generator and a few hundred per node.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SPEC=$TESTNET_DIR/fastlane-spec.json
"$LOADGEN" spec --out "$SPEC" --players "$PLAYERS" --areas "$AREAS" --crowded "$CROWDED" \
    --border-pct "$BORDER_PCT" >&2
CHAIN=$SPEC NODE_ARGS="--rpc-max-connections $((CONNECTIONS + 100)) ${NODE_ARGS:-}" \
    ./scripts/testnet.sh start "$NODES" >&2

rpc() {
    curl -s --max-time 3 -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" \
        "http://$(host_of "$1"):$((RPC_BASE + $1))" 2>/dev/null || true
}
ready() {
    local i best peers
    for i in $(seq 1 "$NODES"); do
        best=$(rpc "$i" chain_getHeader | python3 -c 'import json,sys
try: print(int(json.load(sys.stdin)["result"]["number"],16))
except Exception: print(-1)')
        peers=$(rpc "$i" system_health | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["result"]["peers"])
except Exception: print(-1)')
        [ "$best" -ge 3 ] && [ "$peers" -ge $((NODES - 1)) ] || return 1
    done
}
echo "==> waiting for the validators to author, peer and serve their lanes" >&2
DEADLINE=$(( $(date +%s) + 180 ))
until ready; do
    if [ "$(date +%s)" -gt "$DEADLINE" ]; then
        echo "the network did not come up in 180 s" >&2
        ./scripts/testnet.sh status "$NODES" >&2 || true
        tail -n 20 "$TESTNET_DIR"/node*.log >&2 || true
        exit 1
    fi
    sleep 1
done

URLS=$(for i in $(seq 1 "$NODES"); do printf 'ws://%s:%s,' "$(host_of "$i")" $((RPC_BASE + i)); done)
RATE_COUNT=$(echo "$RATES" | tr ',' '\n' | grep -c .)
LIMIT=$(( 300 + RATE_COUNT * (DURATION + SETTLE + 120) ))
FAULTS=()
if [ -n "$KILL_EVERY" ]; then
    FAULTS=(--kill-primary-every "$KILL_EVERY" --kills "$KILLS" --restart-after-ms "$RESTART_AFTER_MS"
        --control "$PWD/scripts/testnet.sh")
    LIMIT=$(( LIMIT + $(python3 -c "import math; print(math.ceil(4 * $KILL_EVERY * ($KILLS + 1)) + 120)") ))
fi
if [ -n "$PARTITION" ]; then
    FAULTS=(--partition-for "$PARTITION" --partition-around "$AROUND" --sides "1,2|3,4"
        --control "$PWD/scripts/testnet.sh")
    LIMIT=$(( LIMIT + $(python3 -c "import math; print(math.ceil($PARTITION + 2 * $AROUND))") ))
fi
if [ -n "$CHILL_AT" ]; then
    [ -x "$ARCEON_WALLET" ] || { echo "no wallet at $ARCEON_WALLET" >&2; exit 1; }
    FAULTS=(--chill-at "$CHILL_AT" --chill-node "${CHILL_NODE:-4}"
        --control "$PWD/scripts/testnet.sh")
    LIMIT=$(( LIMIT + $(python3 -c "import math; print(math.ceil($CHILL_AT + 30))") ))
fi
if [ -n "$RESHAPE_AT" ]; then
    [ -x "$ARCEON_WALLET" ] || { echo "no wallet at $ARCEON_WALLET" >&2; exit 1; }
    FAULTS=(--reshape-at "$RESHAPE_AT" --control "$PWD/scripts/testnet.sh")
    LIMIT=$(( LIMIT + $(python3 -c "import math; print(math.ceil($RESHAPE_AT + 240))") ))
fi
STATUS=0
timeout --kill-after=10 "$LIMIT" "$LOADGEN" run --rpc "${URLS%,}" --players "$PLAYERS" \
    --connections "$CONNECTIONS" --subscribers "$SUBSCRIBERS" --radius "$RADIUS" \
    --rates "$RATES" --duration "$DURATION" --settle "$SETTLE" --route "$ROUTE" \
    "${FAULTS[@]}" || STATUS=$?
./scripts/testnet.sh status "$NODES" >&2 || true
if [ "$STATUS" -ne 0 ]; then
    echo "arceon-loadgen failed ($STATUS); last node log lines:" >&2
    tail -n 20 "$TESTNET_DIR"/node*.log >&2 || true
fi
exit "$STATUS"
