#!/usr/bin/env bash
# Block import benchmark: builds 16 blocks of 5,000 signed transfers among 10,000 accounts,
# imports them into a fresh RocksDB database and compares the import rate with the
# single-core sr25519 verification rate. Extra arguments go to
# `arceon-node benchmark import` (see its --help). Last line:
#   RESULT import_extrinsics_per_s=<n> sr25519_verify_per_s=<n> ratio=<import/verify>
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
cargo build --release --locked -p arceon-node
exec ./target/release/arceon-node benchmark import "$@"
