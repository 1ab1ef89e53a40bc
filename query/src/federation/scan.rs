//! The execution plan node of a remote read: runs its SQL on the member node when executed and
//! streams the batches back. `EXPLAIN` shows it as `RemoteScanExec: node=…, sql=…`, so the part
//! of a query that runs on another node is visible.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, TryStreamExt};

use super::client::{NodeClient, RemoteError};
use crate::Role;

/// Reads the result of `sql` from a member node (one partition).
#[derive(Debug)]
pub struct RemoteScanExec {
    client: NodeClient,
    sql: String,
    schema: SchemaRef,
    caller: Role,
    properties: Arc<PlanProperties>,
}

impl RemoteScanExec {
    /// A scan of `sql` on `client`'s node for a caller with role `caller` here, whose result
    /// has `schema`.
    pub fn new(client: NodeClient, sql: String, schema: SchemaRef, caller: Role) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            client,
            sql,
            schema,
            caller,
            properties,
        }
    }

    /// The SQL sent to the node.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The node it reads from.
    pub fn node(&self) -> &str {
        self.client.name()
    }
}

impl DisplayAs for RemoteScanExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "RemoteScanExec: node={}, caller={}, sql={}",
            self.client.name(),
            self.caller,
            self.sql
        )
    }
}

/// A remote batch in the local schema: the same columns in the same order (a count-only scan
/// keeps just the rows). A column of another type than announced (the node runs a different
/// version) is cast; one that cannot be is an error naming the node.
fn conform(batch: RecordBatch, schema: &SchemaRef, node: &str) -> Result<RecordBatch> {
    let mismatch = |message: String| {
        DataFusionError::External(Box::new(RemoteError::Failed {
            node: node.to_string(),
            message: format!("it sent rows that do not match the announced columns: {message}"),
        }))
    };
    if schema.fields().is_empty() {
        return RecordBatch::try_new_with_options(
            schema.clone(),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| mismatch(e.to_string()));
    }
    if batch.num_columns() != schema.fields().len() {
        return Err(mismatch(format!(
            "{} columns instead of {}",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type()).map_err(|e| mismatch(e.to_string()))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| mismatch(e.to_string()))
}

impl ExecutionPlan for RemoteScanExec {
    fn name(&self) -> &str {
        "RemoteScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "RemoteScanExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let (client, sql, schema) = (self.client.clone(), self.sql.clone(), self.schema.clone());
        let caller = self.caller;
        let node = client.name().to_string();
        tracing::info!(node = %node, %caller, "reading from a member node");
        let external = |e: RemoteError| DataFusionError::External(Box::new(e));
        let batches = futures::stream::once(async move { client.query(&sql, caller).await })
            .map_err(external)
            .map_ok(move |stream| stream.map_err(external))
            .try_flatten();
        let conformed = {
            let schema = schema.clone();
            batches.map(move |batch| batch.and_then(|b| conform(b, &schema, &node)))
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, conformed)))
    }
}
