//! Engine errors as PostgreSQL `ErrorResponse`s with SQLSTATE codes, mirroring the status codes
//! of `POST /api/sql`: a privacy refusal is `42501` insufficient_privilege (403 there), a write
//! `25006` read_only_sql_transaction, bad SQL `42000` (400), the time limit `57014`
//! query_canceled (408), the memory limit `53200` out_of_memory (422). Server-side failures are logged and answered with `XX000` and a generic
//! message: clients never see paths, plans or stack traces.

use allmende_query::Error as QueryError;
use allmende_query::federation::RemoteError;
use pgwire::error::ErrorInfo;

/// The `ErrorResponse` for a failed statement.
pub fn query_error(error: &QueryError) -> ErrorInfo {
    let code = match error {
        QueryError::PersonalData { .. } => "42501",
        QueryError::NotReadOnly(_) => "25006",
        QueryError::Timeout { .. } => "57014",
        QueryError::MemoryLimit { .. } => "53200",
        QueryError::Evaluation(_) => "22000",
        QueryError::Remote(RemoteError::Refused { .. }) => "42501",
        QueryError::Remote(RemoteError::Unreachable { .. }) => "08006",
        QueryError::Remote(RemoteError::Failed { .. }) => "58000",
        QueryError::InvalidSql(_) => "42000",
        _ if error.is_user_error() => "42000",
        _ => return internal(error),
    };
    error_info(code, error.to_string())
}

/// An `ERROR` with `code` and `message`.
pub fn error_info(code: &str, message: String) -> ErrorInfo {
    ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)
}

/// Logs a server-side failure and answers without its details.
pub fn internal(error: &dyn std::fmt::Display) -> ErrorInfo {
    tracing::error!(error = %error, "pgwire: internal error");
    error_info(
        "XX000",
        "internal error in the Allmende PostgreSQL server (details are in its log)".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use allmende_query::{Role, Violation};

    #[test]
    fn each_failure_gets_its_own_sqlstate_and_a_reason() {
        let cases = [
            (
                QueryError::PersonalData {
                    table: "musterstadt.melderegister".into(),
                    reason: Violation::RoleForbids { role: Role::Public },
                },
                "42501",
                "musterstadt.melderegister",
            ),
            (
                QueryError::InvalidSql("table 'x' not found".into()),
                "42000",
                "table 'x' not found",
            ),
            (
                QueryError::NotReadOnly("DDL not supported".into()),
                "25006",
                "read-only",
            ),
            (QueryError::Timeout { seconds: 30 }, "57014", "30 s"),
            (QueryError::MemoryLimit { mb: 64 }, "53200", "64 MiB"),
        ];
        for (error, code, needle) in cases {
            let info = query_error(&error);
            assert_eq!(info.code, code, "{error}");
            assert_eq!(info.severity, "ERROR");
            assert!(info.message.contains(needle), "{}", info.message);
        }
    }

    #[test]
    fn server_failures_hide_their_details() {
        for error in [
            QueryError::Internal("/srv/allmende/data/x.parquet".into()),
            QueryError::Execution("at /home/x/src/lib.rs:1".into()),
        ] {
            let info = query_error(&error);
            assert_eq!(info.code, "XX000");
            assert!(!info.message.contains('/'), "{}", info.message);
        }
    }
}
