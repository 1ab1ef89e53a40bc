//! Retrieval-augmented answering: question → passages → (LLM | extractive) → numbered citations.
//!
//! The [`Assistant`] owns the search index handle and, optionally, a loaded [`LocalLlm`]. With a
//! model, the numbered passages go into a grounded prompt ([`prompt`]) and the model's answer is
//! checked so that every `[n]` it uses points at a passage that was given ([`citations`]). Without
//! a model, an extractive answer made of the most relevant sentences is returned, labelled as such
//! ([`extractive`]). When retrieval finds nothing, the answer says so and names the contact.
//! Questions about individual persons are refused before retrieval ([`guard`]).

mod assistant;
pub mod citations;
pub mod extractive;
pub mod gate;
pub mod guard;
pub mod language;
pub mod prompt;
pub mod retrieval;

pub use assistant::Assistant;
pub use gate::{GateStats, Stage};
pub use language::{AnswerStyle, Language};

use serde::{Deserialize, Serialize};

use crate::facts::Fact;

/// The `[assistant]` section of `allmende.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssistantConfig {
    /// Longest question accepted, in characters.
    pub max_question_chars: usize,
    /// Passages put in front of the model.
    pub passages: usize,
    /// Tokens the model may generate.
    pub max_tokens: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Who citizens should contact when the assistant cannot help.
    pub contact: String,
    /// The municipality's name, used in the prompt.
    pub municipality: String,
    /// Document sources answers may draw on (e.g. `musterstadt.leistungen`); empty means all.
    /// A municipality's assistant should only cite its own services.
    pub sources: Vec<String>,
    /// Generations the model runs at the same time.
    pub concurrent_generations: usize,
    /// Questions that may wait for a free generation; more get "busy, retry later".
    pub max_waiting: usize,
    /// Longest expected wait for a generation, in seconds, a question is queued for; beyond
    /// it, "busy, retry later" at once. Keep it below `[limits] request_timeout_seconds`, so
    /// queued questions are answered, not timed out.
    pub max_queue_wait_seconds: u64,
    /// Retrievals (BM25, e5 query encoding, dense search) running at the same time; about
    /// the number of cores the server may spend on search.
    pub concurrent_retrievals: usize,
    /// Questions that may wait for a free retrieval slot; more get "busy, retry later".
    pub max_waiting_retrievals: usize,
    /// Cosine similarity a passage found by the e5 vectors must reach to be used (BM25 hits
    /// need no such floor). Below it, a question about nothing in the corpus would cite a
    /// loosely related page instead of saying that nothing was found.
    pub dense_min_similarity: f32,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            max_question_chars: allmende_search::MAX_QUERY_CHARS,
            passages: 4,
            max_tokens: 200,
            temperature: 0.0,
            contact: "das Bürgertelefon der Stadt (Telefon 115)".into(),
            municipality: "Musterstadt".into(),
            sources: vec![
                "musterstadt.leistungen".into(),
                "musterstadt.dienststellen".into(),
            ],
            concurrent_generations: 1,
            max_waiting: 8,
            max_queue_wait_seconds: 90,
            concurrent_retrievals: 2,
            max_waiting_retrievals: 32,
            dense_min_similarity: 0.82,
        }
    }
}

/// One numbered source of an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The number used in the text, `[number]`.
    pub number: usize,
    /// Document title.
    pub title: String,
    /// Link to the official page.
    pub url: String,
    /// Licence of the source text.
    pub licence: String,
    /// Attribution text, when the licence asks for one.
    pub attribution: Option<String>,
    /// Id of the source document.
    pub doc_id: String,
    /// Id of the passage.
    pub passage_id: String,
    /// For a number from an open-data table: the read-only query that produced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// For a number from an open-data table: the table (`source.table`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// A question with the options a client may set.
#[derive(Debug, Clone, Default)]
pub struct AnswerRequest {
    /// The citizen's question.
    pub question: String,
    /// The answer language; detected from the question when `None`.
    pub language: Option<Language>,
    /// Standard or Leichte Sprache.
    pub style: AnswerStyle,
    /// Numbers looked up in open-data tables for this question (see [`crate::facts`]); they
    /// become the first numbered sources.
    pub facts: Vec<Fact>,
    /// Set when the asker is gone: the answer is abandoned before its queue slot or between
    /// tokens (see [`crate::cancel`]).
    pub cancel: crate::cancel::CancelToken,
    /// When the answer must be ready (the web layer's time limit, less a margin). Generation
    /// stops there and the answer keeps its complete sentences; when there are none yet (or
    /// the deadline passed in the queue), the sources are answered extractively instead, so
    /// an overloaded server still answers in time. Meant for non-streamed answers.
    pub deadline: Option<std::time::Instant>,
}

impl AnswerRequest {
    /// A request with default options.
    pub fn new(question: impl Into<String>) -> Self {
        Self {
            question: question.into(),
            ..Self::default()
        }
    }
}

/// How an answer was produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerMode {
    /// Written by the local language model from the cited passages.
    Generated { model: String },
    /// Assembled from passages without a language model.
    Extractive,
    /// Nothing relevant was found; the answer points to a human contact.
    NoSources,
    /// The question (or the model's answer) broke a rule; refused with the right route.
    Refused { reason: guard::RefusalReason },
}

/// An answer with its sources.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The answer text with `[n]` markers.
    pub text: String,
    /// The sources the markers refer to.
    pub citations: Vec<Citation>,
    /// How the answer was made.
    pub mode: AnswerMode,
    /// The language the answer was asked for.
    pub language: Language,
}

fn refused(refusal: guard::Refusal) -> Answer {
    Answer {
        text: refusal.text,
        citations: Vec::new(),
        mode: AnswerMode::Refused {
            reason: refusal.reason,
        },
        language: Language::De,
    }
}
