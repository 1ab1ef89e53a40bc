#!/usr/bin/env python3
"""Load test of the chat API: many concurrent citizens against one `allmende serve` on loopback.

Starts the server (given binary, data dir and model) on a free port, runs `wrk` (Debian
package `wrk`) with benches/load/chat.lua for a bounded time with N connections (100 by
default: 100 concurrent chat sessions), samples the server's resident memory every second,
and reports requests per HTTP status, latency percentiles, memory at start, in the first and
last tenth and at each quarter of the run (growth over the second half shows whether memory
has levelled off), and the server's own queue and prefix-cache metrics at the end. It exits non-zero on any 5xx response or when the server
dies, so it can gate a release.

The load generator runs on the same machine as the server, so by default `wrk` runs with one
thread under `nice -n 19`: on a deployment the citizens' requests arrive over the network and
cost the server only the handling, not the generating; an un-niced wrk on a 2-core box would
take a core from the model and measure its own appetite (`--nice 0` to compare).

The per-address rate limit is the first defence and would answer almost everything with 429
(all connections come from 127.0.0.1); `--lift-ip-limit` switches it off to push the load
through the generation queue instead (the queue's own 429s still apply).

Usage:
    python3 benches/load_chat.py [--binary target/debug/allmende] [--data-dir data]
        [--model none|<name>] [--connections 100] [--duration 60] [--lift-ip-limit]
        [--format markdown|json]

Needs `allmende ingest` to have run on the data directory. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# Server metrics worth reporting after a load run (see web/src/metrics.rs).
REPORTED_METRICS = (
    "allmende_generation_rejected_total", "allmende_retrieval_rejected_total",
    "allmende_prefix_cache_entries", "allmende_prefix_cache_bytes",
    "allmende_prefix_cache_hits_total", "allmende_prefix_cache_misses_total",
    "allmende_generated_tokens_total",
)


def scrape_metrics(base: str) -> dict[str, float]:
    """The unlabelled samples of REPORTED_METRICS from GET /metrics."""
    try:
        with urllib.request.urlopen(f"{base}/metrics", timeout=30) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in REPORTED_METRICS:
            out[name] = float(value)
    return out


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("server did not become ready")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default="target/debug/allmende")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--model", default="none")
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nice", type=int, default=19, help="niceness of the wrk process")
    ap.add_argument("--duration", type=int, default=60, help="seconds")
    ap.add_argument("--timeout", type=int, default=120, help="per-request timeout, seconds")
    ap.add_argument("--lift-ip-limit", action="store_true")
    ap.add_argument("--format", choices=["markdown", "json"], default="markdown")
    args = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    config.write("[limits]\n")
    if args.lift_ip_limit:
        config.write("ip_requests_per_minute = 0\n")
    config.close()
    cmd = [args.binary, "--config", config.name, "--data-dir", args.data_dir,
           "--model", args.model, "serve", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    try:
        wait_ready(base, server)
        start_rss = rss_kib(server.pid) or 0

        def sample() -> None:
            t0 = time.time()
            while not stop.is_set():
                value = rss_kib(server.pid)
                if value is not None:
                    samples.append((time.time() - t0, value))
                time.sleep(1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        wrk = subprocess.run(
            ["nice", "-n", str(args.nice), "wrk", "-t", str(args.threads), "-c", str(args.connections),
             "-d", f"{args.duration}s", "--timeout", f"{args.timeout}s",
             "-s", os.path.join(HERE, "load", "chat.lua"), base],
            capture_output=True, text=True, check=False)
        stop.set()
        sampler.join()
        alive = server.poll() is None
        server_metrics = scrape_metrics(base) if alive else {}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        os.unlink(config.name)

    statuses: dict[str, int] = {}
    latency: dict[str, float] = {}
    socket_errors = ""
    for line in wrk.stdout.splitlines():
        if line.startswith("STATUS "):
            statuses = json.loads(line[len("STATUS "):])
        elif line.startswith("LATENCY "):
            latency = json.loads(line[len("LATENCY "):])
        elif "Socket errors" in line:
            socket_errors = line.strip()
    if wrk.returncode != 0 or not statuses:
        print(wrk.stdout, wrk.stderr, file=sys.stderr)
        return 2
    tenth = max(1, len(samples) // 10)
    first = max(v for _, v in samples[:tenth]) if samples else 0
    last = max(v for _, v in samples[-tenth:]) if samples else 0
    peak = max((v for _, v in samples), default=0)
    # RSS at 25/50/75/100 % of the run: the largest sample of each quarter.
    quarters = []
    for q in range(4):
        part = samples[q * len(samples) // 4:(q + 1) * len(samples) // 4]
        quarters.append(round(max((v for _, v in part), default=0) / 1024, 1))
    total = sum(statuses.values())
    server_errors = sum(v for k, v in statuses.items() if k.startswith("5"))
    result = {
        "model": args.model, "connections": args.connections, "duration_s": args.duration,
        "ip_limit_lifted": args.lift_ip_limit, "requests": total,
        "requests_per_s": round(total / args.duration, 1), "statuses": statuses,
        "latency": latency, "socket_errors": socket_errors, "server_alive": alive,
        "rss_mib": {"start": round(start_rss / 1024, 1), "first_tenth": round(first / 1024, 1),
                    "last_tenth": round(last / 1024, 1), "peak": round(peak / 1024, 1),
                    "by_quarter": quarters,
                    "growth_second_half": round(quarters[3] - quarters[1], 1)},
        "server_metrics": server_metrics,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        m = result["rss_mib"]
        print(f"| model | conns | s | requests | req/s | statuses | p50 ms | p99 ms | RSS start / first 10% / last 10% / peak MiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        print(f"| {args.model} | {args.connections} | {args.duration} | {total} | {result['requests_per_s']} "
              f"| {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} "
              f"| {latency.get('p50_ms', 0):.0f} | {latency.get('p99_ms', 0):.0f} "
              f"| {m['start']} / {m['first_tenth']} / {m['last_tenth']} / {m['peak']} |")
        print(f"RSS by quarter (MiB): {m['by_quarter']}; growth over the second half: "
              f"{m['growth_second_half']} MiB")
        for name, value in sorted(server_metrics.items()):
            print(f"{name} {value:g}")
        if socket_errors:
            print(socket_errors)
    if server_errors or not alive:
        print(f"FAIL: {server_errors} server errors, server alive: {alive}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
