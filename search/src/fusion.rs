//! Hybrid retrieval: fusing rankings from several retrievers (BM25, dense, ...) and the hook
//! for a later re-ranking stage.
//!
//! [`reciprocal_rank_fusion`] (Cormack, Clarke & Büttcher, SIGIR 2009) needs no score
//! calibration between retrievers — only ranks — which is why it is the default way to combine
//! BM25 with dense retrieval:
//!
//! ```
//! use allmende_search::fusion::{DEFAULT_RRF_K, reciprocal_rank_fusion};
//!
//! let bm25 = vec!["a".to_string(), "b".to_string()];
//! let dense = vec!["b".to_string(), "c".to_string()];
//! let fused = reciprocal_rank_fusion(&[bm25, dense], DEFAULT_RRF_K);
//! assert_eq!(fused[0].0, "b"); // in both lists
//! ```

use std::collections::HashMap;

use crate::{Hit, Result};

/// The constant `k` of reciprocal rank fusion recommended by its authors.
pub const DEFAULT_RRF_K: f32 = 60.0;

/// Fuses rankings (ids, best first) with reciprocal rank fusion.
///
/// Each id scores `Σ 1 / (k + rank)` over the lists it appears in, `rank` counting from 1.
/// Within one list only the first occurrence of an id counts. A larger `k` flattens the
/// difference between top and lower ranks; negative or NaN `k` is treated as 0.
///
/// Returns every id that appears in any list with its fused score, best first. Ordering is
/// deterministic: by score descending; ties by the best (lowest) rank the id reached in any
/// list; then by the position of the first list it appears in; then by id. Scores are summed
/// in a fixed order (smallest contribution first, in `f64`), so ids with the same multiset of
/// ranks get bit-identical scores whatever the order of the lists.
pub fn reciprocal_rank_fusion(lists: &[Vec<String>], k: f32) -> Vec<(String, f32)> {
    let k = f64::from(k.max(0.0));
    struct Entry {
        ranks: Vec<usize>,
        best_rank: usize,
        first_list: usize,
    }
    let mut entries: HashMap<&str, Entry> = HashMap::new();
    for (list_index, list) in lists.iter().enumerate() {
        let mut seen = std::collections::HashSet::new();
        let distinct = list.iter().filter(|id| seen.insert(id.as_str()));
        for (i, id) in distinct.enumerate() {
            let rank = i + 1;
            let entry = entries.entry(id.as_str()).or_insert(Entry {
                ranks: Vec::new(),
                best_rank: rank,
                first_list: list_index,
            });
            entry.ranks.push(rank);
            entry.best_rank = entry.best_rank.min(rank);
        }
    }
    let mut fused: Vec<(&str, f64, &Entry)> = entries
        .iter()
        .map(|(id, entry)| {
            let mut ranks = entry.ranks.clone();
            // Largest rank first = smallest contribution first.
            ranks.sort_unstable_by(|a, b| b.cmp(a));
            let score: f64 = ranks.iter().map(|&r| 1.0 / (k + r as f64)).sum();
            (*id, score, entry)
        })
        .collect();
    fused.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| a.2.best_rank.cmp(&b.2.best_rank))
            .then_with(|| a.2.first_list.cmp(&b.2.first_list))
            .then_with(|| a.0.cmp(b.0))
    });
    fused
        .into_iter()
        .map(|(id, score, _)| (id.to_string(), score as f32))
        .collect()
}

/// A second-stage re-ranker (cross-encoder, LLM judge, ...) applied to the first-stage
/// candidates of [`crate::SearchIndex::search`] or of a fused ranking.
///
/// No implementation exists yet; the trait fixes where one plugs in. An implementation
/// returns the candidates it keeps, best first, with `score` set to its own relevance score
/// (comparable within the returned list only). It must not invent hits: every returned hit is
/// one of `candidates`, so citations stay valid.
pub trait Reranker: Send + Sync {
    /// Re-orders `candidates` for `query`.
    fn rerank(&self, query: &str, candidates: Vec<Hit>) -> Result<Vec<Hit>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_a_hand_computed_example() {
        // k = 60. a: ranks 1 and 3 → 1/61 + 1/63; b: ranks 2 and 1 → 1/62 + 1/61;
        // c: rank 3 in list 1 → 1/63; d: rank 2 in list 2 → 1/62.
        let fused = reciprocal_rank_fusion(&[ids(&["a", "b", "c"]), ids(&["b", "d", "a"])], 60.0);
        let order: Vec<&str> = fused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["b", "a", "d", "c"]);
        let expected = [
            1.0 / 62.0 + 1.0 / 61.0,
            1.0 / 63.0 + 1.0 / 61.0,
            1.0 / 62.0,
            1.0 / 63.0,
        ];
        for ((_, score), want) in fused.iter().zip(expected) {
            assert!((f64::from(*score) - want).abs() < 1e-7, "{score} vs {want}");
        }
        // b = 0.016393 + 0.016129 = 0.032522; a = 0.016393 + 0.015873 = 0.032266.
        assert!((fused[0].1 - 0.032_522).abs() < 1e-6);
        assert!((fused[1].1 - 0.032_266).abs() < 1e-6);
    }

    #[test]
    fn ties_are_broken_deterministically() {
        // a and b have the same ranks {1, 2}: equal scores, both reach rank 1, both appear in
        // the first list: by id. x and y: rank 3 each, appearing first in list 0 vs list 1.
        let lists = [ids(&["a", "b", "x"]), ids(&["b", "a", "y"])];
        let fused = reciprocal_rank_fusion(&lists, 60.0);
        assert_eq!(fused[0].1, fused[1].1, "same ranks, bit-identical scores");
        let order: Vec<&str> = fused.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["a", "b", "x", "y"]);
        // Swapping the lists swaps only the list-order tie-break.
        let swapped = reciprocal_rank_fusion(&[lists[1].clone(), lists[0].clone()], 60.0);
        let order: Vec<&str> = swapped.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(order, ["a", "b", "y", "x"]);
        // Same score and best rank: the list it first appears in decides before the id.
        let fused = reciprocal_rank_fusion(&[ids(&["q"]), ids(&["p"])], 60.0);
        assert_eq!(fused[0].0, "q", "first list wins before the id");
    }

    #[test]
    fn duplicates_empty_lists_and_odd_k() {
        let fused = reciprocal_rank_fusion(&[ids(&["a", "a", "b"])], 0.0);
        assert_eq!(fused, [("a".to_string(), 1.0), ("b".to_string(), 0.5)]);
        assert!(reciprocal_rank_fusion(&[], DEFAULT_RRF_K).is_empty());
        assert!(reciprocal_rank_fusion(&[Vec::new(), Vec::new()], DEFAULT_RRF_K).is_empty());
        let fused = reciprocal_rank_fusion(&[ids(&["a"])], f32::NAN);
        assert_eq!(fused[0].1, 1.0);
        let fused = reciprocal_rank_fusion(&[ids(&["a"])], -5.0);
        assert_eq!(fused[0].1, 1.0);
    }

    #[test]
    fn a_single_list_keeps_its_order() {
        let list = ids(&["z", "y", "x", "w"]);
        let fused = reciprocal_rank_fusion(std::slice::from_ref(&list), DEFAULT_RRF_K);
        let order: Vec<String> = fused.into_iter().map(|(id, _)| id).collect();
        assert_eq!(order, list);
    }
}
