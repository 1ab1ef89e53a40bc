//! Aggregate pushdown: an aggregate over one member node's table runs on that node.
//!
//! `SELECT stadtbezirk, count(*) FROM nord.musterstadt.melderegister WHERE … GROUP BY 1`
//! would otherwise read every row of the remote table here — which the node refuses for a
//! register and which moves far more data than needed for open tables. [`PushAggregateToNode`]
//! is a logical optimizer rule that runs first, on the plan as analysed: an `Aggregate` whose
//! input is (through filters and aliases) one scan of a [`RemoteTable`] becomes a scan of a
//! [`RemoteAggregate`] — the node's answer to the whole `SELECT … WHERE … GROUP BY …` — under
//! a projection that gives its columns the aggregate's names again. The node's own policy then
//! sees an aggregate, and suppresses its small groups, before anything leaves it.
//!
//! It falls back to the row-level scan whenever part of the aggregate cannot be written as SQL
//! for the node (grouping sets, an expression the unparser does not know, a scan with a limit).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result, TableReference};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan, LogicalPlanBuilder, TableScan};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use super::aggregate::{RemoteAggregate, output_name};
use super::table::{RemoteTable, filter_sql, unqualified_sql};

/// The name of the scan that stands for a pushed-down aggregate in the plan.
const PUSHED_AGGREGATE: &str = "member_node_aggregate";

/// The optimizer rule that sends aggregates over one remote table to its node (see the
/// module docs).
#[derive(Debug, Default)]
pub struct PushAggregateToNode;

impl OptimizerRule for PushAggregateToNode {
    fn name(&self) -> &str {
        "push_aggregate_to_member_node"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(aggregate) = &plan else {
            return Ok(Transformed::no(plan));
        };
        match pushed_down(aggregate)? {
            Some(replacement) => {
                tracing::debug!("aggregate pushed down to a member node");
                Ok(Transformed::yes(replacement))
            }
            None => Ok(Transformed::no(plan)),
        }
    }
}

/// The scan of one remote table below `aggregate`, with the filter conditions on the way
/// down; `None` when anything else is in between.
fn remote_input(aggregate: &Aggregate) -> Option<(&TableScan, Vec<&Expr>)> {
    let mut conditions = Vec::new();
    let mut node = aggregate.input.as_ref();
    loop {
        match node {
            LogicalPlan::Filter(filter) => {
                conditions.push(&filter.predicate);
                node = filter.input.as_ref();
            }
            LogicalPlan::SubqueryAlias(alias) => node = alias.input.as_ref(),
            LogicalPlan::TableScan(scan) => {
                conditions.extend(scan.filters.iter());
                return Some((scan, conditions));
            }
            _ => return None,
        }
    }
}

/// The expression inside any aliases: the node gets its own output names.
fn unaliased(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => unaliased(&alias.expr),
        other => other,
    }
}

/// Whether `expr` refers to anything beyond the one remote table: a subquery, or a column of
/// an enclosing query. Such an aggregate stays here.
fn reaches_outside(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_)
                | Expr::InSubquery(_)
                | Expr::Exists(_)
                | Expr::OuterReferenceColumn(..)
                | Expr::Placeholder(_)
        ))
    })
    .unwrap_or(true)
}

/// `aggregate` as a scan of its result on the member node, or `None` when it cannot be sent.
fn pushed_down(aggregate: &Aggregate) -> Result<Option<LogicalPlan>> {
    let Some((scan, conditions)) = remote_input(aggregate) else {
        return Ok(None);
    };
    if scan.fetch.is_some() {
        return Ok(None);
    }
    let Ok(provider) = source_as_provider(&scan.source) else {
        return Ok(None);
    };
    let Some(table) = provider.downcast_ref::<RemoteTable>() else {
        return Ok(None);
    };
    let expressions = || {
        aggregate
            .group_expr
            .iter()
            .chain(&aggregate.aggr_expr)
            .chain(conditions.iter().copied())
    };
    if expressions().any(|e| matches!(e, Expr::GroupingSet(_)) || reaches_outside(e)) {
        return Ok(None);
    }
    let Some(conditions) = conditions
        .into_iter()
        .map(filter_sql)
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let Some(outputs) = aggregate
        .group_expr
        .iter()
        .chain(&aggregate.aggr_expr)
        .map(|e| unqualified_sql(unaliased(e)))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let local = aggregate.schema.as_ref();
    if outputs.len() != local.fields().len() {
        return Ok(None);
    }
    let remote_schema = Arc::new(Schema::new(
        local
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                Field::new(
                    output_name(i),
                    field.data_type().clone(),
                    field.is_nullable(),
                )
            })
            .collect::<Vec<_>>(),
    ));
    let remote = RemoteAggregate::new(
        table.client().clone(),
        table.remote_name().to_string(),
        outputs,
        aggregate.group_expr.len(),
        conditions,
        remote_schema,
    );
    // The aggregate's own column names (and qualifiers) again, so nothing above notices.
    let renamed = local
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            let column = Expr::Column(Column::new(Some(PUSHED_AGGREGATE), output_name(i)));
            column.alias_qualified(qualifier.cloned(), field.name())
        })
        .collect::<Vec<_>>();
    let plan = LogicalPlanBuilder::scan(
        TableReference::bare(PUSHED_AGGREGATE),
        provider_as_source(Arc::new(remote)),
        None,
    )?
    .project(renamed)?
    .build()?;
    Ok(Some(plan))
}
