//! GENESIS tables (Destatis, IT.NRW, the statistical offices' "GENESIS-Online" CSV export, e.g.
//! `33111-02ir.csv`): title lines, a multi-row header, the data block, then footnotes and the
//! copyright after a `_____` line.
//!
//! - Title lines (one non-empty cell) above the header and everything from the footer on are
//!   kept as provenance notes, never as rows.
//! - The header rows (all rows between the titles and the first data row) are flattened per
//!   column: `Gebäude- und Freifläche` / `Gebäude- und Freifläche Wohnen` becomes
//!   `gebaeude_und_freiflaeche_wohnen`, `Verkehrsfläche` / `Straße` becomes
//!   `verkehrsflaeche_strasse`; a header that spans every column (`Flächennutzungsarten`) goes
//!   to the notes. Label columns without a header are named `stichtag` (dates), `jahr` (years),
//!   `merkmal_<n>`, or by `options.label_columns`.
//! - A data row starts with a label and its other cells are mostly numbers or the placeholders
//!   `-`, `.`, `x`, `…` (null). `options.header_row` fixes the last header row when a header
//!   looks like data (years as column titles).
//! - Data rows with the wrong number of fields go to quarantine with their line number.

use arrow::record_batch::RecordBatch;

use crate::csv_de::{LineCounter, decode};
use crate::german;
use crate::options::SourceOptions;
use crate::provenance::QuarantinedRow;
use crate::typed::{self, Cell, RawRow, Typing};
use crate::{Error, Parsed, Result};

/// One CSV record with its 1-based line number.
#[derive(Debug)]
struct Line {
    number: u64,
    cells: Vec<String>,
}

impl Line {
    fn non_empty(&self) -> usize {
        self.cells.iter().filter(|c| !c.is_empty()).count()
    }

    fn is_blank(&self) -> bool {
        self.non_empty() == 0
    }

    /// Starts with a label and the other non-empty cells are mostly numbers or placeholders.
    fn looks_like_data(&self) -> bool {
        let first = self.cells.first().is_some_and(|c| !c.is_empty());
        let values: Vec<&String> = self.cells[1..].iter().filter(|c| !c.is_empty()).collect();
        let numeric = values
            .iter()
            .filter(|c| german::is_null(c) || german::parse_float(c).is_some())
            .count();
        first && !values.is_empty() && numeric * 2 > values.len()
    }

    fn starts_footer(&self) -> bool {
        self.cells.first().is_some_and(|c| c.starts_with("___"))
    }

    fn text(&self) -> String {
        self.cells
            .iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Picks the separator with the most occurrences on any of the first 40 lines.
fn detect_separator(text: &str) -> u8 {
    [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|&sep| {
            let most = text
                .lines()
                .take(40)
                .map(|l| l.bytes().filter(|&b| b == sep).count())
                .max()
                .unwrap_or(0);
            (most, sep == b';')
        })
        .unwrap_or(b';')
}

fn read_lines(text: &str, separator: u8, origin: &str) -> Result<Vec<Line>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut counter = LineCounter::new(text);
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::Malformed {
            origin: origin.into(),
            reason: format!("unreadable GENESIS table: {e}"),
        })?;
        let number = record.position().map_or(0, |p| counter.line_at(p.byte()));
        lines.push(Line {
            number,
            cells: record.iter().map(|c| c.trim().to_string()).collect(),
        });
    }
    Ok(lines)
}

/// Parses a GENESIS CSV table.
pub fn parse(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    let text = decode(bytes);
    let separator = detect_separator(&text);
    let lines = read_lines(&text, separator, origin)?;
    let malformed = |reason: String| Error::Malformed {
        origin: origin.into(),
        reason,
    };
    let first_data = match options.header_row {
        Some(row) => lines
            .iter()
            .position(|l| l.number > row as u64 && !l.is_blank()),
        None => lines.iter().position(Line::looks_like_data),
    }
    .ok_or_else(|| malformed("no data rows found (is this a GENESIS table?)".into()))?;
    let (above, rest) = lines.split_at(first_data);
    let width = rest[0].cells.len();
    let (titles, headers): (Vec<&Line>, Vec<&Line>) = above
        .iter()
        .filter(|l| !l.is_blank())
        .partition(|l| l.non_empty() <= 1);
    if headers.is_empty() {
        return Err(malformed(
            "no header row above the data (set options.header_row?)".into(),
        ));
    }
    let mut notes = Vec::new();
    if !titles.is_empty() {
        let joined: Vec<String> = titles.iter().map(|l| l.text()).collect();
        notes.push(format!("title: {}", joined.join(" / ")));
    }

    let footer = rest
        .iter()
        .position(|l| l.starts_footer() || (l.cells.len() < width && l.non_empty() <= 1))
        .unwrap_or(rest.len());
    let (data, tail) = rest.split_at(footer);
    notes.extend(footer_notes(tail));

    let mut quarantine = Vec::new();
    let mut rows = Vec::new();
    for line in data.iter().filter(|l| !l.is_blank()) {
        let raw = line.cells.join(&(separator as char).to_string());
        if line.cells.len() != width {
            quarantine.push(QuarantinedRow {
                line: line.number,
                reason: format!(
                    "expected {width} fields, found {} (a note inside the data block?)",
                    line.cells.len()
                ),
                raw,
            });
            continue;
        }
        rows.push(RawRow {
            line: line.number,
            cells: line.cells.iter().map(|c| Cell::Text(c.clone())).collect(),
            raw,
        });
    }
    let rows_read = rows.len() + quarantine.len();
    let headers = drop_spanning_headers(&headers, width, &mut notes);
    let names = column_names(&headers, &rows, width, options);
    let typing = Typing {
        declared: &options.columns,
        german_text: true,
    };
    let (batch, rejected): (RecordBatch, _) = typed::build(&names, rows, typing)?;
    Ok(Parsed::new(batch, quarantine, rejected, rows_read, notes))
}

/// Footnotes and copyright: paragraphs between `___` lines, each one note.
fn footer_notes(tail: &[Line]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut paragraph: Vec<String> = Vec::new();
    for line in tail {
        if line.starts_footer() || line.is_blank() {
            if !paragraph.is_empty() {
                notes.push(paragraph.join(" "));
                paragraph.clear();
            }
        } else {
            paragraph.push(line.text());
        }
    }
    if !paragraph.is_empty() {
        notes.push(paragraph.join(" "));
    }
    notes
}

/// Header rows whose value cells all say the same thing (`Flächennutzungsarten`, `Anzahl`)
/// carry no per-column information; they go to the notes, but the last header row stays.
fn drop_spanning_headers<'a>(
    headers: &[&'a Line],
    width: usize,
    notes: &mut Vec<String>,
) -> Vec<&'a Line> {
    let spanning = |h: &Line| {
        let values: Vec<&String> = h.cells.iter().skip(1).collect();
        (width >= 3 && values.len() == width - 1 && !values[0].is_empty())
            .then(|| {
                values
                    .iter()
                    .all(|v| *v == values[0])
                    .then(|| values[0].clone())
            })
            .flatten()
    };
    let mut kept: Vec<&Line> = Vec::new();
    for (i, &h) in headers.iter().enumerate() {
        let last = i + 1 == headers.len();
        match spanning(h) {
            Some(text) if !(last && kept.is_empty()) => {
                notes.push(format!("header spanning all columns: {text}"))
            }
            _ => kept.push(h),
        }
    }
    kept
}

/// Flattens the header cells of each column into one SQL-friendly name.
fn column_names(
    headers: &[&Line],
    rows: &[RawRow],
    width: usize,
    options: &SourceOptions,
) -> Vec<String> {
    let mut labels = options.label_columns.iter();
    let mut raw_names = Vec::with_capacity(width);
    for j in 0..width {
        let mut parts: Vec<String> = Vec::new();
        for h in headers {
            let Some(cell) = h.cells.get(j).filter(|c| !c.is_empty()) else {
                continue;
            };
            match parts.last_mut() {
                Some(last) if last.to_lowercase().contains(&cell.to_lowercase()) => {}
                Some(last) if first_word(last) == first_word(cell) => *last = cell.clone(),
                _ => parts.push(cell.clone()),
            }
        }
        let name = if parts.is_empty() {
            labels
                .next()
                .cloned()
                .unwrap_or_else(|| label_name(rows, j))
        } else {
            parts.join(" ")
        };
        raw_names.push(name);
    }
    typed::column_names(raw_names.iter().map(String::as_str))
}

fn first_word(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_lowercase()
}

/// A name for a label column without header, from its contents.
fn label_name(rows: &[RawRow], j: usize) -> String {
    let cells: Vec<&str> = rows
        .iter()
        .filter_map(|r| match r.cells.get(j) {
            Some(Cell::Text(t)) if !t.is_empty() => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let all = |f: fn(&str) -> bool| !cells.is_empty() && cells.iter().all(|c| f(c));
    if all(|c| german::parse_date(c).is_some()) {
        "stichtag".into()
    } else if all(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())) {
        "jahr".into()
    } else {
        format!("merkmal_{}", j + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};

    const TABLE: &str = "GENESIS-Tabelle: 12411-0001\n\
        Bevölkerung: Kreise, Stichtag;;;\n\
        ;Bevölkerungsstand;Bevölkerungsstand;Bevölkerungsstand\n\
        ;Insgesamt;männlich;weiblich\n\
        ;Anzahl;Anzahl;Anzahl\n\
        31.12.2022;1.234;600;634\n\
        31.12.2023;1.240;-;x\n\
        31.12.2024;1.250;610\n\
        __________\n\
        Fortschreibung des Bevölkerungsstandes\n\
        © Statistisches Bundesamt (Destatis), 2025\n";

    #[test]
    fn flattens_headers_and_keeps_footer_as_notes() {
        let p = parse(TABLE.as_bytes(), "t.csv", &SourceOptions::default()).unwrap();
        let schema = p.batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["stichtag", "insgesamt", "maennlich", "weiblich"]);
        assert_eq!(p.batch.num_rows(), 2);
        let total = p
            .batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(total.value(1), 1240);
        let men = p
            .batch
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert!(men.is_null(1));
        assert_eq!(p.quarantine.len(), 1);
        assert_eq!(p.quarantine[0].line, 8);
        assert_eq!(p.rows_read, 3);
        assert!(p.notes[0].starts_with("title: GENESIS-Tabelle: 12411-0001"));
        assert!(
            p.notes
                .iter()
                .any(|n| n == "header spanning all columns: Bevölkerungsstand")
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n == "header spanning all columns: Anzahl")
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n.starts_with("Fortschreibung des Bevölkerungsstandes ©"))
        );
    }

    #[test]
    fn label_names_and_missing_data_are_explained() {
        let options = SourceOptions {
            label_columns: vec!["datum".into()],
            ..SourceOptions::default()
        };
        let p = parse(TABLE.as_bytes(), "t.csv", &options).unwrap();
        assert_eq!(p.batch.schema().field(0).name(), "datum");
        let err = parse(b"Titel\nnur Text;ohne Zahlen\n", "t.csv", &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no data rows"), "{err}");
    }
}
