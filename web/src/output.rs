//! Result rendering shared by the CLI and the SQL API: JSON rows, CSV, and a text table.

use allmende_query::QueryResult;
use arrow::record_batch::RecordBatch;
use serde_json::{Value, json};

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
    let mut buf = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut buf);
        if result.batches.is_empty() {
            writer.write(&RecordBatch::new_empty(result.schema.clone()))?;
        }
        for batch in &result.batches {
            writer.write(batch)?;
        }
    }
    Ok(String::from_utf8(buf)?)
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
