#!/usr/bin/env python3
"""Measures finality on a running node over JSON-RPC (HTTP, standard library only).

Polls the node every 50 ms. A block's finality latency is the time from the start of its
Aura slot (when its author began it) to the moment the node first reports it finalized.
Prints progress to stderr and, last, one line:
  RESULT finality_p50_ms=<n> finality_p99_ms=<n> blocks_per_s=<n>
"""
import argparse
import json
import sys
import time
import urllib.request


def rpc(url, method, params=None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        reply = json.load(response)
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def slot_of(header):
    for log in header["digest"]["logs"]:
        raw = bytes.fromhex(log[2:])
        # PreRuntime (6), engine b"aura", compact length 8 (0x20), u64 little-endian.
        if raw[:5] == b"\x06aura" and raw[5] == 0x20:
            return int.from_bytes(raw[6:14], "little")
    return None


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", default="http://127.0.0.1:9944")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15, help="seconds ignored at the start")
    parser.add_argument("--slot-ms", type=int, default=1000)
    parser.add_argument("--startup-timeout", type=float, default=120)
    args = parser.parse_args()

    deadline = time.time() + args.startup_timeout
    while True:
        try:
            rpc(args.rpc, "system_health")
            break
        except Exception:
            if time.time() > deadline:
                sys.exit("node RPC did not come up")
            time.sleep(0.5)
    # Wait until finality runs at all.
    while True:
        number = int(rpc(args.rpc, "chain_getHeader", [rpc(args.rpc, "chain_getFinalizedHead")])["number"], 16)
        if number > 0:
            break
        if time.time() > deadline:
            sys.exit("nothing was finalized within the startup timeout")
        time.sleep(0.5)
    print(f"finality running (finalized #{number}); warming up {args.warmup:.0f} s", file=sys.stderr)
    time.sleep(args.warmup)

    latencies = []
    lags = []
    start = time.time()
    best_start = int(rpc(args.rpc, "chain_getHeader")["number"], 16)
    finalized = int(rpc(args.rpc, "chain_getHeader", [rpc(args.rpc, "chain_getFinalizedHead")])["number"], 16)
    last_report = start
    while time.time() - start < args.duration:
        time.sleep(0.05)
        now_ms = time.time() * 1000
        head = rpc(args.rpc, "chain_getFinalizedHead")
        number = int(rpc(args.rpc, "chain_getHeader", [head])["number"], 16)
        best = int(rpc(args.rpc, "chain_getHeader")["number"], 16)
        lags.append(best - number)
        for n in range(finalized + 1, number + 1):
            block_hash = rpc(args.rpc, "chain_getBlockHash", [n])
            header = rpc(args.rpc, "chain_getHeader", [block_hash])
            slot = slot_of(header)
            if slot is not None:
                latencies.append(now_ms - slot * args.slot_ms)
        finalized = max(finalized, number)
        if time.time() - last_report >= 10:
            last_report = time.time()
            print(f"  {time.time() - start:.0f} s: best #{best} finalized #{finalized}", file=sys.stderr)
    elapsed = time.time() - start
    best_end = int(rpc(args.rpc, "chain_getHeader")["number"], 16)
    if not latencies:
        sys.exit("no block was finalized during the measurement")
    blocks_per_s = (best_end - best_start) / elapsed
    print(
        f"{len(latencies)} blocks finalized in {elapsed:.0f} s; lag behind best: "
        f"median {percentile(lags, 50)} blocks, max {max(lags)}",
        file=sys.stderr,
    )
    print(
        f"RESULT finality_p50_ms={percentile(latencies, 50):.0f} "
        f"finality_p99_ms={percentile(latencies, 99):.0f} blocks_per_s={blocks_per_s:.2f}"
    )


if __name__ == "__main__":
    main()
