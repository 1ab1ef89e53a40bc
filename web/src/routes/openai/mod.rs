//! An OpenAI-compatible API in front of the *citizen assistant* (works with the official
//! `openai` clients, `base_url = "http://host:port/v1"`, any API key):
//!
//! - `GET /v1/models` → `{"object": "list", "data": [{"id", "object": "model", "created",
//!   "owned_by": "allmende"}]}` with the served chat model first (its name, or
//!   `allmende-extractive` without a model; `created` is the server's start time), then
//!   `multilingual-e5-small` when the sentence encoder is loaded.
//! - `POST /v1/embeddings`: sentence vectors, see [`embeddings`].
//! - `POST /v1/chat/completions` answers the **last `user` message** through the same grounded
//!   path as `/api/chat` (person guard, fact templates, retrieval, checked citations). This is
//!   not raw model access: client `system`/`developer` messages and earlier turns are ignored,
//!   and `max_tokens`, `temperature`, `top_p`, `stop`, `seed` are accepted but the configured
//!   settings apply. `model` may be anything; responses name the served model. The content is
//!   the answer with `[n]` markers; extra top-level fields carry `citations` (the same JSON as
//!   `/api/chat`) and `mode`. `usage` is an estimate: `prompt_tokens` counts the question and
//!   `completion_tokens` the answer text with the model's tokenizer (the server's own prompt
//!   with the retrieved passages is not counted); without a model both are 0.
//! - With `"stream": true`: `text/event-stream` of `data: {chat.completion.chunk}` lines — first
//!   a `{"role": "assistant"}` delta, then `{"content": …}` deltas as the model writes, then a
//!   chunk with an empty delta, `finish_reason: "stop"`, `citations` and `mode`, then
//!   `data: [DONE]`. The streamed text is the model's raw text; the assistant's final text may
//!   differ (citation markers renumbered, a cut-off answer trimmed, or a withheld answer
//!   replaced by a refusal) — the final chunk carries only the citations, so clients that need
//!   the authoritative text use the non-streaming call. A failure before the first piece is a
//!   plain HTTP error (e.g. 429 with `Retry-After`); a later one is a `data: {"error": …}` line.
//! - Errors: `{"error": {"message", "type", "param": null, "code"}}` — 400 invalid JSON, no or
//!   empty user message; 413 too long; 429 busy, rate-limited or daily budget spent
//!   (`Retry-After`, see [`crate::limits`]); 504 over the time limit; 500 generic with the
//!   request id. Tokens the model writes are charged to the daily budget.

pub mod embeddings;
mod wire;

use std::convert::Infallible;

use allmende_assistant::answer::{Answer, AnswerRequest};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use embeddings::{EMBEDDING_MODEL_ID, embeddings};
use wire::{Completion, Usage};
pub use wire::{CompletionRequest, OpenAiError};

use super::RequestId;
use crate::limits::{Admitted, account_generation};
use crate::state::SharedState;

/// The model id reported when answers are extractive (no model loaded).
pub const EXTRACTIVE_MODEL_ID: &str = "allmende-extractive";

/// Pieces buffered between the generating thread and the client before the model waits.
const STREAM_BUFFER: usize = 64;

/// The served model's id.
fn model_id(state: &SharedState) -> String {
    state
        .assistant
        .model_name()
        .unwrap_or(EXTRACTIVE_MODEL_ID)
        .to_string()
}

/// `GET /v1/models`.
pub async fn list_models(State(state): State<SharedState>) -> Json<Value> {
    let model = |id: &str| {
        json!({
            "id": id,
            "object": "model",
            "created": state.metrics.started_unix(),
            "owned_by": "allmende",
        })
    };
    let mut data = vec![model(&model_id(&state))];
    if state.encoder.is_some() {
        data.push(model(EMBEDDING_MODEL_ID));
    }
    Json(json!({ "object": "list", "data": data }))
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    admitted: Option<Extension<Admitted>>,
    body: Result<Json<CompletionRequest>, JsonRejection>,
) -> Result<Response, OpenAiError> {
    let admitted = admitted.map(|Extension(a)| a);
    let Json(request) = body?;
    let question = request.question()?;
    state
        .assistant
        .validate(&question)
        .map_err(|e| OpenAiError::from_assistant(e, &id))?;
    // A non-streamed completion is answered in time (extractively if need be), never a 504.
    let deadline = state.limiter.answer_deadline();
    // Overloaded: refuse before the fact lookups (SQL) and retrieval spend CPU.
    state
        .assistant
        .admit()
        .map_err(|e| OpenAiError::from_assistant(e, &id))?;
    let mut answer_request = AnswerRequest::new(question.clone());
    answer_request.facts = state.lookup_facts(&question, &id).await;
    let completion = Completion::new(model_id(&state));
    if request.stream.unwrap_or(false) {
        return stream(state, answer_request, completion, id, admitted).await;
    }
    answer_request.deadline = Some(deadline);
    let worker = state.clone();
    // Dropped when this request ends early (client gone, time limit): the answer stops.
    let _cancel_on_drop = answer_request.cancel.cancel_on_drop();
    let (answer, usage) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut raw = String::new();
        let answer = worker
            .assistant
            .answer_request(&answer_request, &mut |piece| raw.push_str(piece))?;
        account_generation(&worker, admitted.as_ref(), &answer, &raw, started.elapsed());
        let usage = estimate_usage(&worker, &answer_request.question, &answer.text);
        Ok::<_, allmende_assistant::Error>((answer, usage))
    })
    .await
    .map_err(|e| OpenAiError::internal(e, &id))?
    .map_err(|e| OpenAiError::from_assistant(e, &id))?;
    state.metrics.record_answer(&answer.mode);
    Ok(Json(completion.response(&answer, usage)).into_response())
}

/// Token counts with the model's tokenizer; zeros without a model (or if counting fails).
fn estimate_usage(state: &SharedState, question: &str, answer: &str) -> Usage {
    let Some(llm) = state.assistant.llm() else {
        return Usage::default();
    };
    Usage {
        prompt: llm.count_tokens(question).unwrap_or(0),
        completion: llm.count_tokens(answer).unwrap_or(0),
    }
}

/// What the generating thread sends to the stream.
enum Message {
    Piece(String),
    Done(Box<Answer>),
    Failed(OpenAiError),
}

/// Runs the assistant on a blocking thread and streams its pieces as completion chunks. Waits
/// for the first message so that an early failure (busy, …) is a plain HTTP error.
async fn stream(
    state: SharedState,
    request: AnswerRequest,
    completion: Completion,
    id: String,
    admitted: Option<Admitted>,
) -> Result<Response, OpenAiError> {
    let (tx, mut rx) = mpsc::channel::<Message>(STREAM_BUFFER);
    let panic_tx = tx.clone();
    let worker_id = id.clone();
    let early_id = id.clone();
    // Lives as long as the response stream: a client that leaves cancels the answer.
    let cancel_on_drop = request.cancel.cancel_on_drop();
    let generation = tokio::task::spawn_blocking(move || {
        let mut open = true;
        let started = std::time::Instant::now();
        let mut raw = String::new();
        let result = state.assistant.answer_request(&request, &mut |piece| {
            raw.push_str(piece);
            if open && !piece.is_empty() && tx.blocking_send(Message::Piece(piece.into())).is_err()
            {
                // The client went away: stop forwarding (the stream's guard cancels the rest).
                tracing::info!(request_id = %worker_id, "completion stream closed by the client");
                open = false;
            }
        });
        let last = match result {
            Ok(answer) => {
                state.metrics.record_answer(&answer.mode);
                account_generation(&state, admitted.as_ref(), &answer, &raw, started.elapsed());
                Message::Done(Box::new(answer))
            }
            Err(e) => Message::Failed(OpenAiError::from_assistant(e, &worker_id)),
        };
        if open {
            let _ = tx.blocking_send(last);
        }
    });
    tokio::spawn(async move {
        if let Err(e) = generation.await {
            let _ = panic_tx
                .send(Message::Failed(OpenAiError::internal(e, &id)))
                .await;
        }
    });
    let first = match rx.recv().await {
        Some(Message::Failed(e)) => return Err(e),
        Some(first) => first,
        None => {
            return Err(OpenAiError::internal(
                "the answer stream ended early",
                &early_id,
            ));
        }
    };
    let role = data(&completion.chunk(json!({ "role": "assistant", "content": "" }), None));
    let to_events = move |message: Message| -> Vec<Event> {
        let _guard = &cancel_on_drop; // owned by the stream: dropped with it
        match message {
            Message::Piece(text) => vec![data(&completion.chunk(json!({ "content": text }), None))],
            Message::Done(answer) => vec![
                data(&completion.final_chunk(&answer)),
                Event::default().data("[DONE]"),
            ],
            Message::Failed(e) => vec![data(&e.body())],
        }
    };
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|message| (message, rx))
    });
    let events = futures::stream::iter([first])
        .chain(rest)
        .flat_map(move |m| futures::stream::iter(to_events(m)));
    let events = futures::stream::iter([role])
        .chain(events)
        .map(Ok::<_, Infallible>);
    Ok(super::event_stream(events))
}

/// An unnamed SSE event with a JSON payload (`to_string` never contains a newline).
fn data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}
