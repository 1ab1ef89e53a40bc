//! The connectors crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading a source or writing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A source file could not be parsed at all (row-level problems go to quarantine instead).
    #[error("{origin}: {reason}")]
    Malformed { origin: String, reason: String },
    /// A JSON document did not have the expected shape.
    #[error("{origin}: invalid json: {source}")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    /// Arrow rejected a batch (schema and columns disagree).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing or reading Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A remote source could not be fetched (after retries): unreachable, timed out, a 4xx/5xx
    /// status or a body over the size limit. The last good snapshot is kept.
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    /// A register database could not be reached or queried.
    #[error("database {origin}: {reason}")]
    Database { origin: String, reason: String },
    /// A source specification is invalid (bad table name, unknown format, ...).
    #[error("invalid source specification: {0}")]
    Spec(String),
    /// A broken invariant: this is a bug in Allmende.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an [`std::io::Error`] with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
