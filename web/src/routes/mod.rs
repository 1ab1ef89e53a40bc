//! The HTTP surface: one file per route group, assembled here with the request-id and metrics
//! middleware, the body limit, the defences of [`crate::limits`] on the endpoints that cost
//! compute, and JSON fallbacks for unknown routes (404) and methods (405). Every route is
//! described in the OpenAPI document at `/openapi.json` ([`openapi`]).

pub mod chat;
pub mod feedback;
pub mod health;
pub mod openai;
pub mod openapi;
pub mod search;
pub mod sql;
pub mod widget;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api_error::ApiError;
use crate::state::SharedState;

/// A Server-Sent Events response with keep-alive comments that reverse proxies (nginx) pass on
/// as the events come (`x-accel-buffering: no`).
pub(crate) fn event_stream<S>(events: S) -> Response
where
    S: futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
        + Send
        + 'static,
{
    let mut response = axum::response::sse::Sse::new(events)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response();
    response.headers_mut().insert(
        axum::http::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

/// The id of one request, echoed in the `x-request-id` header and in error bodies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Builds the router.
pub fn router(state: SharedState) -> Router {
    let max_body = state.config.server.max_body_bytes;
    let [csp, nosniff, referrer, permissions] =
        crate::security::header_layers(&state.config.server);
    let cors = crate::security::cors_layer(&state.config.server);
    // Endpoints that generate text: rate limits, the daily token budget, the time limit.
    let generating = Router::new()
        .route("/api/chat", post(chat::post_chat))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limits::guard_generation,
        ));
    // Other endpoints a client could overuse: rate limits and the time limit.
    let limited = Router::new()
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/api/feedback", post(feedback::post_feedback))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limits::guard_requests,
        ));
    Router::new()
        .route("/", get(widget::index))
        .route("/widget.js", get(widget::script))
        .route("/widget.css", get(widget::style))
        .route("/demo", get(widget::demo))
        .route("/demo.css", get(widget::demo_style))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/sql", post(sql::post_sql))
        .route("/api/search", get(search::get_search))
        .route("/v1/models", get(openai::list_models))
        .route("/metrics", get(crate::metrics::get_metrics))
        .route("/openapi.json", get(openapi::get_openapi))
        .merge(generating)
        .merge(limited)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(cors)
        .layer(csp)
        .layer(nosniff)
        .layer(referrer)
        .layer(permissions)
        .with_state(state)
}

async fn fallback(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not supported on {}", uri.path()),
    )
}

/// Gives every request an id (a fresh UUID), logs the request with it, and returns it.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let mut response = next.run(req).await.into_response();
    tracing::info!(
        request_id = %id,
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
