//! `allmende bench search-scale --passages N`: how search scales to N passages (10 000 and
//! 1 000 000 are the reference points in search/README.md).
//!
//! 1. Generates N deterministic German-like service passages
//!    ([`allmende_search::synthetic`]; one passage per document) as Arrow batches of 10 000
//!    rows, and indexes them through the real ingest path ([`SearchIndex::replace_source`])
//!    in `--dir` or a temporary directory: build time, index size. (With `--dir` pointing at
//!    an index from an earlier run the update is incremental and the build time is that of
//!    the diff; the added/unchanged counts say which it was.)
//! 2. BM25: `--queries` synthetic citizen queries, one untimed warm-up pass, then a timed pass
//!    on one thread (per-query latency p50/p99, queries/s) and one with the queries split over
//!    two threads (queries/s).
//! 3. Dense: encoding N passages with multilingual-e5-small is out of reach on a CPU (about 10
//!    passages/s on 2 cores: 28 hours for a million), so the passages get synthetic clustered
//!    384-d unit vectors ([`allmende_search::synthetic::clustered_unit_vectors`]). Over
//!    `--dense-queries` query vectors: exact search p50/p99 (the ground truth), HNSW build
//!    time and graph size, HNSW p50/p99 and recall@10 against exact. The real encoder's
//!    query-encoding latency is measured separately when its file is installed.
//!
//! Latency percentiles are nearest-rank over per-query wall times.

use std::path::{Path, PathBuf};
use std::time::Instant;

use allmende_search::dense::{EXACT_BELOW, Encoder, Hnsw, HnswParams, SearchPolicy};
use allmende_search::eval::percentile;
use allmende_search::{IndexStats, SearchIndex, SearchOptions, synthetic};
use anyhow::Context;
use serde::Serialize;
use serde_json::json;

/// Rows per generated record batch.
const BATCH_ROWS: usize = 10_000;
/// Dimension of the synthetic vectors (that of multilingual-e5-small).
const DIM: usize = 384;
/// Queries encoded with the real e5 encoder (the first one is a warm-up).
const E5_QUERIES: usize = 21;

/// Output formats of `bench search-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaleFormat {
    /// Aligned text.
    Table,
    /// The full result as pretty JSON.
    Json,
    /// Markdown tables.
    Markdown,
}

/// Arguments of `bench search-scale`.
#[derive(Debug, Clone)]
pub struct ScaleArgs {
    /// Passages to generate and index.
    pub passages: usize,
    /// Index directory (default: a temporary directory, removed afterwards).
    pub dir: Option<PathBuf>,
    /// BM25 queries per pass.
    pub queries: usize,
    /// Query vectors for exact and HNSW search.
    pub dense_queries: usize,
    /// HNSW parameters.
    pub hnsw: HnswParams,
    /// Seed of the synthetic corpus, queries and vectors.
    pub seed: u64,
    /// Skip the dense part.
    pub skip_dense: bool,
    /// Skip the BM25 part.
    pub skip_bm25: bool,
    /// Where the e5 encoder file would be.
    pub encoder_path: PathBuf,
}

/// Latency summary of one timed pass.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Queries timed.
    pub queries: usize,
    /// Median per-query wall time, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile per-query wall time, milliseconds.
    pub p99_ms: f64,
    /// Queries per second of the pass (queries / wall time).
    pub qps: f64,
}

impl Latency {
    fn from_samples(samples_ms: &[f64], wall_s: f64) -> Self {
        Self {
            queries: samples_ms.len(),
            p50_ms: percentile(samples_ms, 50.0).unwrap_or(0.0),
            p99_ms: percentile(samples_ms, 99.0).unwrap_or(0.0),
            qps: samples_ms.len() as f64 / wall_s.max(1e-9),
        }
    }
}

/// The BM25 part.
#[derive(Debug, Clone, Serialize)]
pub struct Bm25Result {
    /// Seconds to generate the Arrow batches.
    pub generate_s: f64,
    /// Seconds `replace_source` took (analysis, indexing, commit, merges).
    pub build_s: f64,
    /// What `replace_source` did.
    pub stats: IndexStats,
    /// Bytes of the index directory after the build.
    pub index_bytes: u64,
    /// Mean hits per query (limit 10, one per document).
    pub mean_hits: f64,
    /// Timed pass on one thread.
    pub one_thread: Latency,
    /// Queries/s with the queries split over two threads.
    pub two_threads_qps: f64,
}

/// The dense part.
#[derive(Debug, Clone, Serialize)]
pub struct DenseResult {
    /// Vectors (one per passage).
    pub vectors: usize,
    /// Their dimension.
    pub dim: usize,
    /// Seconds to generate them.
    pub generate_s: f64,
    /// Method the dense store picks at this size (exact below `exact_below`).
    pub store_method: String,
    /// The store's threshold.
    pub exact_below: usize,
    /// Exact search, k = 10.
    pub exact: Latency,
    /// HNSW parameters used.
    pub hnsw_params: HnswParams,
    /// Seconds to build the graph (one thread).
    pub hnsw_build_s: f64,
    /// Bytes of the saved graph file.
    pub hnsw_file_bytes: u64,
    /// HNSW search, k = 10.
    pub hnsw: Latency,
    /// Share of the exact top 10 that HNSW returns, over all queries.
    pub recall_at_10: f64,
    /// The same graph searched with longer candidate lists: the recall/latency trade-off.
    pub ef_sweep: Vec<EfPoint>,
}

/// HNSW search with one candidate-list length.
#[derive(Debug, Clone, Serialize)]
pub struct EfPoint {
    /// Candidate list length while searching.
    pub ef_search: usize,
    /// Search latency, k = 10.
    pub latency: Latency,
    /// Share of the exact top 10 returned.
    pub recall_at_10: f64,
}

/// Multiples of `--ef-search` the graph is also searched with.
const EF_SWEEP_FACTORS: [usize; 3] = [2, 4, 8];

/// Everything `bench search-scale` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleResult {
    /// Passages generated and indexed.
    pub passages: usize,
    /// Seed of the synthetic data.
    pub seed: u64,
    /// CPU threads available to this process.
    pub cpus: usize,
    /// BM25 numbers, unless skipped.
    pub bm25: Option<Bm25Result>,
    /// Dense numbers, unless skipped.
    pub dense: Option<DenseResult>,
    /// e5 query-encoding latency, or why it was not measured.
    pub e5_query_encoding: Result<Latency, String>,
    /// Remarks printed with the tables.
    pub notes: Vec<String>,
}

/// Removes a temporary index directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), %error, "could not remove the benchmark index");
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Runs the benchmark (blocking; minutes for a million passages) and returns its result.
pub fn run(args: &ScaleArgs) -> anyhow::Result<ScaleResult> {
    if args.passages == 0 {
        anyhow::bail!("--passages must be at least 1");
    }
    if args.queries == 0 || args.dense_queries == 0 {
        anyhow::bail!("--queries and --dense-queries must be at least 1");
    }
    let (dir, _cleanup) = match &args.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "allmende-search-scale-{}-{}",
                std::process::id(),
                args.passages
            ));
            (dir.clone(), Some(TempDir(dir)))
        }
    };
    let mut notes = Vec::new();
    let bm25 = if args.skip_bm25 {
        None
    } else {
        Some(bench_bm25(args, &dir)?)
    };
    let dense = if args.skip_dense {
        None
    } else {
        Some(bench_dense(args, &dir)?)
    };
    notes.push(format!(
        "dense vectors are synthetic (clustered 384-d unit vectors): encoding {} passages with \
         multilingual-e5-small at ~10 passages/s on 2 cores would take ~{:.1} hours",
        args.passages,
        args.passages as f64 / 10.0 / 3600.0
    ));
    let e5_query_encoding = bench_e5_queries(&args.encoder_path, args.seed);
    if let Err(why) = &e5_query_encoding {
        notes.push(format!("e5 query encoding not measured: {why}"));
    }
    Ok(ScaleResult {
        passages: args.passages,
        seed: args.seed,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        bm25,
        dense,
        e5_query_encoding,
        notes,
    })
}

fn bench_bm25(args: &ScaleArgs, dir: &Path) -> anyhow::Result<Bm25Result> {
    let started = Instant::now();
    let batches = synthetic::document_batches(args.seed, args.passages, BATCH_ROWS)
        .context("generating the synthetic corpus")?;
    let generate_s = started.elapsed().as_secs_f64();
    eprintln!(
        "generated {} passages in {generate_s:.1} s; indexing into {}",
        args.passages,
        dir.display()
    );

    let index = SearchIndex::open_or_create(dir)
        .with_context(|| format!("opening the index in {}", dir.display()))?;
    let started = Instant::now();
    let stats = index
        .replace_source(synthetic::SOURCE, &batches)
        .context("indexing the synthetic corpus")?;
    let build_s = started.elapsed().as_secs_f64();
    drop(batches);
    let index_bytes = dir_bytes(dir);
    eprintln!("indexed in {build_s:.1} s ({index_bytes} bytes)");

    let queries = synthetic::queries(args.seed, args.queries);
    let opts = SearchOptions::default();
    let mut total_hits = 0usize;
    for q in &queries {
        total_hits += index.search(q, &opts)?.len();
    }
    let mut samples = Vec::with_capacity(queries.len());
    let pass = Instant::now();
    for q in &queries {
        let start = Instant::now();
        index.search(q, &opts)?;
        samples.push(ms_since(start));
    }
    let one_thread = Latency::from_samples(&samples, pass.elapsed().as_secs_f64());

    let pass = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..2)
            .map(|t| {
                let (index, queries, opts) = (&index, &queries, &opts);
                scope.spawn(move || -> allmende_search::Result<()> {
                    for q in queries.iter().skip(t).step_by(2) {
                        index.search(q, opts)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a search thread panicked"))??;
        }
        Ok(())
    })?;
    let two_threads_qps = queries.len() as f64 / pass.elapsed().as_secs_f64().max(1e-9);
    Ok(Bm25Result {
        generate_s,
        build_s,
        stats,
        index_bytes,
        mean_hits: total_hits as f64 / queries.len() as f64,
        one_thread,
        two_threads_qps,
    })
}

fn bench_dense(args: &ScaleArgs, dir: &Path) -> anyhow::Result<DenseResult> {
    let started = Instant::now();
    let policy = SearchPolicy {
        hnsw: args.hnsw,
        ..SearchPolicy::default()
    };
    let index =
        synthetic::clustered_unit_vectors(args.seed, args.passages, DIM).with_policy(policy);
    let queries = synthetic::query_vectors(args.seed, args.passages, DIM, args.dense_queries);
    let generate_s = started.elapsed().as_secs_f64();
    eprintln!(
        "generated {} vectors in {generate_s:.1} s; exact search over {} queries",
        index.len(),
        queries.len()
    );

    let mut samples = Vec::with_capacity(queries.len());
    let mut truth = Vec::with_capacity(queries.len());
    let pass = Instant::now();
    for q in &queries {
        let start = Instant::now();
        let hits = index.search_exact(q, 10)?;
        samples.push(ms_since(start));
        truth.push(hits.into_iter().map(|(id, _)| id).collect::<Vec<_>>());
    }
    let exact = Latency::from_samples(&samples, pass.elapsed().as_secs_f64());

    eprintln!(
        "building the hnsw graph (m = {}, ef_construction = {})",
        args.hnsw.m, args.hnsw.ef_construction
    );
    let started = Instant::now();
    let graph = Hnsw::build(&index, args.hnsw);
    let hnsw_build_s = started.elapsed().as_secs_f64();
    eprintln!("built in {hnsw_build_s:.1} s");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let graph_file = dir.join("synthetic.adv.hnsw");
    graph.save(&graph_file)?;
    let hnsw_file_bytes = std::fs::metadata(&graph_file).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&graph_file);

    let search_pass = |ef: usize| -> anyhow::Result<EfPoint> {
        let mut samples = Vec::with_capacity(queries.len());
        let mut found = 0usize;
        let pass = Instant::now();
        for (q, exact_ids) in queries.iter().zip(&truth) {
            let start = Instant::now();
            let hits = graph.search_with_ef(&index, q, 10, ef)?;
            samples.push(ms_since(start));
            found += hits
                .iter()
                .filter(|(row, _)| exact_ids.contains(&index.ids[*row]))
                .count();
        }
        let expected: usize = truth.iter().map(Vec::len).sum();
        Ok(EfPoint {
            ef_search: ef,
            latency: Latency::from_samples(&samples, pass.elapsed().as_secs_f64()),
            recall_at_10: found as f64 / expected.max(1) as f64,
        })
    };
    let main = search_pass(args.hnsw.ef_search)?;
    let ef_sweep = EF_SWEEP_FACTORS
        .iter()
        .map(|f| search_pass(args.hnsw.ef_search * f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(DenseResult {
        vectors: index.len(),
        dim: DIM,
        generate_s,
        store_method: format!("{:?}", index.method()).to_lowercase(),
        exact_below: EXACT_BELOW,
        exact,
        hnsw_params: graph.params(),
        hnsw_build_s,
        hnsw_file_bytes,
        hnsw: main.latency,
        recall_at_10: main.recall_at_10,
        ef_sweep,
    })
}

fn bench_e5_queries(encoder_path: &Path, seed: u64) -> Result<Latency, String> {
    if !encoder_path.is_file() {
        return Err(format!(
            "no encoder at {} (`allmende models pull multilingual-e5-small-q4`)",
            encoder_path.display()
        ));
    }
    let encoder =
        Encoder::load(encoder_path).map_err(|e| format!("encoder failed to load: {e}"))?;
    let queries = synthetic::queries(seed, E5_QUERIES);
    let mut samples = Vec::with_capacity(queries.len());
    let mut wall = 0.0;
    for (i, q) in queries.iter().enumerate() {
        let start = Instant::now();
        encoder
            .encode_queries(&[q.as_str()])
            .map_err(|e| format!("encoding failed: {e}"))?;
        if i > 0 {
            samples.push(ms_since(start));
            wall += start.elapsed().as_secs_f64();
        }
    }
    Ok(Latency::from_samples(&samples, wall))
}

fn fmt_bytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `(metric, value)` rows of the result, in output order.
fn rows(result: &ScaleResult) -> Vec<(String, String)> {
    let mut out = vec![
        ("passages".to_string(), result.passages.to_string()),
        ("cpus".into(), result.cpus.to_string()),
    ];
    if let Some(b) = &result.bm25 {
        out.extend(bm25_rows(b));
    }
    if let Some(d) = &result.dense {
        out.extend(dense_rows(d));
    }
    out.push((
        "e5 query encoding p50 / p99".into(),
        match &result.e5_query_encoding {
            Ok(l) => format!(
                "{:.1} / {:.1} ms ({} queries)",
                l.p50_ms, l.p99_ms, l.queries
            ),
            Err(_) => "not measured".into(),
        },
    ));
    out
}

fn bm25_rows(b: &Bm25Result) -> Vec<(String, String)> {
    vec![
        ("corpus generation".into(), format!("{:.1} s", b.generate_s)),
        ("bm25 index build".into(), format!("{:.1} s", b.build_s)),
        (
            "bm25 index changes".into(),
            format!(
                "{} added, {} updated, {} deleted, {} unchanged",
                b.stats.added, b.stats.updated, b.stats.deleted, b.stats.unchanged
            ),
        ),
        ("bm25 index size".into(), fmt_bytes(b.index_bytes)),
        (
            "bm25 query p50 / p99".into(),
            format!("{:.2} / {:.2} ms", b.one_thread.p50_ms, b.one_thread.p99_ms),
        ),
        (
            "bm25 queries/s, 1 thread".into(),
            format!("{:.0} ({} queries)", b.one_thread.qps, b.one_thread.queries),
        ),
        (
            "bm25 queries/s, 2 threads".into(),
            format!("{:.0}", b.two_threads_qps),
        ),
        ("bm25 mean hits/query".into(), format!("{:.1}", b.mean_hits)),
    ]
}

fn dense_rows(d: &DenseResult) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "dense vectors".into(),
            format!(
                "{} × {} (synthetic), {:.1} s to generate",
                d.vectors, d.dim, d.generate_s
            ),
        ),
        (
            "dense store method".into(),
            format!("{} (exact below {})", d.store_method, d.exact_below),
        ),
        (
            "exact k=10 p50 / p99".into(),
            format!(
                "{:.2} / {:.2} ms ({} queries)",
                d.exact.p50_ms, d.exact.p99_ms, d.exact.queries
            ),
        ),
        (
            "hnsw parameters".into(),
            format!(
                "m {}, ef_construction {}, ef_search {}",
                d.hnsw_params.m, d.hnsw_params.ef_construction, d.hnsw_params.ef_search
            ),
        ),
        (
            "hnsw build (1 thread)".into(),
            format!("{:.1} s", d.hnsw_build_s),
        ),
        ("hnsw graph file".into(), fmt_bytes(d.hnsw_file_bytes)),
        (
            "hnsw k=10 p50 / p99".into(),
            format!("{:.3} / {:.3} ms", d.hnsw.p50_ms, d.hnsw.p99_ms),
        ),
        (
            "hnsw recall@10 vs exact".into(),
            format!("{:.4}", d.recall_at_10),
        ),
    ];
    for point in &d.ef_sweep {
        out.push((
            format!("hnsw ef_search {}: p50 / p99, recall@10", point.ef_search),
            format!(
                "{:.3} / {:.3} ms, {:.4}",
                point.latency.p50_ms, point.latency.p99_ms, point.recall_at_10
            ),
        ));
    }
    out
}

/// Renders the result in `format`.
pub fn render(result: &ScaleResult, format: ScaleFormat) -> anyhow::Result<String> {
    let mut out = String::new();
    match format {
        ScaleFormat::Json => {
            let value = json!({
                "passages": result.passages,
                "seed": result.seed,
                "cpus": result.cpus,
                "bm25": result.bm25,
                "dense": result.dense,
                "e5_query_encoding": match &result.e5_query_encoding {
                    Ok(l) => json!(l),
                    Err(why) => json!({"available": false, "reason": why}),
                },
                "notes": result.notes,
            });
            out.push_str(&serde_json::to_string_pretty(&value)?);
            out.push('\n');
        }
        ScaleFormat::Table => {
            let rows = rows(result);
            let width = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (metric, value) in rows {
                out.push_str(&format!("{metric:<width$}  {value}\n"));
            }
            for note in &result.notes {
                out.push_str(&format!("note: {note}\n"));
            }
        }
        ScaleFormat::Markdown => {
            out.push_str("| metric | value |\n|---|---|\n");
            for (metric, value) in rows(result) {
                out.push_str(&format!("| {metric} | {value} |\n"));
            }
            for note in &result.notes {
                out.push_str(&format!("\nNote: {note}\n"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_run_measures_everything_and_renders() {
        let dir = std::env::temp_dir().join(format!("allmende-scale-test-{}", std::process::id()));
        let args = ScaleArgs {
            passages: 300,
            dir: Some(dir.clone()),
            queries: 20,
            dense_queries: 10,
            hnsw: HnswParams::default(),
            seed: 1,
            skip_dense: false,
            skip_bm25: false,
            encoder_path: dir.join("no-such-model.bin"),
        };
        let result = run(&args).unwrap();
        let _cleanup = TempDir(dir.clone());
        let bm25 = result.bm25.as_ref().unwrap();
        assert_eq!(bm25.stats.passages, 300);
        assert_eq!(bm25.stats.added, 300);
        assert!(bm25.index_bytes > 0);
        assert!(bm25.mean_hits > 0.0);
        assert_eq!(bm25.one_thread.queries, 20);
        let dense = result.dense.as_ref().unwrap();
        assert_eq!(dense.store_method, "exact");
        assert!(dense.recall_at_10 > 0.9, "{}", dense.recall_at_10);
        let efs: Vec<usize> = dense.ef_sweep.iter().map(|p| p.ef_search).collect();
        assert_eq!(efs, [128, 256, 512]);
        // Longer candidate lists never find fewer of the true neighbours on a graph this small.
        assert!(
            dense
                .ef_sweep
                .iter()
                .all(|p| p.recall_at_10 >= dense.recall_at_10 - 1e-9)
        );
        assert!(result.e5_query_encoding.is_err());

        // A second run over the same directory is an incremental no-op.
        let again = run(&ScaleArgs {
            skip_dense: true,
            ..args.clone()
        })
        .unwrap();
        assert_eq!(again.bm25.as_ref().unwrap().stats.unchanged, 300);
        assert!(again.dense.is_none());
        let dense_only = run(&ScaleArgs {
            skip_bm25: true,
            passages: 50,
            ..args.clone()
        })
        .unwrap();
        assert!(dense_only.bm25.is_none() && dense_only.dense.is_some());

        let table = render(&result, ScaleFormat::Table).unwrap();
        assert!(table.contains("hnsw recall@10 vs exact"), "{table}");
        assert!(table.contains("hnsw ef_search 256: p50 / p99"), "{table}");
        let md = render(&result, ScaleFormat::Markdown).unwrap();
        assert!(md.starts_with("| metric | value |"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&result, ScaleFormat::Json).unwrap()).unwrap();
        assert_eq!(json["passages"], 300);
        assert_eq!(json["e5_query_encoding"]["available"], false);
    }
}
