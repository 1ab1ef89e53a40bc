//! `POST /api/chat` `{"message": "…"}` → `{"answer", "citations": [...], "offices": [...],
//! "mode", "language", "request_id"}`. `offices` holds the cards (name, address, opening hours,
//! appointment URL, phone) of the Musterstadt offices responsible for the cited services, read
//! from the open-data offices table (empty when none); `request_id` is the answer's id for
//! `POST /api/feedback`. Optional fields: `"language"` (`de`, `en`, …; detected from the message when
//! absent) and `"style"` (`standard` or `leichte_sprache`). Number questions are first matched
//! against the curated fact templates (a read-only query on open-data tables, cited with its
//! SQL). Empty message → 400, too long → 413, unknown language → 400, generation queue full →
//! 429 with `Retry-After`; model failures become a friendly 500 with a request id.
//!
//! With `{"message": "…", "stream": true}` or `Accept: text/event-stream` the answer comes as
//! Server-Sent Events instead: `event: token` with `{"text": "…"}` for each piece the model
//! writes, then exactly one `event: done` carrying the same JSON as the plain response (its
//! `answer` is authoritative: citation markers may be renumbered and a cut-off answer trimmed),
//! or one `event: error` with `{"error": {"code", "message", "request_id"}}`. Invalid messages
//! are answered with a plain JSON 4xx before any stream starts.

use std::convert::Infallible;

use allmende_assistant::answer::{Answer, AnswerRequest, AnswerStyle, Language};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::RequestId;
use crate::api_error::ApiError;
use crate::limits::{Admitted, account_generation};
use crate::state::SharedState;

mod offices;

pub use offices::OfficeCard;

/// Events buffered between the generating thread and the client before the model waits.
const STREAM_BUFFER: usize = 64;

/// Request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The citizen's question.
    pub message: String,
    /// Answer as Server-Sent Events (`text/event-stream`) instead of one JSON object.
    #[serde(default)]
    pub stream: bool,
    /// Answer language code (`de`, `en`, …); detected from the message when absent.
    #[serde(default)]
    pub language: Option<String>,
    /// `standard` (default) or `leichte_sprache`.
    #[serde(default)]
    pub style: AnswerStyle,
}

impl ChatRequest {
    /// The assistant request, with the language checked (unknown code → 400) and the facts
    /// for number questions looked up.
    async fn to_answer_request(
        &self,
        state: &SharedState,
        id: &str,
    ) -> Result<AnswerRequest, ApiError> {
        let language = match self.language.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => Some(Language::from_code(code).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_language",
                    format!("unknown language '{code}' (use a code such as de, en, fr, tr, uk)"),
                )
                .with_request_id(id)
            })?),
        };
        let mut request = AnswerRequest::new(self.message.clone());
        request.language = language;
        request.style = self.style;
        request.facts = state.lookup_facts(&self.message, id).await;
        Ok(request)
    }
}

/// Handler.
pub async fn post_chat(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    admitted: Option<Extension<Admitted>>,
    headers: HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let admitted = admitted.map(|Extension(a)| a);
    // An overloaded server answers in time (extractively if need be) rather than with a 504.
    let deadline = state.limiter.answer_deadline();
    let Json(request) = body.map_err(|e| ApiError::from(e).with_request_id(&id))?;
    state
        .assistant
        .validate(&request.message)
        .map_err(|e| api_error(e, &id))?;
    // Overloaded: refuse before the fact lookups (SQL) and retrieval spend CPU.
    state.assistant.admit().map_err(|e| api_error(e, &id))?;
    let mut answer_request = request.to_answer_request(&state, &id).await?;
    if request.stream || accepts_event_stream(&headers) {
        return Ok(stream_answer(state, answer_request, admitted, id));
    }
    let worker = state.clone();
    let started = std::time::Instant::now();
    // Dropped when this request ends early (client gone, time limit): the answer stops.
    let _cancel_on_drop = answer_request.cancel.cancel_on_drop();
    answer_request.deadline = Some(deadline);
    let (answer, raw) = tokio::task::spawn_blocking(move || {
        let mut raw = String::new();
        let answer = worker
            .assistant
            .answer_request(&answer_request, &mut |piece| raw.push_str(piece));
        (answer, raw)
    })
    .await
    .map_err(|e| ApiError::internal(e, &id))?;
    let answer = answer.map_err(|e| api_error(e, &id))?;
    account_generation(&state, admitted.as_ref(), &answer, &raw, started.elapsed());
    state.metrics.record_answer(&answer.mode);
    let offices = offices::for_citations(&state.engine, &answer.citations, &id).await;
    Ok(Json(answer_json(&answer, &offices, &id)).into_response())
}

/// Whether the client asked for `text/event-stream` in its `Accept` header.
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// The assistant's errors as API errors: client mistakes keep their reason, the rest is logged
/// and answered generically.
fn api_error(e: allmende_assistant::Error, id: &str) -> ApiError {
    use allmende_assistant::Error as E;
    match e {
        E::EmptyQuestion => ApiError::new(StatusCode::BAD_REQUEST, "empty_message", e.to_string()),
        E::QuestionTooLong { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "message_too_long",
            e.to_string(),
        ),
        E::Busy {
            retry_after_secs, ..
        } => ApiError::busy(
            "Der Assistent ist gerade stark ausgelastet. Bitte versuchen Sie es in Kürze erneut.",
            retry_after_secs,
        ),
        E::Cancelled => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "cancelled",
            "Die Anfrage wurde abgebrochen. Bitte stellen Sie Ihre Frage erneut.",
        ),
        other => ApiError::internal(other, id),
    }
    .with_request_id(id)
}

/// The JSON body of a finished answer (also the data of the `done` event).
fn answer_json(answer: &Answer, offices: &[OfficeCard], id: &str) -> Value {
    json!({
        "answer": answer.text,
        "citations": answer.citations,
        "offices": offices,
        "mode": answer.mode,
        "language": answer.language,
        "request_id": id,
    })
}

/// An SSE event with a JSON payload.
fn json_event(name: &str, data: &Value) -> Event {
    // Serialising a `Value` cannot fail, and `to_string` never contains a newline.
    Event::default().event(name).data(data.to_string())
}

/// The `error` event for a failure: same body as a JSON error response.
fn error_event(error: &ApiError) -> Event {
    json_event(
        "error",
        &json!({
            "error": {
                "code": error.code,
                "message": error.message,
                "request_id": error.request_id,
            }
        }),
    )
}

/// Runs the model on a blocking thread and streams its pieces as Server-Sent Events; the
/// office cards are looked up once the answer (and so its citations) is known.
fn stream_answer(
    state: SharedState,
    request: AnswerRequest,
    admitted: Option<Admitted>,
    id: String,
) -> Response {
    let (tx, rx) = mpsc::channel::<Event>(STREAM_BUFFER);
    let worker = state.clone();
    let worker_tx = tx.clone();
    let worker_id = id.clone();
    let started = std::time::Instant::now();
    // Lives as long as the response stream: a client that leaves cancels the answer.
    let cancel_on_drop = request.cancel.cancel_on_drop();
    let generation = tokio::task::spawn_blocking(move || {
        let mut open = true;
        let mut raw = String::new();
        let result = worker.assistant.answer_request(&request, &mut |piece| {
            raw.push_str(piece);
            if !open || piece.is_empty() {
                return;
            }
            if worker_tx
                .blocking_send(json_event("token", &json!({ "text": piece })))
                .is_err()
            {
                // The client went away: stop forwarding (the stream's guard cancels the rest).
                tracing::info!(request_id = %worker_id, "chat stream closed by the client");
                open = false;
            }
        });
        // Generated tokens count against the daily budget even when the client left early.
        if let Ok(answer) = &result {
            account_generation(&worker, admitted.as_ref(), answer, &raw, started.elapsed());
        }
        (result, open)
    });
    tokio::spawn(async move {
        let last = match generation.await {
            Ok((_, false)) => return,
            Ok((Ok(answer), true)) => {
                state.metrics.record_answer(&answer.mode);
                let offices = offices::for_citations(&state.engine, &answer.citations, &id).await;
                json_event("done", &answer_json(&answer, &offices, &id))
            }
            Ok((Err(e), true)) => error_event(&api_error(e, &id)),
            Err(e) => error_event(&ApiError::internal(e, &id)),
        };
        let _ = tx.send(last).await;
    });
    let events = futures::stream::unfold((rx, cancel_on_drop), |(mut rx, guard)| async move {
        rx.recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), (rx, guard)))
    });
    super::event_stream(events)
}
