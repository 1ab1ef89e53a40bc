//! Hybrid retrieval in the assistant, with the real multilingual-e5-small encoder (pulled by
//! CI into `data/models`): ingest writes passage vectors and re-encodes only what changed, the
//! server loads them, and the assistant's passages come from BM25 and e5 fused — while a
//! question about nothing in the corpus still finds nothing.

use crate::common;

use std::path::PathBuf;

use allmende_web::state::AppState;

/// The encoder file CI pulls; `None` (test skipped with a notice) when absent outside CI.
fn encoder_file() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/models")
        .join(allmende_search::dense::MODEL_FILE_NAME);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must pull multilingual-e5-small-q4 before the tests ({} is missing)",
        path.display()
    );
    eprintln!(
        "skipping: {} not present (`allmende models pull multilingual-e5-small-q4`)",
        path.display()
    );
    None
}

/// A data dir with the encoder installed, ingested twice: the reports of both runs.
fn ingest_twice(
    encoder: &PathBuf,
) -> (
    tempfile::TempDir,
    allmende_web::config::Config,
    [allmende_search::dense::RefreshStats; 2],
) {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path());
    std::fs::create_dir_all(config.models_dir()).unwrap();
    std::fs::copy(encoder, config.encoder_path()).unwrap();
    let mut stats = Vec::new();
    for _ in 0..2 {
        let report = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(allmende_web::ingest::run(&config))
                    .unwrap()
            })
            .join()
            .unwrap()
        });
        assert_eq!(report.failures(), 0, "{}", report.render());
        stats.push(report.dense.expect("the encoder is installed"));
    }
    (dir, config, [stats[0], stats[1]])
}

#[tokio::test(flavor = "multi_thread")]
async fn hybrid_retrieval_end_to_end() {
    let Some(encoder) = encoder_file() else {
        return;
    };
    let (_dir, config, [first, second]) = ingest_twice(&encoder);
    assert!(
        first.encoded > 50,
        "first ingest encodes every passage: {first:?}"
    );
    assert_eq!(first.reused, 0, "{first:?}");
    assert_eq!(
        second.encoded, 0,
        "unchanged passages are not encoded again: {second:?}"
    );
    assert_eq!(second.reused, first.encoded, "{second:?}");
    assert!(allmende_web::dense::vectors_path(&config).is_file());

    let state = AppState::open(config.clone()).await.unwrap();
    assert!(
        state.assistant.has_dense(),
        "vectors + encoder → hybrid retrieval"
    );

    // A colloquial question: the Personalausweis page is among the first two passages (the
    // other may be the provisional ID card, which also answers it).
    let hits = state
        .assistant
        .retrieve("Perso abgelaufen, was tun?")
        .unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.doc_id.as_str()).collect();
    assert!(
        ids.iter().take(2).any(|id| *id == "ms-leistung-001"),
        "{ids:?}"
    );
    assert!(hits.len() <= config.assistant.passages);
    let mut docs: Vec<_> = hits.iter().map(|h| (&h.source, &h.doc_id)).collect();
    docs.sort();
    docs.dedup();
    assert_eq!(docs.len(), hits.len(), "one passage per document");
    // Every passage is a citable hit from the index (URL and licence), including those only
    // the vectors found.
    for hit in &hits {
        assert!(!hit.url.is_empty() && !hit.licence.is_empty(), "{hit:?}");
        assert!(config.assistant.sources.contains(&hit.source), "{hit:?}");
    }

    // Nothing in the corpus is about baking: the dense floor keeps loosely related pages out.
    let hits = state
        .assistant
        .retrieve("Wie backe ich einen Apfelkuchen mit Streuseln?")
        .unwrap();
    assert!(
        hits.is_empty(),
        "{:?}",
        hits.iter()
            .map(|h| (&h.doc_id, h.score))
            .collect::<Vec<_>>()
    );
}
