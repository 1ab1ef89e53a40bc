//! GeoJSON with reprojection (`Format::Geojson`): never panics.
//! Invariants of an `Ok` parse: `tests/support/parse_invariants.rs` (shared with
//! `tests/fuzz_smoke.rs`).
#![no_main]

#[path = "../../tests/support/parse_invariants.rs"]
mod parse_invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parse_invariants::geojson(data);
});
