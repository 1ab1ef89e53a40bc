//! The search crate's error type.
//!
//! Messages are lowercase, name the offending column, value or path, and end with a hint where
//! the caller can do something about it. They are meant for operators and developers; the web
//! layer maps them to citizen-facing messages (e.g. [`Error::QueryTooLong`] becomes a 400).

use std::path::PathBuf;

/// Everything that can go wrong while indexing Arrow batches or searching the index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tantivy failed (corrupt index files, writer problems, ...).
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Arrow failed, e.g. while casting a string column to `Utf8`.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A required input column is not present in a record batch.
    #[error(
        "required column `{column}` is missing from the record batch (expected Utf8 columns \
         doc_id, title, body, url, licence; optional: teaser, attribution, kind)"
    )]
    MissingColumn { column: String },
    /// An input column exists but does not hold strings.
    #[error(
        "column `{column}` has type {found}, expected a string column (Utf8, LargeUtf8 or \
         Utf8View); cast it before indexing"
    )]
    WrongColumnType { column: String, found: String },
    /// A column that must not contain nulls has a null value.
    #[error("column `{column}` is null in row {row} of batch {batch}; every document needs one")]
    NullValue {
        column: String,
        batch: usize,
        row: usize,
    },
    /// Creating or opening the index directory failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An index exists on disk but was written with a different schema (older Allmende version).
    #[error(
        "the search index at {path} is incompatible with this version ({reason}); delete the \
         directory and re-run the import to rebuild it"
    )]
    IncompatibleIndex { path: PathBuf, reason: String },
    /// Another writer (usually another Allmende process importing data) holds the index lock.
    #[error(
        "the search index at {path} is locked by another writer (is an import running in another \
         process?); retry when it has finished, or delete {path}/.tantivy-writer.lock if no other \
         process uses the index"
    )]
    Locked { path: PathBuf },
    /// The query text is longer than [`crate::MAX_QUERY_CHARS`].
    #[error("the search query has {len} characters, at most {max} are allowed; shorten it")]
    QueryTooLong { len: usize, max: usize },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_specific() {
        let e = Error::MissingColumn {
            column: "body".into(),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("required column `body`"), "{msg}");

        let e = Error::WrongColumnType {
            column: "title".into(),
            found: "Int64".into(),
        };
        assert!(e.to_string().contains("`title` has type Int64"));

        let e = Error::QueryTooLong {
            len: 1001,
            max: 1000,
        };
        assert_eq!(
            e.to_string(),
            "the search query has 1001 characters, at most 1000 are allowed; shorten it"
        );

        let e = Error::NullValue {
            column: "doc_id".into(),
            batch: 0,
            row: 3,
        };
        assert!(e.to_string().contains("row 3"));
    }
}
