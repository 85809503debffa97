#!/usr/bin/env bash
# Installs Debian's Chromium (for the explorer's headless browser test) when missing, as
# root or with sudo. Prints the browser's path.
set -euo pipefail

find_chromium() {
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if ! find_chromium >/dev/null; then
    echo "==> installing Chromium (headless browser test of the explorer)" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq chromium >/dev/null
fi
find_chromium
