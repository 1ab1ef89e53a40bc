//! The server's shared state: query engine, search index, assistant, the sentence encoder behind
//! `/v1/embeddings`, the limiter and the feedback log, built once at start-up from the data
//! directory.

use std::sync::Arc;

use allmende_assistant::answer::Assistant;
use allmende_assistant::facts::{Fact, FactBook};
use allmende_assistant::llm::LocalLlm;
use allmende_connectors::SnapshotStore;
use allmende_query::QueryEngine;
use allmende_search::dense::Encoder;
use anyhow::Context;

use crate::config::{Config, ModelChoice};
use crate::ingest::open_index;

/// Everything a request handler needs.
pub struct AppState {
    /// SQL over the snapshots.
    pub engine: QueryEngine,
    /// Retrieval and answering.
    pub assistant: Assistant,
    /// Full-text search (shared with the assistant).
    pub index: Arc<allmende_search::SearchIndex>,
    /// Curated templates for number questions (read-only queries on open-data tables).
    pub facts: FactBook,
    /// The configuration the server started with.
    pub config: Config,
    /// Prometheus counters (`GET /metrics`) and the start time.
    pub metrics: crate::metrics::Metrics,
    /// multilingual-e5-small for `/v1/embeddings`, when its file is in the models directory.
    pub encoder: Option<Arc<Encoder>>,
    /// Request rates, token budgets and the time limit (`[limits]`).
    pub limiter: crate::limits::Limiter,
    /// Where answer ratings (`POST /api/feedback`) are appended.
    pub feedback: crate::routes::feedback::FeedbackLog,
}

/// Shared handle.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Opens snapshots, index and (if configured and present) the model.
    pub async fn open(config: Config) -> anyhow::Result<SharedState> {
        let store = SnapshotStore::new(config.snapshot_dir());
        let engine = QueryEngine::open(&store, config.query.clone()).await?;
        if engine.snapshots().is_empty() {
            tracing::warn!(dir = %config.snapshot_dir().display(), "no snapshots found; run `allmende ingest` first");
        }
        let index = Arc::new(open_index(&config.index_dir())?);
        let llm = load_model(&config)?;
        let assistant = Assistant::new(index.clone(), llm, config.assistant.clone());
        let path = config.encoder_path();
        let encoder = tokio::task::spawn_blocking(move || crate::dense::load_encoder(&path))
            .await
            .context("loading the sentence encoder")??;
        // Hybrid retrieval when the encoder and the passage vectors are there (crate::dense).
        let assistant = match crate::dense::load_retriever(&config, encoder.clone())? {
            Some(dense) => assistant.with_dense(dense),
            None => assistant,
        };
        let facts = FactBook::from_toml(allmende_datasets::FACTS)
            .context("the built-in fact templates (datasets/facts.toml) are invalid")?;
        Ok(Arc::new(Self {
            engine,
            assistant,
            index,
            facts,
            metrics: crate::metrics::Metrics::new(),
            encoder,
            limiter: crate::limits::Limiter::new(config.limits.clone()),
            feedback: crate::routes::feedback::FeedbackLog::new(config.feedback_dir()),
            config,
        }))
    }

    /// The fact for a number question, if a template matches. Failures are logged and mean
    /// "no fact": the question is then answered from the documents alone.
    pub async fn lookup_facts(&self, question: &str, request_id: &str) -> Vec<Fact> {
        match self.facts.lookup(&self.engine, question).await {
            Ok(fact) => fact.into_iter().collect(),
            Err(e) => {
                tracing::warn!(request_id, error = %e, "fact lookup failed");
                Vec::new()
            }
        }
    }
}

/// Loads the configured model; a configured but missing file means extractive mode with a
/// warning (the server still serves), a present but broken file is an error.
pub fn load_model(config: &Config) -> anyhow::Result<Option<LocalLlm>> {
    match config.model_choice()? {
        ModelChoice::Disabled => {
            tracing::info!("no language model configured; answers are extractive");
            Ok(None)
        }
        ModelChoice::File(path) if !path.exists() => {
            tracing::warn!(
                path = %path.display(),
                "model file not found (run `allmende models pull`); answers are extractive"
            );
            Ok(None)
        }
        ModelChoice::File(path) => {
            let started = std::time::Instant::now();
            let llm = LocalLlm::load(&path)
                .with_context(|| format!("loading model {}", path.display()))?;
            tracing::info!(
                model = llm.model_name(),
                ms = started.elapsed().as_millis() as u64,
                "model loaded"
            );
            Ok(Some(llm))
        }
    }
}
