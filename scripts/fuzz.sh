#!/usr/bin/env bash
# Coverage-guided fuzzing of the decoders fed by peers and RPC clients (see fuzz/).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer args...]   one target
#   scripts/fuzz.sh all SECONDS [libFuzzer args...]      every target in turn
#   scripts/fuzz.sh list                                 the targets
#
# cargo-fuzz (libFuzzer) on the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc
# accept the -Z sanitizer flags. Builds go to fuzz/target (never the workspace's target).
# The corpus of TARGET is fuzz/corpus/TARGET: the committed seeds (seed-*) plus what the
# fuzzer finds (ignored by git). A crash, timeout or out-of-memory input is written to
# fuzz/artifacts/TARGET/. Each run ends with one line per target:
#
#   RESULT target=T secs=S execs=N cov=C ft=F crashes=K
#
# Environment: FUZZ_SANITIZER (default address; `none` builds without ASan),
# FUZZ_TIMEOUT (seconds per input before it counts as a hang, default 10),
# FUZZ_RSS_MB (memory limit, default 2048). Run it under `nice` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(block extrinsic network_request network_response finality_gossip justification
    warp_proof state_chunk rpc_params rpc_server)

usage() {
    echo "usage: $0 TARGET|all SECONDS [libFuzzer args...]" >&2
    echo "targets: ${TARGETS[*]}" >&2
    exit 2
}

if [ "${1:-}" = "list" ]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi
[ $# -ge 2 ] || usage
TARGET=$1
SECONDS_PER_TARGET=$2
shift 2
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || usage
if [ "$TARGET" != all ] && [[ ! " ${TARGETS[*]} " =~ " ${TARGET} " ]]; then
    echo "unknown target '$TARGET'" >&2
    usage
fi

./scripts/ensure-deps.sh
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
SANITIZER=${FUZZ_SANITIZER:-address}
# Debug assertions and overflow checks on, as in the workspace's tests.
FUZZ_FLAGS=(--fuzz-dir fuzz --sanitizer "$SANITIZER" --debug-assertions)
mkdir -p fuzz/logs

run_target() {
    local target=$1 secs=$2
    shift 2
    local corpus=fuzz/corpus/$target artifacts=fuzz/artifacts/$target
    local log=fuzz/logs/$target.log
    mkdir -p "$corpus" "$artifacts"
    echo "==> building $target (sanitizer: $SANITIZER)"
    cargo fuzz build "${FUZZ_FLAGS[@]}" "$target"
    if ! compgen -G "$corpus/seed-*" >/dev/null; then
        echo "==> writing the seeds of $target"
        ARCEON_FUZZ_WRITE_SEEDS="$corpus" cargo fuzz run "${FUZZ_FLAGS[@]}" "$target" \
            "$corpus" -- -runs=0 >/dev/null 2>&1 || true
    fi
    local extra=()
    if [ "$target" = rpc_server ]; then
        # The server's threads allocate while an input runs: libFuzzer's per-input leak
        # check would rerun nearly every input for nothing.
        extra+=(-detect_leaks=0)
    fi
    echo "==> fuzzing $target for $secs s (log: $log)"
    local start end status=0
    start=$(date +%s)
    cargo fuzz run "${FUZZ_FLAGS[@]}" "$target" "$corpus" -- \
        -max_total_time="$secs" \
        -timeout="${FUZZ_TIMEOUT:-10}" \
        -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -print_final_stats=1 \
        "${extra[@]}" "$@" >"$log" 2>&1 || status=$?
    end=$(date +%s)
    local execs cov ft crashes ran
    # libFuzzer's own count of the seconds it fuzzed (cargo fuzz run may rebuild first).
    ran=$(grep -oE '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}' || true)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
    if [ -z "$execs" ]; then
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    fi
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    crashes=$(grep -c 'Test unit written to' "$log" || true)
    if [ "$status" -ne 0 ] && [ "${crashes:-0}" -eq 0 ]; then
        echo "fuzzer exited with status $status; see $log" >&2
        tail -30 "$log" >&2
        crashes=1
    elif [ "${crashes:-0}" -gt 0 ]; then
        grep -E 'Test unit written to|SUMMARY|panicked at' "$log" >&2 || true
    fi
    RESULTS+=("RESULT target=$target secs=${ran:-$((end - start))} execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} crashes=${crashes:-0}")
    echo "${RESULTS[-1]}"
    [ "${crashes:-0}" -eq 0 ]
}

RESULTS=()
failed=0
if [ "$TARGET" = all ]; then
    for target in "${TARGETS[@]}"; do
        run_target "$target" "$SECONDS_PER_TARGET" "$@" || failed=1
    done
    echo "==> summary"
    printf '%s\n' "${RESULTS[@]}"
else
    run_target "$TARGET" "$SECONDS_PER_TARGET" "$@" || failed=1
fi
exit "$failed"
