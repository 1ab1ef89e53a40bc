//! Result rendering shared by the CLI and the SQL API: JSON rows, CSV, Arrow IPC streams,
//! Parquet files and a text table. CSV and Arrow IPC are also produced chunk by chunk
//! ([`csv_chunks`], [`arrow_ipc_chunks`]) so that a large result is encoded while it is sent,
//! never held as one big string.

use allmende_query::QueryResult;
use arrow::datatypes::Schema;
use arrow::error::ArrowError;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Value, json};

/// Rows per chunk of a streamed CSV or Arrow IPC body (batches are sliced, not copied).
pub const STREAM_CHUNK_ROWS: usize = 4096;

/// Parquet key-value metadata key: `true` when the result was cut at `query.max_rows`.
pub const PARQUET_TRUNCATED_KEY: &str = "allmende.truncated";

/// Output formats for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text table (CLI default).
    Table,
    /// `{"columns", "rows", "row_count", "truncated"}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
}

/// Rows as JSON objects, column names and types, row count and the truncation flag.
pub fn to_json(result: &QueryResult) -> anyhow::Result<Value> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    let batches: Vec<&RecordBatch> = result.batches.iter().collect();
    writer.write_batches(&batches)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    let rows: Value = if bytes.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&bytes)?
    };
    let columns: Vec<Value> = result
        .schema
        .fields()
        .iter()
        .map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() }))
        .collect();
    Ok(
        json!({ "columns": columns, "rows": rows, "row_count": result.num_rows(), "truncated": result.truncated }),
    )
}

/// CSV with a header (also for an empty result).
pub fn to_csv(result: &QueryResult) -> anyhow::Result<String> {
    let mut text = Vec::new();
    for chunk in csv_chunks(result)? {
        text.extend_from_slice(&chunk?);
    }
    Ok(String::from_utf8(text)?)
}

/// Whether CSV can hold every column of `schema`: lists, structs and maps cannot.
pub fn check_csv(schema: &Schema) -> Result<(), ArrowError> {
    match schema.fields().iter().find(|f| f.data_type().is_nested()) {
        Some(field) => Err(ArrowError::CsvError(format!(
            "column '{}' has the nested type {}, which CSV cannot hold; ask for json, arrow or parquet",
            field.name(),
            field.data_type()
        ))),
        None => Ok(()),
    }
}

/// The result's rows in slices of at most [`STREAM_CHUNK_ROWS`] rows, empty batches left out.
fn slices(result: &QueryResult) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for batch in &result.batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = STREAM_CHUNK_ROWS.min(batch.num_rows() - offset);
            out.push(batch.slice(offset, len));
            offset += len;
        }
    }
    out
}

/// RFC 4180 CSV in chunks: the header with the first rows, then [`STREAM_CHUNK_ROWS`] rows a
/// chunk; an empty result is the header alone. Fails up front for columns CSV cannot hold.
pub fn csv_chunks(
    result: &QueryResult,
) -> Result<impl Iterator<Item = Result<Vec<u8>, ArrowError>> + Send + 'static, ArrowError> {
    check_csv(&result.schema)?;
    let mut slices = slices(result);
    if slices.is_empty() {
        slices.push(RecordBatch::new_empty(result.schema.clone()));
    }
    Ok(slices.into_iter().enumerate().map(|(i, slice)| {
        let mut buf = Vec::new();
        {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(i == 0)
                .build(&mut buf);
            writer.write(&slice)?;
        }
        Ok(buf)
    }))
}

/// An Arrow IPC stream (`application/vnd.apache.arrow.stream`) in chunks: the schema message,
/// one chunk per [`STREAM_CHUNK_ROWS`] rows, then the end-of-stream marker.
pub fn arrow_ipc_chunks(
    result: &QueryResult,
) -> Result<impl Iterator<Item = Result<Vec<u8>, ArrowError>> + Send + 'static, ArrowError> {
    // `None` once the end-of-stream marker went out or encoding failed.
    let mut writer = Some(StreamWriter::try_new(Vec::new(), &result.schema)?);
    let mut slices = slices(result).into_iter();
    Ok(std::iter::from_fn(move || {
        let current = writer.as_mut()?;
        // The schema message (written by try_new) goes out with the first rows.
        let step = match slices.next() {
            Some(slice) => current.write(&slice).map(|()| false),
            None => current.finish().map(|()| true),
        };
        let chunk = step.map(|last| (std::mem::take(current.get_mut()), last));
        match chunk {
            Ok((bytes, last)) => {
                if last {
                    writer = None;
                }
                Some(Ok(bytes))
            }
            Err(e) => {
                writer = None;
                Some(Err(e))
            }
        }
    }))
}

/// The whole Arrow IPC stream as bytes.
pub fn to_arrow_ipc(result: &QueryResult) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for chunk in arrow_ipc_chunks(result)? {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

/// A Parquet file (Snappy-compressed) with the result's schema and rows; the key-value
/// metadata [`PARQUET_TRUNCATED_KEY`] says whether rows were cut at `query.max_rows`.
pub fn to_parquet(result: &QueryResult) -> anyhow::Result<Vec<u8>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            PARQUET_TRUNCATED_KEY.to_string(),
            result.truncated.to_string(),
        )]))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), result.schema.clone(), Some(props))?;
    for batch in &result.batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner()?)
}

/// An aligned text table.
pub fn to_table(result: &QueryResult) -> anyhow::Result<String> {
    let mut text = arrow::util::pretty::pretty_format_batches(&result.batches)?.to_string();
    text.push_str(&format!(
        "\n{} row(s){}",
        result.num_rows(),
        if result.truncated { " (truncated)" } else { "" }
    ));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array, ListArray, StringArray};
    use arrow::datatypes::{DataType, Field, Int64Type};
    use arrow::ipc::reader::StreamReader;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// `rows` rows of (n, name) in batches of `batch_rows`.
    fn result(rows: usize, batch_rows: usize) -> QueryResult {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batches = (0..rows)
            .step_by(batch_rows.max(1))
            .map(|start| {
                let end = (start + batch_rows).min(rows);
                let ns: Vec<i64> = (start as i64..end as i64).collect();
                let names: Vec<Option<String>> = ns
                    .iter()
                    .map(|n| (n % 7 != 0).then(|| format!("Zeile \"{n}\", ä")))
                    .collect();
                RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(ns)),
                        Arc::new(StringArray::from(names)),
                    ],
                )
                .unwrap()
            })
            .collect();
        QueryResult {
            schema,
            batches,
            truncated: true,
        }
    }

    fn column_values(batches: &[RecordBatch]) -> (Vec<i64>, Vec<Option<String>>) {
        let mut ns = Vec::new();
        let mut names = Vec::new();
        for b in batches {
            let n = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            let s = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                ns.push(n.value(i));
                names.push(s.is_valid(i).then(|| s.value(i).to_string()));
            }
        }
        (ns, names)
    }

    #[test]
    fn csv_comes_in_chunks_that_add_up_to_one_document() {
        let big = result(STREAM_CHUNK_ROWS * 2 + 100, 5000);
        let chunks: Vec<Vec<u8>> = csv_chunks(&big).unwrap().map(Result::unwrap).collect();
        // Batches of 5000 and 3292 rows; the first is sliced at 4096 rows: 4096, 904, 3292.
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| !c.is_empty()));
        let text = to_csv(&big).unwrap();
        assert_eq!(text.as_bytes(), chunks.concat());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("n,name"));
        assert_eq!(text.matches("n,name").count(), 1, "one header only");
        assert!(
            text.contains("\n8,\"Zeile \"\"8\"\", ä\"\n"),
            "RFC 4180 quoting"
        );
        let batches: Vec<RecordBatch> = arrow::csv::ReaderBuilder::new(big.schema.clone())
            .with_header(true)
            .build(text.as_bytes())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(column_values(&batches), column_values(&big.batches));
        // An empty result is the header alone.
        let empty = QueryResult {
            batches: Vec::new(),
            ..result(0, 1)
        };
        assert_eq!(to_csv(&empty).unwrap(), "n,name\n");
    }

    #[test]
    fn csv_refuses_nested_columns_up_front() {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1)])]);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "xs",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)]).unwrap();
        let nested = QueryResult {
            schema,
            batches: vec![batch],
            truncated: false,
        };
        let err = csv_chunks(&nested).err().unwrap().to_string();
        assert!(err.contains("'xs'") && err.contains("nested"), "{err}");
        // Arrow and Parquet hold it.
        assert!(!to_arrow_ipc(&nested).unwrap().is_empty());
        assert!(!to_parquet(&nested).unwrap().is_empty());
    }

    #[test]
    fn arrow_ipc_stream_decodes_to_the_same_rows() {
        let big = result(STREAM_CHUNK_ROWS + 10, 3000);
        let chunks: Vec<Vec<u8>> = arrow_ipc_chunks(&big)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // Batches of 3000 and 1106 rows (each under the chunk size), then the end marker.
        assert_eq!(chunks.len(), 3);
        let bytes = chunks.concat();
        let reader = StreamReader::try_new(bytes.as_slice(), None).unwrap();
        assert_eq!(reader.schema(), big.schema);
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(column_values(&batches), column_values(&big.batches));
        // An empty result is a valid stream with the schema and no rows.
        let empty = QueryResult {
            batches: Vec::new(),
            ..result(0, 1)
        };
        let bytes = to_arrow_ipc(&empty).unwrap();
        let reader = StreamReader::try_new(bytes.as_slice(), None).unwrap();
        assert_eq!(reader.schema(), empty.schema);
        assert_eq!(reader.count(), 0);
    }

    #[test]
    fn parquet_decodes_to_the_same_rows_and_says_truncated() {
        let big = result(10_000, 4000);
        let bytes = to_parquet(&big).unwrap();
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(axum::body::Bytes::from(bytes)).unwrap();
        let truncated = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == PARQUET_TRUNCATED_KEY))
            .and_then(|k| k.value.clone());
        assert_eq!(truncated.as_deref(), Some("true"));
        let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
        assert_eq!(column_values(&batches), column_values(&big.batches));
    }
}
