//! Reading source documents out of Arrow record batches.
//!
//! Expected columns (names exact, extra columns ignored):
//!
//! | column        | required | nulls                                   |
//! |---------------|----------|-----------------------------------------|
//! | `doc_id`      | yes      | error ([`Error::NullValue`]), also ""   |
//! | `title`       | yes      | read as ""                              |
//! | `body`        | yes      | read as "" (clean text, HTML stripped)  |
//! | `url`         | yes      | read as ""                              |
//! | `licence`     | yes      | read as ""                              |
//! | `teaser`      | no       | `None`                                  |
//! | `attribution` | no       | `None`                                  |
//! | `kind`        | no       | `None`                                  |
//!
//! Columns must hold strings: `Utf8`, `LargeUtf8`, `Utf8View`, dictionaries of those, or the
//! all-null `Null` type are accepted (everything is cast to `Utf8`); anything else is
//! [`Error::WrongColumnType`]. Every batch is validated before anything is written, so a bad
//! batch leaves the index untouched.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// One document as delivered by a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceDocument {
    pub doc_id: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub licence: String,
    pub teaser: Option<String>,
    pub attribution: Option<String>,
    pub kind: Option<String>,
}

/// Required input columns, in the order they are checked.
pub(crate) const REQUIRED_COLUMNS: [&str; 5] = ["doc_id", "title", "body", "url", "licence"];

fn is_stringish(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Dictionary(_, values) => {
            matches!(
                values.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    }
}

/// Returns column `name` of `batch` as a `StringArray`, or `None` if it is absent.
fn string_column(batch: &RecordBatch, name: &str) -> Result<Option<StringArray>> {
    let Some(column) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let data_type = column.data_type();
    if !is_stringish(data_type) {
        return Err(Error::WrongColumnType {
            column: name.to_string(),
            found: data_type.to_string(),
        });
    }
    let column = if data_type == &DataType::Utf8 {
        column.clone()
    } else {
        arrow::compute::cast(column, &DataType::Utf8)?
    };
    Ok(Some(column.as_string::<i32>().clone()))
}

fn required(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    string_column(batch, name)?.ok_or_else(|| Error::MissingColumn {
        column: name.to_string(),
    })
}

fn value(array: &StringArray, row: usize) -> Option<&str> {
    array.is_valid(row).then(|| array.value(row))
}

/// Reads every document of `batches`.
///
/// A `doc_id` seen twice keeps its first occurrence (with a warning), so one import never
/// produces duplicate passage ids.
pub(crate) fn read_documents(batches: &[RecordBatch]) -> Result<Vec<SourceDocument>> {
    let mut docs = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (batch_no, batch) in batches.iter().enumerate() {
        let [doc_id, title, body, url, licence] = REQUIRED_COLUMNS.map(|c| required(batch, c));
        let (doc_id, title, body, url, licence) = (doc_id?, title?, body?, url?, licence?);
        let teaser = string_column(batch, "teaser")?;
        let attribution = string_column(batch, "attribution")?;
        let kind = string_column(batch, "kind")?;
        let optional = |array: &Option<StringArray>, row: usize| {
            array
                .as_ref()
                .and_then(|a| value(a, row))
                .map(str::to_string)
        };

        for row in 0..batch.num_rows() {
            let id = match value(&doc_id, row).map(str::trim) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => {
                    return Err(Error::NullValue {
                        column: "doc_id".into(),
                        batch: batch_no,
                        row,
                    });
                }
            };
            if !seen.insert(id.clone()) {
                tracing::warn!(doc_id = %id, batch = batch_no, row, "duplicate doc_id skipped");
                continue;
            }
            docs.push(SourceDocument {
                doc_id: id,
                title: value(&title, row).unwrap_or_default().to_string(),
                body: value(&body, row).unwrap_or_default().to_string(),
                url: value(&url, row).unwrap_or_default().to_string(),
                licence: value(&licence, row).unwrap_or_default().to_string(),
                teaser: optional(&teaser, row).filter(|t| !t.trim().is_empty()),
                attribution: optional(&attribution, row).filter(|a| !a.trim().is_empty()),
                kind: optional(&kind, row).filter(|k| !k.trim().is_empty()),
            });
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, LargeStringArray, StringArray};

    use super::*;

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn base(ids: &[Option<&str>]) -> Vec<(&'static str, ArrayRef)> {
        let n = ids.len();
        vec![
            ("doc_id", strings(ids)),
            ("title", strings(&vec![Some("Titel"); n])),
            ("body", strings(&vec![Some("Text."); n])),
            ("url", strings(&vec![Some("https://example.org"); n])),
            ("licence", strings(&vec![Some("dl-de/by-2-0"); n])),
        ]
    }

    #[test]
    fn reads_required_and_optional_columns() {
        let mut cols = base(&[Some("a"), Some("b")]);
        cols.push(("teaser", strings(&[Some("Kurz"), None])));
        cols.push((
            "kind",
            Arc::new(LargeStringArray::from(vec![Some("service"), Some(" ")])),
        ));
        cols.push(("extra", Arc::new(Int64Array::from(vec![1, 2]))));
        let docs = read_documents(&[batch(cols)]).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].teaser.as_deref(), Some("Kurz"));
        assert_eq!(docs[0].kind.as_deref(), Some("service"));
        assert_eq!(docs[1].teaser, None);
        assert_eq!(docs[1].kind, None, "blank optional values are None");
        assert_eq!(docs[1].attribution, None);
    }

    #[test]
    fn missing_column_is_named() {
        for missing in REQUIRED_COLUMNS {
            let cols = base(&[Some("a")])
                .into_iter()
                .filter(|(n, _)| *n != missing)
                .collect();
            let err = read_documents(&[batch(cols)]).unwrap_err();
            assert!(
                matches!(&err, Error::MissingColumn { column } if column == missing),
                "{missing}: {err}"
            );
            assert!(err.to_string().contains(&format!("`{missing}`")));
        }
    }

    #[test]
    fn wrong_type_and_null_ids_are_rejected() {
        let mut cols = base(&[Some("a")]);
        cols[2] = ("body", Arc::new(Int64Array::from(vec![7])));
        let err = read_documents(&[batch(cols)]).unwrap_err();
        assert!(
            matches!(&err, Error::WrongColumnType { column, .. } if column == "body"),
            "{err}"
        );

        let err = read_documents(&[batch(base(&[Some("a"), None]))]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NullValue {
                    row: 1,
                    batch: 0,
                    ..
                }
            ),
            "{err}"
        );
        let err = read_documents(&[batch(base(&[Some("  ")]))]).unwrap_err();
        assert!(matches!(err, Error::NullValue { row: 0, .. }), "{err}");
    }

    #[test]
    fn duplicate_ids_keep_the_first() {
        let docs = read_documents(&[
            batch(base(&[Some("a"), Some("b")])),
            batch(base(&[Some("a")])),
        ])
        .unwrap();
        let ids: Vec<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
