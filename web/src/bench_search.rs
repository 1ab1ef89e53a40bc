//! `allmende bench search`: retrieval quality (success@1/5/10, MRR) and query latency of the
//! search index over the development set `datasets/search_eval.toml` (or `--set FILE`).
//!
//! Each question is searched with [`SearchIndex::search`] restricted to its `source`, one hit
//! per document, `--k` hits; [`allmende_search::eval`] computes the metrics (see there for
//! their definitions). Questions whose source is not in the snapshot catalog (typically
//! `muenchen.*` when the shared sample data was not ingested) are skipped with a notice.
//!
//! Latency: the set is searched once untimed (per corpus, for the per-corpus rows; this also
//! warms segment readers and caches), then once timed; p50/p99 are nearest-rank percentiles of the per-query wall times of the timed pass.
//!
//! Methods: BM25; dense (multilingual-e5-small over every passage of the evaluated sources,
//! encoded when the bench starts — about a minute for the built-in corpora on 2 cores — a
//! document scoring as its best passage); hybrid (reciprocal rank fusion, k = 60, of the BM25
//! and dense document rankings, 50 deep each). Dense and hybrid need the encoder file
//! (`allmende models pull multilingual-e5-small-q4`) and are listed as not available without
//! it. Every method is a ranker `FnMut(&EvalQuestion) -> Result<Vec<String>>` passed to
//! [`measure`].

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use allmende_connectors::SnapshotStore;
use allmende_query::QueryEngine;
use allmende_search::dense::{DenseDocuments, Encoder};
use allmende_search::eval::{self, EvalQuestion, EvalReport, EvalSet};
use allmende_search::{SearchIndex, SearchOptions};
use anyhow::Context;
use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;
use serde_json::json;

use allmende_web::config::Config;

/// The built-in development set.
pub const DEFAULT_SET: &str = include_str!("../../datasets/search_eval.toml");

/// Output formats of `bench search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchBenchFormat {
    /// Aligned text table.
    Table,
    /// The full result as pretty JSON (with per-question ranks).
    Json,
    /// A Markdown table.
    Markdown,
}

/// Arguments of `bench search`.
#[derive(Debug, Clone)]
pub struct SearchBenchArgs {
    /// Set file; `None` means the built-in `datasets/search_eval.toml`.
    pub set: Option<PathBuf>,
    /// Output format.
    pub format: SearchBenchFormat,
    /// Hits requested per question (metrics look at most at the first 10).
    pub k: usize,
    /// List the questions without a relevant hit.
    pub verbose: bool,
}

/// One method's measurement: its metrics and per-query latencies (milliseconds).
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The metrics over the whole (available) set.
    pub report: EvalReport,
    /// Per-question wall time of the timed pass, in set order.
    pub latencies_ms: Vec<f64>,
    /// The metrics per corpus (`musterstadt`, `muenchen`), sorted by name.
    pub per_corpus: Vec<(String, EvalReport)>,
}

/// A row of the output: a method that was measured or one that is not available yet.
#[derive(Debug, Clone)]
pub struct MethodRow {
    /// `bm25`, `dense`, `hybrid`.
    pub method: &'static str,
    /// The measurement, or why there is none.
    pub result: Result<Measurement, String>,
}

/// Everything `bench search` found.
#[derive(Debug, Clone)]
pub struct SearchBenchResult {
    /// Where the set came from.
    pub set: String,
    /// Hits requested per question.
    pub k: usize,
    /// Questions evaluated, per corpus (`musterstadt`, `muenchen`).
    pub corpora: BTreeMap<String, usize>,
    /// Skipped questions per source that is not ingested.
    pub skipped: BTreeMap<String, usize>,
    /// One row per method.
    pub methods: Vec<MethodRow>,
}

/// Runs the benchmark over the data directory of `config` and renders it.
pub async fn run(config: &Config, args: SearchBenchArgs) -> anyhow::Result<String> {
    let (set_name, text) = match &args.set {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the evaluation set {}", path.display()))?,
        ),
        None => (
            "datasets/search_eval.toml (built in)".to_string(),
            DEFAULT_SET.to_string(),
        ),
    };
    let set = EvalSet::from_toml(&text).with_context(|| format!("loading {set_name}"))?;
    if args.k == 0 {
        anyhow::bail!("--k must be at least 1");
    }

    let store = SnapshotStore::new(config.snapshot_dir());
    let engine = QueryEngine::open(&store, config.query.clone()).await?;
    let ingested = ingested_tables(&engine).await?;
    let index = allmende_web::ingest::open_index(&config.index_dir())?;
    if index.num_passages()? == 0 {
        anyhow::bail!(
            "the search index in {} is empty; run `allmende ingest` first",
            config.index_dir().display()
        );
    }

    let encoder_path = config
        .models_dir()
        .join(allmende_search::dense::MODEL_FILE_NAME);
    let result = tokio::task::spawn_blocking(move || {
        bench(&index, &set, &ingested, set_name, args.k, &encoder_path)
    })
    .await??;
    for (source, n) in &result.skipped {
        eprintln!("notice: skipped {n} question(s) over {source}: not ingested in this data dir");
    }
    render(&result, args.format, args.verbose)
}

/// `source.table` of every snapshot in the catalog.
pub async fn ingested_tables(engine: &QueryEngine) -> anyhow::Result<HashSet<String>> {
    let result = engine
        .sql("SELECT source || '.' || table_name AS name FROM allmende.catalog")
        .await?;
    let mut names = HashSet::new();
    for batch in &result.batches {
        names.extend(strings(batch.column(0))?);
    }
    Ok(names)
}

/// The values of a string column (any string type), nulls skipped.
pub fn strings(column: &arrow::array::ArrayRef) -> anyhow::Result<Vec<String>> {
    let column = arrow::compute::cast(column, &DataType::Utf8)?;
    let array = column
        .as_any()
        .downcast_ref::<StringArray>()
        .context("expected a string column")?;
    Ok((0..array.len())
        .filter(|&i| array.is_valid(i))
        .map(|i| array.value(i).to_string())
        .collect())
}

/// The BM25 ranker: the ids of [`SearchIndex::search`] restricted to the question's source.
pub fn bm25_ranker(
    index: &SearchIndex,
    k: usize,
) -> impl FnMut(&EvalQuestion) -> allmende_search::Result<Vec<String>> + '_ {
    move |question| {
        let opts = SearchOptions {
            limit: k,
            one_hit_per_document: true,
            sources: vec![question.source.clone()],
        };
        Ok(index
            .search(&question.q, &opts)?
            .into_iter()
            .map(|hit| hit.doc_id)
            .collect())
    }
}

/// Depth of each ranking fused by the hybrid method.
const FUSION_DEPTH: usize = 50;

/// Encodes the passages of `sources` for the dense and hybrid methods; why not, if it cannot.
fn dense_documents(
    index: &SearchIndex,
    sources: &[String],
    encoder_path: &std::path::Path,
) -> Result<DenseDocuments, String> {
    if !encoder_path.exists() {
        return Err(format!(
            "not available (no encoder at {}; `allmende models pull multilingual-e5-small-q4`)",
            encoder_path.display()
        ));
    }
    let started = Instant::now();
    let encoder =
        Encoder::load(encoder_path).map_err(|e| format!("encoder failed to load: {e}"))?;
    let dense = DenseDocuments::build(encoder, index, sources)
        .map_err(|e| format!("encoding passages failed: {e}"))?;
    eprintln!(
        "encoded {} passages with multilingual-e5-small in {:.1} s",
        dense.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(dense)
}

/// Runs `ranker` once per corpus (metrics per corpus; doubles as the warm-up), then once
/// timed over the whole set, and evaluates the timed rankings.
pub fn measure<E>(
    set: &EvalSet,
    mut ranker: impl FnMut(&EvalQuestion) -> Result<Vec<String>, E>,
) -> Result<Measurement, E> {
    let corpora: std::collections::BTreeSet<&str> =
        set.questions.iter().map(|q| corpus(&q.source)).collect();
    let mut per_corpus = Vec::with_capacity(corpora.len());
    for name in corpora {
        let (subset, _) = set.partition_by_source(|s| corpus(s) == name);
        per_corpus.push((name.to_string(), eval::try_evaluate(&subset, &mut ranker)?));
    }
    let mut latencies_ms = Vec::with_capacity(set.len());
    let report = eval::try_evaluate(set, |question| {
        let start = Instant::now();
        let ranking = ranker(question);
        latencies_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        ranking
    })?;
    Ok(Measurement {
        report,
        latencies_ms,
        per_corpus,
    })
}

/// The corpus of a source: the part before the first dot (`musterstadt.leistungen` →
/// `musterstadt`).
fn corpus(source: &str) -> &str {
    source.split('.').next().unwrap_or(source)
}

/// Evaluates BM25, dense and hybrid retrieval over the questions whose source is in
/// `ingested` (dense and hybrid only when the encoder file exists).
pub fn bench(
    index: &SearchIndex,
    set: &EvalSet,
    ingested: &HashSet<String>,
    set_name: String,
    k: usize,
    encoder_path: &std::path::Path,
) -> anyhow::Result<SearchBenchResult> {
    let (available, missing) = set.partition_by_source(|s| ingested.contains(s));
    if available.is_empty() {
        anyhow::bail!(
            "none of the sources of the evaluation set ({}) is ingested; run `allmende ingest`",
            set.sources().into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let mut skipped = BTreeMap::new();
    for q in &missing.questions {
        *skipped.entry(q.source.clone()).or_insert(0) += 1;
    }
    let mut corpora = BTreeMap::new();
    for q in &available.questions {
        *corpora.entry(corpus(&q.source).to_string()).or_insert(0) += 1;
    }
    let bm25 = measure(&available, bm25_ranker(index, k)).context("searching the index")?;
    let sources: Vec<String> = available.sources().into_iter().map(String::from).collect();
    let (dense, hybrid) = match dense_documents(index, &sources, encoder_path) {
        Ok(documents) => {
            let dense = measure(&available, |q: &EvalQuestion| {
                documents.rank(&q.q, &q.source, k)
            })
            .map_err(|e| e.to_string());
            let mut lexical = bm25_ranker(index, FUSION_DEPTH);
            let hybrid = measure(
                &available,
                |q: &EvalQuestion| -> anyhow::Result<Vec<String>> {
                    let words = lexical(q)?;
                    let vectors = documents.rank(&q.q, &q.source, FUSION_DEPTH)?;
                    Ok(allmende_search::dense::hybrid(words, vectors, k))
                },
            )
            .map_err(|e| e.to_string());
            (dense, hybrid)
        }
        Err(why) => (Err(why.clone()), Err(why)),
    };
    Ok(SearchBenchResult {
        set: set_name,
        k,
        corpora,
        skipped,
        methods: vec![
            MethodRow {
                method: "bm25",
                result: Ok(bm25),
            },
            MethodRow {
                method: "dense",
                result: dense,
            },
            MethodRow {
                method: "hybrid",
                result: hybrid,
            },
        ],
    })
}

struct Line {
    method: String,
    cells: Option<[String; 7]>,
    note: String,
}

fn lines(result: &SearchBenchResult) -> Vec<Line> {
    let mut out = Vec::new();
    for row in &result.methods {
        match &row.result {
            Ok(m) => {
                let p = |q| {
                    eval::percentile(&m.latencies_ms, q).map_or("-".into(), |v| format!("{v:.2}"))
                };
                let cells = |r: &EvalReport, p50: String, p99: String| {
                    let at = |k| r.success_at(k).map_or("-".into(), |v| format!("{v:.3}"));
                    [
                        r.questions.to_string(),
                        at(1),
                        at(5),
                        at(10),
                        format!("{:.3}", r.mrr),
                        p50,
                        p99,
                    ]
                };
                out.push(Line {
                    method: row.method.to_string(),
                    cells: Some(cells(&m.report, p(50.0), p(99.0))),
                    note: String::new(),
                });
                if m.per_corpus.len() > 1 {
                    for (name, sub) in &m.per_corpus {
                        out.push(Line {
                            method: format!("  {} [{name}]", row.method),
                            cells: Some(cells(sub, String::new(), String::new())),
                            note: String::new(),
                        });
                    }
                }
            }
            Err(why) => out.push(Line {
                method: row.method.to_string(),
                cells: None,
                note: why.clone(),
            }),
        }
    }
    out
}

const HEADERS: [&str; 8] = [
    "method",
    "questions",
    "R@1",
    "R@5",
    "R@10",
    "MRR",
    "p50 ms",
    "p99 ms",
];

/// Renders the result in `format`; `verbose` adds the misses.
pub fn render(
    result: &SearchBenchResult,
    format: SearchBenchFormat,
    verbose: bool,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let corpora = result
        .corpora
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = format!(
        "search evaluation over {} (k = {}; {corpora}); R@k = share of questions with a relevant \
         document in the first k",
        result.set, result.k
    );
    match format {
        SearchBenchFormat::Json => {
            let methods: Vec<_> = result
                .methods
                .iter()
                .map(|row| match &row.result {
                    Ok(m) => json!({
                        "method": row.method,
                        "available": true,
                        "report": m.report,
                        "latency_ms": {
                            "p50": eval::percentile(&m.latencies_ms, 50.0),
                            "p99": eval::percentile(&m.latencies_ms, 99.0),
                        },
                    }),
                    Err(why) => json!({"method": row.method, "available": false, "reason": why}),
                })
                .collect();
            let value = json!({
                "set": result.set,
                "k": result.k,
                "corpora": result.corpora,
                "skipped": result.skipped,
                "methods": methods,
            });
            out.push_str(&serde_json::to_string_pretty(&value)?);
            out.push('\n');
            return Ok(out);
        }
        SearchBenchFormat::Table => {
            out.push_str(&summary);
            out.push_str("\n\n");
            let mut row = |cols: Vec<String>| {
                let mut line = format!("{:<24}", cols[0]);
                for c in &cols[1..] {
                    line.push_str(&format!(" {c:>9}"));
                }
                out.push_str(line.trim_end());
                out.push('\n');
            };
            row(HEADERS.iter().map(|h| h.to_string()).collect());
            for line in lines(result) {
                match line.cells {
                    Some(cells) => row(std::iter::once(line.method).chain(cells).collect()),
                    None => row(vec![line.method, format!("  {}", line.note)]),
                }
            }
        }
        SearchBenchFormat::Markdown => {
            out.push_str(&format!("{summary}\n\n| {} |\n", HEADERS.join(" | ")));
            out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len())));
            for line in lines(result) {
                let cells = match line.cells {
                    Some(cells) => cells.join(" | "),
                    None => format!("{} |{}", line.note, " |".repeat(HEADERS.len() - 2)),
                };
                out.push_str(&format!("| {} | {cells} |\n", line.method.trim()));
            }
        }
    }
    if verbose {
        for row in &result.methods {
            let Ok(m) = &row.result else { continue };
            let misses: Vec<_> = m.report.misses().collect();
            out.push_str(&format!("\n{} misses ({}):\n", row.method, misses.len()));
            for miss in misses {
                out.push_str(&format!(
                    "  [{}] {} → got: {}\n",
                    miss.source,
                    miss.q,
                    if miss.top.is_empty() {
                        "nothing".to_string()
                    } else {
                        miss.top.join(", ")
                    }
                ));
            }
        }
    }
    Ok(out)
}
