//! German CSV: encoding detection (UTF-8 with or without BOM, else Windows-1252), separator
//! detection (`;`, `,`, tab), German numbers and dates, null placeholders, per-column type
//! inference (see [`crate::typed`]; declared types override it), SQL-friendly column names, and a
//! quarantine for rows with the wrong field count or cells that miss their declared type.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;

use crate::options::ColumnType;
use crate::provenance::QuarantinedRow;
use crate::typed::{self, Cell, RawRow, Typing};
use crate::{Error, Result};

/// A parsed CSV file: one batch plus the rows that could not be loaded.
#[derive(Debug)]
pub struct ParsedCsv {
    /// The loaded rows.
    pub batch: RecordBatch,
    /// Rows with problems, with line numbers.
    pub quarantine: Vec<QuarantinedRow>,
    /// Data rows read (header excluded, blank lines excluded).
    pub rows_read: usize,
    /// The separator that was detected.
    pub separator: u8,
}

/// Decodes bytes: UTF-8 (BOM stripped) when valid, otherwise Windows-1252 (a superset of
/// ISO-8859-1 for printable characters).
pub fn decode(bytes: &[u8]) -> String {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(without_bom) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(without_bom).0.into_owned(),
    }
}

/// Picks the separator that appears most often in the first line (ties prefer `;`).
pub fn detect_separator(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|&sep| (first.bytes().filter(|&b| b == sep).count(), sep == b';'))
        .unwrap_or(b';')
}

/// Parses German CSV bytes with inferred column types. `origin` names the file in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<ParsedCsv> {
    parse_with(bytes, origin, &BTreeMap::new())
}

/// Parses German CSV bytes; columns named in `declared` get that type (rows whose cells do
/// not fit go to quarantine), the others are inferred.
pub fn parse_with(
    bytes: &[u8],
    origin: &str,
    declared: &BTreeMap<String, ColumnType>,
) -> Result<ParsedCsv> {
    let text = decode(bytes);
    let separator = detect_separator(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = loop {
        match records.next() {
            None => {
                return Err(Error::Malformed {
                    origin: origin.into(),
                    reason: "the file has no header row".into(),
                });
            }
            Some(Err(e)) => {
                return Err(Error::Malformed {
                    origin: origin.into(),
                    reason: format!("unreadable header: {e}"),
                });
            }
            Some(Ok(r)) if r.iter().all(|f| f.trim().is_empty()) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let names = typed::column_names(header.iter());
    let width = names.len();
    let sep_char = separator as char;
    let mut rows: Vec<RawRow> = Vec::new();
    let mut quarantine = Vec::new();
    let mut rows_read = 0;
    let mut lines = LineCounter::new(&text);
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                rows_read += 1;
                quarantine.push(QuarantinedRow {
                    line,
                    reason: format!("unreadable row: {e}"),
                    raw: String::new(),
                });
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows_read += 1;
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let raw = record
            .iter()
            .collect::<Vec<_>>()
            .join(&sep_char.to_string());
        if record.len() != width {
            quarantine.push(QuarantinedRow {
                line,
                reason: format!(
                    "expected {width} fields, found {} (is the separator '{sep_char}'? is this a footer or note line?)",
                    record.len()
                ),
                raw,
            });
            continue;
        }
        rows.push(RawRow {
            line,
            cells: record
                .iter()
                .map(|f| Cell::Text(f.trim().to_string()))
                .collect(),
            raw,
        });
    }
    let typing = Typing {
        declared,
        german_text: true,
    };
    let (batch, rejected) = typed::build(&names, rows, typing)?;
    Ok(ParsedCsv {
        batch,
        quarantine: crate::source::merge_rejects(quarantine, rejected),
        rows_read,
        separator,
    })
}

/// Maps byte offsets to 1-based line numbers, for offsets that only ever grow.
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The csv crate reports a CRLF record's start at the `\n` that ends the previous line, so
    /// the byte at `byte` itself is counted too.
    pub(crate) fn line_at(&mut self, byte: u64) -> u64 {
        let target = (byte as usize + 1).min(self.text.len());
        if target > self.offset {
            self.line += self.text[self.offset..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = target;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;

    #[test]
    fn parses_german_csv_with_bom_and_quarantines_bad_rows() {
        let csv = "\u{feff}Jahr;Bezirk;Einwohner;Anteil (%)\r\n2024;Altstadt;23.456;17,3\r\n2024;Nord;-;5,0\r\nQuelle: Amt\r\n";
        let parsed = parse(csv.as_bytes(), "test.csv").unwrap();
        let b = &parsed.batch;
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.schema().field(0).name(), "jahr");
        assert_eq!(b.schema().field(3).name(), "anteil_prozent");
        let ew = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(ew.value(0), 23_456);
        assert!(ew.is_null(1));
        let share = b.column(3).as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(share.value(0), 17.3);
        assert_eq!(parsed.quarantine.len(), 1);
        assert_eq!(parsed.quarantine[0].line, 4);
        assert!(
            parsed.quarantine[0]
                .reason
                .contains("expected 4 fields, found 1")
        );
        assert_eq!(parsed.rows_read, 3);
    }

    #[test]
    fn windows_1252_and_comma_separator() {
        let bytes = b"Stra\xdfe,Datum\nHauptstra\xdfe,01.02.2024\n";
        let parsed = parse(bytes, "t.csv").unwrap();
        assert_eq!(parsed.separator, b',');
        assert_eq!(parsed.batch.schema().field(0).name(), "strasse");
        assert_eq!(
            parsed.batch.schema().field(1).data_type(),
            &DataType::Date32
        );
        let s = parsed
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(s.value(0), "Hauptstraße");
    }

    #[test]
    fn empty_file_is_a_clear_error() {
        let err = parse(b"\n\n", "leer.csv").unwrap_err().to_string();
        assert!(
            err.contains("leer.csv") && err.contains("no header"),
            "{err}"
        );
    }
}
