#!/usr/bin/env python3
"""End-to-end latency of retrieval-augmented answers, as a citizen experiences it.

Starts `allmende serve` with the given model on a free loopback port, asks the README's example
questions through the streaming chat API (`POST /api/chat`, Server-Sent Events) and reports per
question: time to the first streamed token (TTFT: retrieval + prompt prefill + first sampled
token), total answer time, and the server's peak resident memory (VmHWM) at the end. The first
question also fills the system-prompt prefix cache, so it is reported separately ("cold").

Usage:
    python3 benches/rag_latency.py --model qwen2.5-coder-1.5b-instruct-q4_k_m \
        [--binary target/debug/allmende] [--data-dir data] [--threads 2] [--format markdown|json]

Needs `allmende ingest` to have run on the data directory. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

QUESTIONS = [
    "Wie melde ich meinen Wohnsitz um?",
    "Was kostet ein Personalausweis?",
    "Wie beantrage ich einen Bewohnerparkausweis?",
    "Wann hat das Bürgerbüro geöffnet?",
    "Wie melde ich meinen Hund an?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    started = time.time()
    while time.time() - started < timeout:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit("server did not become ready")


def ask(base: str, question: str) -> dict:
    body = json.dumps({"message": question, "stream": True}).encode()
    req = urllib.request.Request(
        f"{base}/api/chat",
        data=body,
        headers={"content-type": "application/json", "accept": "text/event-stream"},
    )
    started = time.perf_counter()
    first = None
    event = None
    done = None
    with urllib.request.urlopen(req, timeout=600) as response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "token" and first is None:
                    first = time.perf_counter() - started
                if event == "done":
                    done = json.loads(line[5:])
                if event == "error":
                    sys.exit(f"error answering {question!r}: {line}")
    total = time.perf_counter() - started
    return {
        "question": question,
        "ttft_s": first if first is not None else total,
        "total_s": total,
        "mode": (done or {}).get("mode", {}).get("kind"),
        "citations": len((done or {}).get("citations", [])),
    }


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--binary", default="target/debug/allmende")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--format", choices=["markdown", "json"], default="markdown")
    args = p.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, ALLMENDE_MODEL=args.model, RUST_LOG="warn")
    if args.threads:
        env["RAYON_NUM_THREADS"] = str(args.threads)
    proc = subprocess.Popen(
        [args.binary, "--data-dir", args.data_dir, "serve", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, proc)
        results = [ask(base, q) for q in QUESTIONS]
        rss = peak_rss_bytes(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    warm = results[1:]
    summary = {
        "model": args.model,
        "threads": args.threads or os.cpu_count(),
        "cold_ttft_s": results[0]["ttft_s"],
        "warm_ttft_s_median": statistics.median(r["ttft_s"] for r in warm),
        "warm_total_s_median": statistics.median(r["total_s"] for r in warm),
        "peak_rss_gib": rss / 2**30,
        "answers": results,
    }
    if args.format == "json":
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    print(f"RAG latency, {args.model}, {summary['threads']} threads")
    print("| question | TTFT s | total s | mode | citations |")
    print("| --- | ---: | ---: | --- | ---: |")
    for r in results:
        print(f"| {r['question']} | {r['ttft_s']:.2f} | {r['total_s']:.2f} | {r['mode']} | {r['citations']} |")
    print(
        f"\ncold TTFT {summary['cold_ttft_s']:.2f} s; warm TTFT median {summary['warm_ttft_s_median']:.2f} s; "
        f"answer median {summary['warm_total_s_median']:.2f} s; peak RSS {summary['peak_rss_gib']:.2f} GiB"
    )


if __name__ == "__main__":
    main()
