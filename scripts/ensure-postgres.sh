#!/usr/bin/env bash
# Makes a local PostgreSQL server available for the explorer's PostgreSQL test: installs
# Debian's postgresql when missing (as root or with sudo), then starts (once; later calls
# find it running) a private server on 127.0.0.1 with its data in $ARCEON_PG_DIR (default
# /tmp/arceon-explorer-pg), run by the `postgres` user when called as root, trusting local
# connections. Prints the admin URL (postgres://postgres@127.0.0.1:PORT/postgres) on the
# last line of stdout; the test creates and drops its own database there.
set -euo pipefail

PORT="${ARCEON_PG_PORT:-54329}"
DIR="${ARCEON_PG_DIR:-/tmp/arceon-explorer-pg}"

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

if [ -z "$(pg_bin)" ]; then
    echo "==> installing PostgreSQL (explorer test)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bin)"
if [ -z "$BIN" ]; then
    echo "error: PostgreSQL's initdb not found after installing postgresql" >&2
    exit 1
fi

# The server refuses to run as root: use the `postgres` user Debian's package creates.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$DIR"
    fi
    chmod 700 "$DIR"
    as_owner "'$BIN/initdb' -D '$DIR' -U postgres --auth=trust -E UTF8 >/dev/null"
fi

if ! as_owner "'$BIN/pg_ctl' -D '$DIR' status >/dev/null 2>&1"; then
    as_owner "'$BIN/pg_ctl' -D '$DIR' -l '$DIR/server.log' -w -t 60 \
        -o \"-p $PORT -k '$DIR' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
fi

echo "postgres://postgres@127.0.0.1:$PORT/postgres"
