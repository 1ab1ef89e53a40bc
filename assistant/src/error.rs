//! The assistant crate's error type.
//!
//! Messages are for operators and developers; the web layer maps every variant to a friendly
//! citizen-facing message plus a request id, so nothing here ever reaches a citizen verbatim.

/// Everything that can go wrong while answering, loading a model or pulling weights.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The question was empty after trimming.
    #[error("the question is empty (type a question about a municipal service)")]
    EmptyQuestion,
    /// The question exceeds the configured maximum length.
    #[error("the question has {len} characters, at most {max} are allowed")]
    QuestionTooLong { len: usize, max: usize },
    /// Retrieval failed.
    #[error("retrieval failed: {0}")]
    Search(#[from] allmende_search::Error),
    /// Model loading, tokenisation or generation failed.
    #[error("language model error: {0}")]
    Model(String),
    /// Filesystem errors (model files, temp files).
    #[error("i/o error on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A model pull or verification failed.
    #[error("model management: {0}")]
    Models(String),
    /// A fact template (datasets/facts.toml) is invalid or its query failed.
    #[error("facts: {0}")]
    Facts(String),
    /// All slots of a stage are busy and its wait queue is full; retry after the given time.
    #[error(
        "the assistant is busy ({stage}: {waiting} questions waiting); retry in {retry_after_secs} s"
    )]
    Busy {
        stage: crate::answer::gate::Stage,
        waiting: usize,
        retry_after_secs: u64,
    },
    /// The asker is gone (disconnected, or the request ran past its time limit); the answer
    /// was abandoned (see [`crate::cancel`]).
    #[error("the request was cancelled: the client left or its time limit passed")]
    Cancelled,
    /// A broken invariant: this is a bug in Allmende.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
