//! # allmende-datasets — die Demo-Kommune „Musterstadt“
//!
//! This crate generates the built-in demo municipality of Allmende:
//! **Musterstadt**, a *completely fictitious* German town of roughly 140.000
//! inhabitants in six districts. It exists so that the platform (connectors,
//! search, query engine and the citizen chat assistant) can be developed,
//! tested and demonstrated without touching any real municipal data.
//!
//! Everything in here is invented: the service descriptions were written for
//! this crate, the offices, streets, phone numbers (`+49 1234 …`) and web
//! addresses (`*.example`) do not exist, the population table is simulated and
//! the synthetic civil register (*Melderegister*) contains only made-up
//! persons. Fees and deadlines follow federal rules where those are known, but
//! nothing here is legal advice. The data is released under [`musterstadt::LICENCE`]
//! (CC0-1.0).
//!
//! The generator is deterministic: it uses its own tiny PRNG (SplitMix64) and
//! no external crates besides `serde`/`serde_json`, so a given seed produces
//! byte-identical files forever.
//!
//! ```no_run
//! use allmende_datasets::musterstadt;
//!
//! let files = musterstadt::write_to(std::path::Path::new("data/musterstadt"), musterstadt::DEFAULT_SEED)?;
//! println!("services written to {}", files.services.display());
//! # Ok::<(), allmende_datasets::error::Error>(())
//! ```
//!
//! Files written by [`musterstadt::write_to`]:
//!
//! | file                 | content                                                      |
//! |----------------------|--------------------------------------------------------------|
//! | `leistungen.json`    | citizen service descriptions (JSON array)                    |
//! | `dienststellen.json` | offices with addresses and opening hours (JSON array)        |
//! | `bevoelkerung.csv`   | population by district and year (German CSV: BOM, `;`, CRLF) |
//! | `melderegister.csv`  | synthetic register of fictitious persons (`;`, LF)            |

pub mod error;
pub mod musterstadt;

pub use error::{Error, Result};

/// The dataset manifest: which files the built-in ingest reads, with which connector and
/// licence (TOML; parsed by the binary into connector source specs).
pub const MANIFEST: &str = include_str!("../manifest.toml");

/// The curated templates that answer number questions with read-only queries on open-data
/// tables (loaded by `allmende_assistant::facts::FactBook`).
pub const FACTS: &str = include_str!("../facts.toml");
