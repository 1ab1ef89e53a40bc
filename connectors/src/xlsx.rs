//! XLSX workbooks through calamine: the first sheet or `options.sheet`; the header row is the
//! first row whose cells are all text and fill at least half of the widest row (or
//! `options.header_row`, 1-based as Excel shows it). Rows above it (titles) and single-text-cell
//! rows at the bottom (sources, footnotes) become provenance notes. Numbers, booleans and dates
//! keep their spreadsheet types (whole floats become integers); text cells follow the German
//! rules of [`crate::typed`]. A row with a spreadsheet error (`#DIV/0!`) or with values right of
//! the last header column goes to quarantine with its row number and the cell reference.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;

use crate::options::SourceOptions;
use crate::provenance::QuarantinedRow;
use crate::typed::{self, Cell, RawRow, Typing};
use crate::{Error, Parsed, Result};

/// Excel's column letters for a 0-based index: 0 → `A`, 27 → `AB`.
pub fn column_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

fn is_blank(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn non_empty(row: &[Data]) -> usize {
    row.iter().filter(|c| !is_blank(c)).count()
}

fn shown(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(v) => v.to_string(),
        Data::Float(v) => v.to_string(),
        Data::Bool(v) => v.to_string(),
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => e.to_string(),
    }
}

fn to_cell(cell: &Data) -> Cell {
    match cell {
        Data::Empty => Cell::Null,
        Data::String(s) => Cell::Text(s.trim().to_string()),
        Data::Int(v) => Cell::Int(*v),
        Data::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Cell::Int(*v as i64),
        Data::Float(v) => Cell::Float(*v),
        Data::Bool(v) => Cell::Bool(*v),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, s, ms) = d.to_ymd_hms_milli();
            match NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(day)) {
                Some(date) if (h, min, s, ms) == (0, 0, 0, 0) => Cell::Date(date),
                _ => Cell::Text(format!(
                    "{y:04}-{m:02}-{day:02}T{h:02}:{min:02}:{s:02}.{ms:03}"
                )),
            }
        }
        Data::DateTime(d) => Cell::Float(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(e.to_string()),
    }
}

/// Parses an XLSX workbook.
pub fn parse(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    let malformed = |reason: String| Error::Malformed {
        origin: origin.into(),
        reason,
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| malformed(format!("not a readable XLSX workbook: {e}")))?;
    let sheets = workbook.sheet_names();
    let sheet = match &options.sheet {
        Some(name) if sheets.contains(name) => name.clone(),
        Some(name) => {
            return Err(Error::Spec(format!(
                "options.sheet '{name}' is not in the workbook (sheets: {})",
                sheets.join(", ")
            )));
        }
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| malformed("the workbook has no sheets".into()))?,
    };
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| malformed(format!("sheet '{sheet}': {e}")))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let rows: Vec<&[Data]> = range.rows().collect();
    let sheet_row = |i: usize| u64::from(first_row) + i as u64 + 1;
    let cell_ref =
        |i: usize, j: usize| format!("{}{}", column_letter(first_col as usize + j), sheet_row(i));

    let widest = rows.iter().map(|r| non_empty(r)).max().unwrap_or(0);
    let header = match options.header_row {
        Some(n) => (0..rows.len()).find(|&i| sheet_row(i) == n as u64),
        None => rows.iter().position(|r| {
            let filled = non_empty(r);
            filled >= 2.max(widest.div_ceil(2))
                && r.iter()
                    .filter(|c| !is_blank(c))
                    .all(|c| matches!(c, Data::String(_)))
        }),
    }
    .ok_or_else(|| {
        malformed(format!(
            "sheet '{sheet}': no header row found (set options.header_row)"
        ))
    })?;
    let width = rows[header]
        .iter()
        .rposition(|c| !is_blank(c))
        .map_or(0, |p| p + 1);
    let names = typed::column_names(
        rows[header][..width]
            .iter()
            .map(shown)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );

    let mut notes = vec![format!("sheet: {sheet}")];
    let titles: Vec<String> = rows[..header]
        .iter()
        .filter(|r| non_empty(r) > 0)
        .map(|r| row_text(r))
        .collect();
    if !titles.is_empty() {
        notes.push(format!("title: {}", titles.join(" / ")));
    }
    // Footer: trailing blank rows and rows with one text cell (sources, footnotes).
    let mut end = rows.len();
    while end > header + 1 {
        let r = rows[end - 1];
        let single_text = non_empty(r) == 1
            && width > 2
            && r.iter()
                .any(|c| matches!(c, Data::String(s) if !s.trim().is_empty()));
        if non_empty(r) == 0 || single_text {
            end -= 1;
        } else {
            break;
        }
    }
    notes.extend(
        rows[end..]
            .iter()
            .filter(|r| non_empty(r) > 0)
            .map(|r| row_text(r)),
    );

    let mut quarantine = Vec::new();
    let mut data = Vec::new();
    for (i, row) in rows.iter().enumerate().take(end).skip(header + 1) {
        if non_empty(row) == 0 {
            continue;
        }
        let raw = row.iter().map(shown).collect::<Vec<_>>().join("\t");
        let error = row.iter().enumerate().find_map(|(j, c)| match c {
            Data::Error(e) => Some(format!(
                "cell {} holds the spreadsheet error {e}",
                cell_ref(i, j)
            )),
            _ if j >= width && !is_blank(c) => Some(format!(
                "cell {} has a value right of the last header column",
                cell_ref(i, j)
            )),
            _ => None,
        });
        if let Some(reason) = error {
            quarantine.push(QuarantinedRow {
                line: sheet_row(i),
                reason,
                raw,
            });
            continue;
        }
        let mut cells: Vec<Cell> = row.iter().take(width).map(to_cell).collect();
        cells.resize(width, Cell::Null);
        data.push(RawRow {
            line: sheet_row(i),
            cells,
            raw,
        });
    }
    let rows_read = data.len() + quarantine.len();
    let typing = Typing {
        declared: &options.columns,
        german_text: true,
    };
    let (batch, rejected) = typed::build(&names, data, typing)?;
    Ok(Parsed::new(batch, quarantine, rejected, rows_read, notes))
}

fn row_text(row: &[Data]) -> String {
    row.iter()
        .filter(|c| !is_blank(c))
        .map(shown)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse(b"not a zip", "haushalt.xlsx", &SourceOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("haushalt.xlsx: not a readable XLSX workbook"),
            "{err}"
        );
    }
}
