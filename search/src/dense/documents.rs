//! Dense document ranking over the passages of a [`SearchIndex`], and hybrid fusion with BM25.
//!
//! [`DenseDocuments::build`] encodes every passage of the given sources exactly as BM25 sees it
//! (title, teaser and passage text, with e5's "passage: " prefix) into one exact
//! [`DenseIndex`] per source. [`DenseDocuments::rank`] encodes the question ("query: "),
//! scores every passage of the source and ranks documents by their best passage.
//! [`hybrid`] fuses a BM25 document ranking and a dense one with reciprocal rank fusion.

use std::collections::{HashMap, HashSet};

use super::{DenseError, DenseIndex, Encoder, Result, passage_text};
use crate::SearchIndex;
use crate::fusion::{DEFAULT_RRF_K, reciprocal_rank_fusion};

/// Passages scored per query before grouping them into documents.
const PASSAGES_PER_QUERY: usize = 200;

/// Dense vectors of the passages of some sources, ready to rank documents.
pub struct DenseDocuments {
    encoder: Encoder,
    by_source: HashMap<String, DenseIndex>,
}

impl DenseDocuments {
    /// Encodes every passage of `sources` (an unknown or empty source gets an empty index).
    pub fn build(encoder: Encoder, index: &SearchIndex, sources: &[String]) -> Result<Self> {
        let mut by_source = HashMap::new();
        for source in sources {
            let passages = index
                .passages(source)
                .map_err(|e| DenseError::Store(format!("reading passages of {source}: {e}")))?;
            let texts: Vec<String> = passages.iter().map(passage_text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = encoder.encode_passages(&refs)?;
            let mut dense = DenseIndex::new(encoder.dim());
            for (passage, vector) in passages.iter().zip(&vectors) {
                dense.push(passage.passage_id.clone(), vector)?;
            }
            tracing::debug!(source, passages = dense.len(), "encoded passages");
            by_source.insert(source.clone(), dense);
        }
        Ok(Self { encoder, by_source })
    }

    /// Passages encoded, over all sources.
    pub fn len(&self) -> usize {
        self.by_source.values().map(DenseIndex::len).sum()
    }

    /// Whether no passage was encoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the `k` documents of `source` closest to `question`, best first (a document
    /// scores as its best passage).
    pub fn rank(&self, question: &str, source: &str, k: usize) -> Result<Vec<String>> {
        let Some(dense) = self.by_source.get(source) else {
            return Ok(Vec::new());
        };
        let query = self.encoder.encode_queries(&[question])?;
        let Some(query) = query.first() else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        let mut docs = Vec::new();
        for (passage_id, _score) in dense.search(query, PASSAGES_PER_QUERY)? {
            let doc = doc_of(&passage_id).to_string();
            if seen.insert(doc.clone()) {
                docs.push(doc);
                if docs.len() == k {
                    break;
                }
            }
        }
        Ok(docs)
    }
}

/// The document id of a passage id (`"{doc_id}#{n}"`).
fn doc_of(passage_id: &str) -> &str {
    passage_id
        .rsplit_once('#')
        .map_or(passage_id, |(doc, _)| doc)
}

/// Reciprocal rank fusion (k = 60) of a BM25 and a dense document ranking, cut to `k`.
pub fn hybrid(bm25: Vec<String>, dense: Vec<String>, k: usize) -> Vec<String> {
    reciprocal_rank_fusion(&[bm25, dense], DEFAULT_RRF_K)
        .into_iter()
        .take(k)
        .map(|(id, _)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passages_map_to_their_documents() {
        assert_eq!(doc_of("ms-leistung-001#2"), "ms-leistung-001");
        assert_eq!(doc_of("a#b#0"), "a#b");
        assert_eq!(doc_of("plain"), "plain");
    }

    #[test]
    fn hybrid_prefers_documents_both_rankings_agree_on() {
        let bm25 = vec!["a".to_string(), "b".into(), "c".into()];
        let dense = vec!["d".to_string(), "b".into(), "e".into()];
        let fused = hybrid(bm25, dense, 3);
        assert_eq!(
            fused[0], "b",
            "second in both beats first in one: {fused:?}"
        );
        assert_eq!(fused.len(), 3);
    }
}
