//! Typed Arrow columns from loosely typed cells, shared by every tabular format.
//!
//! A format reads its rows into [`Cell`]s (CSV and GENESIS: all text; JSON and XLSX: native
//! numbers, booleans and dates where the file has them). Each column's type is the declared one
//! (`options.columns`) or inferred: text cells go through the German rules of [`crate::german`]
//! (null placeholders, thousands groups, decimal comma or point per column, dates), and codes
//! with leading zeros (`01`, `00288001900`: AGS, postcodes, district keys) stay text. A cell that
//! does not fit a *declared* type sends its whole row to quarantine with the column and reason;
//! inferred types fit every cell by construction.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use crate::Result;
use crate::german::{self, InferredType, NumberStyle};
use crate::options::ColumnType;
use crate::provenance::QuarantinedRow;

/// One cell as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text, possibly a German-formatted number, date or null placeholder.
    Text(String),
    /// A native integer (JSON, XLSX).
    Int(i64),
    /// A native float (JSON, XLSX).
    Float(f64),
    /// A native boolean.
    Bool(bool),
    /// A native date (XLSX).
    Date(NaiveDate),
}

impl Cell {
    /// The cell as text, the way it is stored in a text column.
    pub fn render(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            Cell::Int(v) => Some(v.to_string()),
            Cell::Float(v) => Some(v.to_string()),
            Cell::Bool(v) => Some(v.to_string()),
            Cell::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        }
    }
}

/// One source row: its cells, where it was, and its raw form for the quarantine.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// 1-based line (CSV), row (XLSX) or record / feature number (JSON, GeoJSON).
    pub line: u64,
    /// One cell per column.
    pub cells: Vec<Cell>,
    /// The row as read (kept in quarantine when the row is rejected).
    pub raw: String,
}

/// How cells become typed columns.
#[derive(Debug, Clone, Copy)]
pub struct Typing<'a> {
    /// Declared types by column name.
    pub declared: &'a BTreeMap<String, ColumnType>,
    /// Text cells follow German statistics conventions: placeholders such as `-`, `.`, `x`, `…`
    /// mean "no value" in non-text columns, and numbers and dates inside text are recognised.
    /// Off for JSON, where a string is a string.
    pub german_text: bool,
}

/// SQL-friendly, unique column names; empty headers become `column_<n>`.
pub fn column_names<'a>(headers: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, h) in headers.enumerate() {
        let mut name = german::sql_identifier(h);
        if name.is_empty() {
            name = format!("column_{}", i + 1);
        }
        let base = name.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// Builds one batch; rows whose cells do not fit their declared type are returned as
/// quarantine entries (in source order) instead.
pub fn build(
    names: &[String],
    rows: Vec<RawRow>,
    typing: Typing<'_>,
) -> Result<(RecordBatch, Vec<QuarantinedRow>)> {
    if let Some(unknown) = typing.declared.keys().find(|k| !names.contains(k)) {
        return Err(crate::Error::Spec(format!(
            "options.columns names '{unknown}', but the table has no such column (columns: {})",
            names.join(", ")
        )));
    }
    let plans: Vec<ColumnPlan> = (0..names.len())
        .map(|i| plan_column(&names[i], &rows, i, typing))
        .collect();
    let mut rejected: Vec<Option<String>> = vec![None; rows.len()];
    let mut converted: Vec<Vec<Value>> = Vec::with_capacity(names.len());
    for (i, plan) in plans.iter().enumerate() {
        let mut values = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            let cell = row.cells.get(i).unwrap_or(&Cell::Null);
            match convert(cell, plan, typing.german_text) {
                Ok(v) => values.push(v),
                Err(shown) => {
                    values.push(Value::Null);
                    rejected[r].get_or_insert_with(|| {
                        format!(
                            "column '{}': '{shown}' is not a valid {} (declared in options.columns)",
                            names[i], plan.kind
                        )
                    });
                }
            }
        }
        converted.push(values);
    }
    let keep: Vec<bool> = rejected.iter().map(Option::is_none).collect();
    let mut fields = Vec::with_capacity(names.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(names.len());
    for ((name, plan), values) in names.iter().zip(&plans).zip(converted) {
        let kept = values.into_iter().zip(&keep).filter(|(_, k)| **k);
        let (data_type, array): (DataType, ArrayRef) = match plan.kind {
            ColumnType::Text => (
                DataType::Utf8,
                Arc::new(StringArray::from_iter(kept.map(|(v, _)| v.text()))),
            ),
            ColumnType::Int => (
                DataType::Int64,
                Arc::new(Int64Array::from_iter(kept.map(|(v, _)| v.int()))),
            ),
            ColumnType::Float => (
                DataType::Float64,
                Arc::new(Float64Array::from_iter(kept.map(|(v, _)| v.float()))),
            ),
            ColumnType::Date => (
                DataType::Date32,
                Arc::new(Date32Array::from_iter(kept.map(|(v, _)| v.date()))),
            ),
            ColumnType::Bool => (
                DataType::Boolean,
                Arc::new(BooleanArray::from_iter(kept.map(|(v, _)| v.bool()))),
            ),
        };
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = if arrays.is_empty() {
        RecordBatch::new_empty(schema)
    } else {
        RecordBatch::try_new(schema, arrays)?
    };
    let quarantine = rows
        .into_iter()
        .zip(rejected)
        .filter_map(|(row, reason)| {
            reason.map(|reason| QuarantinedRow {
                line: row.line,
                reason,
                raw: row.raw,
            })
        })
        .collect();
    Ok((batch, quarantine))
}

/// A column's target type and, for text cells, its number style.
#[derive(Debug, Clone, Copy)]
struct ColumnPlan {
    kind: ColumnType,
    style: NumberStyle,
}

fn is_null_cell(cell: &Cell, german_text: bool) -> bool {
    match cell {
        Cell::Null => true,
        Cell::Text(s) => s.trim().is_empty() || (german_text && german::is_null(s)),
        _ => false,
    }
}

fn plan_column(name: &str, rows: &[RawRow], i: usize, typing: Typing<'_>) -> ColumnPlan {
    let cells = || rows.iter().filter_map(move |r| r.cells.get(i));
    let texts = || {
        cells().filter_map(|c| match c {
            Cell::Text(s) => Some(s.as_str()),
            _ => None,
        })
    };
    let style = if typing.german_text || texts().any(|t| t.contains(',')) {
        german::detect_style(texts())
    } else {
        // A JSON string with a point ("11.548") is a decimal point, not a thousands group.
        NumberStyle::DecimalPoint
    };
    if let Some(kind) = typing.declared.get(name) {
        return ColumnPlan { kind: *kind, style };
    }
    let (mut ints, mut floats, mut bools, mut dates, mut text) = (0, 0, 0, 0, false);
    for cell in cells().filter(|c| !is_null_cell(c, typing.german_text)) {
        match cell {
            Cell::Int(_) => ints += 1,
            Cell::Float(_) => floats += 1,
            Cell::Bool(_) => bools += 1,
            Cell::Date(_) => dates += 1,
            Cell::Text(_) => text = true,
            Cell::Null => {}
        }
    }
    let native = ints + floats + bools + dates;
    let kind = if text {
        let texts_infer = if typing.german_text {
            infer_text(texts(), style)
        } else {
            ColumnType::Text
        };
        match (texts_infer, native) {
            (kind, 0) => kind,
            // Native numbers mixed with German number text (XLSX): numbers.
            (ColumnType::Int, _) if bools + dates == 0 => {
                if floats == 0 {
                    ColumnType::Int
                } else {
                    ColumnType::Float
                }
            }
            (ColumnType::Float, _) if bools + dates == 0 => ColumnType::Float,
            _ => ColumnType::Text,
        }
    } else if native == 0 {
        ColumnType::Text
    } else if ints == native {
        ColumnType::Int
    } else if ints + floats == native {
        ColumnType::Float
    } else if bools == native {
        ColumnType::Bool
    } else if dates == native {
        ColumnType::Date
    } else {
        ColumnType::Text
    };
    ColumnPlan { kind, style }
}

/// German inference over text cells, keeping codes with leading zeros as text.
fn infer_text<'a>(cells: impl Iterator<Item = &'a str> + Clone, style: NumberStyle) -> ColumnType {
    match german::infer(cells.clone(), style) {
        InferredType::Int if cells.into_iter().any(has_leading_zero) => ColumnType::Text,
        InferredType::Int => ColumnType::Int,
        InferredType::Float => ColumnType::Float,
        InferredType::Date => ColumnType::Date,
        InferredType::Text => ColumnType::Text,
    }
}

/// `01`, `007`, `-05`: an identifier code rather than a number.
fn has_leading_zero(cell: &str) -> bool {
    let digits = cell.trim().trim_start_matches(['-', '+']);
    let mut chars = digits.chars();
    chars.next() == Some('0') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// A converted cell.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Date(i32),
    Bool(bool),
}

impl Value {
    fn text(self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    fn int(self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }
    fn float(self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(v),
            _ => None,
        }
    }
    fn date(self) -> Option<i32> {
        match self {
            Value::Date(v) => Some(v),
            _ => None,
        }
    }
    fn bool(self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }
}

/// Days since 1970-01-01, the Arrow Date32 representation.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

/// Converts one cell; `Err` carries the cell as shown in the quarantine reason.
fn convert(cell: &Cell, plan: &ColumnPlan, german_text: bool) -> Result<Value, String> {
    if is_null_cell(cell, german_text && plan.kind != ColumnType::Text) {
        return Ok(Value::Null);
    }
    let shown = || cell.render().unwrap_or_default();
    let text = match cell {
        Cell::Text(s) => Some(s.trim()),
        _ => None,
    };
    let value = match plan.kind {
        ColumnType::Text => cell.render().map(Value::Text),
        ColumnType::Int => match cell {
            Cell::Int(v) => Some(Value::Int(*v)),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(Value::Int(*f as i64)),
            Cell::Text(_) => text
                .and_then(|t| german::parse_int_styled(t, plan.style))
                .map(Value::Int),
            _ => None,
        },
        ColumnType::Float => match cell {
            Cell::Int(v) => Some(Value::Float(*v as f64)),
            Cell::Float(f) => Some(Value::Float(*f)),
            Cell::Text(_) => text
                .and_then(|t| german::parse_float_styled(t, plan.style))
                .map(Value::Float),
            _ => None,
        },
        ColumnType::Date => match cell {
            Cell::Date(d) => Some(Value::Date(days_since_epoch(*d))),
            Cell::Text(_) => text
                .and_then(german::parse_date)
                .map(|d| Value::Date(days_since_epoch(d))),
            _ => None,
        },
        ColumnType::Bool => match cell {
            Cell::Bool(b) => Some(Value::Bool(*b)),
            Cell::Int(0) => Some(Value::Bool(false)),
            Cell::Int(1) => Some(Value::Bool(true)),
            Cell::Text(_) => text.and_then(parse_bool).map(Value::Bool),
            _ => None,
        },
    };
    value.ok_or_else(shown)
}

/// `true`/`false`, `ja`/`nein`, `wahr`/`falsch`, `1`/`0` (any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "ja" | "wahr" | "1" | "j" | "yes" => Some(true),
        "false" | "nein" | "falsch" | "0" | "n" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    fn text_row(line: u64, cells: &[&str]) -> RawRow {
        RawRow {
            line,
            cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
            raw: cells.join(";"),
        }
    }

    #[test]
    fn codes_with_leading_zeros_stay_text_and_placeholders_are_null() {
        let names = vec!["ags".to_string(), "einwohner".to_string()];
        let rows = vec![
            text_row(2, &["01001", "90.164"]),
            text_row(3, &["10042", "-"]),
        ];
        let declared = BTreeMap::new();
        let typing = Typing {
            declared: &declared,
            german_text: true,
        };
        let (batch, quarantine) = build(&names, rows, typing).unwrap();
        assert!(quarantine.is_empty());
        assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
        let ew = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ew.value(0), 90_164);
        assert!(ew.is_null(1));
    }

    #[test]
    fn declared_types_quarantine_cells_that_do_not_fit() {
        let names = vec!["jahr".to_string(), "wert".to_string()];
        let rows = vec![
            text_row(2, &["2024", "1,5"]),
            text_row(3, &["zwanzig", "2,5"]),
            text_row(4, &["2025", "x"]),
        ];
        let declared = BTreeMap::from([("jahr".to_string(), ColumnType::Int)]);
        let typing = Typing {
            declared: &declared,
            german_text: true,
        };
        let (batch, quarantine) = build(&names, rows, typing).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(quarantine.len(), 1);
        assert_eq!(quarantine[0].line, 3);
        assert!(
            quarantine[0]
                .reason
                .contains("column 'jahr': 'zwanzig' is not a valid int"),
            "{}",
            quarantine[0].reason
        );
        let err = build(
            &names,
            vec![],
            Typing {
                declared: &BTreeMap::from([("jhar".to_string(), ColumnType::Int)]),
                german_text: true,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("'jhar'") && err.contains("jahr, wert"),
            "{err}"
        );
    }

    #[test]
    fn native_cells_mix_into_the_narrowest_type() {
        let names = vec!["n".to_string(), "b".to_string(), "s".to_string()];
        let rows = vec![
            RawRow {
                line: 1,
                cells: vec![Cell::Int(1), Cell::Bool(true), Cell::Text("-".into())],
                raw: String::new(),
            },
            RawRow {
                line: 2,
                cells: vec![Cell::Float(2.5), Cell::Null, Cell::Text("1,5".into())],
                raw: String::new(),
            },
        ];
        let declared = BTreeMap::new();
        let json = Typing {
            declared: &declared,
            german_text: false,
        };
        let (batch, _) = build(&names, rows.clone(), json).unwrap();
        let types: Vec<DataType> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [DataType::Float64, DataType::Boolean, DataType::Utf8]
        );
        let german = Typing {
            declared: &declared,
            german_text: true,
        };
        let (batch, _) = build(&names, rows, german).unwrap();
        assert_eq!(batch.schema().field(2).data_type(), &DataType::Float64);
    }
}
