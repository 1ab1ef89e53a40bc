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

/// Serves an OParl Body whose paper list loops (page 2 links back to page 1; any other query on
/// the list path gets page 1 too) from `tests/fixtures/oparl`; returns the Body's URL.
pub fn serve_oparl_paging_loop(server: &recorded_server::RecordedServer) -> String {
    let fixture = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/oparl")
            .join(name)
    };
    server.serve_file("/oparl/body/1", &fixture("body.json"));
    server.serve_file(
        "/oparl/body/1/papers?sort=modified",
        &fixture("papers_loop_page1.json"),
    );
    server.serve_file("/oparl/body/1/papers", &fixture("papers_loop_page1.json"));
    server.serve_file(
        "/oparl/body/1/papers?sort=modified&page=2",
        &fixture("papers_loop_page2.json"),
    );
    server.url("/oparl/body/1")
}
