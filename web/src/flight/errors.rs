//! What can go wrong in a Flight SQL call, and the gRPC status each failure becomes.
//!
//! The mapping mirrors `POST /api/sql`: a privacy refusal is `PERMISSION_DENIED` (403 there),
//! bad or non-read-only SQL `INVALID_ARGUMENT` (400), the time limit `DEADLINE_EXCEEDED` (408),
//! the memory limit `RESOURCE_EXHAUSTED` (422), an unknown token `UNAUTHENTICATED` (401), a
//! member node refusing `PERMISSION_DENIED` (403) or down `UNAVAILABLE` (502). Server-side
//! failures are logged and answered with a generic `INTERNAL` message: clients never see
//! paths, plans or stack traces.

use allmende_query::Error as QueryError;
use allmende_query::federation::RemoteError;
use tonic::Status;

/// A failed Flight SQL call.
#[derive(Debug, thiserror::Error)]
pub enum FlightSqlError {
    /// Planning or running the SQL failed (privacy refusal, bad SQL, time limit, …).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The `authorization` metadata is malformed or names a token this server does not know.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// The `authorization` metadata is not `Bearer <token>` or `Basic <base64(user:token)>`.
    #[error(
        "the authorization metadata must be `Bearer <token>` (or, for the handshake, `Basic` with the token as password): {0}"
    )]
    BadAuthorization(String),
    /// A ticket or prepared-statement handle that this server did not issue.
    #[error("invalid statement handle: {0}")]
    BadHandle(String),
    /// Something this server does not offer (updates, transactions, Substrait, …).
    #[error("{0} is not supported: Allmende's Flight SQL interface is read-only SQL")]
    Unsupported(&'static str),
    /// Encoding a schema or batches failed: a bug or an unexpected type.
    #[error("encoding the result failed: {0}")]
    Encode(String),
}

impl From<FlightSqlError> for Status {
    fn from(error: FlightSqlError) -> Self {
        match &error {
            FlightSqlError::Query(query) => query_status(query),
            FlightSqlError::Auth(_) => Status::unauthenticated(error.to_string()),
            FlightSqlError::BadAuthorization(_) => Status::unauthenticated(error.to_string()),
            FlightSqlError::BadHandle(_) => Status::invalid_argument(error.to_string()),
            FlightSqlError::Unsupported(_) => Status::unimplemented(error.to_string()),
            FlightSqlError::Encode(_) => internal(&error),
        }
    }
}

/// The status for a query error, with the engine's message for the caller's own mistakes.
fn query_status(error: &QueryError) -> Status {
    match error {
        QueryError::PersonalData { .. } => Status::permission_denied(error.to_string()),
        QueryError::Timeout { .. } => Status::deadline_exceeded(error.to_string()),
        QueryError::MemoryLimit { .. } => Status::resource_exhausted(error.to_string()),
        QueryError::Remote(RemoteError::Refused { .. }) => {
            Status::permission_denied(error.to_string())
        }
        QueryError::Remote(_) => Status::unavailable(error.to_string()),
        QueryError::InvalidSql(_) | QueryError::NotReadOnly(_) => {
            Status::invalid_argument(error.to_string())
        }
        _ if error.is_user_error() => Status::invalid_argument(error.to_string()),
        _ => internal(error),
    }
}

/// Logs a server-side failure and answers without its details.
fn internal(error: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %error, "flight sql: internal error");
    Status::internal("internal error in the Allmende Flight SQL server (details are in its log)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use allmende_query::{Role, Violation};
    use tonic::Code;

    #[test]
    fn each_failure_gets_its_own_code_and_a_reason() {
        let refused = FlightSqlError::Query(QueryError::PersonalData {
            table: "musterstadt.melderegister".into(),
            reason: Violation::RoleForbids { role: Role::Public },
        });
        let cases = [
            (refused, Code::PermissionDenied, "musterstadt.melderegister"),
            (
                QueryError::InvalidSql("table 'x' not found".into()).into(),
                Code::InvalidArgument,
                "table 'x' not found",
            ),
            (
                QueryError::NotReadOnly("DDL not supported".into()).into(),
                Code::InvalidArgument,
                "read-only",
            ),
            (
                QueryError::Timeout { seconds: 30 }.into(),
                Code::DeadlineExceeded,
                "30 s",
            ),
            (
                crate::auth::AuthError::UnknownToken.into(),
                Code::Unauthenticated,
                "not valid",
            ),
            (
                FlightSqlError::Unsupported("updates"),
                Code::Unimplemented,
                "read-only",
            ),
        ];
        for (error, code, needle) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code, "{status:?}");
            assert!(status.message().contains(needle), "{status:?}");
        }
    }

    #[test]
    fn server_failures_hide_their_details() {
        for error in [
            FlightSqlError::Query(QueryError::Internal("/srv/allmende/data/x.parquet".into())),
            FlightSqlError::Query(QueryError::Execution("at /home/x/src/lib.rs:1".into())),
            FlightSqlError::Encode("/tmp/secret".into()),
        ] {
            let status = Status::from(error);
            assert_eq!(status.code(), Code::Internal);
            assert!(!status.message().contains('/'), "{status:?}");
        }
    }
}
