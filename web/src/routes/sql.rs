//! `POST /api/sql`: body `{"sql": "…"}` (or the SQL as `text/plain`); JSON by default, CSV with
//! `?format=csv` or `Accept: text/csv`. Bad SQL → 400 with the parser's message; reading
//! register rows → 403; a query over the time limit → 408.

use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::RequestId;
use crate::api_error::ApiError;
use crate::output;
use crate::state::SharedState;

/// Query-string parameters.
#[derive(Debug, Deserialize)]
pub struct SqlParams {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
}

/// Handler.
pub async fn post_sql(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(params): Query<SqlParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let bad =
        |code, msg: String| ApiError::new(StatusCode::BAD_REQUEST, code, msg).with_request_id(&id);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let sql = if is_json {
        serde_json::from_slice::<SqlBody>(&body)
            .map_err(|e| bad("invalid_json", format!("expected {{\"sql\": \"…\"}}: {e}")))?
            .sql
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| bad("invalid_body", "the SQL must be UTF-8 text".into()))?
    };
    if sql.trim().is_empty() {
        return Err(bad("empty_sql", "the SQL statement is empty".into()));
    }
    let wants_csv = params.format.as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if let Some(f) = params
        .format
        .as_deref()
        .filter(|f| !matches!(*f, "json" | "csv"))
    {
        return Err(bad(
            "invalid_format",
            format!("unknown format '{f}' (use json or csv)"),
        ));
    }

    let result = state.engine.sql(&sql).await.map_err(|e| {
        use allmende_query::Error as E;
        let (status, code) = match &e {
            E::PersonalData { .. } => (StatusCode::FORBIDDEN, "personal_data"),
            E::Timeout { .. } => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            E::NotReadOnly(_) => (StatusCode::BAD_REQUEST, "not_read_only"),
            _ if e.is_user_error() => (StatusCode::BAD_REQUEST, "invalid_sql"),
            _ => return ApiError::internal(&e, &id),
        };
        ApiError::new(status, code, e.to_string()).with_request_id(&id)
    })?;
    if wants_csv {
        let csv = output::to_csv(&result).map_err(|e| ApiError::internal(e, &id))?;
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
    } else {
        let json = output::to_json(&result).map_err(|e| ApiError::internal(e, &id))?;
        Ok(axum::Json(json).into_response())
    }
}
