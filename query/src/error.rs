//! The query crate's error type. [`Error::is_user_error`] tells the web layer which errors are
//! the analyst's to fix (400) and which are the server's.

/// Everything that can go wrong while planning or running SQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL does not parse or does not plan (unknown table/column, type mismatch, ...).
    #[error("invalid sql: {0}")]
    InvalidSql(String),
    /// The statement is not a read-only query.
    #[error("only read-only queries (SELECT, WITH, EXPLAIN) are allowed: {0}")]
    NotReadOnly(String),
    /// The privacy policy refused the query: it reads a personal table in a way the role or the
    /// aggregate-only rules do not allow. The web layer answers 403.
    #[error("table {table} holds personal register data: {reason}")]
    PersonalData {
        /// The personal table, `source.table`.
        table: String,
        /// The specific rule the query broke.
        reason: crate::privacy::Violation,
    },
    /// The query ran longer than the configured limit and was cancelled.
    #[error("query cancelled after {seconds} s (the limit is {seconds} s; add filters or a LIMIT)")]
    Timeout { seconds: u64 },
    /// The query failed on a value it computed: division by zero, a cast that does not fit
    /// (`CAST('abc' AS INT)`), an overflow. The caller's to fix (400).
    #[error("the query failed on a value: {0}")]
    Evaluation(String),
    /// The query needed more working memory than `query.memory_limit_mb` and could not spill.
    #[error(
        "query cancelled: it needs more than {mb} MiB of working memory (the limit per query); add filters, aggregate earlier or join smaller tables"
    )]
    MemoryLimit { mb: usize },
    /// A member node could not answer its part (down, refused by its policy, failed there);
    /// the message names the node.
    #[error(transparent)]
    Remote(#[from] crate::federation::RemoteError),
    /// DataFusion failed while executing.
    #[error("query execution failed: {0}")]
    Execution(String),
    /// Snapshot discovery failed.
    #[error("snapshots: {0}")]
    Snapshots(#[from] allmende_connectors::Error),
    /// The `[query]` configuration is invalid.
    #[error("query configuration: {0}")]
    Config(String),
    /// A broken invariant: this is a bug in Allmende.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

impl Error {
    /// True when the caller sent something wrong (maps to a 4xx), false for server-side failures.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidSql(_)
                | Error::NotReadOnly(_)
                | Error::PersonalData { .. }
                | Error::Timeout { .. }
                | Error::MemoryLimit { .. }
                | Error::Evaluation(_)
        )
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as D;
        if let D::External(inner) = e.find_root()
            && let Some(remote) = inner.downcast_ref::<crate::federation::RemoteError>()
        {
            return Error::Remote(remote.clone());
        }
        match e.find_root() {
            D::SQL(..) | D::Plan(_) | D::SchemaError(..) | D::NotImplemented(_) => {
                Error::InvalidSql(e.find_root().to_string())
            }
            D::ArrowError(arrow, _) if caused_by_a_value(arrow) => {
                Error::Evaluation(arrow.to_string())
            }
            _ => Error::Execution(e.to_string()),
        }
    }
}

/// Whether an Arrow kernel failed on a value the query computed (the caller's mistake) rather
/// than on the server's side.
fn caused_by_a_value(error: &arrow::error::ArrowError) -> bool {
    use arrow::error::ArrowError as A;
    matches!(
        error,
        A::DivideByZero | A::CastError(_) | A::ArithmeticOverflow(_) | A::ParseError(_)
    )
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
