//! Full-text search over citizen-facing documents (service descriptions, offices, ...).
//!
//! Documents arrive as Arrow [`RecordBatch`](arrow::record_batch::RecordBatch)es (see
//! [`ingest`] for the columns), are split into passages of roughly 80–150 words
//! ([`passages`]) and indexed with Tantivy using a German analyzer ([`analyzer`]). Every passage
//! carries what a citation needs: title, URL, licence and attribution.
//!
//! Users are the assistant (retrieval for answers with citations) and `GET /api/search?q=` in
//! the web crate. This crate does not depend on DataFusion.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{ArrayRef, StringArray};
//! use arrow::record_batch::RecordBatch;
//! use allmende_search::{SearchIndex, SearchOptions};
//!
//! let col = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
//! let batch = RecordBatch::try_from_iter([
//!     ("doc_id", col("svc-1")),
//!     ("title", col("Personalausweis beantragen")),
//!     ("body", col("Den Personalausweis beantragen Sie persönlich im Bürgerbüro.")),
//!     ("url", col("https://stadt.example/personalausweis")),
//!     ("licence", col("dl-de/by-2-0")),
//! ])?;
//! let index = SearchIndex::in_memory()?;
//! index.replace_source("leistungen", &[batch])?;
//! let hits = index.search("Ausweis beantragen Buergerbuero", &SearchOptions::default())?;
//! assert_eq!(hits[0].passage_id, "svc-1#0");
//! assert!(hits[0].snippet_html.contains("<mark>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod analyzer;
pub mod decompound;
pub mod dense;
pub mod error;
pub mod eval;
pub mod fusion;
mod hits;
mod incremental;
mod index;
pub mod ingest;
pub mod passages;
pub mod query;
pub mod schema;
pub mod synthetic;

pub use error::{Error, Result};
pub use index::{SearchIndex, StoredPassage};

/// Queries longer than this many characters are rejected with [`Error::QueryTooLong`].
pub const MAX_QUERY_CHARS: usize = 1000;

/// How [`SearchIndex::search`] collects hits.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Maximum number of hits returned (0 returns nothing).
    pub limit: usize,
    /// Keep only the best passage of each document (`doc_id` within its source).
    pub one_hit_per_document: bool,
    /// Only passages of these sources (e.g. `musterstadt.leistungen`); empty means all.
    pub sources: Vec<String>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            limit: 10,
            one_hit_per_document: true,
            sources: Vec::new(),
        }
    }
}

/// One matching passage, with everything needed to cite it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The document's id as delivered in the `doc_id` column.
    pub doc_id: String,
    /// `"{doc_id}#{n}"`, n counting passages from 0.
    pub passage_id: String,
    /// The source the document was imported under ([`SearchIndex::replace_source`]).
    pub source: String,
    /// Document kind ("service", "office", ...), if delivered.
    pub kind: Option<String>,
    /// Document title.
    pub title: String,
    /// Canonical URL of the document.
    pub url: String,
    /// Licence of the document.
    pub licence: String,
    /// Attribution line required by the licence, if delivered.
    pub attribution: Option<String>,
    /// Full passage text (plain text).
    pub text: String,
    /// Plain-text fragment of the passage around the matches.
    pub snippet: String,
    /// The same fragment, HTML-escaped, with matches wrapped in `<mark>…</mark>`. Safe to embed.
    pub snippet_html: String,
    /// Relevance score (BM25 with field boosts); only comparable within one result list.
    pub score: f32,
}

/// What [`SearchIndex::replace_source`] indexed and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    /// Distinct documents read from the batches.
    pub documents: usize,
    /// Passages of the source now indexed (`added + updated + unchanged`).
    pub passages: usize,
    /// Passages whose id was not indexed before.
    pub added: usize,
    /// Passages whose id was indexed with other content (replaced).
    pub updated: usize,
    /// Indexed passages whose id is not among the new ones (removed).
    pub deleted: usize,
    /// Passages already indexed with the same content (left alone).
    pub unchanged: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_contract() {
        let opts = SearchOptions::default();
        assert_eq!(opts.limit, 10);
        assert!(opts.one_hit_per_document);
        assert_eq!(MAX_QUERY_CHARS, 1000);
    }

    #[test]
    fn public_types_are_serializable_and_shareable() {
        fn assert_serialize<T: serde::Serialize + Send + Sync>() {}
        assert_serialize::<Hit>();
        assert_serialize::<IndexStats>();
    }
}
