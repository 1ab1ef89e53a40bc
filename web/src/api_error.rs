//! JSON errors for every API: `{"error": {"code", "message", "request_id"}}` with the right
//! status. Internal failures are logged with the request id and answered with a generic message:
//! clients never see stack traces, SQL internals, paths or prompts.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `invalid_sql`.
    pub code: &'static str,
    /// Message safe to show to the caller.
    pub message: String,
    /// Request id for support.
    pub request_id: Option<String>,
    /// Seconds after which a retry may succeed (sent as `Retry-After`, with 429/503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A client error with a specific message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    /// A server-side failure: logs the detail, answers generically.
    pub fn internal(detail: impl std::fmt::Display, request_id: &str) -> Self {
        tracing::error!(request_id, error = %detail, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: format!(
                "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später erneut (Anfrage-ID {request_id})."
            ),
            request_id: Some(request_id.to_string()),
            retry_after: None,
        }
    }

    /// 429: too many requests right now; retry after `seconds`.
    pub fn busy(message: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "busy", message)
        }
    }

    /// Attaches the request id.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_string());
        self
    }

    /// 404 for unknown routes.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {path}"),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "invalid_json"
        };
        Self::new(status, code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query_string",
            rejection.body_text(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "request_id": self.request_id }
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
