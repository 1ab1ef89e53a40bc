//! The privacy gate: the single place that decides whether a logical plan may run.
//!
//! Foundation rule (deny by default): a plan that scans any table marked `personal` — anywhere,
//! including subqueries, joins and CTEs — is refused. The aggregate-only policy with minimum
//! cell sizes replaces this rule in a later step; until then register tables can be counted by
//! nobody, which errs on the safe side.

use std::collections::HashSet;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;

use crate::{Error, Result};

/// The set of personal tables, as `source.table`.
#[derive(Debug, Clone, Default)]
pub struct PrivacyPolicy {
    personal: HashSet<String>,
}

impl PrivacyPolicy {
    /// A policy that protects the given `source.table` names.
    pub fn new(personal: impl IntoIterator<Item = String>) -> Self {
        Self {
            personal: personal.into_iter().collect(),
        }
    }

    /// True when `qualified` (`source.table`) holds personal data.
    pub fn is_personal(&self, qualified: &str) -> bool {
        self.personal.contains(qualified)
    }

    /// Refuses plans that read personal tables.
    pub fn check(&self, plan: &LogicalPlan) -> Result<()> {
        let mut violation = None;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let name = match scan.table_name.schema() {
                    Some(schema) => format!("{schema}.{}", scan.table_name.table()),
                    None => scan.table_name.table().to_string(),
                };
                if self.is_personal(&name) {
                    violation = Some(name);
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| Error::Internal(format!("plan walk failed: {e}")))?;
        match violation {
            Some(table) => Err(Error::PersonalData { table }),
            None => Ok(()),
        }
    }
}
