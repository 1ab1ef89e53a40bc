//! Dense retrieval wiring: where the e5 encoder and the passage vectors live, refreshing the
//! vectors after an ingest, and loading them for the assistant at start-up.
//!
//! Dense retrieval is on exactly when the encoder file is installed
//! (`allmende models pull multilingual-e5-small-q4` puts it in `<data_dir>/models`). Without
//! it, ingest skips the vectors and the assistant answers from BM25 alone — nothing else
//! changes. The vectors (`<data_dir>/dense/passages.adv`) are refreshed incrementally: only
//! passages whose text changed are encoded again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_search::SearchIndex;
use allmende_search::dense::{DenseRetriever, Encoder, PassageVectors, RefreshStats};
use anyhow::Context;

use crate::config::Config;

/// `<data_dir>/dense/passages.adv`.
pub fn vectors_path(config: &Config) -> PathBuf {
    config.data_dir.join("dense").join("passages.adv")
}

/// Loads the e5 encoder from `path` if the file is installed (`Ok(None)` otherwise); a present
/// but broken file is an error. Blocking: ingest calls it directly, the server from a blocking
/// task.
pub fn load_encoder(path: &Path) -> anyhow::Result<Option<Arc<Encoder>>> {
    if !path.is_file() {
        tracing::info!(
            path = %path.display(),
            "no sentence encoder (run `allmende models pull multilingual-e5-small-q4`): BM25 only, /v1/embeddings answers 503"
        );
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let encoder = Encoder::load(path)
        .with_context(|| format!("loading the sentence encoder {}", path.display()))?;
    tracing::info!(
        dim = encoder.dim(),
        ms = started.elapsed().as_millis() as u64,
        "sentence encoder loaded"
    );
    Ok(Some(Arc::new(encoder)))
}

/// Re-encodes the passages of `sources` whose text changed (all of them the first time) and
/// saves the vectors. `Ok(None)` when the encoder is not installed.
pub fn refresh_vectors(
    config: &Config,
    index: &SearchIndex,
    sources: &[String],
) -> anyhow::Result<Option<RefreshStats>> {
    let Some(encoder) = load_encoder(&config.encoder_path())? else {
        return Ok(None);
    };
    let path = vectors_path(config);
    let previous = match PassageVectors::load(&path) {
        Ok(previous) => previous,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable passage vectors are encoded again");
            None
        }
    };
    let (vectors, stats) = PassageVectors::refresh(&encoder, index, sources, previous.as_ref())
        .context("encoding passages")?;
    vectors
        .save(&path)
        .with_context(|| format!("saving {}", path.display()))?;
    tracing::info!(
        encoded = stats.encoded,
        reused = stats.reused,
        "passage vectors refreshed"
    );
    Ok(Some(stats))
}

/// The dense retriever for the assistant: `None` (BM25 only) without an encoder or without
/// saved vectors, with a log line saying why.
pub fn load_retriever(
    config: &Config,
    encoder: Option<Arc<Encoder>>,
) -> anyhow::Result<Option<DenseRetriever>> {
    let Some(encoder) = encoder else {
        return Ok(None);
    };
    let path = vectors_path(config);
    let Some(vectors) = PassageVectors::load(&path)
        .with_context(|| format!("reading passage vectors {}", path.display()))?
    else {
        tracing::warn!(
            "the e5 encoder is installed but no passage vectors exist; run `allmende ingest` \
             to enable hybrid retrieval"
        );
        return Ok(None);
    };
    tracing::info!(passages = vectors.len(), "hybrid retrieval enabled");
    Ok(Some(DenseRetriever::new(encoder, vectors)?))
}
