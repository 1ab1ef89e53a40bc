//! What must hold whenever a parser of untrusted files returns `Ok`, and how each parser is
//! driven with one input. Shared by the stable smoke test (`tests/fuzz_smoke.rs`) and the
//! cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which include this file with `#[path]`), so
//! the invariants are stated once.
//!
//! The invariants, as `tests/formats.rs` (`accounted`) states them for loaded tables:
//! - every row read is loaded or quarantined: `batch.num_rows() + quarantine.len() ==
//!   rows_read`;
//! - quarantine line (record, feature) numbers are 1-based, and every reject has a reason.
//!
//! A parser may return `Err` on any input; it must never panic. The runners below return how
//! many of their parses returned `Ok` (the smoke test makes sure mutations still get through).
#![allow(dead_code)]

use allmende_connectors::catalogue::{CatalogueTable, parse_dcat};
use allmende_connectors::oparl::{OparlKind, parse_objects};
use allmende_connectors::{Connector, Format, Parsed, xmeld, xzufi};

/// Origin given to the parsers. It has no file extension, so the DCAT reader sniffs the RDF
/// syntax from the content (Turtle, RDF/XML or JSON-LD) instead of trusting a name.
pub const ORIGIN: &str = "fuzz-input";

/// Checks the invariants of a successful parse; `what` names the parser in the panic message.
pub fn check(what: &str, p: &Parsed) {
    let loaded = p.batch.num_rows();
    let quarantined = p.quarantine.len();
    assert_eq!(
        loaded + quarantined,
        p.rows_read,
        "{what}: every row read is loaded or quarantined \
         (loaded {loaded}, quarantined {quarantined}, read {})",
        p.rows_read
    );
    for q in &p.quarantine {
        assert!(
            q.line >= 1,
            "{what}: quarantine line numbers are 1-based: {q:?}"
        );
        assert!(
            !q.reason.trim().is_empty(),
            "{what}: a quarantined row has no reason: {q:?}"
        );
    }
}

/// Checks a parse that returned `Ok`; 1 if it did, 0 if it returned an error.
pub fn checked(what: &str, result: allmende_connectors::Result<Parsed>) -> usize {
    match result {
        Ok(p) => {
            check(what, &p);
            1
        }
        Err(_) => 0,
    }
}

/// German CSV through the `Connector` trait (default options: inferred column types).
pub fn csv_de(bytes: &[u8]) -> usize {
    checked("csv_de", Format::Csv.parse(bytes, ORIGIN))
}

/// A GENESIS statistics table (titles, multi-row header, footnotes).
pub fn genesis(bytes: &[u8]) -> usize {
    checked("genesis", Format::Genesis.parse(bytes, ORIGIN))
}

/// GeoJSON, reprojected to WGS84.
pub fn geojson(bytes: &[u8]) -> usize {
    checked("geojson", Format::Geojson.parse(bytes, ORIGIN))
}

/// The XML readers: XZuFi service descriptions and XMeld register messages.
pub fn xml(bytes: &[u8]) -> usize {
    checked("xzufi", xzufi::parse(bytes, ORIGIN)) + checked("xmeld", xmeld::parse(bytes, ORIGIN))
}

/// OParl JSON (a single object, an array of objects or a list page), read as each kind.
pub fn oparl(bytes: &[u8]) -> usize {
    let pages = [(ORIGIN.to_string(), bytes.to_vec())];
    [
        OparlKind::Paper,
        OparlKind::Meeting,
        OparlKind::Organization,
    ]
    .into_iter()
    .map(|kind| checked(kind.type_name(), parse_objects(kind, &pages)))
    .sum()
}

/// A DCAT-AP.de page (syntax sniffed from the content), read as both catalogue tables.
pub fn dcat(bytes: &[u8]) -> usize {
    let pages = [(ORIGIN.to_string(), bytes.to_vec())];
    [CatalogueTable::Datasets, CatalogueTable::Distributions]
        .into_iter()
        .map(|table| checked(table.name(), parse_dcat(table, &pages, None)))
        .sum()
}
