#!/usr/bin/env bash
# Installs what the standard-client tests need: Node.js with npm (Debian's packages when
# missing) and the npm packages pinned by rpc/clients/package-lock.json (`npm ci`, again
# only when the lock file changed since the last install).
set -euo pipefail
cd "$(dirname "$0")/../rpc/clients"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Node.js and npm"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
    echo "error: the client tests need Node.js 20 or newer, found $(node --version)" >&2
    exit 1
fi

# npm writes node_modules/.package-lock.json on every install: when it is as new as the
# lock file, the installed packages are the locked ones.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> installing the client tests' npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi
