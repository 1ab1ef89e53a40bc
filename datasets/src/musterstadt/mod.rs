//! The fictitious demo municipality **Musterstadt**.
//!
//! Musterstadt is an invented German town (about 140.000 inhabitants, six
//! districts, postcodes `12345`–`12355`). [`write_to`] writes its four open
//! data files; the functions [`services`], [`offices`], [`population`] and
//! [`register`] give in-memory access to the same records.
//!
//! All content is fictitious and released under [`LICENCE`]. The synthetic
//! register ([`register`]) contains only invented persons and exists solely
//! to test privacy rules; it must never be shown as if it were real.

mod names;
mod offices;
mod population;
mod register;
mod rng;
mod services;
mod texts;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use offices::offices;
pub use population::{FIRST_YEAR, LAST_YEAR, POPULATION_HEADER, population, population_csv};
pub use register::{REGISTER_DATE, REGISTER_HEADER, register, register_csv};
pub use services::services;

/// Seed used for the shipped demo data.
pub const DEFAULT_SEED: u64 = 20261123;
/// Licence of all generated files.
pub const LICENCE: &str = "CC0-1.0";
/// Attribution line for the generated files.
pub const ATTRIBUTION: &str = "Musterstadt (fiktive Demo-Kommune), erzeugt von Allmende";
/// Base URL of the (non-existent) municipal website.
pub const BASE_URL: &str = "https://www.musterstadt.example";
/// Number of persons [`write_to`] puts into `melderegister.csv`.
pub const REGISTER_PERSONS: usize = 2000;
/// The six districts (Stadtbezirke) of Musterstadt.
pub const DISTRICTS: [&str; 6] = [
    "Altstadt",
    "Nordviertel",
    "Südstadt",
    "Weststadt",
    "Oststadt",
    "Am See",
];
/// Postcode of each district, same order as [`DISTRICTS`].
pub const POSTCODES: [&str; 6] = ["12345", "12347", "12349", "12351", "12353", "12355"];
/// Name of the town.
pub const CITY: &str = "Musterstadt";

/// File name of the service descriptions.
pub const SERVICES_FILE: &str = "leistungen.json";
/// File name of the office list.
pub const OFFICES_FILE: &str = "dienststellen.json";
/// File name of the population table.
pub const POPULATION_FILE: &str = "bevoelkerung.csv";
/// File name of the synthetic register.
pub const REGISTER_FILE: &str = "melderegister.csv";

/// A citizen service description (one entry of `leistungen.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Stable id, e.g. `ms-leistung-001`.
    pub id: String,
    pub title: String,
    /// One or two sentences.
    pub teaser: String,
    /// HTML body with headings such as „Voraussetzungen“ and „Gebühren“.
    pub body_html: String,
    pub category: String,
    /// Search keywords, including colloquial synonyms.
    pub keywords: Vec<String>,
    /// Plain-text fee information.
    pub fees: String,
    /// Plain-text list of required documents.
    pub documents: Vec<String>,
    /// Id of the responsible [`Office`].
    pub office_id: String,
    pub url: String,
    /// A 14-digit key in the style of the Leistungskatalog (LeiKa); fictitious.
    pub leika: String,
    /// Date of the last editorial change, `YYYY-MM-DD`.
    pub updated: String,
}

/// One opening-hours slot of an [`Office`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// German weekday name, e.g. `Montag`.
    pub day: String,
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM`.
    pub closes: String,
}

/// An office (Dienststelle) of Musterstadt (one entry of `dienststellen.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    pub id: String,
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// One of [`DISTRICTS`].
    pub district: String,
    pub phone: String,
    pub email: String,
    pub opening_hours: Vec<OpeningHours>,
    /// Human readable summary, e.g. `Mo, Di, Do 8–12 Uhr und 14–18 Uhr; Mi geschlossen`.
    pub opening_hours_text: String,
    pub appointment_url: String,
    /// Ids of all services whose `office_id` is this office.
    pub services: Vec<String>,
}

/// One row of `bevoelkerung.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRow {
    pub year: u16,
    /// One of [`DISTRICTS`].
    pub district: String,
    /// Einwohner insgesamt (= `female + male`).
    pub total: u32,
    pub female: u32,
    pub male: u32,
    /// Anteil unter 18 Jahren in Prozent, one decimal.
    pub share_under_18: f64,
    /// Anteil 65 Jahre und älter in Prozent, one decimal.
    pub share_65_plus: f64,
}

/// One fictitious person of `melderegister.csv`. Field names equal the CSV
/// column names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// `P000001`, …
    pub personen_id: String,
    pub familienname: String,
    /// One or two given names separated by a space.
    pub vornamen: String,
    /// `dd.mm.yyyy`.
    pub geburtsdatum: String,
    /// `m`, `w` or `d`.
    pub geschlecht: String,
    pub strasse: String,
    pub hausnummer: String,
    pub plz: String,
    pub stadtbezirk: String,
    /// Lower-case adjective, e.g. `deutsch`, `türkisch`.
    pub staatsangehoerigkeit: String,
    /// `dd.mm.yyyy`.
    pub zuzugsdatum: String,
}

/// Paths of the files written by [`write_to`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFiles {
    /// `leistungen.json`
    pub services: PathBuf,
    /// `dienststellen.json`
    pub offices: PathBuf,
    /// `bevoelkerung.csv`
    pub population: PathBuf,
    /// `melderegister.csv`
    pub register: PathBuf,
}

/// Writes all four files into `dir` (created if missing), overwriting
/// existing files. The same seed always yields byte-identical files; the
/// seed affects the population table and the register, the service and
/// office texts are fixed.
pub fn write_to(dir: &Path, seed: u64) -> Result<WrittenFiles> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let files = WrittenFiles {
        services: dir.join(SERVICES_FILE),
        offices: dir.join(OFFICES_FILE),
        population: dir.join(POPULATION_FILE),
        register: dir.join(REGISTER_FILE),
    };
    write_file(&files.services, json_pretty(&services())?.as_bytes())?;
    write_file(&files.offices, json_pretty(&offices())?.as_bytes())?;
    write_file(
        &files.population,
        population_csv(&population(seed)).as_bytes(),
    )?;
    let persons = register(seed, REGISTER_PERSONS);
    write_file(&files.register, register_csv(&persons).as_bytes())?;
    Ok(files)
}

fn json_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Joins CSV fields with `;`, quoting a field only where it has to be.
pub(crate) fn csv_line(fields: &[&str]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|field| {
            if field.contains([';', '"', '\n', '\r']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                (*field).to_owned()
            }
        })
        .collect();
    quoted.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_line_quotes_only_when_needed() {
        assert_eq!(csv_line(&["a", "b c", "ä"]), "a;b c;ä");
        assert_eq!(
            csv_line(&["x;y", "sagte \"hallo\""]),
            "\"x;y\";\"sagte \"\"hallo\"\"\""
        );
    }

    #[test]
    fn districts_and_postcodes_line_up() {
        assert_eq!(DISTRICTS.len(), POSTCODES.len());
        let mut codes = POSTCODES.to_vec();
        codes.dedup();
        assert_eq!(codes.len(), POSTCODES.len());
    }

    #[test]
    fn write_to_creates_directory_and_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("neu").join("musterstadt");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(SERVICES_FILE), "alt").unwrap();
        let files = write_to(&dir, 1).unwrap();
        let text = fs::read_to_string(&files.services).unwrap();
        assert!(text.starts_with('['), "file was not overwritten");
        for path in [
            &files.services,
            &files.offices,
            &files.population,
            &files.register,
        ] {
            assert!(path.is_file(), "{} missing", path.display());
        }
    }

    #[test]
    fn write_to_reports_unwritable_target() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("datei");
        fs::write(&blocker, "kein Verzeichnis").unwrap();
        let err = write_to(&blocker, 1).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
