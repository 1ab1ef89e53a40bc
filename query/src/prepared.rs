//! Statements prepared before their parameters are known, as the PostgreSQL extended protocol
//! and JDBC/psycopg-style drivers use them: `SELECT … WHERE jahr = $1` is planned once to learn
//! the types of its parameters and its result columns ([`QueryEngine::prepare`]), then run
//! with values ([`QueryEngine::sql_with_params_as`]). The privacy policy checks the plan with
//! the values in place, exactly as if they had been written into the SQL.

use arrow::datatypes::{DataType, SchemaRef};

use crate::engine::read_only_plan;
use crate::{Error, QueryEngine, Result, Role};

/// What a prepared statement takes and gives.
#[derive(Debug, Clone)]
pub struct StatementShape {
    /// The type of `$1`, `$2`, … in order; `None` where the statement leaves it open (`SELECT
    /// $1`), so the value's own type is used.
    pub parameters: Vec<Option<DataType>>,
    /// The result columns.
    pub schema: SchemaRef,
}

impl QueryEngine {
    /// Plans `sql` (one read-only statement, possibly with `$n` placeholders) without running
    /// it: the parameters it takes and the columns it returns. Whether the caller may run it
    /// is decided when it runs, with its values.
    pub async fn prepare(&self, sql: &str) -> Result<StatementShape> {
        let plan = read_only_plan(&self.query_state(Role::Public), sql).await?;
        let types = plan
            .get_parameter_types()
            .map_err(|e| Error::InvalidSql(e.to_string()))?;
        let mut parameters = Vec::new();
        for (name, data_type) in types {
            let position = name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    Error::InvalidSql(format!(
                        "parameter `{name}`: parameters are numbered $1, $2, …"
                    ))
                })?;
            if parameters.len() < position {
                parameters.resize(position, None);
            }
            parameters[position - 1] = data_type;
        }
        Ok(StatementShape {
            parameters,
            schema: std::sync::Arc::new(plan.schema().as_arrow().clone()),
        })
    }
}
