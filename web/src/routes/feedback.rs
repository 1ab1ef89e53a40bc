//! `POST /api/feedback` `{"answer_id": "<request_id of a /api/chat answer>", "rating": "up" |
//! "down", "reason": "wrong" | "unclear" | "outdated" | "not_helpful" | "other" (optional)}` →
//! `204 No Content`.
//!
//! Each rating is appended as one JSON line to `<data_dir>/feedback/YYYY-MM-DD.jsonl` (UTC):
//! `{"answer_id", "rating", "reason", "minute": "2026-11-30T09:51Z", "widget"}`. Nothing
//! personal is stored: no address, no user agent, no free text, the time only to the minute;
//! `widget` is the id of a configured widget (`X-Allmende-Widget` header or `Origin`, see
//! [`crate::limits::client::widget_of`]) or null. Lines are written whole under a lock, so
//! concurrent ratings never interleave. Invalid bodies get 400 with the reason (unknown rating
//! or reason, an `answer_id` that is not a UUID, unknown fields).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RequestId;
use crate::api_error::ApiError;
use crate::clock;
use crate::state::SharedState;

/// How the citizen rated the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// Helpful.
    Up,
    /// Not helpful.
    Down,
}

impl Rating {
    /// The wire name (also the metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// Why (optional; a fixed list so that no free text — and no personal data — is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The answer is wrong.
    Wrong,
    /// The answer is hard to understand.
    Unclear,
    /// The answer is out of date.
    Outdated,
    /// The answer does not help.
    NotHelpful,
    /// Something else.
    Other,
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `request_id` of the rated answer.
    pub answer_id: String,
    /// Up or down.
    pub rating: Rating,
    /// Why, optionally.
    #[serde(default)]
    pub reason: Option<Reason>,
}

/// One stored line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// The rated answer's request id (canonical lower-case UUID).
    pub answer_id: String,
    /// Up or down.
    pub rating: Rating,
    /// Why, if given.
    pub reason: Option<Reason>,
    /// When, to the minute (UTC), e.g. `2026-11-30T09:51Z`.
    pub minute: String,
    /// The configured widget the rating came through.
    pub widget: Option<String>,
}

/// The append-only feedback files (see the module docs).
#[derive(Debug)]
pub struct FeedbackLog {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl FeedbackLog {
    /// Ratings go to `dir` (created on the first rating).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            lock: Mutex::new(()),
        }
    }

    /// The file for the day of `unix`.
    pub fn file_for(&self, unix: u64) -> PathBuf {
        self.dir.join(format!("{}.jsonl", clock::date(unix)))
    }

    /// Appends `record` as one line to the file of the day of `unix` (blocking I/O).
    pub fn append(&self, record: &FeedbackRecord, unix: u64) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        std::fs::create_dir_all(&self.dir)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file_for(unix))?;
        // One write of the whole line (O_APPEND): no interleaving even across processes.
        file.write_all(&line)
    }
}

/// Handler.
pub async fn post_feedback(
    State(state): State<SharedState>,
    Extension(RequestId(id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let bad = |code, message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, code, message).with_request_id(&id)
    };
    let Json(body) = body.map_err(|e| ApiError::from(e).with_request_id(&id))?;
    let request: FeedbackRequest = serde_json::from_value(body).map_err(|e| {
        bad(
            "invalid_feedback",
            format!(
                "{e}; expected {{\"answer_id\": \"<request_id>\", \"rating\": \"up\"|\"down\", \
                 \"reason\": \"wrong\"|\"unclear\"|\"outdated\"|\"not_helpful\"|\"other\"}}"
            ),
        )
    })?;
    let answer_id = uuid::Uuid::parse_str(request.answer_id.trim())
        .map_err(|_| {
            bad(
                "invalid_answer_id",
                "answer_id must be the request_id of an answer (a UUID)".into(),
            )
        })?
        .hyphenated()
        .to_string();
    let unix = clock::unix_now();
    let record = FeedbackRecord {
        answer_id,
        rating: request.rating,
        reason: request.reason,
        minute: clock::minute(unix),
        widget: crate::limits::client::widget_of(&headers, &state.config.limits.widgets)
            .map(str::to_string),
    };
    let writer = state.clone();
    tokio::task::spawn_blocking(move || writer.feedback.append(&record, unix))
        .await
        .map_err(|e| ApiError::internal(e, &id))?
        .map_err(|e| ApiError::internal(format!("writing feedback: {e}"), &id))?;
    state.metrics.record_feedback(request.rating.as_str());
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_appends_stay_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(FeedbackLog::new(dir.path().join("feedback")));
        let unix = 1_796_040_000;
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let record = FeedbackRecord {
                            answer_id: format!("{t}-{i}-{}", "x".repeat(3000)),
                            rating: Rating::Up,
                            reason: Some(Reason::NotHelpful),
                            minute: clock::minute(unix),
                            widget: None,
                        };
                        log.append(&record, unix).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("feedback/2026-11-30.jsonl")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for line in lines {
            let record: FeedbackRecord = serde_json::from_str(line).expect(line);
            assert_eq!(record.reason, Some(Reason::NotHelpful));
        }
    }
}
