#!/usr/bin/env python3
"""German CSV ingest throughput: Allmende's CSV connector and DuckDB's read_csv, side by side,
on the same files, on the same machine, in the same run.

Files: the plain German CSVs of ../shared/datasets (Gemeindeverzeichnis, Cologne, Berlin LOR)
as they are, and "scaled" copies of the larger ones whose data rows are repeated until the
file has at least --scaled-rows rows (same bytes, same encoding), so throughput is measured
on files big enough to time.

Allmende: `allmende bench csv --json --repeat N <files>` (or the `csv_throughput` example of
the connectors crate, which builds in release mode in minutes) — the very connector `allmende
ingest` runs (encoding and separator detection, decimal commas and thousands dots, dd.mm.yyyy
dates, null placeholders, per-column type inference, quarantine), into an Arrow batch. One
thread (the connector does not split a file).

DuckDB: `CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(file, delim, decimal_separator,
encoding, header=true)` into an in-memory database, with the separator, decimal comma and
encoding it needs given explicitly (DuckDB's sniffer does not guess decimal commas or
Latin-1); once with threads=1 and once with all cores. One warm-up, then --repeat timed runs,
medians. Row counts must agree, or the file is flagged.

Usage:
    python3 -m pip install duckdb==1.5.5
    cargo build --release --locked -p allmende-connectors --example csv_throughput
    python3 benches/csv_side_by_side.py --binary target/release/examples/csv_throughput [--repeat 5]
        [--scaled-rows 500000] [--format table|markdown|json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "datasets"
FILES = [
    "gemeindeverzeichnis/AuszugGV4QAktuell.csv",
    "koeln/bevoelkerung.csv",
    "koeln/bezirke_einzeldarstellung.csv",
    "koeln/gesamtergebnisplan.csv",
    "koeln/wahllokale.csv",
    "koeln/aed_stadt_koeln.csv",
    "berlin_einwohner/EWR201912E_Matrix.csv",
    "berlin_einwohner/EWR202012E_Matrix.csv",
]
# Scaled copies: files without quoted line breaks, so repeating lines repeats rows.
SCALED = [
    "gemeindeverzeichnis/AuszugGV4QAktuell.csv",
    "koeln/bevoelkerung.csv",
    "koeln/bezirke_einzeldarstellung.csv",
    "berlin_einwohner/EWR201912E_Matrix.csv",
]


def sniff(path: Path) -> dict:
    raw = path.read_bytes()[:65536]
    try:
        raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    first = raw.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[0]
    delim = max([";", ",", "\t"], key=first.count)
    return {"encoding": encoding, "delim": delim, "decimal": "," if delim == ";" else "."}


def scale(path: Path, rows: int, out_dir: Path) -> Path:
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    if not body.endswith(b"\n"):
        body += b"\n"
    body_rows = max(body.count(b"\n"), 1)
    copies = max(1, math.ceil(rows / body_rows))
    out = out_dir / f"{path.stem}.x{copies}{path.suffix}"
    with out.open("wb") as f:
        f.write(header + b"\n")
        for _ in range(copies):
            f.write(body)
    return out


def allmende(binary: str, files: list[Path], repeat: int, data_dir: Path) -> dict:
    if Path(binary).name == "allmende":
        cmd = [binary, "--data-dir", str(data_dir), "bench", "csv"]
    else:
        cmd = [binary]
    cmd += ["--json", "--repeat", str(repeat)]
    out = subprocess.run(cmd + [str(f) for f in files], check=True, capture_output=True, text=True)
    return {r["file"]: r for r in json.loads(out.stdout)}


def duckdb_run(path: Path, repeat: int, threads: int) -> dict:
    import duckdb

    s = sniff(path)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    sql = (
        "CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?, delim = ?, decimal_separator = ?,"
        " encoding = ?, header = true)"
    )
    params = [str(path), s["delim"], s["decimal"], s["encoding"]]
    con.execute(sql, params)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        con.execute(sql, params)
        times.append(time.perf_counter() - start)
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    median = statistics.median(times)
    return {"rows": rows, "median_s": median, "rows_per_s": rows / median}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(REPO / "target/release/examples/csv_throughput"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scaled-rows", type=int, default=500_000)
    ap.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    args = ap.parse_args()
    try:
        import duckdb
    except ImportError:
        sys.exit("DuckDB is missing: python3 -m pip install duckdb==1.5.5")
    if not SHARED.is_dir():
        sys.exit(f"sample data not found at {SHARED}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        files = [SHARED / f for f in FILES]
        files += [scale(SHARED / f, args.scaled_rows, tmp_dir) for f in SCALED]
        ours = allmende(args.binary, files, args.repeat, tmp_dir / "data")
        results = []
        cores = os.cpu_count() or 1
        for f in files:
            a = ours[str(f)]
            d1 = duckdb_run(f, args.repeat, 1)
            dn = duckdb_run(f, args.repeat, cores)
            results.append(
                {
                    "file": f.name,
                    "bytes": f.stat().st_size,
                    "rows": a["rows_read"],
                    "quarantined": a["rows_quarantined"],
                    "duckdb_rows": d1["rows"],
                    "rows_agree": a["rows_read"] == d1["rows"],
                    "allmende_rows_per_s": a["rows_per_s"],
                    "duckdb_1t_rows_per_s": d1["rows_per_s"],
                    f"duckdb_{cores}t_rows_per_s": dn["rows_per_s"],
                    "allmende_ms": a["median_s"] * 1e3,
                    "duckdb_1t_ms": d1["median_s"] * 1e3,
                    f"duckdb_{cores}t_ms": dn["median_s"] * 1e3,
                }
            )
    ratios = [r["allmende_rows_per_s"] / r["duckdb_1t_rows_per_s"] for r in results]
    ratios_n = [r["allmende_rows_per_s"] / r[f"duckdb_{cores}t_rows_per_s"] for r in results]
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    geo_n = math.exp(sum(map(math.log, ratios_n)) / len(ratios_n))
    meta = {
        "duckdb": duckdb.__version__,
        "cores": cores,
        "repeat": args.repeat,
        "geomean_allmende_over_duckdb_1t": geo,
        f"geomean_allmende_over_duckdb_{cores}t": geo_n,
    }
    if args.format == "json":
        print(json.dumps({"meta": meta, "results": results}, indent=2))
        return 0
    sep = " | " if args.format == "markdown" else "  "
    head = ["file", "rows", "quar.", "rows agree", "allmende rows/s", "duckdb 1t rows/s",
            f"duckdb {cores}t rows/s", "allmende ms", "duckdb 1t ms", f"duckdb {cores}t ms"]
    lines = [sep.join(head)]
    if args.format == "markdown":
        lines = ["| " + lines[0] + " |", "|" + "---|" * len(head)]
    for r in results:
        row = [r["file"], str(r["rows"]), str(r["quarantined"]), "yes" if r["rows_agree"] else f"NO ({r['duckdb_rows']})",
               f"{r['allmende_rows_per_s']:,.0f}", f"{r['duckdb_1t_rows_per_s']:,.0f}",
               f"{r[f'duckdb_{cores}t_rows_per_s']:,.0f}", f"{r['allmende_ms']:.1f}",
               f"{r['duckdb_1t_ms']:.1f}", f"{r[f'duckdb_{cores}t_ms']:.1f}"]
        lines.append(("| " + sep.join(row) + " |") if args.format == "markdown" else sep.join(row))
    print("\n".join(lines))
    print(f"\nDuckDB {meta['duckdb']}, {cores} cores, median of {args.repeat}. Geomean allmende/duckdb "
          f"rows/s: {geo:.2f} (DuckDB 1 thread), {geo_n:.2f} (DuckDB {cores} threads).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
