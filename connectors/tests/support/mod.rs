//! Shared test fixtures. Each test crate uses only part of them, hence `dead_code` is allowed.
#![allow(dead_code)]

pub mod parse_invariants;
pub mod recorded_server;

use std::path::{Path, PathBuf};

use allmende_connectors::Parsed;
use arrow::array::StringArray;

/// A file or directory of the shared sample data (`../shared/datasets`), or `None` with a
/// notice when it is absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping: {} not found (sample data lives in ../shared/datasets)",
            path.display()
        );
        None
    }
}

/// A text column of a parse result, by name.
pub fn text_column<'a>(p: &'a Parsed, name: &str) -> &'a StringArray {
    p.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap_or_else(|| panic!("{name} is not text"))
}
