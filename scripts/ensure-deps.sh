#!/usr/bin/env bash
# Installs the system packages Arceon's build needs when they are missing:
# clang/libclang (bindgen for RocksDB's bindings) and a C++ toolchain.
set -euo pipefail

have_libclang() {
    ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1
}

if command -v clang >/dev/null 2>&1 && have_libclang && command -v c++ >/dev/null 2>&1; then
    exit 0
fi

echo "==> installing clang, libclang-dev and build tools (needed by RocksDB's bindings)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq clang libclang-dev build-essential >/dev/null
echo "==> system dependencies installed"
