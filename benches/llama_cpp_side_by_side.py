#!/usr/bin/env python3
"""candle (allmende) vs llama.cpp on the same GGUF, llama-bench style.

1. Runs `allmende bench inference --format json` (pp = prefill of exactly N tokens,
   tg = N greedy single-token decode steps after a short prompt, mean ± sd over repetitions).
2. Runs llama.cpp through llama-cpp-python on the same file, same sizes, same thread count,
   measured the same way: `Llama.eval` of an N-token list for pp (n_batch 512, like candle's
   512-token prefill chunks), then `eval` of one token at a time with a greedy argmax for tg.
3. Prints a Markdown table of both and the ratio candle / llama.cpp.

Usage:
    python3 benches/llama_cpp_side_by_side.py --model data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \
        [--binary target/release/allmende] [-p 512] [-n 128] [-r 3] [-t 8] [--candle-json out.json]

Needs `pip install llama-cpp-python` (compiles llama.cpp, a few minutes). With
`--candle-json FILE` the candle numbers are read from an earlier `--format json` output
instead of running allmende.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

FILLER = (
    "Der Personalausweis kann im Bürgeramt der Stadt beantragt werden. Bitte bringen Sie ein "
    "aktuelles biometrisches Passfoto, Ihren bisherigen Ausweis und gegebenenfalls die "
    "Geburtsurkunde mit. Die Gebühr beträgt 37 Euro für Personen ab 24 Jahren. Termine vergibt "
    "das Bürgeramt online oder telefonisch montags bis freitags von 8 bis 12 Uhr. "
)
TG_PROMPT = "Zähle auf Deutsch von eins bis dreihundert, jede Zahl ausgeschrieben in einer eigenen Zeile."


def stat(samples: list[float]) -> dict:
    return {
        "mean": statistics.fmean(samples),
        "stddev": statistics.stdev(samples) if len(samples) > 1 else 0.0,
        "samples": samples,
    }


def show(s: dict) -> str:
    return f"{s['mean']:.2f} ± {s['stddev']:.2f}"


def run_candle(args) -> dict:
    if args.candle_json:
        data = json.loads(Path(args.candle_json).read_text())
        return data[0] if isinstance(data, list) else data
    binary = Path(args.binary)
    if not binary.is_file():
        sys.exit(f"error: no allmende binary at {binary} (cargo build --locked -p allmende-web, or pass --binary)")
    cmd = [
        str(binary), "--model", str(args.model), "bench", "inference",
        "--prompt-tokens", str(args.prompt_tokens), "--gen-tokens", str(args.gen_tokens),
        "--repetitions", str(args.repetitions), "--format", "json",
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    print("running:", " ".join(cmd), file=sys.stderr)
    env = dict(os.environ, ALLMENDE_LOG=os.environ.get("ALLMENDE_LOG", "warn"))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    data = json.loads(out)
    return data[0] if isinstance(data, list) else data


def run_llama_cpp(args, threads: int) -> dict:
    try:
        import llama_cpp  # type: ignore
        import numpy as np  # llama-cpp-python depends on numpy
    except ImportError:
        sys.exit(
            "error: llama-cpp-python is not installed. Install it with\n"
            "    pip install llama-cpp-python\n"
            "(it compiles llama.cpp for this CPU, a few minutes; CMAKE_ARGS=\"-DGGML_NATIVE=ON\" is the default)"
        )
    pp_n, tg_n, reps = args.prompt_tokens, args.gen_tokens, args.repetitions
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(args.model),
        n_ctx=max(pp_n, tg_n + 128) + 16,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,
        verbose=False,
    )
    load_ms = (time.perf_counter() - started) * 1000

    def argmax_last() -> int:
        return int(np.argmax(llm.scores[llm.n_tokens - 1]))

    filler = llm.tokenize(FILLER.encode(), add_bos=False, special=False)
    pp_tokens = (filler * (pp_n // len(filler) + 1))[:pp_n]
    tg_prompt = llm.tokenize(TG_PROMPT.encode(), add_bos=False, special=False)

    # Warm-up (not measured), like llama-bench.
    llm.reset()
    llm.eval(pp_tokens[: min(pp_n, 32)])
    llm.eval([argmax_last()])

    pp, ttft, tg = [], [], []
    for _ in range(reps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(pp_tokens)
        t1 = time.perf_counter()
        argmax_last()
        t2 = time.perf_counter()
        pp.append(pp_n / (t1 - t0))
        ttft.append((t2 - t0) * 1000)

        llm.reset()
        llm.eval(tg_prompt)
        token = argmax_last()
        t0 = time.perf_counter()
        for _ in range(tg_n):  # like llama-bench: end-of-sequence does not stop the run
            llm.eval([token])
            token = argmax_last()
        tg.append(tg_n / (time.perf_counter() - t0))

    return {
        "engine": f"llama.cpp (llama-cpp-python {getattr(llama_cpp, '__version__', '?')})",
        "threads": threads,
        "pp_tok_s": stat(pp),
        "tg_tok_s": stat(tg),
        "ttft_ms": stat(ttft),
        "load_ms": load_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, type=Path, help="GGUF file")
    ap.add_argument("--binary", default="target/debug/allmende", help="allmende binary (default %(default)s)")
    ap.add_argument("-p", "--prompt-tokens", type=int, default=512)
    ap.add_argument("-n", "--gen-tokens", type=int, default=128)
    ap.add_argument("-r", "--repetitions", type=int, default=3)
    ap.add_argument("-t", "--threads", type=int, default=None, help="default: what candle uses (RAYON_NUM_THREADS or all cores)")
    ap.add_argument("--candle-json", help="read candle's results from this `--format json` output instead of running allmende")
    args = ap.parse_args()
    if not args.model.is_file():
        sys.exit(f"error: no GGUF file at {args.model}")

    candle = run_candle(args)
    threads = args.threads or int(candle["threads"])
    llama = run_llama_cpp(args, threads)

    pp_test, tg_test = f"pp{args.prompt_tokens}", f"tg{args.gen_tokens}"
    name = candle.get("model", args.model.name)
    print(f"Model: {name} ({args.model.name}, {candle.get('size_bytes', 0) / 2**30:.2f} GiB), "
          f"{threads} threads, {args.repetitions} repetitions\n")
    print("| test | candle (allmende) t/s | llama.cpp t/s | candle / llama.cpp |")
    print("| ---- | --------------------: | ------------: | -----------------: |")
    for test, key in [(pp_test, "pp_tok_s"), (tg_test, "tg_tok_s")]:
        ratio = candle[key]["mean"] / llama[key]["mean"]
        print(f"| {test} | {show(candle[key])} | {show(llama[key])} | {ratio:.2f}× |")
    ratio = candle["ttft_ms"]["mean"] / llama["ttft_ms"]["mean"]
    print(f"| ttft {pp_test} (ms, lower is better) | {show(candle['ttft_ms'])} | {show(llama['ttft_ms'])} | {ratio:.2f}× |")
    print(f"| load (ms) | {candle.get('load_ms', float('nan')):.0f} | {llama['load_ms']:.0f} | |")
    print(f"\nllama.cpp: {llama['engine']}")
    if candle.get("tg_decoded_tokens", args.gen_tokens) < args.gen_tokens:
        print(f"note: candle's tg ran over {candle['tg_decoded_tokens']} tokens (the model ended early)")


if __name__ == "__main__":
    main()
