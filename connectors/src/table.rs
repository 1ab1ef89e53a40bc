//! A small builder for all-text tables, used by the JSON connectors whose fields are strings.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::Result;

/// Collects rows of optional strings under fixed column names and builds one Utf8 batch.
#[derive(Debug)]
pub struct TextTable {
    names: Vec<&'static str>,
    columns: Vec<Vec<Option<String>>>,
}

impl TextTable {
    /// A table with the given column names, all nullable Utf8.
    pub fn new(names: &[&'static str]) -> Self {
        Self {
            names: names.to_vec(),
            columns: vec![Vec::new(); names.len()],
        }
    }

    /// Appends a row; `values` must have one entry per column, in order.
    pub fn push(&mut self, values: Vec<Option<String>>) -> Result<()> {
        if values.len() != self.names.len() {
            return Err(crate::Error::Internal(format!(
                "row has {} values for {} columns",
                values.len(),
                self.names.len()
            )));
        }
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.push(value.filter(|v| !v.trim().is_empty()));
        }
        Ok(())
    }

    /// Number of rows pushed so far.
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds the record batch.
    pub fn finish(self) -> Result<RecordBatch> {
        let fields: Vec<Field> = self
            .names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect();
        let arrays: Vec<ArrayRef> = self
            .columns
            .into_iter()
            .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
            .collect();
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}
