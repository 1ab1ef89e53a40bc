//! Parquet inputs, read through: the file's own Arrow schema and types are kept (columns are
//! renamed to SQL-friendly identifiers when needed), all row groups are concatenated, and the
//! file's key-value metadata is carried into the provenance notes — including the provenance
//! of an Allmende snapshot that is re-ingested elsewhere (a federated member's export).
//! Parquet is typed, so there are no bad rows to quarantine; an unreadable file is an error.

use std::sync::Arc;

use arrow::compute::concat_batches;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::ChunkReader;

use crate::options::SourceOptions;
use crate::snapshot::PROVENANCE_KEY;
use crate::typed;
use crate::{Error, Parsed, Result};

/// Longest metadata value copied into a note.
const MAX_NOTE: usize = 2000;

/// Wraps the file's bytes in the buffer type the Parquet reader uses (`bytes::Bytes`), which
/// implements [`ChunkReader`] for in-memory files. The type is inferred from the signature of
/// `<File as ChunkReader>::get_bytes`, so this crate needs no direct dependency on `bytes`.
fn in_memory<B>(
    _signature: fn(&std::fs::File, u64, usize) -> parquet::errors::Result<B>,
    data: Vec<u8>,
) -> B
where
    B: From<Vec<u8>>,
{
    B::from(data)
}

/// Parses Parquet bytes.
pub fn parse(bytes: &[u8], origin: &str, options: &SourceOptions) -> Result<Parsed> {
    if !options.columns.is_empty() {
        return Err(Error::Spec(
            "options.columns does not apply to Parquet: its columns are already typed".into(),
        ));
    }
    let malformed = |e: parquet::errors::ParquetError| Error::Malformed {
        origin: origin.into(),
        reason: format!("not a readable Parquet file: {e}"),
    };
    let data = in_memory(<std::fs::File as ChunkReader>::get_bytes, bytes.to_vec());
    let builder = ParquetRecordBatchReaderBuilder::try_new(data).map_err(malformed)?;
    let mut notes = Vec::new();
    if let Some(kvs) = builder.metadata().file_metadata().key_value_metadata() {
        for kv in kvs {
            let value = kv.value.as_deref().unwrap_or("");
            if kv.key == PROVENANCE_KEY {
                notes.push(format!("upstream allmende provenance: {value}"));
            } else if kv.key != "ARROW:schema" {
                let shown: String = value.chars().take(MAX_NOTE).collect();
                notes.push(format!("parquet metadata {}: {shown}", kv.key));
            }
        }
    }
    let reader = builder.build().map_err(malformed)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<RecordBatch>, _>>()
        .map_err(|e| Error::Malformed {
            origin: origin.into(),
            reason: format!("unreadable Parquet data: {e}"),
        })?;
    let batch = concat_batches(&schema, &batches)?;
    let names = typed::column_names(schema.fields().iter().map(|f| f.name().as_str()));
    let renamed: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&names)
        .map(|(f, n)| f.as_ref().clone().with_name(n))
        .collect();
    for (f, n) in schema.fields().iter().zip(&names) {
        if f.name() != n {
            notes.push(format!("column '{}' renamed to '{n}'", f.name()));
        }
    }
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            renamed,
            schema.metadata().clone(),
        )),
        batch.columns().to_vec(),
    )?;
    Ok(Parsed {
        rows_read: batch.num_rows(),
        batch,
        quarantine: Vec::new(),
        notes,
    })
}
