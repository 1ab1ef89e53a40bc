//! SQL over connector snapshots with DataFusion.
//!
//! [`QueryEngine`] registers every Parquet snapshot as `<source>.<table>` and answers read-only
//! SQL under a timeout and a row limit. [`PrivacyPolicy`] is the single gate that keeps personal
//! register rows from leaving: every statement — from analysts, the assistant or the ingest
//! pipeline that feeds the search index — passes through it, under a [`Role`]. Register
//! tables are answered only as aggregates over groups of at least `min_group_size` persons,
//! never with direct identifiers, and not at all for the public role.

pub mod engine;
pub mod error;
pub mod federation;
pub mod prepared;
pub mod privacy;
pub mod scale_out;
pub mod statements;

pub use datafusion::common::ScalarValue;
pub use engine::{QueryConfig, QueryEngine, QueryResult, display_rows};
pub use error::{Error, Result};
pub use prepared::StatementShape;
pub use privacy::{GuardedPlan, PrivacyPolicy, Role, Violation};
pub use scale_out::ScaleOutConfig;
pub use statements::split_statements;
