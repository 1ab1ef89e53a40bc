//! Helpers shared by the assistant's integration tests (`mod support;` in each test file).

use std::sync::Arc;

use allmende_search::SearchIndex;
use arrow::array::{ArrayRef, RecordBatch, StringArray};

/// An in-memory index holding one service description of `musterstadt.leistungen`, at
/// `https://www.musterstadt.example/leistungen/<doc_id>`, CC0.
pub fn one_service_index(doc_id: &str, title: &str, body: &str) -> Arc<SearchIndex> {
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v.to_string()])) };
    let url = format!("https://www.musterstadt.example/leistungen/{doc_id}");
    let batch = RecordBatch::try_from_iter([
        ("doc_id", text(doc_id)),
        ("title", text(title)),
        ("body", text(body)),
        ("url", text(&url)),
        ("licence", text("CC0-1.0")),
        ("kind", text("service")),
    ])
    .unwrap();
    let index = SearchIndex::in_memory().unwrap();
    index
        .replace_source("musterstadt.leistungen", &[batch])
        .unwrap();
    Arc::new(index)
}
