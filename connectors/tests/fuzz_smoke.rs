//! Fuzz smoke test on the stable toolchain: the parsers of untrusted files (German CSV,
//! GENESIS, GeoJSON, XZuFi/XMeld XML, OParl JSON, DCAT RDF) get arbitrary bytes and mutated
//! real files (flipped, inserted, deleted, duplicated bytes, truncation), and must never panic;
//! whatever they return `Ok` satisfies the invariants in `support/parse_invariants.rs`, the
//! same ones the cargo-fuzz targets in `fuzz/` check (run those with nightly for depth; see
//! `fuzz/README.md`).
//!
//! The real inputs are `tests/fixtures/**` and, where present, the sample files in
//! `../shared/datasets` (next to the repository), each cut to its first 16 KB (so the XML
//! fixtures stay whole); a few small inline samples stand in for the sample files where those
//! are missing. `PROPTEST_CASES=5000` makes a longer run.

mod support;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

use support::parse_invariants;

/// Real inputs are cut to this many bytes: deep enough for the header and some rows, small
/// enough that a debug build parses a hundred mutations per parser in a few seconds.
const SEED_BYTES: usize = 16 * 1024;

/// Cases per parser and kind of input; `PROPTEST_CASES` overrides it for a longer run.
const CASES: u32 = 96;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        // A failure is reported with the smallest input proptest finds; keep it as a plain
        // regression test in this file rather than in a `proptest-regressions` file.
        failure_persistence: None,
        ..Config::default()
    }
}

/// The fuzzed parsers; one cargo-fuzz target each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    CsvDe,
    Genesis,
    Geojson,
    Xml,
    Oparl,
    Dcat,
}

const TARGETS: [Target; 6] = [
    Target::CsvDe,
    Target::Genesis,
    Target::Geojson,
    Target::Xml,
    Target::Oparl,
    Target::Dcat,
];

impl Target {
    /// Parses `bytes`, checks the invariants; how many parses returned `Ok`.
    fn run(self, bytes: &[u8]) -> usize {
        match self {
            Target::CsvDe => parse_invariants::csv_de(bytes),
            Target::Genesis => parse_invariants::genesis(bytes),
            Target::Geojson => parse_invariants::geojson(bytes),
            Target::Xml => parse_invariants::xml(bytes),
            Target::Oparl => parse_invariants::oparl(bytes),
            Target::Dcat => parse_invariants::dcat(bytes),
        }
    }

    /// Where the real files of this parser are (see [`Sources`]); `fuzz/seed_corpus.sh`
    /// copies the same files into the fuzz corpora.
    fn sources(self) -> Sources {
        let (fixtures, shared, extensions): (&[&str], &[&str], &[&str]) = match self {
            Target::CsvDe | Target::Genesis => (&[], &[""], &["csv"]),
            Target::Geojson => (&[], &[""], &["geojson"]),
            Target::Xml => (&["xzufi", "xmeld"], &[], &["xml"]),
            Target::Oparl => (
                &["oparl"],
                &["oparl_karlsruhe", "oparl_spec_examples"],
                &["json"],
            ),
            Target::Dcat => (&["dcat"], &["dcat-ap-de"], &["rdf", "ttl", "jsonld"]),
        };
        Sources {
            fixtures,
            shared,
            extensions,
        }
    }

    /// Small samples that are always there, for parsers whose real files live only in
    /// `../shared/datasets`.
    fn inline(self) -> &'static [&'static str] {
        match self {
            Target::CsvDe => &["Bezirk;Betrag;Stichtag;Anteil\n\
                 Innenstadt;1.234,50;31.12.2023;12,5 %\n\
                 \"Rodenkirchen; Süd\";-;01.01.2024;x\n\
                 Lindenthal;2.000;;3\n"],
            Target::Genesis => &["GENESIS-Tabelle: 12411-0001\n\
                 Bevölkerung: Kreise, Stichtag;;;\n\
                 ;Bevölkerungsstand;Bevölkerungsstand;Bevölkerungsstand\n\
                 ;Insgesamt;männlich;weiblich\n\
                 ;Anzahl;Anzahl;Anzahl\n\
                 31.12.2022;1.234;600;634\n\
                 31.12.2023;1.240;-;x\n\
                 31.12.2024;1.250;610\n\
                 __________\n\
                 Fortschreibung des Bevölkerungsstandes\n\
                 © Statistisches Bundesamt (Destatis), 2025\n"],
            Target::Geojson => &[r#"{"type": "FeatureCollection",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
                  "features": [
                    {"type": "Feature", "properties": {"name": "Dom", "hoehe": 157.4},
                     "geometry": {"type": "Point", "coordinates": [356558.6468, 5645279.7326]}},
                    {"type": "Feature", "properties": {"name": "ohne Ort"}, "geometry": null},
                    {"type": "Feature", "properties": {"name": "Fläche"},
                     "geometry": {"type": "Polygon", "coordinates":
                       [[[356000, 5645000], [357000, 5645000], [357000, 5646000], [356000, 5645000]]]}}
                  ]}"#],
            Target::Xml | Target::Oparl | Target::Dcat => &[],
        }
    }
}

/// Real files of a parser: those with one of `extensions` in the `fixtures` folders (under
/// `tests/fixtures`) and the `shared` folders (under `../shared/datasets`; `""` is all of it),
/// searched recursively.
struct Sources {
    fixtures: &'static [&'static str],
    shared: &'static [&'static str],
    extensions: &'static [&'static str],
}

/// Files under `dir` (recursively) whose extension is one of `extensions`, sorted.
fn files_under(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_under(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
}

/// The seed inputs of every target, in `TARGETS` order.
static SEEDS: LazyLock<Vec<Vec<Vec<u8>>>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("tests/fixtures");
    let shared = root.join("../../shared/datasets");
    if !shared.is_dir() {
        eprintln!(
            "{} not found: mutating the fixtures and inline samples only",
            shared.display()
        );
    }
    TARGETS
        .iter()
        .map(|&target| {
            let sources = target.sources();
            let mut paths = Vec::new();
            for dir in sources.fixtures {
                files_under(&fixtures.join(dir), sources.extensions, &mut paths);
            }
            for dir in sources.shared {
                files_under(&shared.join(dir), sources.extensions, &mut paths);
            }
            let mut seeds: Vec<Vec<u8>> = target
                .inline()
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect();
            for path in paths {
                let mut bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                bytes.truncate(SEED_BYTES);
                seeds.push(bytes);
            }
            assert!(!seeds.is_empty(), "{target:?} has no seed inputs");
            seeds
        })
        .collect()
});

fn seeds(target: Target) -> &'static [Vec<u8>] {
    let i = TARGETS.iter().position(|&t| t == target).unwrap();
    &SEEDS[i]
}

/// Bytes that matter to the formats (separators, quotes, brackets, markup, UTF-8 and
/// Latin-1 lead bytes), inserted more often than chance would.
const INTERESTING: &[u8] = b";,\t\n\r\"'{}[]<>/:=&#@_.-0 \\\x00\xc3\xa4\xfc\xff\xef\xbb\xbf";

/// One edit of a seed; positions are taken modulo the current length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![any::<u8>(), prop::sample::select(INTERESTING)];
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        3 => (any::<Index>(), byte).prop_map(|(at, b)| Mutation::Insert(at, b)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => (any::<Index>(), 1usize..256).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Flip(ref at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << bit,
        Mutation::Insert(ref at, b) => bytes.insert(at.index(len + 1), b),
        Mutation::Delete(ref at, n) if len > 0 => {
            let start = at.index(len);
            bytes.drain(start..(start + n).min(len));
        }
        Mutation::Duplicate(ref at, n) if len > 0 => {
            let start = at.index(len);
            let chunk = bytes[start..(start + n).min(len)].to_vec();
            bytes.splice(start..start, chunk);
        }
        Mutation::Truncate(ref at) => bytes.truncate(at.index(len + 1)),
        _ => {}
    }
}

/// An input, shown as an escaped byte string when a case fails.
#[derive(Clone)]
struct Input(Vec<u8>);

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes: b\"{}\"", self.0.len(), self.0.escape_ascii())
    }
}

/// A real input of `target` with 0–16 mutations.
fn mutated(target: Target) -> impl Strategy<Value = Input> {
    (
        any::<Index>(),
        prop_oneof![
            3 => prop::collection::vec(mutation(), 0..3),
            1 => prop::collection::vec(mutation(), 3..16),
        ],
    )
        .prop_map(move |(seed, mutations)| {
            let seeds = seeds(target);
            let mut bytes = seeds[seed.index(seeds.len())].clone();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            Input(bytes)
        })
}

/// Arbitrary bytes, up to 4 KB, half of them drawn from the bytes that matter to the formats.
fn arbitrary() -> impl Strategy<Value = Input> {
    let byte = prop_oneof![any::<u8>(), prop::sample::select(INTERESTING)];
    prop::collection::vec(byte, 0..4096).prop_map(Input)
}

/// Runs `target` on `CASES` inputs from `inputs`; a panic fails the test with the smallest
/// input proptest finds. Returns how many parses returned `Ok`.
fn fuzz(target: Target, inputs: impl Strategy<Value = Input>) -> usize {
    let oks = AtomicUsize::new(0);
    let mut runner = TestRunner::new(config());
    let result = runner.run(&inputs, |input| {
        oks.fetch_add(target.run(&input.0), Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{target:?}: {e}");
    }
    let oks = oks.into_inner();
    eprintln!("{target:?}: {oks} parses returned Ok");
    oks
}

/// Arbitrary bytes: no panic, and invariants hold where a parse gets through.
fn fuzz_arbitrary(target: Target) {
    fuzz(target, arbitrary());
}

/// Mutated real inputs; some of them must still parse, or the invariants were never checked.
fn fuzz_mutated(target: Target) {
    let oks = fuzz(target, mutated(target));
    assert!(
        oks > 0,
        "no mutated input of {target:?} parsed: the invariants were not checked"
    );
}

#[test]
fn real_inputs_hold_the_invariants() {
    for target in TARGETS {
        let oks: usize = seeds(target).iter().map(|seed| target.run(seed)).sum();
        assert!(oks > 0, "no real input of {target:?} parsed");
    }
}

#[test]
fn csv_de_arbitrary() {
    fuzz_arbitrary(Target::CsvDe);
}

#[test]
fn csv_de_mutated() {
    fuzz_mutated(Target::CsvDe);
}

#[test]
fn genesis_arbitrary() {
    fuzz_arbitrary(Target::Genesis);
}

#[test]
fn genesis_mutated() {
    fuzz_mutated(Target::Genesis);
}

#[test]
fn geojson_arbitrary() {
    fuzz_arbitrary(Target::Geojson);
}

#[test]
fn geojson_mutated() {
    fuzz_mutated(Target::Geojson);
}

#[test]
fn xml_arbitrary() {
    fuzz_arbitrary(Target::Xml);
}

#[test]
fn xml_mutated() {
    fuzz_mutated(Target::Xml);
}

#[test]
fn oparl_arbitrary() {
    fuzz_arbitrary(Target::Oparl);
}

#[test]
fn oparl_mutated() {
    fuzz_mutated(Target::Oparl);
}

#[test]
fn dcat_arbitrary() {
    fuzz_arbitrary(Target::Dcat);
}

#[test]
fn dcat_mutated() {
    fuzz_mutated(Target::Dcat);
}
