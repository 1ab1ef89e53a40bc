//! The plan walk: computes, bottom-up, whether each node's output is still *register rows*
//! (one row per person, with the lineage of every column back to the register's own columns)
//! or ordinary data (open tables, or register data that passed an aggregate). Register rows may
//! only pass filters, projections and aliases before they reach an aggregate; everything else
//! is refused with a specific [`Violation`].

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DFSchemaRef, TableReference};
use datafusion::logical_expr::{Aggregate, Distinct, Expr, LogicalPlan, Projection, TableScan};

use super::expr::ExprRules;
use super::{PrivacyPolicy, Role, Violation};
use crate::{Error, Result};

/// The catalog of this node's own tables (DataFusion's default); other catalogs are member
/// nodes, whose tables their own node's policy guards.
const LOCAL_CATALOG: &str = "datafusion";

/// `source.table` of a scanned local table (or the bare table name); a member node's table
/// keeps its node (`node.source.table`), so it never matches a local table's name.
pub(crate) fn qualified_name(table: &TableReference) -> String {
    match (table.catalog(), table.schema()) {
        (Some(catalog), Some(schema)) if catalog != LOCAL_CATALOG => {
            format!("{catalog}.{schema}.{}", table.table())
        }
        (_, Some(schema)) => format!("{schema}.{}", table.table()),
        (_, None) => table.table().to_string(),
    }
}

/// Register rows: one row per person of `table`.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    /// The personal table, `source.table`.
    pub table: String,
    /// Output column `i` as an expression over the table's own (unqualified) columns.
    pub columns: Vec<Expr>,
    /// The table's schema, unqualified: the scope of `columns`.
    pub base: DFSchemaRef,
}

/// What a plan node produces.
enum Relation {
    /// Open data, or register data that went through an aggregate.
    Open,
    /// Register rows.
    Rows(Rows),
}

/// One check of one plan for one role.
pub(crate) struct Walker<'a> {
    policy: &'a PrivacyPolicy,
    role: Role,
}

impl<'a> Walker<'a> {
    pub(crate) fn new(policy: &'a PrivacyPolicy, role: Role) -> Self {
        Self { policy, role }
    }

    /// Checks `plan`, which reads the personal table `table` somewhere.
    pub(crate) fn check(&self, plan: &LogicalPlan, table: &str) -> Result<()> {
        if !self.role.may_aggregate_personal() {
            return Err(refuse(table, Violation::RoleForbids { role: self.role }));
        }
        match self.relation(plan)? {
            Relation::Open => Ok(()),
            Relation::Rows(rows) => Err(self.rows_leave(&rows.table)),
        }
    }

    fn rows_leave(&self, table: &str) -> Error {
        refuse(
            table,
            Violation::RowsLeave {
                min_group_size: self.policy.min_group_size(),
            },
        )
    }

    fn relation(&self, plan: &LogicalPlan) -> Result<Relation> {
        let mut rows = None;
        for input in plan.inputs() {
            if let Relation::Rows(r) = self.relation(input)? {
                if rows.is_some() {
                    return Err(refuse(
                        &r.table,
                        Violation::Operation {
                            what: "a join or set operation of register rows with themselves",
                        },
                    ));
                }
                rows = Some(r);
            }
        }
        self.subqueries(plan, rows.as_ref())?;
        let Some(rows) = rows else {
            return self.without_rows(plan);
        };
        let rules = ExprRules::new(self.policy, &rows);
        match plan {
            LogicalPlan::Filter(filter) => {
                let predicate = resolve(&filter.predicate, filter.input.schema(), &rows)?;
                rules.row(&predicate).map_err(|v| refuse(&rows.table, v))?;
                Ok(Relation::Rows(rows))
            }
            LogicalPlan::Projection(projection) => self.projection(projection, rows),
            LogicalPlan::SubqueryAlias(_) | LogicalPlan::Subquery(_) => Ok(Relation::Rows(rows)),
            LogicalPlan::Aggregate(aggregate) => {
                self.aggregate(aggregate, &rows)?;
                Ok(Relation::Open)
            }
            LogicalPlan::Explain(_) => Err(self.rows_leave(&rows.table)),
            LogicalPlan::Analyze(_) => Err(refuse(&rows.table, Violation::ExplainAnalyze)),
            other => Err(refuse(
                &rows.table,
                Violation::Operation {
                    what: operation_name(other),
                },
            )),
        }
    }

    /// A node none of whose inputs are register rows.
    fn without_rows(&self, plan: &LogicalPlan) -> Result<Relation> {
        match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Analyze(analyze) => match self.policy.personal_table_in(&analyze.input) {
                Some(table) => Err(refuse(&table, Violation::ExplainAnalyze)),
                None => Ok(Relation::Open),
            },
            LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Statement(_) => Err(Error::NotReadOnly(
                "only read-only queries are planned".into(),
            )),
            _ => Ok(Relation::Open),
        }
    }

    fn scan(&self, scan: &TableScan) -> Result<Relation> {
        let table = qualified_name(&scan.table_name);
        if !self.policy.is_personal(&table) {
            return Ok(Relation::Open);
        }
        if !self.role.may_aggregate_personal() {
            return Err(refuse(&table, Violation::RoleForbids { role: self.role }));
        }
        if scan.fetch.is_some() {
            return Err(refuse(
                &table,
                Violation::Operation {
                    what: "LIMIT/OFFSET",
                },
            ));
        }
        let source = scan.source.schema();
        let base = Arc::new(DFSchema::try_from(source.as_ref().clone())?);
        let names: Vec<&str> = match &scan.projection {
            Some(indices) => indices
                .iter()
                .map(|&i| source.field(i).name().as_str())
                .collect(),
            None => source.fields().iter().map(|f| f.name().as_str()).collect(),
        };
        let rows = Rows {
            columns: names
                .into_iter()
                .map(|n| Expr::Column(Column::new_unqualified(n)))
                .collect(),
            table,
            base,
        };
        // Pushed-down filters appear only after optimisation, but check them if present.
        let rules = ExprRules::new(self.policy, &rows);
        for filter in &scan.filters {
            let unqualified = filter
                .clone()
                .transform(|e| match e {
                    Expr::Column(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(
                        c.name,
                    )))),
                    other => Ok(Transformed::no(other)),
                })?
                .data;
            rules
                .row(&unqualified)
                .map_err(|v| refuse(&rows.table, v))?;
        }
        Ok(Relation::Rows(rows))
    }

    fn projection(&self, projection: &Projection, rows: Rows) -> Result<Relation> {
        let schema = projection.input.schema();
        let resolved = projection
            .expr
            .iter()
            .map(|e| resolve(e, schema, &rows))
            .collect::<Result<Vec<_>>>()?;
        let star = star_identifiers(self.policy, &rows, &resolved);
        if !star.is_empty() {
            return Err(refuse(
                &rows.table,
                Violation::SelectStar {
                    columns: star.join(", "),
                },
            ));
        }
        let rules = ExprRules::new(self.policy, &rows);
        for e in &resolved {
            rules.row(e).map_err(|v| refuse(&rows.table, v))?;
        }
        Ok(Relation::Rows(Rows {
            columns: resolved,
            ..rows
        }))
    }

    fn aggregate(&self, aggregate: &Aggregate, rows: &Rows) -> Result<()> {
        let schema = aggregate.input.schema();
        let rules = ExprRules::new(self.policy, rows);
        for group in &aggregate.group_expr {
            if matches!(group, Expr::GroupingSet(_)) {
                return Err(refuse(
                    &rows.table,
                    Violation::Operation {
                        what: "GROUPING SETS, ROLLUP or CUBE",
                    },
                ));
            }
            let group = resolve(group, schema, rows)?;
            rules.row(&group).map_err(|v| refuse(&rows.table, v))?;
        }
        for e in &aggregate.aggr_expr {
            let resolved = resolve(e, schema, rows)?;
            rules
                .aggregate(&resolved)
                .map_err(|v| refuse(&rows.table, v))?;
        }
        Ok(())
    }

    /// Checks the subqueries in `plan`'s own expressions. A subquery may not return register
    /// rows, and may not be correlated when either side touches register data.
    fn subqueries(&self, plan: &LogicalPlan, rows: Option<&Rows>) -> Result<()> {
        let mut scalar = None;
        plan.apply_expressions(|e| {
            e.apply(|x| {
                if let Expr::ScalarSubquery(subquery) = x
                    && let Some(table) = self.policy.personal_table_in(&subquery.subquery)
                {
                    scalar = Some(table);
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        if let Some(table) = scalar {
            return Err(refuse(&table, Violation::ScalarSubquery));
        }
        let mut outcome = Ok(());
        plan.apply_subqueries(|node| {
            let LogicalPlan::Subquery(subquery) = node else {
                return Ok(TreeNodeRecursion::Continue);
            };
            let inner = subquery.subquery.as_ref();
            let checked = match self.relation(inner) {
                Err(e) => Err(e),
                Ok(Relation::Rows(r)) => Err(refuse(
                    &r.table,
                    Violation::Operation {
                        what: "a subquery that returns register rows (IN, EXISTS or a scalar subquery)",
                    },
                )),
                Ok(Relation::Open) => {
                    let correlated =
                        !subquery.outer_ref_columns.is_empty() || has_outer_reference(inner);
                    let touched = rows
                        .map(|r| r.table.clone())
                        .or_else(|| self.policy.personal_table_in(inner));
                    match touched {
                        Some(table) if correlated => {
                            Err(refuse(&table, Violation::CorrelatedSubquery))
                        }
                        _ => Ok(()),
                    }
                }
            };
            if checked.is_err() {
                outcome = checked;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        outcome
    }
}

/// The refusal error for `table`.
fn refuse(table: &str, reason: Violation) -> Error {
    Error::PersonalData {
        table: table.to_string(),
        reason,
    }
}

/// Rewrites `expr` (over `input`'s columns) into an expression over the register's own columns.
fn resolve(expr: &Expr, input: &DFSchema, rows: &Rows) -> Result<Expr> {
    let resolved = expr.clone().transform(|e| match e {
        Expr::Column(column) => {
            let index = input.index_of_column(&column)?;
            let lineage = rows.columns.get(index).cloned().ok_or_else(|| {
                datafusion::error::DataFusionError::Internal(format!(
                    "column {column} has no lineage"
                ))
            })?;
            Ok(Transformed::yes(lineage))
        }
        other => Ok(Transformed::no(other)),
    })?;
    Ok(resolved.data.unalias_nested().data)
}

/// The identifier columns of a projection that lists every column of the register
/// (`SELECT *`); empty for any other projection.
fn star_identifiers(policy: &PrivacyPolicy, rows: &Rows, resolved: &[Expr]) -> Vec<String> {
    let listed: Vec<&str> = resolved
        .iter()
        .filter_map(|e| match e {
            Expr::Column(c) => Some(c.name.as_str()),
            _ => None,
        })
        .collect();
    let all = rows
        .base
        .fields()
        .iter()
        .all(|f| listed.contains(&f.name().as_str()));
    if !all {
        return Vec::new();
    }
    rows.base
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| policy.is_identifier(&rows.table, name))
        .collect()
}

/// Whether any expression in `plan` (or its subqueries) refers to an outer query.
fn has_outer_reference(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if node.contains_outer_reference() {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// How a refused operator is named in messages.
fn operation_name(plan: &LogicalPlan) -> &'static str {
    match plan {
        LogicalPlan::Join(_) => "a join",
        LogicalPlan::Union(_) => "UNION",
        LogicalPlan::Window(_) => "a window function",
        LogicalPlan::Sort(_) => "ORDER BY",
        LogicalPlan::Limit(_) => "LIMIT/OFFSET",
        LogicalPlan::Distinct(Distinct::All(_)) => "DISTINCT",
        LogicalPlan::Distinct(Distinct::On(_)) => "DISTINCT ON",
        LogicalPlan::Unnest(_) => "UNNEST",
        LogicalPlan::RecursiveQuery(_) => "a recursive CTE",
        LogicalPlan::Repartition(_) => "repartitioning",
        LogicalPlan::Extension(_) => "an extension operator",
        _ => "this operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_tables_are_named_by_source_and_table() {
        let name = |r: TableReference| qualified_name(&r);
        assert_eq!(
            name(TableReference::partial("musterstadt", "melderegister")),
            "musterstadt.melderegister"
        );
        assert_eq!(
            name(TableReference::full(
                LOCAL_CATALOG,
                "musterstadt",
                "melderegister"
            )),
            "musterstadt.melderegister"
        );
        assert_eq!(
            name(TableReference::full(
                "koeln",
                "musterstadt",
                "melderegister"
            )),
            "koeln.musterstadt.melderegister"
        );
        assert_eq!(name(TableReference::bare("t")), "t");
    }
}
