//! The execution plan node of a remote read: runs its SQL on the member node when executed and
//! streams the batches back. `EXPLAIN` shows it as `RemoteScanExec: node=…, sql=…`, so the part
//! of a query that runs on another node is visible.

use std::fmt;
use std::sync::Arc;

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

/// Reads the result of `sql` from a member node (one partition).
#[derive(Debug)]
pub struct RemoteScanExec {
    client: NodeClient,
    sql: String,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl RemoteScanExec {
    /// A scan of `sql` on `client`'s node, whose result has `schema`.
    pub fn new(client: NodeClient, sql: String, schema: SchemaRef) -> Self {
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
            "RemoteScanExec: node={}, sql={}",
            self.client.name(),
            self.sql
        )
    }
}

/// A remote batch in the local schema (same columns; a count-only scan keeps just the rows).
fn conform(batch: RecordBatch, schema: &SchemaRef, node: &str) -> Result<RecordBatch> {
    let conformed = if schema.fields().is_empty() {
        RecordBatch::try_new_with_options(
            schema.clone(),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
    } else {
        RecordBatch::try_new(schema.clone(), batch.columns().to_vec())
    };
    conformed.map_err(|e| {
        DataFusionError::External(Box::new(RemoteError::Failed {
            node: node.to_string(),
            message: format!("it sent rows that do not match the announced columns: {e}"),
        }))
    })
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
        let node = client.name().to_string();
        tracing::info!(node = %node, "reading from a member node");
        let external = |e: RemoteError| DataFusionError::External(Box::new(e));
        let batches = futures::stream::once(async move { client.query(&sql).await })
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
