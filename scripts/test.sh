#!/usr/bin/env bash
# Runs Arceon's whole test suite: unit, property and integration tests of every crate,
# including the ones that start real node processes and drive them with standard clients
# from npm (clients/). Installs missing system packages (clang/libclang for RocksDB's
# bindings, Node.js, Chromium and PostgreSQL for the explorer) and the locked npm packages
# first, and starts the explorer test's local PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/ensure-clients.sh
# The explorer's tests: headless Chromium for its pages, a local PostgreSQL server for its
# PostgreSQL index (both from Debian's packages when missing).
./scripts/ensure-chromium.sh >/dev/null
./scripts/ensure-postgres.sh >/dev/null
export RUST_BACKTRACE=1
# A whole-suite run gains nothing from incremental caches (gigabytes on disk).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "==> building and running the workspace tests"
cargo test --workspace --locked "$@"
