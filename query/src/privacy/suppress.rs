//! Small-group suppression: every aggregate over register rows is rewritten to
//!
//! ```text
//! Projection: <the original output columns>            -- same schema as before
//!   Filter: __allmende_persons >= k AND __allmende_values_i_j >= k AND …
//!     Aggregate: <original groups>, <original aggregates>,
//!                count(1) AS __allmende_persons, count(<arg j of aggregate i>) AS __allmende_values_i_j
//! ```
//!
//! The walk guarantees that only filters, projections and aliases stand between the register
//! scan and such an aggregate, so `count(1)` counts persons, and `count(arg)` counts the
//! persons an aggregate's value is really computed from (values that are NULL do not count).
//! A group — also the single group of an aggregate without `GROUP BY` — is published only when
//! all of them reach `min_group_size`.

use std::sync::Arc;

use datafusion::common::Column;
use datafusion::common::tree_node::Transformed;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Aggregate, Expr, Filter, LogicalPlan, Projection};
use datafusion::prelude::lit;

use super::PrivacyPolicy;
use super::walk::qualified_name;
use crate::{Error, Result};

/// Prefix of the hidden count columns.
pub(crate) const HIDDEN_PREFIX: &str = "__allmende_";

/// Adds suppression to every aggregate whose input is register rows (subqueries included).
pub(crate) fn suppress_small_groups(
    plan: LogicalPlan,
    policy: &PrivacyPolicy,
) -> Result<LogicalPlan> {
    let rewritten = plan.transform_up_with_subqueries(|node| match node {
        LogicalPlan::Aggregate(aggregate) if reads_register_rows(&aggregate.input, policy) => {
            with_threshold(aggregate, policy.min_group_size()).map(Transformed::yes)
        }
        other => Ok(Transformed::no(other)),
    });
    rewritten.map(|t| t.data).map_err(|e| {
        Error::InvalidSql(format!(
            "the query could not be prepared for small-group suppression (names starting with {HIDDEN_PREFIX} are reserved): {}",
            e.find_root()
        ))
    })
}

/// True when `plan` is register rows: a personal table under filters, projections and aliases.
fn reads_register_rows(plan: &LogicalPlan, policy: &PrivacyPolicy) -> bool {
    match plan {
        LogicalPlan::TableScan(scan) => policy.is_personal(&qualified_name(&scan.table_name)),
        LogicalPlan::Filter(f) => reads_register_rows(&f.input, policy),
        LogicalPlan::Projection(p) => reads_register_rows(&p.input, policy),
        LogicalPlan::SubqueryAlias(a) => reads_register_rows(&a.input, policy),
        LogicalPlan::Subquery(s) => reads_register_rows(&s.subquery, policy),
        _ => false,
    }
}

fn with_threshold(
    aggregate: Aggregate,
    min_group_size: usize,
) -> datafusion::error::Result<LogicalPlan> {
    let threshold = lit(i64::try_from(min_group_size).unwrap_or(i64::MAX));
    let mut aggr_expr = aggregate.aggr_expr.clone();
    let mut hidden = vec![format!("{HIDDEN_PREFIX}persons")];
    aggr_expr.push(count(lit(1i64)).alias(&hidden[0]));
    for (i, e) in aggregate.aggr_expr.iter().enumerate() {
        let e = match e {
            Expr::Alias(alias) => alias.expr.as_ref(),
            e => e,
        };
        let Expr::AggregateFunction(function) = e else {
            continue;
        };
        for (j, arg) in function.params.args.iter().enumerate() {
            if matches!(arg, Expr::Literal(..)) {
                continue;
            }
            let name = format!("{HIDDEN_PREFIX}values_{i}_{j}");
            aggr_expr.push(count(arg.clone()).alias(&name));
            hidden.push(name);
        }
    }
    let counted = LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::clone(&aggregate.input),
        aggregate.group_expr.clone(),
        aggr_expr,
    )?);
    let predicate = conjunction(
        hidden
            .iter()
            .map(|name| Expr::Column(Column::new_unqualified(name)).gt_eq(threshold.clone())),
    )
    .unwrap_or_else(|| lit(false));
    let filtered = LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(counted))?);
    let columns = aggregate
        .schema
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new_with_schema(
        columns,
        Arc::new(filtered),
        Arc::clone(&aggregate.schema),
    )?))
}
