//! Approximate nearest-neighbour search at the size where the dense store switches to it:
//! recall of the HNSW graph against exact search on 20 000 clustered 384-d unit vectors, the
//! automatic switch, and persistence of the graph beside the vectors.
//!
//! These are quality assertions, not timings (latency is measured by
//! `allmende bench search-scale`).

use std::collections::HashSet;
use std::sync::OnceLock;

use allmende_search::dense::{
    DenseError, DenseIndex, EXACT_BELOW, Hnsw, HnswParams, SearchMethod, ann,
};
use allmende_search::synthetic::{clustered_unit_vectors, query_vectors};

const N: usize = EXACT_BELOW;
const DIM: usize = 384;
const SEED: u64 = 2024;
const QUERIES: usize = 200;

/// The 20 000-vector index with its graph built once for all tests (building takes a while
/// without optimisations).
fn index() -> &'static DenseIndex {
    static INDEX: OnceLock<DenseIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = clustered_unit_vectors(SEED, N, DIM);
        assert_eq!(index.prepare_search(), SearchMethod::Hnsw);
        index
    })
}

fn recall_at_10(index: &DenseIndex, search: impl Fn(&[f32]) -> Vec<String>) -> f64 {
    let queries = query_vectors(SEED, N, DIM, QUERIES);
    let mut found = 0;
    for query in &queries {
        let exact: HashSet<String> = index
            .search_exact(query, 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let approx = search(query);
        assert!(approx.len() <= 10);
        found += approx.iter().filter(|id| exact.contains(*id)).count();
    }
    found as f64 / (10 * queries.len()) as f64
}

#[test]
fn hnsw_recall_at_10_is_at_least_095() {
    let index = index();
    let recall = recall_at_10(index, |q| {
        index
            .search(q, 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    });
    println!("recall@10 of HNSW (default parameters) vs exact over {N} vectors: {recall:.4}");
    assert!(recall >= 0.95, "recall@10 = {recall}");

    // The knob works: a tiny candidate list finds less.
    let graph = index.graph();
    let low = recall_at_10(index, |q| {
        graph
            .search_with_ef(index, q, 10, 10)
            .unwrap()
            .into_iter()
            .map(|(row, _)| index.ids[row].clone())
            .collect()
    });
    println!("recall@10 with ef_search = 10: {low:.4}");
    assert!(low <= recall);
}

#[test]
fn scores_are_exact_dot_products_best_first() {
    let index = index();
    let query = &query_vectors(SEED, N, DIM, 1)[0];
    let hits = index.search(query, 10).unwrap();
    assert_eq!(hits.len(), 10);
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
    let exact = index.search_exact(query, 1).unwrap();
    assert_eq!(
        hits[0], exact[0],
        "the best hit is found with the exact score"
    );
}

#[test]
fn save_and_load_give_identical_results() {
    let index = index();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passages.adv");
    index.save(&path).unwrap();
    let graph_file = ann::graph_path(&path);
    assert!(graph_file.exists(), "the graph is saved beside the vectors");

    let loaded = DenseIndex::load(&path).unwrap();
    assert_eq!(&loaded, index);
    assert_eq!(loaded.method(), SearchMethod::Hnsw);
    assert_eq!(loaded.graph(), index.graph());
    for query in query_vectors(SEED, N, DIM, 20) {
        assert_eq!(
            loaded.search(&query, 10).unwrap(),
            index.search(&query, 10).unwrap()
        );
    }

    // A damaged graph file is a clear error, not a panic and not a silent rebuild.
    let bytes = std::fs::read(&graph_file).unwrap();
    for (what, damaged) in [
        ("truncated", bytes[..bytes.len() / 3].to_vec()),
        ("flipped", {
            let mut b = bytes.clone();
            b[bytes.len() / 2] ^= 0x10;
            b
        }),
        ("garbage", b"not a graph at all".to_vec()),
    ] {
        std::fs::write(&graph_file, &damaged).unwrap();
        let err = DenseIndex::load(&path).unwrap_err();
        assert!(
            matches!(&err, DenseError::Store(msg) if msg.contains("hnsw graph")),
            "{what}: {err}"
        );
    }
}

#[test]
fn a_graph_for_other_vectors_is_refused() {
    let small = clustered_unit_vectors(SEED, 500, 16);
    let other = clustered_unit_vectors(SEED + 1, 500, 16);
    let graph = Hnsw::build(&small, HnswParams::default());
    let err = Hnsw::from_bytes(&graph.to_bytes(), &other).unwrap_err();
    assert!(err.to_string().contains("other vectors"), "{err}");
    assert!(
        graph
            .search(&clustered_unit_vectors(SEED, 499, 16), &[0.0; 16], 3)
            .is_err()
    );
}

#[test]
fn empty_and_small_indexes_stay_exact() {
    let empty = DenseIndex::new(DIM);
    assert_eq!(empty.method(), SearchMethod::Exact);
    assert!(empty.search(&vec![0.0; DIM], 10).unwrap().is_empty());
    let graph = Hnsw::build(&empty, HnswParams::default());
    assert!(
        graph
            .search(&empty, &vec![0.0; DIM], 10)
            .unwrap()
            .is_empty()
    );

    let small = clustered_unit_vectors(SEED, 50, DIM);
    assert_eq!(small.method(), SearchMethod::Exact);
    let query = &query_vectors(SEED, 50, DIM, 1)[0];
    assert_eq!(
        small.search(query, 100).unwrap().len(),
        50,
        "k > n gives every row"
    );
    let graph = Hnsw::build(&small, HnswParams::default());
    let all = graph.search(&small, query, 100).unwrap();
    assert_eq!(all.len(), 50);
    let exact = small.search_exact(query, 50).unwrap();
    let ids: Vec<&str> = all
        .iter()
        .map(|(row, _)| small.ids[*row].as_str())
        .collect();
    let exact_ids: Vec<&str> = exact.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, exact_ids);
}
