//! Single values read from query results: slot values (turned into SQL literals) and the first
//! result row (rendered into a fact's title and text).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::util::display::array_value_to_string;

use super::placeholder::fill;
use super::text::{german_float, german_number};

/// One non-null value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Any integer or decimal, as plain digits (`-1234.5`).
    Number(String),
    /// A float.
    Float(f64),
    /// Text and everything else, as displayed by Arrow.
    Text(String),
}

impl Cell {
    /// Reads row `row` of `array`; `None` for null or unreadable values.
    pub fn read(array: &ArrayRef, row: usize) -> Option<Cell> {
        if row >= array.len() || array.is_null(row) {
            return None;
        }
        let dt = array.data_type();
        if dt.is_floating() {
            let floats = cast(array, &DataType::Float64).ok()?;
            return Some(Cell::Float(floats.as_primitive::<Float64Type>().value(row)));
        }
        let shown = array_value_to_string(array, row).ok()?;
        if dt.is_integer() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..)) {
            Some(Cell::Number(shown))
        } else {
            Some(Cell::Text(shown))
        }
    }

    /// The value as the question would name it (`Südstadt`, `2019`).
    pub fn plain(&self) -> String {
        match self {
            Cell::Number(s) | Cell::Text(s) => s.clone(),
            Cell::Float(f) => f.to_string(),
        }
    }

    /// The value as an SQL literal: numbers bare, everything else a single-quoted string with
    /// quotes doubled. Values come from the database, never from the question.
    pub fn sql_literal(&self) -> String {
        match self {
            Cell::Number(s) if is_plain_number(s) => s.clone(),
            Cell::Float(f) if f.is_finite() => format!("{f:?}"),
            other => format!("'{}'", other.plain().replace('\'', "''")),
        }
    }

    /// The value for a citizen: numbers in German style, text unchanged.
    pub fn german(&self, decimals: Option<usize>) -> String {
        match self {
            Cell::Number(s) => match (decimals, s.parse::<f64>()) {
                (Some(d), Ok(f)) if s.contains('.') => german_float(f, Some(d)),
                _ => german_number(s),
            },
            Cell::Float(f) => german_float(*f, decimals),
            Cell::Text(s) => s.clone(),
        }
    }
}

fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && !digits.starts_with('.')
}

/// The first row of a result as (column name, value); `None` when there is no row.
pub(crate) fn first_row(batches: &[RecordBatch]) -> Option<Vec<(String, Option<Cell>)>> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    let schema = batch.schema();
    Some(
        schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, column)| (field.name().clone(), Cell::read(column, 0)))
            .collect(),
    )
}

/// Fills `{name}` / `{name:N}` from the row, falling back to `extra` (slot values). `Err` names
/// a placeholder without a column; `Ok(None)` means a value is NULL.
pub(crate) fn render(
    template: &str,
    row: &[(String, Option<Cell>)],
    extra: &[(String, Cell)],
) -> Result<Option<String>, String> {
    fill(template, |name, decimals| {
        let cell = match row.iter().find(|(column, _)| column == name) {
            Some((_, Some(cell))) => cell,
            Some((_, None)) => return Ok(None),
            None => match extra.iter().find(|(slot, _)| slot == name) {
                Some((_, cell)) => cell,
                None => return Err(format!("{{{name}}} is neither a result column nor a slot")),
            },
        };
        Ok(Some(cell.german(decimals)))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(Cell::Text("Südstadt".into()).sql_literal(), "'Südstadt'");
        assert_eq!(
            Cell::Text("x'; DROP TABLE t; --".into()).sql_literal(),
            "'x''; DROP TABLE t; --'"
        );
        assert_eq!(Cell::Number("2019".into()).sql_literal(), "2019");
        assert_eq!(Cell::Number("1 OR 1=1".into()).sql_literal(), "'1 OR 1=1'");
        assert_eq!(Cell::Float(17.5).sql_literal(), "17.5");
    }

    #[test]
    fn renders_the_first_row_german_style() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("bezirk", DataType::Utf8, false),
            Field::new("jahr", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
            Field::new("anteil", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["Südstadt"])),
                Arc::new(StringArray::from(vec!["2024"])),
                Arc::new(Int64Array::from(vec![31_456])),
                Arc::new(Float64Array::from(vec![Some(17.26)])),
            ],
        )
        .unwrap();
        let row = first_row(&[batch]).unwrap();
        let extra = [("slot".to_string(), Cell::Text("Wert".into()))];
        let text = "Im {bezirk} ({slot}) lebten {jahr} {n} Menschen, {anteil:1} % / {anteil} %.";
        assert_eq!(
            render(text, &row, &extra).unwrap().unwrap(),
            "Im Südstadt (Wert) lebten 2024 31.456 Menschen, 17,3 % / 17,26 %."
        );
        assert!(render("{fehlt}", &row, &extra).is_err());
        assert!(first_row(&[]).is_none());
    }

    #[test]
    fn null_values_render_as_none() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![None::<i64>]))])
                .unwrap();
        let row = first_row(&[batch]).unwrap();
        assert_eq!(render("{n} Menschen", &row, &[]), Ok(None));
        assert_eq!(
            render("ohne Werte", &row, &[]),
            Ok(Some("ohne Werte".into()))
        );
    }
}
