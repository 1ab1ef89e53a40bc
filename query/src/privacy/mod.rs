//! The privacy policy: the single place that decides whether — and in which rewritten form — a
//! logical plan may run. It sits inside the engine, so every interface (HTTP today, Flight SQL,
//! pgwire and federation later) gets the same rules.
//!
//! # Which plan is checked
//! The engine plans the SQL, runs DataFusion's *analyzer* (views inlined, every implicit type
//! coercion turned into an explicit `CAST`) and hands that plan to [`PrivacyPolicy::guard`]. The
//! guard checks it, rewrites every aggregate over register rows to suppress small groups, and
//! only this rewritten plan is executed. The optimizer runs afterwards; its rewrites preserve
//! the plan's meaning, so it can neither bring back a suppressed group nor an identifier that
//! the check did not see. Checking the optimized plan instead would be weaker: by then
//! subqueries have become joins and projections have been folded into scans, which hides where a
//! value came from. Execution errors of plans that read register data are reported without
//! their details (a message could quote a value).
//!
//! # Rules for tables whose provenance says `personal`
//! * **Roles** ([`Role`]): `public` may not read personal tables at all; `analyst` and `admin`
//!   get the aggregate-only rules below. No role bypasses them.
//! * **Aggregate only.** Every path from a register scan to the result passes through an
//!   `Aggregate`. Between the scan and that aggregate only filters, projections and aliases
//!   may stand: joins (also self-joins), `UNION`/`INTERSECT`/`EXCEPT`, `DISTINCT`, window
//!   functions, `ORDER BY`, `LIMIT`/`OFFSET`, `UNNEST`, recursive CTEs and correlated
//!   subqueries are refused there, because each of them can single out persons or count one
//!   person several times (so that the group size below would no longer count persons). After
//!   the aggregate the result is ordinary data and anything is allowed.
//! * **Allowed aggregates** ([`ALLOWED_AGGREGATES`]): `count`, `sum`, `avg`, `stddev`,
//!   `stddev_pop`, `var`, `var_pop` — each summarises all values of a group. `min`, `max`,
//!   `first_value`, `last_value`, `array_agg`, `string_agg`, `median`, percentiles, `mode` and
//!   every other aggregate are refused: they return (or list) one person's own value. `DISTINCT`
//!   is allowed only in `count`; `FILTER (WHERE …)` and `ORDER BY` inside aggregates are refused.
//! * **Aggregate arguments** are plain columns, optionally combined with `+`, `-`, `*`,
//!   constants, infallible casts and `EXTRACT(YEAR …)`. Conditional expressions (`CASE`,
//!   comparisons, functions) are refused there: `sum(CASE WHEN <one person> THEN x ELSE 0 END)`
//!   would publish one person's value inside a large group.
//! * **Direct identifiers** (names, exact birth dates, addresses, ids; see
//!   [`DEFAULT_IDENTIFIERS`], extended by `identifier_columns` in the config) may not be
//!   referenced anywhere: select list, `WHERE`, `GROUP BY`, join keys, aggregate arguments,
//!   functions, subqueries, `SELECT *`. The one generalisation allowed is the year of a
//!   date-typed identifier, `EXTRACT(YEAR FROM geburtsdatum)` / `date_part('year', …)`, so
//!   that ages can be analysed; the year is a quasi-identifier protected by the group size.
//! * **Small groups are suppressed**: each aggregate over register rows gets hidden
//!   `count(*)` and `count(<argument>)` columns and a filter `>= min_group_size` (default 5), so
//!   every published number is computed from at least k persons, also for aggregates without
//!   `GROUP BY`. `GROUPING SETS`, `ROLLUP` and `CUBE` are refused.
//! * **Row expressions** (filters, group keys, projections below the aggregate) may use
//!   comparisons, `AND`/`OR`/`NOT`, `+ - *`, `LIKE`, `IN (…)`, `BETWEEN`, `CASE`, `TRY_CAST`,
//!   casts that cannot fail and a list of functions that cannot fail on any value. Division,
//!   modulo, regular expressions, fallible casts and other functions are refused: an error
//!   raised by one row would tell whether a person with that value exists.
//! * `EXPLAIN` is allowed for plans that pass; `EXPLAIN ANALYZE` over register data is refused
//!   (it prints row counts before suppression). `DESCRIBE`, `information_schema` and
//!   `allmende.catalog` show names and types only and stay open to every role. Statements that
//!   write (`COPY`, `CREATE`, `INSERT`, …) never reach the policy: the engine plans read-only.
//!
//! # Known limits
//! Threshold suppression does not stop differencing: two allowed aggregates over groups that
//! differ by one person (or a total minus the visible cells) can reveal that person's value.
//! Closing this needs noise (differential privacy) or query auditing, planned for the
//! federation step. Timing is not normalised.

mod expr;
mod identifiers;
mod role;
mod suppress;
mod violation;
mod walk;

use std::collections::{HashMap, HashSet};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;

pub use identifiers::DEFAULT_IDENTIFIERS;
pub use role::Role;
pub use violation::Violation;
pub(crate) use walk::qualified_name;

use crate::{Error, Result};

/// Aggregate functions allowed over register rows (DataFusion names; `mean`, `stddev_samp`,
/// `var_samp` and `var_sample` are aliases of these).
pub const ALLOWED_AGGREGATES: [&str; 7] = [
    "count",
    "sum",
    "avg",
    "stddev",
    "stddev_pop",
    "var",
    "var_pop",
];

/// The default smallest group that may be published.
pub const DEFAULT_MIN_GROUP_SIZE: usize = 5;

/// A plan that passed the policy, rewritten so that small groups are suppressed.
#[derive(Debug, Clone)]
pub struct GuardedPlan {
    /// The plan to execute.
    pub plan: LogicalPlan,
    /// The personal table the plan reads (aggregated), if any.
    pub reads_personal: Option<String>,
}

/// The personal tables, their direct identifiers and the minimum group size.
#[derive(Debug, Clone)]
pub struct PrivacyPolicy {
    /// `source.table` → lower-case identifier column names.
    personal: HashMap<String, HashSet<String>>,
    min_group_size: usize,
}

impl Default for PrivacyPolicy {
    fn default() -> Self {
        Self::new(std::iter::empty())
    }
}

impl PrivacyPolicy {
    /// A policy that protects the given `source.table` names with the default identifiers and
    /// the default minimum group size.
    pub fn new(personal: impl IntoIterator<Item = String>) -> Self {
        Self {
            personal: personal
                .into_iter()
                .map(|t| (t, identifiers::defaults()))
                .collect(),
            min_group_size: DEFAULT_MIN_GROUP_SIZE,
        }
    }

    /// Like [`PrivacyPolicy::new`], with a minimum group size (at least 2) and extra
    /// identifier columns: `column` applies to every personal table, `source.table.column` to
    /// that table only. Names are matched case-insensitively.
    pub fn with_settings(
        personal: impl IntoIterator<Item = String>,
        min_group_size: usize,
        extra_identifiers: &[String],
    ) -> Result<Self> {
        if min_group_size < 2 {
            return Err(Error::Config(format!(
                "query.min_group_size is {min_group_size}; it must be at least 2 (5 or more is usual for register statistics)"
            )));
        }
        let mut policy = Self::new(personal);
        policy.min_group_size = min_group_size;
        for entry in extra_identifiers {
            let entry = entry.trim().to_lowercase();
            match entry.rsplit_once('.') {
                None if !entry.is_empty() => {
                    for columns in policy.personal.values_mut() {
                        columns.insert(entry.clone());
                    }
                }
                Some((table, column)) if table.contains('.') && !column.is_empty() => {
                    if let Some(columns) = policy.personal.get_mut(table) {
                        columns.insert(column.to_string());
                    } else {
                        tracing::warn!(
                            table,
                            "identifier_columns names a table that is not personal; ignored"
                        );
                    }
                }
                _ => {
                    return Err(Error::Config(format!(
                        "query.identifier_columns entry '{entry}' is neither 'column' nor 'source.table.column'"
                    )));
                }
            }
        }
        Ok(policy)
    }

    /// True when `qualified` (`source.table`) holds personal data.
    pub fn is_personal(&self, qualified: &str) -> bool {
        self.personal.contains_key(qualified)
    }

    /// True when `column` of the personal table `qualified` is a direct identifier.
    pub fn is_identifier(&self, qualified: &str, column: &str) -> bool {
        self.personal
            .get(qualified)
            .is_some_and(|c| c.contains(&column.to_lowercase()))
    }

    /// The smallest group (in persons) that is published.
    pub fn min_group_size(&self) -> usize {
        self.min_group_size
    }

    /// Checks an analyzed plan for `role` and returns it with small-group suppression added,
    /// or the reason it is refused ([`Error::PersonalData`]).
    pub fn guard(&self, plan: LogicalPlan, role: Role) -> Result<GuardedPlan> {
        let reads_personal = self.personal_table_in(&plan);
        if let Some(table) = &reads_personal {
            walk::Walker::new(self, role).check(&plan, table)?;
        }
        let plan = match reads_personal {
            Some(_) => suppress::suppress_small_groups(plan, self)?,
            None => plan,
        };
        Ok(GuardedPlan {
            plan,
            reads_personal,
        })
    }

    /// The first personal table scanned anywhere in `plan` (subqueries included).
    pub fn personal_table_in(&self, plan: &LogicalPlan) -> Option<String> {
        let mut found = None;
        // The closure never fails, so neither does the walk.
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let name = walk::qualified_name(&scan.table_name);
                if self.is_personal(&name) {
                    found = Some(name);
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        found
    }
}
