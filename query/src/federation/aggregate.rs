//! The result of an aggregate that a member node computes: a table whose rows are the groups
//! (one column per output of the `GROUP BY` query), made by [`super::pushdown`]. DataFusion
//! asks it for the outputs it needs and an optional limit; the SQL sent to the node selects
//! just those outputs, always with the full `GROUP BY`, so the groups stay the same.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::caller_role;
use super::catalog::quote_identifier;
use super::client::NodeClient;
use super::scan::RemoteScanExec;
use super::table::select_sql;

/// One aggregate query over a member node's table, as SQL parts for that node.
#[derive(Debug, Clone)]
pub struct RemoteAggregate {
    client: NodeClient,
    /// `"source"."table"` on the node.
    remote_name: String,
    /// The SQL of each output, in order: the group expressions, then the aggregates.
    outputs: Vec<String>,
    /// How many of `outputs` are group expressions.
    group_count: usize,
    /// Conditions (already parenthesised) joined by `AND`.
    conditions: Vec<String>,
    /// Output `i` is the column `c{i}`, typed as the local aggregate's output `i`.
    schema: SchemaRef,
}

impl RemoteAggregate {
    /// The aggregate `outputs` (the first `group_count` of them grouped by) over
    /// `remote_name` on `client`'s node, filtered by `conditions`; `schema` has one field per
    /// output, named by [`output_name`].
    pub fn new(
        client: NodeClient,
        remote_name: String,
        outputs: Vec<String>,
        group_count: usize,
        conditions: Vec<String>,
        schema: SchemaRef,
    ) -> Self {
        Self {
            client,
            remote_name,
            outputs,
            group_count,
            conditions,
            schema,
        }
    }

    /// The SQL for the outputs at `indices` (none: only the number of groups matters), with
    /// at most `limit` groups.
    pub fn sql(&self, indices: &[usize], limit: Option<usize>) -> String {
        // Without any output the groups still have to be counted: select the first aggregate
        // (or group) and drop the column locally.
        let select = if indices.is_empty() {
            let first = self.group_count.min(self.outputs.len().saturating_sub(1));
            self.output_sql(first)
        } else {
            indices
                .iter()
                .map(|&i| self.output_sql(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        select_sql(
            &select,
            &self.remote_name,
            &self.conditions,
            &self.outputs[..self.group_count],
            limit,
        )
    }

    fn output_sql(&self, index: usize) -> String {
        format!(
            "{} AS {}",
            self.outputs[index],
            quote_identifier(&output_name(index))
        )
    }
}

/// The column name of output `index`.
pub fn output_name(index: usize) -> String {
    format!("c{index}")
}

#[async_trait]
impl TableProvider for RemoteAggregate {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let indices: Vec<usize> = match projection {
            Some(indices) => indices.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&indices)?);
        Ok(Arc::new(RemoteScanExec::new(
            self.client.clone(),
            self.sql(&indices, limit),
            schema,
            caller_role(state),
        )))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::federation::NodeConfig;

    fn aggregate(group_count: usize, conditions: Vec<String>) -> RemoteAggregate {
        let client = NodeClient::new(NodeConfig {
            name: "nord".into(),
            url: "grpc://127.0.0.1:1".into(),
            token: String::new(),
        });
        let schema = Arc::new(Schema::new(vec![
            Field::new("c0", DataType::Utf8, true),
            Field::new("c1", DataType::Int64, false),
        ]));
        RemoteAggregate::new(
            client,
            "\"m\".\"register\"".into(),
            vec!["\"bezirk\"".into(), "count(*)".into()],
            group_count,
            conditions,
            schema,
        )
    }

    #[test]
    fn the_sql_keeps_every_group_whatever_is_selected() {
        let grouped = aggregate(1, vec!["(\"jahr\" = 2025)".into()]);
        assert_eq!(
            grouped.sql(&[0, 1], None),
            "SELECT \"bezirk\" AS \"c0\", count(*) AS \"c1\" FROM \"m\".\"register\" \
             WHERE (\"jahr\" = 2025) GROUP BY \"bezirk\""
        );
        assert_eq!(
            grouped.sql(&[1], Some(3)),
            "SELECT count(*) AS \"c1\" FROM \"m\".\"register\" WHERE (\"jahr\" = 2025) \
             GROUP BY \"bezirk\" LIMIT 3"
        );
        // Nothing selected: the first aggregate stands in, the groups are still grouped.
        assert_eq!(
            grouped.sql(&[], None),
            "SELECT count(*) AS \"c1\" FROM \"m\".\"register\" WHERE (\"jahr\" = 2025) \
             GROUP BY \"bezirk\""
        );
        assert_eq!(
            aggregate(0, vec![]).sql(&[1], None),
            "SELECT count(*) AS \"c1\" FROM \"m\".\"register\""
        );
    }
}
