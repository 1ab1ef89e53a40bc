//! Why a plan was refused. Every refusal is an [`crate::Error::PersonalData`] carrying one of
//! these reasons; the web layer maps it to HTTP 403. Messages name the problem and the way out,
//! never a value from the data.

use super::Role;

/// The specific reason a plan over a personal table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The role may not read personal tables at all.
    #[error(
        "the {role} role may not read register tables at all (aggregated register statistics need the analyst role)"
    )]
    RoleForbids {
        /// The role the query ran under.
        role: Role,
    },
    /// Register rows would reach the result without passing through an aggregate.
    #[error(
        "its rows cannot be read; only aggregates (COUNT, SUM, AVG, STDDEV, VAR) over groups of at least {min_group_size} persons leave a node — add an aggregate and GROUP BY"
    )]
    RowsLeave {
        /// The configured minimum group size.
        min_group_size: usize,
    },
    /// `SELECT *` (or listing every column) over a register table.
    #[error(
        "SELECT * reads its direct identifiers ({columns}); name the non-identifying columns you need and aggregate them"
    )]
    SelectStar {
        /// The identifier columns `*` would include.
        columns: String,
    },
    /// A direct identifier is referenced.
    #[error(
        "column {column} is a direct identifier and may not appear anywhere in a query (not in SELECT, WHERE, GROUP BY, joins, functions or subqueries){hint}"
    )]
    Identifier {
        /// The identifier column.
        column: String,
        /// A way out, where one exists (the year of a date).
        hint: &'static str,
    },
    /// An aggregate function that can return one person's value.
    #[error(
        "aggregate function {name} can return a single person's value; allowed over register data: count, sum, avg, stddev, stddev_pop, var, var_pop"
    )]
    Aggregate {
        /// The function's name.
        name: String,
    },
    /// `DISTINCT` (outside `count`), `FILTER` or `ORDER BY` inside an aggregate.
    #[error("{what} inside an aggregate over register data is not allowed")]
    AggregateOption {
        /// The refused option.
        what: &'static str,
    },
    /// An aggregate argument that could select single persons.
    #[error(
        "the argument of {function} over register data must be a column, optionally with + - * and constants or EXTRACT(YEAR …); {found} could single out persons"
    )]
    AggregateArgument {
        /// The aggregate function.
        function: String,
        /// What was found instead.
        found: String,
    },
    /// A row expression that could fail row by row or is not on the safe list.
    #[error("{what} is not allowed on register rows")]
    Expression {
        /// The refused expression, described.
        what: String,
    },
    /// A plan operator between the register scan and its aggregate.
    #[error(
        "{what} over register rows before aggregation is not allowed (it can single out persons or count one person twice); aggregate first, then combine the aggregated results"
    )]
    Operation {
        /// The refused operator.
        what: &'static str,
    },
    /// A correlated subquery touching register rows.
    #[error(
        "correlated subqueries over register data are not allowed; aggregate with GROUP BY and join the aggregated result instead"
    )]
    CorrelatedSubquery,
    /// A scalar subquery over register data.
    #[error(
        "scalar subqueries over register data are not allowed (a suppressed group would turn into NULL); run the aggregate as its own query or join its result"
    )]
    ScalarSubquery,
    /// `EXPLAIN ANALYZE` over register data.
    #[error(
        "EXPLAIN ANALYZE over register data is not allowed (it shows row counts before small groups are suppressed); plain EXPLAIN works"
    )]
    ExplainAnalyze,
}
