//! `POST /api/chat` as Server-Sent Events: token events while the answer is written, then one
//! `done` event with the authoritative answer and its citations; invalid messages still get a
//! plain JSON error before any stream starts.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, app_with, post_json, send_raw};
use serde_json::{Value, json};

/// The `(event, data)` pairs of an SSE body; comments (keep-alives) are skipped.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim_start().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                return None;
            }
            let data = serde_json::from_str(&data.join("\n"))
                .unwrap_or_else(|e| panic!("event data is JSON ({e}): {block}"));
            Some((name, data))
        })
        .collect()
}

/// Checks the shape of a successful stream and returns the streamed text and the `done` data.
fn check_stream(status: StatusCode, content_type: &str, body: &str) -> (String, Value) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert!(body.contains("event: token"), "{body}");
    assert_eq!(body.matches("event: done").count(), 1, "{body}");
    let events = events(body);
    let (last, done) = events.last().expect("events");
    assert_eq!(last, "done", "done comes last: {body}");
    let mut streamed = String::new();
    for (name, data) in &events[..events.len() - 1] {
        assert_eq!(name, "token", "{body}");
        streamed.push_str(data["text"].as_str().expect("token text"));
    }
    let citations = done["citations"].as_array().expect("citations");
    assert!(!citations.is_empty(), "{done}");
    assert!(done["answer"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(done["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    (streamed, done.clone())
}

#[tokio::test]
async fn stream_true_answers_with_token_and_done_events() {
    let (status, content_type, body) = send_raw(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wie melde ich meinen Wohnsitz um?", "stream": true }),
        ),
    )
    .await;
    let (streamed, done) = check_stream(status, &content_type, &body);
    assert_eq!(done["mode"]["kind"], "extractive");
    assert_eq!(streamed, done["answer"].as_str().unwrap());
    assert!(
        done["citations"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/leistungen/wohnsitz-ummelden"),
        "{done}"
    );
}

#[tokio::test]
async fn accept_event_stream_also_streams() {
    let req = Request::post("/api/chat")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "text/event-stream")
        .body(Body::from(
            json!({ "message": "Was kostet ein Personalausweis?" }).to_string(),
        ))
        .unwrap();
    let (status, content_type, body) = send_raw(app().await, req).await;
    check_stream(status, &content_type, &body);
}

#[tokio::test]
async fn plain_requests_still_get_json() {
    let (status, content_type, body) = send_raw(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wie melde ich meinen Wohnsitz um?" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["mode"]["kind"], "extractive");
}

#[tokio::test]
async fn invalid_messages_get_json_errors_before_any_stream() {
    let cases = [
        (
            json!({ "message": "   ", "stream": true }),
            StatusCode::BAD_REQUEST,
            "empty_message",
        ),
        (
            json!({ "message": "Wohnsitz ".repeat(300), "stream": true }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "message_too_long",
        ),
        (
            json!({ "stream": true }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
    ];
    for (request, want_status, want_code) in cases {
        let (status, content_type, body) =
            send_raw(app().await, post_json("/api/chat", request)).await;
        assert_eq!(status, want_status, "{body}");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], want_code, "{body}");
    }
}

#[tokio::test]
async fn tiny_gguf_model_streams_generated_tokens() {
    let (_model_dir, config) = common::tiny_model_config(8);
    let (status, content_type, body) = send_raw(
        app_with(config).await,
        post_json(
            "/api/chat",
            json!({ "message": "Personalausweis beantragen", "stream": true }),
        ),
    )
    .await;
    let (streamed, done) = check_stream(status, &content_type, &body);
    assert!(!streamed.is_empty(), "{body}");
    assert_eq!(done["mode"]["kind"], "generated", "{done}");
}
