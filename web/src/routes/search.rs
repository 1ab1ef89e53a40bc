//! `GET /api/search?q=…&limit=…`: ranked hits with highlighted snippets.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use crate::api_error::ApiError;
use crate::state::SharedState;

/// Query-string parameters.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    /// The search text.
    pub q: Option<String>,
    /// Hits to return (1–50, default 10).
    pub limit: Option<usize>,
    /// Restrict to one source, e.g. `musterstadt.leistungen`.
    pub source: Option<String>,
}

/// Handler.
pub async fn get_search(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::from(e).with_request_id(&id))?;
    let q = params.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_query",
            "parameter q is required and must not be empty",
        )
        .with_request_id(&id));
    }
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_limit",
            "limit must be between 1 and 50",
        )
        .with_request_id(&id));
    }
    let opts = allmende_search::SearchOptions {
        limit,
        one_hit_per_document: true,
        sources: params.source.into_iter().collect(),
    };
    let index = state.index.clone();
    let query = q.clone();
    let hits = tokio::task::spawn_blocking(move || index.search(&query, &opts))
        .await
        .map_err(|e| ApiError::internal(e, &id))?
        .map_err(|e| match e {
            allmende_search::Error::QueryTooLong { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_too_long", e.to_string())
                    .with_request_id(&id)
            }
            other => ApiError::internal(other, &id),
        })?;
    let hits: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "doc_id": h.doc_id, "title": h.title, "url": h.url, "kind": h.kind,
                "snippet": h.snippet, "snippet_html": h.snippet_html, "score": h.score,
                "licence": h.licence, "attribution": h.attribution, "source": h.source,
            })
        })
        .collect();
    Ok(Json(json!({ "query": q, "hits": hits })))
}
