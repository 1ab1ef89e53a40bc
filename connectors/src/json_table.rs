//! JSON and NDJSON tables: an array of objects (the document itself, the member named by the
//! `records` option as a JSON pointer, or the document's only array member), or one object per
//! line. Nested objects become `parent_child` columns (or stay JSON text with
//! `nested = "json"`); arrays stay JSON text. Numbers, booleans and strings keep their JSON
//! types; declared column types convert strings (`"48.12"` → float). A record that is not an
//! object, or an NDJSON line that is not valid JSON, goes to quarantine with its number.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::options::{NestedMode, SourceOptions};
use crate::provenance::QuarantinedRow;
use crate::typed::{self, Cell, RawRow, Typing};
use crate::{Error, Parsed, Result};

/// One collected record: its number, its cells by column index, its raw text.
#[derive(Debug)]
struct Record {
    line: u64,
    cells: Vec<(usize, Cell)>,
    raw: String,
}

/// Collects flattened records and assigns columns in order of first appearance.
#[derive(Debug, Default)]
pub struct RecordTable {
    keys: Vec<String>,
    index: HashMap<String, usize>,
    rows: Vec<Record>,
}

impl RecordTable {
    /// Adds one record (an object) at `line` with extra leading cells (e.g. geometry).
    pub fn push(&mut self, line: u64, object: &Map<String, Value>, nested: NestedMode) {
        let mut flat = Vec::new();
        flatten("", object, nested, &mut flat);
        self.push_cells(line, flat, Value::Object(object.clone()).to_string());
    }

    /// Adds one row of already named cells.
    pub fn push_cells(&mut self, line: u64, cells: Vec<(String, Cell)>, raw: String) {
        let mut row = Vec::with_capacity(cells.len());
        for (key, cell) in cells {
            let next = self.keys.len();
            let i = *self.index.entry(key.clone()).or_insert(next);
            if i == next {
                self.keys.push(key);
            }
            row.push((i, cell));
        }
        let raw = raw.chars().take(500).collect();
        self.rows.push(Record {
            line,
            cells: row,
            raw,
        });
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Builds the batch with JSON typing; returns it with the rows rejected by declared types.
    pub fn finish(
        self,
        options: &SourceOptions,
    ) -> Result<(arrow::record_batch::RecordBatch, Vec<QuarantinedRow>)> {
        let names = typed::column_names(self.keys.iter().map(String::as_str));
        let width = names.len();
        let rows = self
            .rows
            .into_iter()
            .map(|record| {
                let mut full = vec![Cell::Null; width];
                for (i, cell) in record.cells {
                    full[i] = cell;
                }
                RawRow {
                    line: record.line,
                    cells: full,
                    raw: record.raw,
                }
            })
            .collect();
        let typing = Typing {
            declared: &options.columns,
            german_text: false,
        };
        typed::build(&names, rows, typing)
    }
}

/// Flattens an object into `(key, cell)` pairs.
pub fn flatten(
    prefix: &str,
    object: &Map<String, Value>,
    nested: NestedMode,
    out: &mut Vec<(String, Cell)>,
) {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        match value {
            Value::Object(inner) if nested == NestedMode::Flatten && !inner.is_empty() => {
                flatten(&name, inner, nested, out)
            }
            other => out.push((name, json_cell(other))),
        }
    }
}

/// A JSON value as a cell: scalars keep their type, arrays and objects become JSON text.
pub fn json_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => n.as_f64().map_or(Cell::Text(n.to_string()), Cell::Float),
        },
        Value::String(s) => Cell::Text(s.clone()),
        Value::Array(a) if a.is_empty() => Cell::Null,
        other => Cell::Text(other.to_string()),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Finds the array of records in a document.
fn records<'a>(doc: &'a Value, options: &SourceOptions, origin: &str) -> Result<&'a Vec<Value>> {
    let malformed = |reason: String| Error::Malformed {
        origin: origin.into(),
        reason,
    };
    if let Some(pointer) = &options.records {
        return doc
            .pointer(pointer)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                malformed(format!(
                    "options.records '{pointer}' is not an array in this document"
                ))
            });
    }
    if let Some(items) = doc.as_array() {
        return Ok(items);
    }
    let arrays: Vec<(&String, &Vec<Value>)> = doc
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_array().map(|a| (k, a)))
                .collect()
        })
        .unwrap_or_default();
    match arrays.as_slice() {
        [(_, items)] => Ok(items),
        [] => Err(malformed(
            "expected an array of records or an object with one array member".into(),
        )),
        several => Err(malformed(format!(
            "the document has several arrays ({}); name one with options.records, e.g. \"/{}\"",
            several
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            several[0].0
        ))),
    }
}

/// Parses a JSON document holding an array of objects.
pub fn parse_json(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    let text = crate::csv_de::decode(bytes);
    let doc: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        origin: origin.into(),
        source,
    })?;
    let items = records(&doc, options, origin)?;
    let mut table = RecordTable::default();
    let mut quarantine = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let number = i as u64 + 1;
        match item {
            Value::Object(object) => table.push(number, object, options.nested),
            other => quarantine.push(QuarantinedRow {
                line: number,
                reason: format!("record {number} is {}, expected an object", describe(other)),
                raw: other.to_string().chars().take(500).collect(),
            }),
        }
    }
    finish(table, quarantine, items.len(), options)
}

/// Parses NDJSON: one JSON object per line; blank lines are skipped.
pub fn parse_ndjson(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    let text = crate::csv_de::decode(bytes);
    let mut table = RecordTable::default();
    let mut quarantine = Vec::new();
    let mut rows_read = 0;
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        rows_read += 1;
        let reason = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => {
                table.push(number, &object, options.nested);
                continue;
            }
            Ok(other) => format!("line {number} is {}, expected an object", describe(&other)),
            Err(e) => format!("line {number} is not valid JSON: {e}"),
        };
        quarantine.push(QuarantinedRow {
            line: number,
            reason,
            raw: line.chars().take(500).collect(),
        });
    }
    if rows_read == 0 {
        return Err(Error::Malformed {
            origin: origin.into(),
            reason: "the file holds no JSON lines".into(),
        });
    }
    finish(table, quarantine, rows_read, options)
}

fn finish(
    table: RecordTable,
    quarantine: Vec<QuarantinedRow>,
    rows_read: usize,
    options: &SourceOptions,
) -> Result<Parsed> {
    let (batch, rejected) = table.finish(options)?;
    Ok(Parsed::new(
        batch,
        quarantine,
        rejected,
        rows_read,
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;

    #[test]
    fn nested_objects_flatten_and_arrays_stay_json() {
        let json = r#"[{"id": 1, "geo": {"lat": "48.1", "lon": "11.5"}, "tags": ["a", "b"]},
                      {"id": 2, "geo": {"lat": "48.2"}, "extra": true}, "kaputt"]"#;
        let mut options = SourceOptions::default();
        options
            .columns
            .insert("geo_lat".into(), crate::options::ColumnType::Float);
        let p = parse_json(json.as_bytes(), "t.json", &options).unwrap();
        let schema = p.batch.schema();
        let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["extra", "geo_lat", "geo_lon", "id", "tags"]);
        let col = |n: &str| p.batch.column_by_name(n).unwrap().clone();
        assert_eq!(col("id").data_type(), &DataType::Int64);
        assert_eq!(col("extra").data_type(), &DataType::Boolean);
        let lat = col("geo_lat");
        let lat = lat.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(lat.value(1), 48.2);
        let tags = col("tags");
        let tags = tags.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(tags.value(0), r#"["a","b"]"#);
        assert!(tags.is_null(1));
        assert_eq!(p.quarantine.len(), 1);
        assert_eq!(p.quarantine[0].line, 3);
        assert!(
            p.quarantine[0]
                .reason
                .contains("is a string, expected an object")
        );
        assert_eq!(p.rows_read, 3);
    }

    #[test]
    fn ndjson_quarantines_broken_lines_with_their_number() {
        let text = "{\"a\": 1}\n\n{\"a\": 2, \"b\": {\"c\": 3}}\n{\"a\": \n[1]\n";
        let options = SourceOptions {
            nested: NestedMode::Json,
            ..SourceOptions::default()
        };
        let p = parse_ndjson(text.as_bytes(), "t.ndjson", &options).unwrap();
        assert_eq!(p.batch.num_rows(), 2);
        let a = p.batch.column_by_name("a").unwrap();
        let a = a.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(a.value(1), 2);
        let b = p.batch.column_by_name("b").unwrap();
        let b = b.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(b.value(1), r#"{"c":3}"#);
        let lines: Vec<u64> = p.quarantine.iter().map(|q| q.line).collect();
        assert_eq!(lines, [4, 5]);
        assert!(p.quarantine[0].reason.contains("not valid JSON"));
        assert!(p.quarantine[1].reason.contains("is an array"));
    }

    #[test]
    fn ambiguous_documents_ask_for_a_pointer() {
        let err = parse_json(
            br#"{"a": [], "b": []}"#,
            "x.json",
            &SourceOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("options.records") && err.contains("a, b"),
            "{err}"
        );
    }
}
