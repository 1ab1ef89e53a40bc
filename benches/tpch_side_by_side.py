#!/usr/bin/env python3
"""TPC-H through Allmende's SQL endpoint and in DuckDB, side by side, on the same machine.

1. Data: the 8 TPC-H tables as Parquet, generated once per scale factor with DuckDB's tpch
   extension from PyPI (`duckdb-extension-tpch`, loaded from its wheel: no extension download),
   or with `tpchgen-cli` when that extension cannot be loaded. Reused when present.
2. Allmende, the way an operator would load it: a generated config with one `[[sources]]` entry
   (format parquet) per table, `allmende ingest` (snapshots with provenance under the data dir),
   then `allmende serve`; tables are `<source>.<table>` (default `tpch.lineitem`, ...). The
   config raises `[query] max_rows` and `timeout_seconds` so TPC-H can run; the report says so.
3. The 22 queries of `benches/tpch_queries/` (validation parameters), with table names
   qualified as `tpch.<table>`; the same text goes to both engines.
4. Allmende: `POST /api/sql`, timed as the HTTP round trip including reading the whole Arrow IPC
   response (or JSON with `--allmende-format json`). DuckDB: in-process, views `tpch.<table>`
   over the very Parquet files Allmende serves (its snapshots; `--duckdb-reads generated` for
   the generated files), threads = the cores Allmende's DataFusion sees, result fetched into
   Python. One warm-up run each, then `--repeat` timed runs; medians, row counts (and values,
   when pyarrow is installed or JSON is used) compared, and the geometric mean of
   allmende / duckdb over the queries that succeeded in both.

Usage:
    python3 -m pip install duckdb==1.5.5 duckdb-extension-tpch==1.5.5 pyarrow
    python3 benches/tpch_side_by_side.py --binary target/release/allmende --scale 1 \
        [--queries 1,3,6 | 1-22] [--repeat 3] [--work-dir DIR] [--format table|markdown|json]

A failing query is reported with its error; the script never stops on one. The server is
stopped when the script ends, however it ends.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import decimal
import http.client
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
REPO = Path(__file__).resolve().parent.parent
QUERIES_DIR = Path(__file__).resolve().parent / "tpch_queries"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
# `[query]` defaults of allmende.example.toml, for the report.
DEFAULT_MAX_ROWS = 10_000
DEFAULT_TIMEOUT_S = 30
RAISED_MAX_ROWS = 10_000_000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(f"error: {msg}")
    sys.exit(2)


# ---------------------------------------------------------------- arguments


def parse_queries(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip().lower().lstrip("q")
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    bad = [q for q in out if not 1 <= q <= 22]
    if bad:
        raise argparse.ArgumentTypeError(f"TPC-H has queries 1-22, not {bad}")
    return sorted(set(out))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="TPC-H in Allmende (POST /api/sql) and DuckDB on the same machine.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--binary", default="target/release/allmende", help="the allmende binary")
    p.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor")
    p.add_argument("--queries", type=parse_queries, default="1-22",
                   help="e.g. 1,3,6 or 1-22")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per query (after one warm-up)")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/allmende-tpch"),
                   help="data, config, snapshots and logs go to WORK_DIR/sf<scale>/")
    p.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    p.add_argument("--skip-ingest", action="store_true",
                   help="use the snapshots already in the data dir (error if missing)")
    p.add_argument("--source", default="tpch", help="Allmende source (SQL schema) of the tables")
    p.add_argument("--port", type=int, default=0, help="port for allmende serve (0: a free one)")
    p.add_argument("--cpus", type=int, default=0,
                   help="pin this script, DuckDB and the server to the first N cores (0: all)")
    p.add_argument("--timeout", type=int, default=600,
                   help="seconds per query (Allmende's [query] timeout_seconds; DuckDB is interrupted)")
    p.add_argument("--memory-limit-mb", type=int, default=4096,
                   help="Allmende's [query] memory_limit_mb per query (default there: 1024)")
    p.add_argument("--generator", choices=("auto", "duckdb", "tpchgen"), default="auto",
                   help="data generator: DuckDB's tpch extension, or tpchgen-cli")
    p.add_argument("--allmende-format", choices=("arrow", "json"), default="arrow",
                   help="result format asked from /api/sql")
    p.add_argument("--duckdb-reads", choices=("snapshots", "generated"), default="snapshots",
                   help="Parquet files DuckDB reads: Allmende's snapshots or the generated files")
    p.add_argument("--queries-dir", type=Path, default=QUERIES_DIR)
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.scale <= 0:
        p.error("--scale must be positive")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.source):
        p.error("--source must be a lowercase SQL identifier")
    return args


# ---------------------------------------------------------------- machine and versions


def available_cores() -> int:
    """The cores a child process sees, the way Rust's available_parallelism counts them
    (affinity mask, then a cgroup v2 CPU quota)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            n = min(n, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return n


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "cores_available": available_cores(),
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def git_rev(repo: Path) -> str:
    """HEAD of the source tree, read from .git directly (no git process)."""
    try:
        git = repo / ".git"
        if git.is_file():  # worktree: "gitdir: PATH"
            git = (repo / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head[:12]
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            if (base / ref).is_file():
                return f"{(base / ref).read_text().strip()[:12]} ({ref.rsplit('/', 1)[-1]})"
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return f"{line.split()[0][:12]} ({ref.rsplit('/', 1)[-1]})"
        return f"unknown ({ref})"
    except OSError:
        return "unknown"


def allmende_version(binary: Path) -> str:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


# ---------------------------------------------------------------- data generation


def tpch_extension_path(duckdb) -> Path | None:
    """The tpch extension shipped in the `duckdb-extension-tpch` wheel, for this DuckDB version."""
    spec = importlib.util.find_spec("duckdb_extension_tpch")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    files = sorted(root.rglob("tpch.duckdb_extension"))
    want = f"v{duckdb.__version__}"
    for f in files:
        if want in f.parts:
            return f
    if files:
        log(f"warning: duckdb-extension-tpch has {[f.parent.name for f in files]}, DuckDB is "
            f"{duckdb.__version__}; install duckdb-extension-tpch=={duckdb.__version__}")
        return files[-1]
    return None


def generate_duckdb(duckdb, scale: float, out: Path) -> str:
    ext = tpch_extension_path(duckdb)
    con = duckdb.connect()
    try:
        if ext is not None:
            con.execute(f"LOAD '{ext}'")
            how = f"duckdb {duckdb.__version__} tpch extension ({ext.name} from duckdb-extension-tpch)"
        else:
            # Works only where extensions.duckdb.org is reachable.
            con.execute("INSTALL tpch")
            con.execute("LOAD tpch")
            how = f"duckdb {duckdb.__version__} tpch extension (INSTALL tpch)"
        log(f"generating TPC-H sf={scale:g} with DuckDB dbgen ...")
        con.execute(f"CALL dbgen(sf={scale!r})")
        for t in TABLES:
            tmp = out / f".{t}.parquet.tmp"
            con.execute(f"COPY {t} TO '{tmp}' (FORMAT parquet)")
            tmp.rename(out / f"{t}.parquet")
        return how
    finally:
        con.close()


def generate_tpchgen(scale: float, out: Path) -> str:
    exe = shutil.which("tpchgen-cli")
    if exe is None and Path("/tmp/tpchgen/bin/tpchgen-cli").is_file():  # cargo install --root
        exe = "/tmp/tpchgen/bin/tpchgen-cli"
    if exe is None:
        raise RuntimeError(
            "tpchgen-cli not found: `python3 -m pip install tpchgen-cli` or "
            "`cargo install tpchgen-cli --locked --root /tmp/tpchgen`")
    tmp = out / ".tpchgen"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log(f"generating TPC-H sf={scale:g} with {exe} ...")
    common = ["--scale-factor", f"{scale:g}", "--output-dir", str(tmp)]
    # tpchgen-cli 2+ has a `parquet` subcommand; older versions take `--format parquet`.
    if subprocess.run([exe, "parquet", *common]).returncode != 0:
        subprocess.run([exe, *common, "--format", "parquet"], check=True)
    for t in TABLES:
        found = sorted(tmp.rglob(f"{t}*.parquet"))
        found = [f for f in found if f.stem == t or f.parent.name == t]
        if len(found) != 1:
            raise RuntimeError(f"tpchgen-cli wrote {len(found)} files for {t} in {tmp}, expected 1")
        found[0].rename(out / f"{t}.parquet")
    shutil.rmtree(tmp, ignore_errors=True)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    return f"tpchgen-cli ({version or exe})"


def ensure_data(args, duckdb, sf_dir: Path) -> tuple[Path, str]:
    out = sf_dir / "parquet"
    marker = out / "GENERATED"
    if marker.is_file() and all((out / f"{t}.parquet").is_file() for t in TABLES):
        return out, marker.read_text().strip() + " (reused)"
    out.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    how = None
    errors = []
    if args.generator in ("auto", "duckdb"):
        try:
            how = generate_duckdb(duckdb, args.scale, out)
        except Exception as e:  # noqa: BLE001 - any failure falls back
            errors.append(f"duckdb tpch extension: {e}")
            if args.generator == "duckdb":
                die(errors[-1])
            log(f"warning: {errors[-1]}; trying tpchgen-cli")
    if how is None:
        try:
            how = generate_tpchgen(args.scale, out)
        except Exception as e:  # noqa: BLE001
            errors.append(f"tpchgen-cli: {e}")
            die("no TPC-H generator works:\n  " + "\n  ".join(errors))
    marker.write_text(f"{how}, sf={args.scale:g}\n")
    return out, how


# ---------------------------------------------------------------- Allmende


def toml_str(s: str | Path) -> str:
    return json.dumps(str(s))  # a JSON string is a valid TOML basic string


def write_config(args, parquet: Path, sf_dir: Path, data_dir: Path, port: int) -> Path:
    lines = [
        "# Generated by benches/tpch_side_by_side.py: TPC-H tables as Parquet [[sources]].",
        f"data_dir = {toml_str(data_dir)}",
        "",
        "[server]",
        f"bind = {toml_str(f'127.0.0.1:{port}')}",
        "",
        "[query]",
        f"# Raised for TPC-H from the defaults (max_rows {DEFAULT_MAX_ROWS}, timeout_seconds "
        f"{DEFAULT_TIMEOUT_S}).",
        f"max_rows = {RAISED_MAX_ROWS}",
        f"timeout_seconds = {args.timeout}",
        f"memory_limit_mb = {args.memory_limit_mb}",
        f"target_partitions = {available_cores()}",
        "",
        "[model]",
        'name = "none"',
        "",
        "[datasets]",
        "# No real sample data: only the built-in Musterstadt tables besides TPC-H.",
        f"shared_dir = {toml_str(sf_dir / 'no-shared-datasets')}",
        "",
    ]
    for t in TABLES:
        lines += [
            "[[sources]]",
            f"source = {toml_str(args.source)}",
            f"table = {toml_str(t)}",
            'format = "parquet"',
            f"path = {toml_str(parquet / f'{t}.parquet')}",
            'licence = "TPC-H generated data (benchmark use)"',
            f'attribution = "TPC-H dbgen data, scale factor {args.scale:g}"',
            "",
        ]
    cfg = sf_dir / "allmende.toml"
    cfg.write_text("\n".join(lines))
    return cfg


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALLMENDE_") or k == "ALLMENDE_LOG"}
    env.setdefault("ALLMENDE_LOG", "info")
    env["NO_COLOR"] = "1"
    return env


def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def snapshot_paths(data_dir: Path, source: str) -> dict[str, Path]:
    return {t: data_dir / "snapshots" / source / f"{t}.parquet" for t in TABLES}


def run_ingest(binary: Path, cfg: Path, data_dir: Path, sf_dir: Path, source: str) -> float:
    logf = sf_dir / "ingest.log"
    cmd = [str(binary), "--config", str(cfg), "--data-dir", str(data_dir), "--model", "none", "ingest"]
    log("running: " + " ".join(cmd))
    t0 = time.perf_counter()
    with open(logf, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=child_env(),
                            cwd=sf_dir).returncode
    seconds = time.perf_counter() - t0
    text = re.sub(r"\x1b\[[0-9;]*m", "", logf.read_text(errors="replace"))
    for line in text.splitlines():  # the report: table, read, loaded, quarantined, outcome
        if line.strip().startswith(f"{source}."):
            log("  " + line.strip())
    missing = [t for t, p in snapshot_paths(data_dir, source).items() if not p.is_file()]
    if rc != 0 or missing:
        die(f"allmende ingest failed (exit {rc}; missing snapshots: {missing or 'none'}). "
            f"Last lines of {logf}:\n{tail(logf)}")
    return seconds


class Server:
    def __init__(self, binary: Path, cfg: Path, data_dir: Path, sf_dir: Path, port: int):
        self.port = port
        self.logf = sf_dir / "serve.log"
        self.proc: subprocess.Popen | None = None
        cmd = [str(binary), "--config", str(cfg), "--data-dir", str(data_dir), "--model", "none",
               "serve", "--bind", f"127.0.0.1:{port}"]
        log("running: " + " ".join(cmd))
        self._log = open(self.logf, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=child_env(), cwd=sf_dir, start_new_session=True)
        atexit.register(self.stop)

    def wait_ready(self, seconds: float = 180) -> dict:
        deadline = time.monotonic() + seconds
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"allmende serve exited with {self.proc.returncode} before it was ready. "
                    f"Last lines of {self.logf}:\n{tail(self.logf)}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/readyz")
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200:
                    return json.loads(body)
                last = f"/readyz answered {r.status}"
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = str(e)
            time.sleep(0.25)
        die(f"allmende serve was not ready after {seconds:.0f} s ({last}). "
            f"Last lines of {self.logf}:\n{tail(self.logf)}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.proc = None
        self._log.close()


class QueryError(Exception):
    pass


class AllmendeClient:
    def __init__(self, server: Server, fmt: str, timeout: float):
        self.server = server
        self.fmt = fmt
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last_body = b""

    def _conn(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout)
        return self.conn

    def post(self, sql: str, fmt: str) -> tuple[int, dict, bytes]:
        body = json.dumps({"sql": sql}).encode()
        headers = {"Content-Type": "application/json",
                   "Accept": ARROW_STREAM if fmt == "arrow" else "application/json"}
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request("POST", "/api/sql", body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self.conn = None
                if not self.server.alive():
                    raise QueryError(f"the server died ({e}); log tail:\n{tail(self.server.logf, 15)}")
                if attempt == 1 or isinstance(e, TimeoutError):
                    raise QueryError(f"HTTP error: {e}")
        raise AssertionError("unreachable")

    def run(self, sql: str) -> int:
        status, headers, data = self.post(sql, self.fmt)
        if status != 200:
            try:
                err = json.loads(data)["error"]
                msg = f"HTTP {status} {err.get('code')}: {err.get('message')}"
            except (ValueError, KeyError, TypeError):
                msg = f"HTTP {status}: {data[:300]!r}"
            raise QueryError(msg)
        if headers.get("x-allmende-truncated") == "true":
            raise QueryError(f"result truncated at {headers.get('x-allmende-row-count')} rows "
                             "(query.max_rows)")
        self.last_body = data
        return int(headers["x-allmende-row-count"])

    def last_rows(self) -> list[tuple] | None:
        """The last result as Python rows, or None when it cannot be decoded here."""
        if self.fmt == "json":
            doc = json.loads(self.last_body)
            names = [c["name"] for c in doc["columns"]]
            return [tuple(r.get(n) for n in names) for r in doc["rows"]]
        try:
            import pyarrow.ipc as ipc  # type: ignore
        except ImportError:
            return None
        table = ipc.open_stream(self.last_body).read_all()
        cols = [c.to_pylist() for c in table.columns]
        return list(zip(*cols)) if cols else []

    def catalog(self, source: str) -> dict[str, int]:
        status, _, data = self.post(
            f"SELECT table_name, row_count FROM allmende.catalog WHERE source = '{source}'", "json")
        if status != 200:
            die(f"allmende.catalog query failed: HTTP {status} {data[:300]!r}")
        return {r["table_name"]: int(r["row_count"]) for r in json.loads(data)["rows"]}


# ---------------------------------------------------------------- DuckDB


class DuckClient:
    def __init__(self, duckdb, threads: int, files: dict[str, Path], schema: str, timeout: float):
        self.con = duckdb.connect(config={"threads": threads})
        self.timeout = timeout
        self.con.execute(f"CREATE SCHEMA {schema}")
        for t, f in files.items():
            self.con.execute(f"CREATE VIEW {schema}.{t} AS SELECT * FROM read_parquet('{f}')")
        self.last: list[tuple] = []

    def run(self, sql: str) -> int:
        timer = threading.Timer(self.timeout, self.con.interrupt)
        timer.start()
        try:
            self.last = self.con.execute(sql).fetchall()
        except Exception as e:  # noqa: BLE001 - reported per query
            raise QueryError(f"{type(e).__name__}: {e}") from e
        finally:
            timer.cancel()
        return len(self.last)

    def last_rows(self) -> list[tuple]:
        return self.last


# ---------------------------------------------------------------- queries


_TOKEN = re.compile(r"'(?:[^']|'')*'|--[^\n]*|\"[^\"]*\"|\w+|\s+|.", re.S)
_ENDS_FROM = {"where", "group", "order", "having", "limit", "union", "except", "intersect",
              "window", "qualify", "select"}


def qualify(sql: str, schema: str) -> str:
    """`FROM lineitem, orders o JOIN part ...` -> `FROM tpch.lineitem, tpch.orders o ...`: only
    table positions of FROM lists and JOINs are rewritten (not `AS nation` column aliases)."""
    out = []
    depth = 0
    in_from = {0: False}
    expect = {0: False}
    for m in _TOKEN.finditer(sql):
        tok = m.group(0)
        low = tok.lower()
        if tok.isspace() or tok.startswith("--"):
            out.append(tok)
            continue
        if tok == "(":
            expect[depth] = False
            depth += 1
            in_from[depth] = False
            expect[depth] = False
        elif tok == ")":
            depth = max(0, depth - 1)
        elif tok == "," and in_from.get(depth):
            expect[depth] = True
        elif low in ("from", "join"):
            in_from[depth] = True
            expect[depth] = True
        elif low == "on":
            expect[depth] = False
        elif low in _ENDS_FROM:
            in_from[depth] = False
            expect[depth] = False
        elif re.fullmatch(r"\w+", tok) and expect.get(depth):
            expect[depth] = False
            if low in TABLES:
                tok = f"{schema}.{low}"
        out.append(tok)
    return "".join(out).strip().rstrip(";").strip()


def load_queries(qdir: Path, numbers: list[int], schema: str) -> dict[int, str]:
    out = {}
    for n in numbers:
        f = qdir / f"q{n:02d}.sql"
        if not f.is_file():
            die(f"missing query file {f}")
        text = "\n".join(l for l in f.read_text().splitlines() if not l.startswith("--"))
        out[n] = qualify(text, schema)
    return out


# ---------------------------------------------------------------- timing and checks


def measure(run, repeat: int) -> dict:
    res: dict = {"times_s": [], "rows": None, "error": None}
    try:
        run()  # warm-up
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = run()
            res["times_s"].append(time.perf_counter() - t0)
            res["rows"] = rows
        res["median_s"] = statistics.median(res["times_s"])
    except QueryError as e:
        res["error"] = str(e)
    return res


def norm(v):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float, decimal.Decimal)):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return float(v)  # JSON encodes decimals as strings
        except ValueError:
            return v
    return str(v)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-5)
    return a == b


def compare(a_rows: list[tuple], d_rows: list[tuple]) -> str | None:
    """None when equal (ordered, or as multisets when only tie order differs), else why not."""
    a = [tuple(norm(v) for v in r) for r in a_rows]
    d = [tuple(norm(v) for v in r) for r in d_rows]
    if len(a) != len(d):
        return f"{len(a)} vs {len(d)} rows"
    if a and len(a[0]) != len(d[0]):
        return f"{len(a[0])} vs {len(d[0])} columns"

    def first_diff(x, y):
        for i, (rx, ry) in enumerate(zip(x, y)):
            if not all(same(p, q) for p, q in zip(rx, ry)):
                return i, rx, ry
        return None

    diff = first_diff(a, d)
    if diff is None:
        return None

    def key(r):
        return tuple((0, f"{v:.6g}") if isinstance(v, float) else (1, str(v)) for v in r)

    if first_diff(sorted(a, key=key), sorted(d, key=key)) is None:
        return None
    i, ra, rd = diff
    return f"row {i}: allmende {ra} vs duckdb {rd}"[:300]


# ---------------------------------------------------------------- report


def fmt_ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1000:.1f}"


def geomean(xs: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


def build_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for r in results:
        a, d = r["allmende"], r["duckdb"]
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "-"
        rows.append([f"Q{r['query']:02d}", fmt_ms(a.get("median_s")), fmt_ms(d.get("median_s")),
                     ratio, "-" if a["rows"] is None else str(a["rows"]),
                     "-" if d["rows"] is None else str(d["rows"]), r["check"]])
    return rows


def render(report: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, default=str)
    head = ["query", "allmende ms", "duckdb ms", "ratio", "rows A", "rows D", "check"]
    rows = build_rows(report["queries"])
    lines: list[str] = []
    md = fmt == "markdown"
    s = report["summary"]
    info = [
        f"TPC-H sf={report['scale']:g}: Allmende (POST /api/sql, {report['settings']['allmende_format']}) "
        f"vs DuckDB {report['versions']['duckdb']} (in-process), same machine, same run",
        f"machine: {report['machine']['cpu']}, {report['machine']['cores_available']} cores available "
        f"({report['machine']['logical_cpus']} logical CPUs), {report['machine']['memory_gib']} GiB, "
        f"{report['machine']['os']}",
        f"allmende: {report['versions']['allmende']}, tree {report['versions']['allmende_git']}, "
        f"binary {report['versions']['binary']}",
        f"data: {report['data']['generator']}; DuckDB reads {report['data']['duckdb_reads']}",
        f"settings: 1 warm-up + {report['settings']['repeat']} timed runs, median; DuckDB threads = "
        f"{report['settings']['duckdb_threads']}; Allmende/DataFusion: default target_partitions "
        f"= cores ({report['settings']['allmende_cores']}, [query] target_partitions)",
        f"allmende config: {report['settings']['allmende_limits']}",
    ]
    b = report["select_1"]
    info.append(f"fixed cost per statement (SELECT 1, median of 5): allmende {fmt_ms(b['allmende'])} ms"
                f" (HTTP round trip), duckdb {fmt_ms(b['duckdb'])} ms")
    if report["settings"].get("ingest_s") is not None:
        info.append(f"allmende ingest of the 8 tables: {report['settings']['ingest_s']:.1f} s")
    for w in report["warnings"]:
        info.append(f"WARNING: {w}")
    if md:
        lines += [f"- {x}" for x in info] + [""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * 5 + ["---"]) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        lines += info + [""]
        widths = [max(len(x) for x in col) for col in zip(head, *rows)]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i in (0, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        lines.append(line(head))
        lines.append("  ".join("-" * w for w in widths))
        lines += [line(r) for r in rows]
    lines.append("")
    gm = s["geomean_ratio"]
    lines.append(
        f"geometric mean allmende/duckdb over {s['both_ok']} queries that succeeded in both: "
        + (f"{gm:.2f}" if gm else "n/a")
        + (f" (sum of medians: allmende {s['sum_allmende_s']:.3f} s, duckdb {s['sum_duckdb_s']:.3f} s)"
           if gm else ""))
    lines.append(f"failed in allmende: {s['allmende_failed'] or 'none'}; failed in duckdb: "
                 f"{s['duckdb_failed'] or 'none'}; result mismatches: {s['mismatches'] or 'none'}")
    errors = [(r["query"], e, r[e]["error"]) for r in report["queries"]
              for e in ("allmende", "duckdb") if r[e]["error"]]
    details = [(r["query"], r["check_detail"]) for r in report["queries"] if r.get("check_detail")]
    if errors or details:
        lines.append("")
        lines.append("errors and mismatches:")
        for q, engine, err in errors:
            one = " ".join(err.split())
            lines.append(f"{'- ' if md else '  '}Q{q:02d} {engine}: {one[:400]}")
        for q, det in details:
            lines.append(f"{'- ' if md else '  '}Q{q:02d} result: {det}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        import duckdb  # type: ignore
    except ImportError:
        die("DuckDB is not installed: python3 -m pip install duckdb==1.5.5 "
            "duckdb-extension-tpch==1.5.5 pyarrow")
    binary = Path(args.binary).resolve()
    if not binary.is_file():
        die(f"no allmende binary at {args.binary} (cargo build --release --locked -p allmende-web, "
            "or pass --binary target/debug/allmende)")
    if args.cpus:
        cpus = sorted(os.sched_getaffinity(0))[: args.cpus]
        os.sched_setaffinity(0, cpus)  # inherited by ingest, serve and DuckDB's threads
    cores = available_cores()
    warnings = []
    if "debug" in binary.parts:
        warnings.append("debug build: DataFusion and Arrow are not optimised in the dev profile; "
                        "use target/release/allmende for numbers worth quoting")
    have_pyarrow = importlib.util.find_spec("pyarrow") is not None
    if args.allmende_format == "arrow" and not have_pyarrow:
        warnings.append("pyarrow is not installed: result values are not compared, only row counts")

    sf_dir = (args.work_dir / f"sf{args.scale:g}").resolve()
    sf_dir.mkdir(parents=True, exist_ok=True)
    parquet, generator = ensure_data(args, duckdb, sf_dir)
    data_dir = sf_dir / "allmende-data"
    port = args.port or free_port()
    cfg = write_config(args, parquet, sf_dir, data_dir, port)

    ingest_s = None
    snaps = snapshot_paths(data_dir, args.source)
    if args.skip_ingest:
        missing = [t for t, p in snaps.items() if not p.is_file()]
        if missing:
            die(f"--skip-ingest, but {data_dir} has no snapshots of {missing}; run without it")
        log(f"--skip-ingest: using the snapshots in {data_dir / 'snapshots' / args.source}")
    else:
        ingest_s = run_ingest(binary, cfg, data_dir, sf_dir, args.source)

    server = Server(binary, cfg, data_dir, sf_dir, port)
    try:
        ready = server.wait_ready()
        log(f"allmende serve ready on 127.0.0.1:{port}: {ready}")
        client = AllmendeClient(server, args.allmende_format, args.timeout + 30)
        catalog = client.catalog(args.source)
        missing = [t for t in TABLES if t not in catalog]
        if missing:
            die(f"allmende does not serve {[f'{args.source}.{t}' for t in missing]}; "
                f"log: {server.logf}")
        duck_files = snaps if args.duckdb_reads == "snapshots" else {
            t: parquet / f"{t}.parquet" for t in TABLES}
        duck = DuckClient(duckdb, cores, duck_files, args.source, args.timeout)
        queries = load_queries(args.queries_dir, args.queries, args.source)
        # Fixed cost per statement (HTTP, planning, the privacy check, encoding): SELECT 1.
        baseline = {"allmende": measure(lambda: client.run("SELECT 1"), 5),
                    "duckdb": measure(lambda: duck.run("SELECT 1"), 5)}

        results = []
        for n, sql in queries.items():
            a = measure(lambda: client.run(sql), args.repeat)
            a_rows = client.last_rows() if a["error"] is None else None
            d = measure(lambda: duck.run(sql), args.repeat)
            d_rows = duck.last_rows() if d["error"] is None else None
            r = {"query": n, "allmende": a, "duckdb": d, "check": "", "check_detail": None}
            if a["error"] and d["error"]:
                r["check"] = "both failed"
            elif a["error"]:
                r["check"] = "allmende failed"
            elif d["error"]:
                r["check"] = "duckdb failed"
            else:
                r["ratio"] = a["median_s"] / d["median_s"]
                if a["rows"] != d["rows"]:
                    r["check"] = "ROWS DIFFER"
                    r["check_detail"] = f"{a['rows']} rows in allmende, {d['rows']} in duckdb"
                elif a_rows is None:
                    r["check"] = "rows ok"
                else:
                    why = compare(a_rows, d_rows)
                    r["check"] = "ok" if why is None else "VALUES DIFFER"
                    r["check_detail"] = why
            results.append(r)
            log(f"Q{n:02d}: allmende {fmt_ms(a.get('median_s'))} ms, duckdb "
                f"{fmt_ms(d.get('median_s'))} ms, {r['check']}"
                + (f" ({(a['error'] or d['error'])[:200]})" if a["error"] or d["error"] else ""))
    finally:
        server.stop()

    both = [r for r in results if r.get("ratio")]
    report = {
        "scale": args.scale,
        "machine": machine_info(),
        "versions": {
            "duckdb": duckdb.__version__,
            "allmende": allmende_version(binary),
            "allmende_git": git_rev(REPO),
            "binary": str(binary),
            "pyarrow": __import__("pyarrow").__version__ if have_pyarrow else None,
        },
        "data": {
            "generator": generator,
            "parquet_dir": str(parquet),
            "duckdb_reads": ("Allmende's snapshots " + str(data_dir / "snapshots" / args.source))
            if args.duckdb_reads == "snapshots" else f"the generated files {parquet}",
            "row_counts": catalog,
        },
        "settings": {
            "repeat": args.repeat,
            "duckdb_threads": cores,
            "allmende_cores": cores,
            "allmende_format": "Arrow IPC" if args.allmende_format == "arrow" else "JSON",
            "allmende_limits": (f"[query] max_rows {DEFAULT_MAX_ROWS} -> {RAISED_MAX_ROWS}, "
                                f"timeout_seconds {DEFAULT_TIMEOUT_S} -> {args.timeout} "
                                f"(raised for TPC-H), memory_limit_mb {args.memory_limit_mb}; {cfg}"),
            "ingest_s": ingest_s,
        },
        "warnings": warnings,
        "select_1": {k: v.get("median_s") for k, v in baseline.items()},
        "queries": results,
        "summary": {
            "both_ok": len(both),
            "geomean_ratio": geomean([r["ratio"] for r in both]),
            "sum_allmende_s": sum(r["allmende"]["median_s"] for r in both),
            "sum_duckdb_s": sum(r["duckdb"]["median_s"] for r in both),
            "allmende_failed": [f"Q{r['query']:02d}" for r in results if r["allmende"]["error"]],
            "duckdb_failed": [f"Q{r['query']:02d}" for r in results if r["duckdb"]["error"]],
            "mismatches": [f"Q{r['query']:02d}" for r in results
                           if r["check"] in ("ROWS DIFFER", "VALUES DIFFER")],
        },
    }
    print(render(report, args.format))


if __name__ == "__main__":
    main()
