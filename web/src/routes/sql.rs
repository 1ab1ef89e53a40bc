//! `POST /api/sql`: the analyst interface. Body `{"sql": "…"}` (or the SQL as `text/plain`).
//!
//! - Who: `Authorization: Bearer <token>` with a token from `[[auth.tokens]]` runs the query
//!   under that token's role; no header runs it as `query.default_role`; a malformed header or an
//!   unknown token is a 401 with `WWW-Authenticate: Bearer` ([`crate::auth`]).
//! - What comes back: JSON (default), CSV, an Arrow IPC stream or a Parquet file, chosen by
//!   `?format=json|csv|arrow|parquet` or else the `Accept` header (`*/*` → JSON; only
//!   unsupported types → 406). CSV and Arrow are encoded while they are sent, chunk by chunk.
//!   `x-allmende-row-count` and `x-allmende-truncated` tell every format whether rows were cut at
//!   `query.max_rows`.
//! - Errors: bad SQL → 400 with the parser's message; a query the privacy policy refuses for
//!   the caller's role → 403; over the time limit → 408; over the per-query memory limit
//!   (`query.memory_limit_mb`) → 422; a member node refusing its part → 403, a member node
//!   down or failing → 502 (the message names the node).

use allmende_query::federation::RemoteError;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::RequestId;
use crate::api_error::ApiError;
use crate::auth::{self, AuthError, Caller};
use crate::output;
use crate::state::SharedState;

/// `x-allmende-row-count`: rows in the result.
pub const ROW_COUNT_HEADER: &str = "x-allmende-row-count";
/// `x-allmende-truncated`: `true` when rows beyond `query.max_rows` were dropped.
pub const TRUNCATED_HEADER: &str = "x-allmende-truncated";

/// Query-string parameters.
#[derive(Debug, Deserialize)]
pub struct SqlParams {
    /// `json` (default), `csv`, `arrow` or `parquet`; overrides `Accept`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
}

/// The result formats of `POST /api/sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFormat {
    /// `{"columns", "rows", "row_count", "truncated"}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// An Arrow IPC stream.
    Arrow,
    /// A Parquet file.
    Parquet,
}

impl SqlFormat {
    /// Every format, in the order of the documentation.
    pub const ALL: [SqlFormat; 4] = [
        SqlFormat::Json,
        SqlFormat::Csv,
        SqlFormat::Arrow,
        SqlFormat::Parquet,
    ];

    /// The `?format=` name.
    pub fn name(self) -> &'static str {
        match self {
            SqlFormat::Json => "json",
            SqlFormat::Csv => "csv",
            SqlFormat::Arrow => "arrow",
            SqlFormat::Parquet => "parquet",
        }
    }

    /// The media type (without parameters) matched against `Accept`.
    pub fn media_type(self) -> &'static str {
        match self {
            SqlFormat::Json => "application/json",
            SqlFormat::Csv => "text/csv",
            SqlFormat::Arrow => "application/vnd.apache.arrow.stream",
            SqlFormat::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            SqlFormat::Csv => "text/csv; charset=utf-8",
            other => other.media_type(),
        }
    }

    /// The format named `name` in `?format=`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The format a media range of `Accept` asks for (`*/*` and `application/*` → JSON,
    /// `text/*` → CSV).
    fn from_media_range(range: &str) -> Option<Self> {
        let range = range.trim().to_ascii_lowercase();
        match range.as_str() {
            "*/*" | "application/*" => Some(SqlFormat::Json),
            "text/*" => Some(SqlFormat::Csv),
            _ => Self::ALL.into_iter().find(|f| f.media_type() == range),
        }
    }
}

/// Why no result format could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// `?format=` names no format (400).
    Unknown(String),
    /// `Accept` names only types this endpoint cannot produce (406).
    NotAcceptable,
}

/// The result format: `?format=` when given, else the most preferred supported media range of
/// `Accept` (ranges with `q=0` are refused ones), else JSON.
pub fn choose_format(param: Option<&str>, accept: Option<&str>) -> Result<SqlFormat, FormatError> {
    if let Some(name) = param {
        return SqlFormat::from_name(name.trim()).ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            FormatError::Unknown(shown)
        });
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(SqlFormat::Json);
    };
    let mut ranges: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!range.is_empty() && q > 0.0).then_some((q, range))
        })
        .collect();
    // Highest weight first; equal weights keep the client's order.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges
        .into_iter()
        .find_map(|(_, range)| SqlFormat::from_media_range(range))
        .ok_or(FormatError::NotAcceptable)
}

/// Handler.
pub async fn post_sql(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    Query(params): Query<SqlParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(&state, &id, params, &headers, body)
        .await
        .unwrap_or_else(std::convert::identity)
}

async fn run(
    state: &SharedState,
    id: &str,
    params: SqlParams,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let caller = authenticate(state, headers).map_err(|e| unauthorized(&e, id))?;
    let api = |status, code, msg: String| {
        ApiError::new(status, code, msg)
            .with_request_id(id)
            .into_response()
    };
    let bad = |code, msg: String| api(StatusCode::BAD_REQUEST, code, msg);
    let accept = match headers.get(header::ACCEPT) {
        // A value that is not visible ASCII names nothing this endpoint produces.
        Some(value) => Some(value.to_str().unwrap_or("\u{0}")),
        None => None,
    };
    let format = choose_format(params.format.as_deref(), accept).map_err(|e| match e {
        FormatError::Unknown(f) => bad(
            "invalid_format",
            format!("unknown format '{f}' (use json, csv, arrow or parquet)"),
        ),
        FormatError::NotAcceptable => api(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!(
                "the Accept header names no supported type; use one of {} (or ?format=)",
                SqlFormat::ALL.map(SqlFormat::media_type).join(", ")
            ),
        ),
    })?;

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

    // The statement itself is not logged: its literals could name a person.
    tracing::info!(
        request_id = id,
        caller = caller.display_name(),
        role = %caller.role,
        format = format.name(),
        "sql query"
    );
    let result = state.engine.sql_as(&sql, caller.role).await.map_err(|e| {
        use allmende_query::Error as E;
        let (status, code) = match &e {
            E::PersonalData { .. } => (StatusCode::FORBIDDEN, "personal_data"),
            E::Timeout { .. } => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            E::MemoryLimit { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "memory_limit"),
            E::Remote(RemoteError::Refused { .. }) => (StatusCode::FORBIDDEN, "remote_refused"),
            E::Remote(_) => (StatusCode::BAD_GATEWAY, "remote_node"),
            E::NotReadOnly(_) => (StatusCode::BAD_REQUEST, "not_read_only"),
            _ if e.is_user_error() => (StatusCode::BAD_REQUEST, "invalid_sql"),
            _ => return ApiError::internal(&e, id).into_response(),
        };
        api(status, code, e.to_string())
    })?;
    render(result, format, id).await
}

/// The caller behind the request's `Authorization` header.
fn authenticate(state: &SharedState, headers: &HeaderMap) -> Result<Caller, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let header = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(value), None) => Some(value.to_str().map_err(|_| AuthError::MalformedToken)?),
        (Some(_), Some(_)) => return Err(AuthError::MalformedToken),
    };
    auth::caller_for_bearer(&state.config.auth, state.config.query.default_role, header)
}

/// 401 with the reason and a `WWW-Authenticate: Bearer` challenge.
fn unauthorized(e: &AuthError, id: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
        .with_request_id(id)
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&e.www_authenticate()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The result in `format`, with the row count and truncation headers.
async fn render(
    result: allmende_query::QueryResult,
    format: SqlFormat,
    id: &str,
) -> Result<Response, Response> {
    let internal = |e: &dyn std::fmt::Display| ApiError::internal(e, id).into_response();
    let rows = result.num_rows();
    let truncated = result.truncated;
    let mut response = match format {
        SqlFormat::Json => {
            let json = output::to_json(&result).map_err(|e| internal(&e))?;
            axum::Json(json).into_response()
        }
        SqlFormat::Csv => {
            let chunks = output::csv_chunks(&result).map_err(|e| {
                ApiError::new(StatusCode::NOT_ACCEPTABLE, "not_acceptable", e.to_string())
                    .with_request_id(id)
                    .into_response()
            })?;
            streamed(chunks, format, id)
        }
        SqlFormat::Arrow => {
            let chunks = output::arrow_ipc_chunks(&result).map_err(|e| internal(&e))?;
            streamed(chunks, format, id)
        }
        SqlFormat::Parquet => {
            let file = tokio::task::spawn_blocking(move || output::to_parquet(&result))
                .await
                .map_err(|e| internal(&e))?
                .map_err(|e| internal(&e))?;
            let mut response =
                ([(header::CONTENT_TYPE, format.content_type())], file).into_response();
            let disposition = format!("attachment; filename=\"allmende-sql-{id}.parquet\"");
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static(ROW_COUNT_HEADER), rows.into());
    headers.insert(
        HeaderName::from_static(TRUNCATED_HEADER),
        HeaderValue::from_static(if truncated { "true" } else { "false" }),
    );
    Ok(response)
}

/// A body encoded chunk by chunk as it is sent. An encoding failure after the first chunk can
/// only end the body early; it is logged with the request id.
fn streamed<I>(chunks: I, format: SqlFormat, id: &str) -> Response
where
    I: Iterator<Item = Result<Vec<u8>, arrow::error::ArrowError>> + Send + 'static,
{
    let id = id.to_string();
    let stream = futures::stream::iter(chunks.map(move |chunk| {
        chunk.map(Bytes::from).inspect_err(|e| {
            tracing::error!(request_id = %id, error = %e, "encoding the SQL result failed");
        })
    }));
    (
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_parameter_wins_over_accept() {
        for f in SqlFormat::ALL {
            assert_eq!(choose_format(Some(f.name()), Some("text/csv")), Ok(f));
        }
        assert_eq!(
            choose_format(Some("xml"), None),
            Err(FormatError::Unknown("xml".into()))
        );
        assert_eq!(
            choose_format(Some("JSON"), None),
            Err(FormatError::Unknown("JSON".into())),
            "names are lower case"
        );
        let long = "x".repeat(100);
        assert_eq!(
            choose_format(Some(&long), None),
            Err(FormatError::Unknown("x".repeat(40)))
        );
    }

    #[test]
    fn accept_is_negotiated_by_weight_then_order() {
        let pick = |accept: &str| choose_format(None, Some(accept));
        assert_eq!(choose_format(None, None), Ok(SqlFormat::Json));
        assert_eq!(pick(""), Ok(SqlFormat::Json));
        assert_eq!(pick("*/*"), Ok(SqlFormat::Json));
        assert_eq!(pick("text/csv"), Ok(SqlFormat::Csv));
        assert_eq!(pick("Text/CSV; charset=utf-8"), Ok(SqlFormat::Csv));
        assert_eq!(pick("text/*"), Ok(SqlFormat::Csv));
        assert_eq!(
            pick("application/vnd.apache.arrow.stream"),
            Ok(SqlFormat::Arrow)
        );
        assert_eq!(
            pick("application/vnd.apache.parquet"),
            Ok(SqlFormat::Parquet)
        );
        assert_eq!(
            pick("application/xml, text/csv;q=0.5, application/vnd.apache.parquet;q=0.9"),
            Ok(SqlFormat::Parquet)
        );
        assert_eq!(pick("text/csv, application/json"), Ok(SqlFormat::Csv));
        assert_eq!(pick("text/csv;q=0, */*;q=0.1"), Ok(SqlFormat::Json));
        // A browser's default.
        assert_eq!(
            pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Ok(SqlFormat::Json)
        );
        assert_eq!(pick("application/xml"), Err(FormatError::NotAcceptable));
        assert_eq!(pick("text/csv;q=0"), Err(FormatError::NotAcceptable));
        assert_eq!(
            pick("image/png, text/html"),
            Err(FormatError::NotAcceptable)
        );
    }
}
