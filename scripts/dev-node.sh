#!/usr/bin/env bash
# Builds and runs a development node: Alice authors a block every slot, the chain is
# kept in RocksDB (a temporary directory unless --base-path is given). Extra arguments
# go to arceon-node. Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
cargo build --release --locked -p arceon-node
exec ./target/release/arceon-node --dev "$@"
