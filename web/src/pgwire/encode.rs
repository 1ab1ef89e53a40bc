//! Arrow results as PostgreSQL rows in the text format, the format `psql` and every driver
//! read: each Arrow type is announced as the closest PostgreSQL type (`int8`, `float8`,
//! `numeric`, `text`, `date`, `timestamp`, …) and written as PostgreSQL writes it (`t`/`f`
//! booleans, `2025-01-31` dates, `2025-01-31 12:00:00` timestamps, shortest round-trip floats).
//!
//! Drivers using the extended protocol may ask for columns in PostgreSQL's binary format
//! instead ([`with_formats`]); that is offered for booleans, integers, floats, text, dates and
//! timestamps, and refused with SQLSTATE 0A000 for the rest (numeric, time, …).

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Schema,
    TimeUnit, TimestampMicrosecondType,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

/// The PostgreSQL type a column of `data_type` is announced as.
pub fn pg_type(data_type: &DataType) -> Type {
    match data_type {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 => Type::INT8,
        DataType::UInt64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Type::NUMERIC,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Time32(_) | DataType::Time64(_) => Type::TIME,
        DataType::Dictionary(_, value) => pg_type(value),
        _ => Type::TEXT,
    }
}

/// The row description of `schema`: one text-format field per column.
pub fn fields(schema: &Schema) -> Arc<Vec<FieldInfo>> {
    Arc::new(
        schema
            .fields()
            .iter()
            .map(|field| {
                FieldInfo::new(
                    field.name().clone(),
                    None,
                    None,
                    pg_type(field.data_type()),
                    FieldFormat::Text,
                )
            })
            .collect(),
    )
}

/// `fields` in the formats a client asked for (`None`: text).
pub fn with_formats(fields: &[FieldInfo], formats: Option<&Format>) -> Vec<FieldInfo> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let format = formats.map_or(FieldFormat::Text, |f| f.format_for(i));
            FieldInfo::new(
                field.name().to_owned(),
                field.table_id(),
                field.column_id(),
                field.datatype().clone(),
                format,
            )
        })
        .collect()
}

/// The Arrow type that holds values of the PostgreSQL type `pg` exactly: what a column
/// announced as `pg` is cast to for the binary format, and what a parameter declared as `pg`
/// is read as. `None` for the types without a binary writer (numeric, time, …).
pub fn arrow_type(pg: &Type) -> Option<DataType> {
    let mapping = [
        (Type::BOOL, DataType::Boolean),
        (Type::INT2, DataType::Int16),
        (Type::INT4, DataType::Int32),
        (Type::INT8, DataType::Int64),
        (Type::FLOAT4, DataType::Float32),
        (Type::FLOAT8, DataType::Float64),
        (Type::TEXT, DataType::Utf8),
        (Type::DATE, DataType::Date32),
        (
            Type::TIMESTAMP,
            DataType::Timestamp(TimeUnit::Microsecond, None),
        ),
    ];
    mapping
        .into_iter()
        .find(|(t, _)| t == pg)
        .map(|(_, data_type)| data_type)
}

/// How PostgreSQL writes dates and timestamps in its default `ISO, MDY` style.
fn format_options() -> FormatOptions<'static> {
    FormatOptions::new()
        .with_null("")
        .with_date_format(Some("%Y-%m-%d"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"))
        .with_time_format(Some("%H:%M:%S%.f"))
}

/// One column of a batch, ready to write cell by cell.
enum ColumnWriter<'a> {
    /// `t` / `f`, as PostgreSQL writes booleans.
    Bool(&'a dyn Array),
    /// Floats go through pgwire's own float text, which matches PostgreSQL's.
    Float32(&'a dyn Array),
    Float64(&'a dyn Array),
    /// Everything else as Arrow displays it, with PostgreSQL's date formats.
    Display(ArrayFormatter<'a>),
    /// Binary format: the column cast to the Arrow type of its announced PostgreSQL type.
    Binary(ArrayRef),
}

impl<'a> ColumnWriter<'a> {
    fn new(
        array: &'a dyn Array,
        field: &FieldInfo,
        options: &FormatOptions<'a>,
    ) -> PgWireResult<Self> {
        if field.format() == FieldFormat::Binary {
            let cast_to = arrow_type(field.datatype()).ok_or_else(|| {
                PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "0A000".to_owned(),
                    format!(
                        "column `{}` ({}) is not offered in binary format; ask for text",
                        field.name(),
                        field.datatype().name()
                    ),
                )))
            })?;
            let cast = arrow::compute::cast(array, &cast_to)
                .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            return Ok(Self::Binary(cast));
        }
        Ok(match array.data_type() {
            DataType::Boolean => Self::Bool(array),
            DataType::Float32 => Self::Float32(array),
            DataType::Float64 => Self::Float64(array),
            _ => Self::Display(
                ArrayFormatter::try_new(array, options)
                    .map_err(|e| PgWireError::ApiError(Box::new(e)))?,
            ),
        })
    }

    fn write(
        &self,
        row: usize,
        encoder: &mut DataRowEncoder,
        text: &mut String,
    ) -> PgWireResult<()> {
        match self {
            Self::Bool(array) => encoder.encode_field(&array.as_boolean().value(row)),
            Self::Float32(array) => {
                encoder.encode_field(&array.as_primitive::<Float32Type>().value(row))
            }
            Self::Float64(array) => {
                encoder.encode_field(&array.as_primitive::<Float64Type>().value(row))
            }
            Self::Display(formatter) => {
                text.clear();
                write!(text, "{}", formatter.value(row)).map_err(|_| {
                    pgwire::error::PgWireError::ApiError("formatting a value failed".into())
                })?;
                encoder.encode_field(&text.as_str())
            }
            Self::Binary(array) => write_binary(array, row, encoder),
        }
    }
}

/// One cell of a column already cast to its [`arrow_type`].
fn write_binary(array: &ArrayRef, row: usize, encoder: &mut DataRowEncoder) -> PgWireResult<()> {
    match array.data_type() {
        DataType::Boolean => encoder.encode_field(&array.as_boolean().value(row)),
        DataType::Int16 => encoder.encode_field(&array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => encoder.encode_field(&array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => encoder.encode_field(&array.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => encoder.encode_field(&array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => encoder.encode_field(&array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => encoder.encode_field(&array.as_string::<i32>().value(row)),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = Date32Type::to_naive_date_opt(days)
                .ok_or_else(|| PgWireError::ApiError("a date out of range".into()))?;
            encoder.encode_field(&date)
        }
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            let time = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| PgWireError::ApiError("a timestamp out of range".into()))?
                .naive_utc();
            encoder.encode_field(&time)
        }
        other => Err(PgWireError::ApiError(
            format!("no binary writer for {other}").into(),
        )),
    }
}

/// Every row of `batches` as a `DataRow` for `fields` (from [`fields`] of the same schema).
pub fn data_rows(
    fields: &Arc<Vec<FieldInfo>>,
    batches: &[RecordBatch],
) -> PgWireResult<Vec<DataRow>> {
    let options = format_options();
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut text = String::new();
    let mut rows = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let writers = batch
            .columns()
            .iter()
            .zip(fields.iter())
            .map(|(column, field)| ColumnWriter::new(column.as_ref(), field, &options))
            .collect::<PgWireResult<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            for (column, writer) in batch.columns().iter().zip(&writers) {
                if column.is_null(row) {
                    encoder.encode_field(&None::<&str>)?;
                } else {
                    writer.write(row, &mut encoder, &mut text)?;
                }
            }
            rows.push(encoder.take_row());
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, TimeUnit};

    /// The text cells of a `DataRow` (length-prefixed values; `-1` length is NULL).
    fn cells(row: &DataRow) -> Vec<Option<String>> {
        let mut data = &row.data[..];
        let mut cells = Vec::new();
        while !data.is_empty() {
            let length = i32::from_be_bytes(data[..4].try_into().unwrap());
            data = &data[4..];
            if length < 0 {
                cells.push(None);
            } else {
                let (value, rest) = data.split_at(length as usize);
                cells.push(Some(String::from_utf8(value.to_vec()).unwrap()));
                data = rest;
            }
        }
        cells
    }

    #[test]
    fn values_are_written_as_postgresql_writes_them() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Boolean, true),
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                Arc::new(Int64Array::from(vec![Some(-42), Some(7)])),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(1234.5)])),
                Arc::new(StringArray::from(vec![Some("Köln; \"Süd\""), Some("")])),
                Arc::new(Date32Array::from(vec![Some(20_089), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(1_735_732_800_000_000),
                    None,
                ])),
            ],
        )
        .unwrap();
        let fields = fields(&schema);
        let types: Vec<_> = fields.iter().map(|f| f.datatype().clone()).collect();
        assert_eq!(
            types,
            [
                Type::BOOL,
                Type::INT8,
                Type::FLOAT8,
                Type::TEXT,
                Type::DATE,
                Type::TIMESTAMP
            ]
        );
        let rows = data_rows(&fields, &[batch]).unwrap();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            cells(&rows[0]),
            [
                some("t"),
                some("-42"),
                some("0.1"),
                some("Köln; \"Süd\""),
                some("2025-01-01"),
                some("2025-01-01 12:00:00")
            ]
        );
        // NULL stays NULL; the empty string stays an empty (non-NULL) string.
        assert_eq!(
            cells(&rows[1]),
            [None, some("7"), some("1234.5"), some(""), None, None]
        );
    }
}
