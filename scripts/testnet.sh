#!/usr/bin/env bash
# A local Arceon network of validators on 127.0.0.1.
#
#   scripts/testnet.sh start [N]     start N validators (default 4; --chain local, node i
#                                    runs with --alice, --bob, ... as its key)
#   scripts/testnet.sh stop          stop every node of the network
#   scripts/testnet.sh status [N]    best and finalized block and peer count of each node
#   scripts/testnet.sh kill I        stop node I only (1-based)
#   scripts/testnet.sh crash I       kill node I at once (SIGKILL: no clean shutdown)
#   scripts/testnet.sh restart I     start node I again on its own data (same chain and
#                                    node arguments as at start)
#   scripts/testnet.sh wipe          stop and delete every node's data
#   scripts/testnet.sh partition A B cut the nodes of A (e.g. 1,2) off from those of B
#                                    (3,4) and back; needs NETNS=1 at start
#   scripts/testnet.sh heal          undo every partition
#   scripts/testnet.sh chill I       node I's validator (its dev stash, //Alice ...) stops
#                                    validating: area committees are chosen again at once
#   scripts/testnet.sh split AREA    root (the sudo key, //Alice) splits AREA into its
#                                    quadrants, once the area's fast lane has ended
#   scripts/testnet.sh merge AREA    root merges the quadrants of the split AREA back
#
# NETNS=1 at start puts node i in its own network namespace arceon-n<i> at 10.77.0.i
# (a bridge arceon-br joins them, the host is 10.77.0.254), so that `partition` can cut
# links with blackhole routes; `stop` removes the namespaces. Needs root (ip netns).
#
# Node i keeps its data in $TESTNET_DIR/node<i> (default /tmp/arceon-testnet), logs to
# $TESTNET_DIR/node<i>.log, listens for peers on port 30400+i, JSON-RPC on 9950+i and
# Prometheus on 9630+i (bases: P2P_BASE, RPC_BASE, PROMETHEUS_BASE). Every node knows every
# other as a boot node; node keys are derived from the node's index, so peer ids are stable.
# The binary is $ARCEON_NODE, else target/release/arceon-node (built if missing); the
# wallet (for chill, split, merge) $ARCEON_WALLET, else target/release/arceon-wallet (likewise).
# Extra node arguments can be given in $NODE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTNET_DIR=${TESTNET_DIR:-/tmp/arceon-testnet}
P2P_BASE=${P2P_BASE:-30400}
RPC_BASE=${RPC_BASE:-9950}
PROMETHEUS_BASE=${PROMETHEUS_BASE:-9630}
CHAIN=${CHAIN:-local}
NODE_ARGS=${NODE_ARGS:-}
NAMES=(alice bob charlie dave eve ferdie)
NET_PREFIX=10.77.0
BRIDGE=arceon-br

netns_mode() { [ -f "$TESTNET_DIR/netns" ]; }

# The address node i listens on.
host_of() {
    if netns_mode; then echo "$NET_PREFIX.$1"; else echo 127.0.0.1; fi
}

net_up() {
    local n=$1 i
    ip link show "$BRIDGE" >/dev/null 2>&1 || {
        ip link add "$BRIDGE" type bridge
        ip addr add "$NET_PREFIX.254/24" dev "$BRIDGE"
    }
    ip link set "$BRIDGE" up
    for i in $(seq 1 "$n"); do
        ip netns list | grep -qw "arceon-n$i" && continue
        ip netns add "arceon-n$i"
        ip link add "arceon-v$i" type veth peer name eth0 netns "arceon-n$i"
        ip link set "arceon-v$i" master "$BRIDGE" up
        ip -n "arceon-n$i" addr add "$NET_PREFIX.$i/24" dev eth0
        ip -n "arceon-n$i" link set eth0 up
        ip -n "arceon-n$i" link set lo up
    done
}

net_down() {
    local ns
    for ns in $(ip netns list | awk '/^arceon-n[0-9]+/ {print $1}'); do
        ip netns del "$ns" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
}

# Blackhole routes in each side's namespaces towards the other side.
partition() {
    local a b i j
    IFS=, read -r -a a <<<"$1"
    IFS=, read -r -a b <<<"$2"
    for i in "${a[@]}"; do
        for j in "${b[@]}"; do
            ip -n "arceon-n$i" route replace blackhole "$NET_PREFIX.$j/32"
            ip -n "arceon-n$j" route replace blackhole "$NET_PREFIX.$i/32"
        done
    done
    echo "partitioned {$1} | {$2}"
}

heal() {
    local ns route
    for ns in $(ip netns list | awk '/^arceon-n[0-9]+/ {print $1}'); do
        ip -n "$ns" route show type blackhole | while read -r _ route _; do
            ip -n "$ns" route del blackhole "$route" || true
        done
    done
    echo "healed"
}

node_binary() {
    if [ -n "${ARCEON_NODE:-}" ]; then
        echo "$ARCEON_NODE"
        return
    fi
    if [ ! -x target/release/arceon-node ]; then
        ./scripts/ensure-deps.sh >&2
        echo "==> building arceon-node (release)" >&2
        cargo build --release --locked -p arceon-node >&2
    fi
    echo "$PWD/target/release/arceon-node"
}

node_key() { printf 'arceon-testnet-node-%s' "$1" | sha256sum | cut -d' ' -f1; }

peer_id() { node_key "$1" | "$BIN" key inspect-node-key; }

pid_of() {
    local file="$TESTNET_DIR/node$1.pid"
    if [ -f "$file" ]; then
        local pid
        pid=$(cat "$file")
        if kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
        fi
    fi
}

count_nodes() {
    local n=0
    while [ -d "$TESTNET_DIR/node$((n + 1))" ]; do n=$((n + 1)); done
    echo "$n"
}

start_node() {
    local i=$1 n=$2
    if [ -n "$(pid_of "$i")" ]; then
        echo "node $i already running (pid $(pid_of "$i"))"
        return
    fi
    if [ "$i" -gt "${#NAMES[@]}" ]; then
        echo "at most ${#NAMES[@]} nodes (one per dev key)" >&2
        exit 2
    fi
    local boot=()
    for j in $(seq 1 "$n"); do
        if [ "$j" -ne "$i" ]; then
            boot+=("/ip4/$(host_of "$j")/tcp/$((P2P_BASE + j))/p2p/$(peer_id "$j")")
        fi
    done
    local bootnodes
    bootnodes=$(IFS=,; echo "${boot[*]:-}")
    mkdir -p "$TESTNET_DIR/node$i"
    local inside=() external=()
    if netns_mode; then
        inside=(ip netns exec "arceon-n$i")
        external=(--rpc-external)
    fi
    # shellcheck disable=SC2086
    "${inside[@]}" nohup "$BIN" --chain "$CHAIN" --"${NAMES[$((i - 1))]}" \
        --base-path "$TESTNET_DIR/node$i" \
        --name "node$i" \
        --listen-addr "/ip4/$(host_of "$i")/tcp/$((P2P_BASE + i))" \
        "${external[@]}" \
        --node-key "$(node_key "$i")" \
        ${bootnodes:+--bootnodes "$bootnodes"} \
        --rpc-port $((RPC_BASE + i)) \
        --prometheus-port $((PROMETHEUS_BASE + i)) \
        $NODE_ARGS \
        >>"$TESTNET_DIR/node$i.log" 2>&1 &
    echo $! >"$TESTNET_DIR/node$i.pid"
    echo "node $i (${NAMES[$((i - 1))]}) pid $! rpc http://$(host_of "$i"):$((RPC_BASE + i)) p2p $((P2P_BASE + i)) peer $(peer_id "$i")"
}

stop_node() {
    local i=$1 pid
    pid=$(pid_of "$i")
    if [ -z "$pid" ]; then
        return
    fi
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$TESTNET_DIR/node$i.pid"
    echo "node $i stopped"
}

rpc() {
    curl -s --max-time 3 -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" \
        "http://$(host_of "$1"):$((RPC_BASE + $1))" 2>/dev/null || true
}

status_node() {
    local i=$1
    if [ -z "$(pid_of "$i")" ]; then
        printf 'node %s  stopped\n' "$i"
        return
    fi
    local best fin_hash fin peers
    best=$(rpc "$i" chain_getHeader | python3 -c 'import json,sys
try: print(int(json.load(sys.stdin)["result"]["number"],16))
except Exception: print("?")')
    fin_hash=$(rpc "$i" chain_getFinalizedHead | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["result"])
except Exception: print("")')
    fin=$(rpc "$i" chain_getHeader "[\"$fin_hash\"]" | python3 -c 'import json,sys
try: print(int(json.load(sys.stdin)["result"]["number"],16))
except Exception: print("?")')
    peers=$(rpc "$i" system_health | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["result"]["peers"])
except Exception: print("?")')
    printf 'node %s  best #%s  finalized #%s %s  peers %s\n' "$i" "$best" "$fin" "${fin_hash:0:10}" "$peers"
}

command=${1:-}
case "$command" in
start)
    n=${2:-4}
    BIN=$(node_binary)
    mkdir -p "$TESTNET_DIR"
    # `restart` starts a node again with the same chain and arguments.
    printf '%s\n' "$CHAIN" >"$TESTNET_DIR/chain"
    printf '%s\n' "$NODE_ARGS" >"$TESTNET_DIR/node-args"
    if [ -n "${NETNS:-}" ]; then
        touch "$TESTNET_DIR/netns"
        net_up "$n"
    fi
    echo "==> starting $n validators in $TESTNET_DIR"
    for i in $(seq 1 "$n"); do start_node "$i" "$n"; done
    ;;
stop)
    for i in $(seq 1 "$(count_nodes)"); do stop_node "$i"; done
    if netns_mode; then net_down; fi
    ;;
wipe)
    for i in $(seq 1 "$(count_nodes)"); do stop_node "$i"; done
    if netns_mode; then net_down; fi
    rm -rf "$TESTNET_DIR"
    echo "removed $TESTNET_DIR"
    ;;
status)
    n=${2:-$(count_nodes)}
    for i in $(seq 1 "$n"); do status_node "$i"; done
    ;;
kill)
    [ -n "${2:-}" ] || { echo "usage: $0 kill <node index>" >&2; exit 2; }
    stop_node "$2"
    ;;
crash)
    [ -n "${2:-}" ] || { echo "usage: $0 crash <node index>" >&2; exit 2; }
    pid=$(pid_of "$2")
    if [ -n "$pid" ]; then
        kill -9 "$pid" 2>/dev/null || true
        # Until it holds no file or socket (its database lock, its ports): gone, or a
        # zombie nobody reaped yet whose threads have all exited. (Waiting for the pid
        # to vanish waits forever where nothing reaps orphans.)
        for _ in $(seq 1 200); do
            [ -z "$(ls -A "/proc/$pid/fd" 2>/dev/null)" ] && break
            sleep 0.025
        done
        rm -f "$TESTNET_DIR/node$2.pid"
        echo "node $2 crashed"
    fi
    ;;
partition)
    [ -n "${3:-}" ] || { echo "usage: $0 partition <nodes, e.g. 1,2> <nodes, e.g. 3,4>" >&2; exit 2; }
    netns_mode || { echo "partition needs a network started with NETNS=1" >&2; exit 2; }
    partition "$2" "$3"
    ;;
heal)
    netns_mode || { echo "heal needs a network started with NETNS=1" >&2; exit 2; }
    heal
    ;;
chill)
    [ -n "${2:-}" ] || { echo "usage: $0 chill <node index>" >&2; exit 2; }
    WALLET=${ARCEON_WALLET:-target/release/arceon-wallet}
    if [ ! -x "$WALLET" ]; then
        cargo build --release -p arceon-wallet >&2
    fi
    name=${NAMES[$(($2 - 1))]}
    "$WALLET" --url "http://$(host_of "$2"):$((RPC_BASE + $2))" --suri "//${name^}" stake chill
    ;;
split|merge)
    [ -n "${2:-}" ] || { echo "usage: $0 $1 <area id>" >&2; exit 2; }
    WALLET=${ARCEON_WALLET:-target/release/arceon-wallet}
    if [ ! -x "$WALLET" ]; then
        cargo build --release -p arceon-wallet >&2
    fi
    "$WALLET" --url "http://$(host_of 1):$((RPC_BASE + 1))" --suri //Alice area "$1" "$2" --until in-block
    ;;
restart)
    [ -n "${2:-}" ] || { echo "usage: $0 restart <node index>" >&2; exit 2; }
    BIN=$(node_binary)
    [ -f "$TESTNET_DIR/chain" ] && CHAIN=$(cat "$TESTNET_DIR/chain")
    [ -f "$TESTNET_DIR/node-args" ] && NODE_ARGS=$(cat "$TESTNET_DIR/node-args")
    start_node "$2" "$(count_nodes)"
    ;;
*)
    sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'
    [ -z "$command" ] || [ "$command" = help ] || exit 2
    ;;
esac
