//! `POST /api/chat` `{"message": "…"}` → `{"answer", "citations": [...], "mode", "request_id"}`.
//! Empty message → 400, too long → 413; model failures become a friendly 500 with a request id.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::RequestId;
use crate::api_error::ApiError;
use crate::state::SharedState;

/// Request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The citizen's question.
    pub message: String,
}

/// Handler.
pub async fn post_chat(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError::from(e).with_request_id(&id))?;
    let worker = state.clone();
    let answer = tokio::task::spawn_blocking(move || worker.assistant.answer(&request.message))
        .await
        .map_err(|e| ApiError::internal(e, &id))?
        .map_err(|e| {
            use allmende_assistant::Error as E;
            match e {
                E::EmptyQuestion => {
                    ApiError::new(StatusCode::BAD_REQUEST, "empty_message", e.to_string())
                }
                E::QuestionTooLong { .. } => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "message_too_long",
                    e.to_string(),
                ),
                other => ApiError::internal(other, &id),
            }
            .with_request_id(&id)
        })?;
    Ok(Json(json!({
        "answer": answer.text,
        "citations": answer.citations,
        "mode": answer.mode,
        "request_id": id,
    })))
}
