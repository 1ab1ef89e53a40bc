//! Which passages an answer is grounded in: BM25 alone, or BM25 and dense vectors fused.
//!
//! BM25 (with the German analysis, compounds and synonyms of allmende-search) finds the pages
//! that use the citizen's words; the e5 vectors find the pages that mean the same thing in
//! other words ("Perso abgelaufen" → "Personalausweis beantragen"). With a
//! [`DenseRetriever`], both rank up to [`CANDIDATES`] documents and reciprocal rank fusion
//! (k = 60) merges them; dense candidates below
//! [`AssistantConfig::dense_min_similarity`] are dropped first, so a question about nothing
//! in the corpus still finds nothing and the assistant says so instead of citing a
//! loosely related page. A failing encoder is logged and the answer falls back to BM25.

use allmende_search::dense::DenseRetriever;
use allmende_search::fusion::{DEFAULT_RRF_K, reciprocal_rank_fusion};
use allmende_search::{Hit, SearchIndex, SearchOptions};

use super::AssistantConfig;
use crate::Result;

/// Documents each ranking contributes to the fusion.
pub const CANDIDATES: usize = 20;

/// Separates source and document id in fusion keys (documents ids are unique per source only).
const KEY_SEP: char = '\u{1f}';

fn key(source: &str, doc_id: &str) -> String {
    format!("{source}{KEY_SEP}{doc_id}")
}

/// The passages (best one per document) for `question`, best first, at most
/// `config.passages`.
pub fn retrieve(
    index: &SearchIndex,
    dense: Option<&DenseRetriever>,
    question: &str,
    config: &AssistantConfig,
) -> Result<Vec<Hit>> {
    let mut opts = SearchOptions {
        limit: config.passages,
        one_hit_per_document: true,
        sources: config.sources.clone(),
    };
    let Some(dense) = dense.filter(|d| !d.is_empty()) else {
        return Ok(index.search(question, &opts)?);
    };
    opts.limit = CANDIDATES.max(config.passages);
    let bm25 = index.search(question, &opts)?;
    let nearest = match dense.search(question, &config.sources, CANDIDATES) {
        Ok(nearest) => nearest,
        Err(e) => {
            tracing::warn!(error = %e, "dense retrieval failed; using BM25 only");
            return Ok(bm25.into_iter().take(config.passages).collect());
        }
    };
    let nearest: Vec<(String, String, f32)> = nearest
        .into_iter()
        .filter(|(_, _, score)| *score >= config.dense_min_similarity)
        .collect();
    let dense_hits = index.hits_by_passage_id(&nearest)?;
    Ok(fuse(bm25, dense_hits, config.passages))
}

/// Reciprocal rank fusion of two hit lists (one hit per document each) into at most `k` hits;
/// a document found by both keeps its BM25 hit (it has highlighted snippets).
pub fn fuse(bm25: Vec<Hit>, dense: Vec<Hit>, k: usize) -> Vec<Hit> {
    let rank =
        |hits: &[Hit]| -> Vec<String> { hits.iter().map(|h| key(&h.source, &h.doc_id)).collect() };
    let fused = reciprocal_rank_fusion(&[rank(&bm25), rank(&dense)], DEFAULT_RRF_K);
    let mut pool: Vec<Option<Hit>> = bm25.into_iter().chain(dense).map(Some).collect();
    let mut out = Vec::with_capacity(k);
    for (wanted, score) in fused.into_iter().take(k) {
        let found = pool
            .iter_mut()
            .find(|h| {
                h.as_ref()
                    .is_some_and(|h| key(&h.source, &h.doc_id) == wanted)
            })
            .and_then(Option::take);
        if let Some(mut hit) = found {
            hit.score = score;
            out.push(hit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(source: &str, doc: &str) -> Hit {
        Hit {
            doc_id: doc.into(),
            passage_id: format!("{doc}#0"),
            source: source.into(),
            kind: None,
            title: doc.into(),
            url: String::new(),
            licence: String::new(),
            attribution: None,
            text: String::new(),
            snippet: String::new(),
            snippet_html: String::new(),
            score: 1.0,
        }
    }

    #[test]
    fn documents_both_rankings_find_come_first_and_appear_once() {
        let bm25 = vec![hit("s", "a"), hit("s", "b"), hit("s", "c")];
        let dense = vec![hit("s", "d"), hit("s", "b"), hit("s", "e")];
        let fused = fuse(bm25, dense, 4);
        let ids: Vec<&str> = fused.iter().map(|h| h.doc_id.as_str()).collect();
        assert_eq!(ids[0], "b");
        assert_eq!(ids.len(), 4);
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn same_doc_id_in_two_sources_stays_two_documents() {
        let fused = fuse(vec![hit("s1", "a")], vec![hit("s2", "a")], 5);
        assert_eq!(fused.len(), 2);
    }

    #[test]
    fn dense_only_results_fill_in_when_bm25_finds_nothing() {
        let fused = fuse(Vec::new(), vec![hit("s", "x"), hit("s", "y")], 1);
        assert_eq!(fused.len(), 1);
        assert_eq!(fused[0].doc_id, "x");
    }
}
