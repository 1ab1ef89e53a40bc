//! A table of a member node. DataFusion hands its scan the columns it needs, the filters and a
//! limit; they are written into the SQL the node receives, so only the needed rows and
//! columns cross the network (and the node's own indexes and statistics do the filtering).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::unparser::Unparser;

use super::caller_role;
use super::catalog::quote_identifier;
use super::client::NodeClient;
use super::scan::RemoteScanExec;

/// A member node's table, `"source"."table"` there.
#[derive(Debug)]
pub struct RemoteTable {
    client: NodeClient,
    remote_name: String,
    schema: SchemaRef,
}

impl RemoteTable {
    /// The table `remote_name` (quoted `"source"."table"`) of the node behind `client`, whose
    /// columns are `schema`.
    pub fn new(client: NodeClient, remote_name: String, schema: SchemaRef) -> Self {
        Self {
            client,
            remote_name,
            schema,
        }
    }

    /// The node it is read from.
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// Its quoted name on the node, `"source"."table"`.
    pub fn remote_name(&self) -> &str {
        &self.remote_name
    }

    /// The SQL that reads `columns` (none: only the row count matters), filtered and limited.
    pub fn remote_sql(
        &self,
        columns: &[String],
        filters: &[String],
        limit: Option<usize>,
    ) -> String {
        let select = if columns.is_empty() {
            "1".to_string()
        } else {
            columns
                .iter()
                .map(|c| quote_identifier(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        select_sql(&select, &self.remote_name, filters, &[], limit)
    }
}

/// The SQL a member node receives: `SELECT select FROM from`, with the `conditions` joined by
/// `AND`, the `GROUP BY` expressions and the limit, each where given.
pub fn select_sql(
    select: &str,
    from: &str,
    conditions: &[String],
    group_by: &[String],
    limit: Option<usize>,
) -> String {
    let mut sql = format!("SELECT {select} FROM {from}");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if !group_by.is_empty() {
        sql.push_str(" GROUP BY ");
        sql.push_str(&group_by.join(", "));
    }
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    sql
}

/// `expr` as SQL the node understands: column references without this node's qualifier
/// (`koeln.musterstadt.bevoelkerung.jahr` is `jahr` there, as is `b.jahr` for an alias `b`).
/// `None` when it cannot be written as SQL. Only for expressions over one table, where every
/// column name is unique without its qualifier.
pub fn unqualified_sql(expr: &Expr) -> Option<String> {
    let unqualified = expr
        .clone()
        .transform(|expr| {
            Ok(match expr {
                Expr::Column(column) => {
                    Transformed::yes(Expr::Column(Column::new_unqualified(column.name)))
                }
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    Unparser::default()
        .expr_to_sql(&unqualified)
        .ok()
        .map(|sql| sql.to_string())
}

/// `filter` as a parenthesised SQL condition for the node; `None` when it cannot be written as
/// SQL (DataFusion then applies it here).
pub fn filter_sql(filter: &Expr) -> Option<String> {
    unqualified_sql(filter).map(|sql| format!("({sql})"))
}

#[async_trait]
impl TableProvider for RemoteTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match filter_sql(filter) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => self.schema.clone(),
        };
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        // Every filter offered here was accepted as Exact, so each one unparses.
        let filters: Vec<String> = filters.iter().filter_map(filter_sql).collect();
        let sql = self.remote_sql(&columns, &filters, limit);
        Ok(Arc::new(RemoteScanExec::new(
            self.client.clone(),
            sql,
            schema,
            caller_role(state),
        )))
    }
}
