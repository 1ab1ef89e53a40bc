//! The search development set (`datasets/search_eval.toml`) against a freshly ingested data
//! dir: every judged document id must exist (catches typos in the set), and BM25 must stay
//! above a measured floor (a quality regression guard, not a timing).
//!
//! Munich questions need the shared sample data (`../shared/datasets/muenchen`); without it
//! they are skipped with a notice.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use allmende_search::SearchOptions;
use allmende_search::eval::{self, EvalReport, EvalSet};
use allmende_web::state::AppState;
use arrow::array::{Array, StringArray};
use arrow::datatypes::DataType;

const SET: &str = include_str!("../../../datasets/search_eval.toml");

fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
    dir.join("muenchen").is_dir().then_some(dir)
}

/// One ingested data dir for this test binary: Musterstadt, plus Munich when available.
fn config() -> allmende_web::config::Config {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let tmp = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        common::ingest_blocking(with_shared(common::test_config(tmp.path())));
        tmp
    });
    with_shared(common::test_config(tmp.path()))
}

fn with_shared(mut config: allmende_web::config::Config) -> allmende_web::config::Config {
    if let Some(dir) = shared_dir() {
        config.datasets.shared_dir = dir;
    }
    config
}

fn set() -> EvalSet {
    EvalSet::from_toml(SET).expect("datasets/search_eval.toml is valid")
}

/// doc_id → exists, per document source (`source.table`), from each source's documents_sql.
async fn known_ids(state: &AppState) -> HashMap<String, HashSet<String>> {
    let (specs, skipped) = allmende_web::ingest::manifest_sources(&state.config).expect("manifest");
    for s in skipped {
        eprintln!("notice: {s}; its questions are skipped");
    }
    let mut known = HashMap::new();
    for spec in specs {
        let Some(sql) = &spec.documents_sql else {
            continue;
        };
        let result = state.engine.sql(sql).await.expect("documents_sql");
        let mut ids = HashSet::new();
        for batch in &result.batches {
            let column = batch.column_by_name("doc_id").expect("doc_id column");
            let column = arrow::compute::cast(column, &DataType::Utf8).expect("cast");
            let array = column.as_any().downcast_ref::<StringArray>().unwrap();
            ids.extend((0..array.len()).map(|i| array.value(i).to_string()));
        }
        known.insert(format!("{}.{}", spec.source, spec.table), ids);
    }
    known
}

#[test]
fn the_set_is_large_and_covers_both_corpora() {
    let set = set();
    assert!(set.len() >= 60, "{} questions", set.len());
    let per = |prefix: &str| {
        set.questions
            .iter()
            .filter(|q| q.source.starts_with(prefix))
            .count()
    };
    assert!(
        per("musterstadt.") >= 40,
        "musterstadt: {}",
        per("musterstadt.")
    );
    assert!(per("muenchen.") >= 20, "muenchen: {}", per("muenchen."));
    let english = set
        .questions
        .iter()
        .filter(|q| q.note.as_deref().is_some_and(|n| n.starts_with("English")))
        .count();
    assert!(english >= 10, "{english} English questions");
    let distinct: HashSet<(&str, &str)> = set
        .questions
        .iter()
        .map(|q| (q.source.as_str(), q.q.as_str()))
        .collect();
    assert_eq!(distinct.len(), set.len(), "a question appears twice");
}

#[tokio::test]
async fn every_judged_document_exists() {
    let state = AppState::open(config()).await.expect("state");
    let known = known_ids(&state).await;
    let mut unknown = Vec::new();
    let mut checked = 0;
    for question in &set().questions {
        let Some(ids) = known.get(&question.source) else {
            assert!(
                question.source.starts_with("muenchen."),
                "source {} of {:?} is not a document source of the manifest",
                question.source,
                question.q
            );
            continue;
        };
        checked += 1;
        for id in &question.relevant {
            if !ids.contains(id) {
                unknown.push(format!("{id} ({:?}, {})", question.q, question.source));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "unknown doc ids in the set: {unknown:#?}"
    );
    assert!(
        checked >= 60 || shared_dir().is_none(),
        "only {checked} checked"
    );
}

fn bm25(state: &AppState, set: &EvalSet) -> EvalReport {
    eval::try_evaluate(set, |q| {
        let opts = SearchOptions {
            limit: 10,
            one_hit_per_document: true,
            sources: vec![q.source.clone()],
        };
        state
            .index
            .search(&q.q, &opts)
            .map(|hits| hits.into_iter().map(|h| h.doc_id).collect::<Vec<_>>())
    })
    .expect("search")
}

/// Floors are the BM25 numbers measured when the set was written (fresh index; Musterstadt
/// success@10 0.887, MRR 0.750; Munich 0.862 / 0.747) minus a margin of about 0.15; raise
/// them when retrieval improves.
#[tokio::test]
async fn bm25_stays_above_the_measured_floor() {
    let state = AppState::open(config()).await.expect("state");
    let set = set();
    let (musterstadt, _) = set.partition_by_source(|s| s.starts_with("musterstadt."));
    let report = bm25(&state, &musterstadt);
    let misses: Vec<_> = report.misses().map(|m| m.q.as_str()).collect();
    eprintln!(
        "musterstadt bm25: success@1/5/10 {:?}, MRR {:.3}; misses: {misses:?}",
        report.recall_at, report.mrr
    );
    assert!(report.success_at(10).unwrap() >= 0.70, "{report:#?}");
    assert!(report.mrr >= 0.58, "{report:#?}");

    if shared_dir().is_none() {
        eprintln!("notice: ../shared/datasets/muenchen not found; Munich questions skipped");
        return;
    }
    let (muenchen, _) = set.partition_by_source(|s| s.starts_with("muenchen."));
    let report = bm25(&state, &muenchen);
    eprintln!(
        "muenchen bm25: success@1/5/10 {:?}, MRR {:.3}",
        report.recall_at, report.mrr
    );
    assert!(report.success_at(10).unwrap() >= 0.70, "{report:#?}");
    assert!(report.mrr >= 0.58, "{report:#?}");
}

/// Success@k of one method in the JSON output of `allmende bench search`.
fn success_at(methods: &[serde_json::Value], method: &str, k: u64) -> f64 {
    let row = methods
        .iter()
        .find(|m| m["method"] == method)
        .unwrap_or_else(|| panic!("no {method} row"));
    assert_eq!(row["available"], true, "{row}");
    row["report"]["recall_at"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == k)
        .and_then(|pair| pair[1].as_f64())
        .unwrap_or_else(|| panic!("no R@{k} for {method}: {row}"))
}

/// The whole command, end to end, with the real multilingual-e5-small encoder (when pulled):
/// dense and hybrid rows are measured, and hybrid retrieval finds a relevant document in the
/// first five for at least 90 % of the questions (the Search issue's target), at least as
/// often as BM25 alone.
#[test]
fn hybrid_retrieval_meets_the_recall_target() {
    let encoder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/models")
        .join(allmende_search::dense::MODEL_FILE_NAME);
    if !encoder.exists() {
        eprintln!(
            "skipping: {} not present (`allmende models pull multilingual-e5-small-q4`)",
            encoder.display()
        );
        return;
    }
    let config = config();
    let models = config.models_dir();
    std::fs::create_dir_all(&models).unwrap();
    let target = models.join(allmende_search::dense::MODEL_FILE_NAME);
    if !target.exists() {
        std::fs::copy(&encoder, &target).unwrap();
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_allmende"));
    command
        .args(["--data-dir"])
        .arg(&config.data_dir)
        .args(["bench", "search", "--format", "json"]);
    command.env("ALLMENDE_SHARED_DIR", &config.datasets.shared_dir);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let methods = report["methods"].as_array().unwrap();
    let (bm25, dense, hybrid) = (
        success_at(methods, "bm25", 5),
        success_at(methods, "dense", 5),
        success_at(methods, "hybrid", 5),
    );
    eprintln!("R@5: bm25 {bm25:.3}, dense {dense:.3}, hybrid {hybrid:.3}");
    assert!(hybrid >= 0.9, "hybrid R@5 {hybrid:.3} < 0.9");
    assert!(hybrid >= bm25, "hybrid {hybrid:.3} below bm25 {bm25:.3}");
}
