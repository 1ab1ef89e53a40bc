//! Where a table came from: source, licence, attribution, retrieval time, content hash and the
//! row counts of its ingest. Stored beside every snapshot and shown in answers and the catalog.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A qualified table name: `<source>.<table>`, both lower-case SQL identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct TableName {
    /// The source (SQL schema), e.g. `musterstadt`.
    pub source: String,
    /// The table within the source, e.g. `leistungen`.
    pub table: String,
}

impl TableName {
    /// Validates both parts: lower-case ASCII letters, digits and `_`, starting with a letter.
    pub fn new(source: &str, table: &str) -> crate::Result<Self> {
        for part in [source, table] {
            let valid = part.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(crate::Error::Spec(format!(
                    "'{part}' is not a valid source or table name (use lower-case letters, digits and '_', starting with a letter)"
                )));
            }
        }
        Ok(Self {
            source: source.to_string(),
            table: table.to_string(),
        })
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.source, self.table)
    }
}

/// Provenance of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The table this snapshot holds.
    pub table: TableName,
    /// Path or URL the data was read from.
    pub origin: String,
    /// Licence identifier or text, e.g. `dl-de/by-2-0`.
    pub licence: String,
    /// Attribution text that must accompany the data.
    pub attribution: String,
    /// RFC 3339 timestamp of retrieval.
    pub retrieved_at: String,
    /// SHA-256 (hex) of the raw bytes read from the origin.
    pub sha256: String,
    /// Data rows read from the origin (header excluded).
    pub rows_read: usize,
    /// Rows that made it into the table.
    pub rows_loaded: usize,
    /// Rows sent to quarantine.
    pub rows_quarantined: usize,
    /// True for register tables holding personal data (aggregate-only, never indexed).
    pub personal: bool,
    /// What the file said besides its rows: titles and footnotes of statistics tables, the
    /// coordinate system, upstream metadata. Older snapshots have none.
    #[serde(default)]
    pub notes: Vec<String>,
    /// ETag / Last-Modified of a file fetched over HTTP, sent back on the next ingest so an
    /// unchanged file costs a `304 Not Modified` and no download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<crate::http::Validators>,
}

/// Hex SHA-256 of raw bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A row that could not be loaded, kept with its line number and the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantinedRow {
    /// 1-based line number in the source file (or record index for JSON).
    pub line: u64,
    /// Why the row was rejected, with a hint.
    pub reason: String,
    /// The raw row as read.
    pub raw: String,
}
