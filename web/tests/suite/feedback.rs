//! `POST /api/feedback` through the real router: a rating of a real answer is stored as one
//! JSON line without personal data, invalid bodies get 400 with the reason, concurrent ratings
//! never interleave, and `/metrics` counts them by rating.

use crate::common;

use std::path::PathBuf;

use allmende_web::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app_with, data_dir, post_json, send, send_raw, test_config};
use serde_json::{Value, json};

/// Each test writes its ratings to its own feedback directory: the data dir is shared, so the
/// test gets a fresh data dir whose snapshots and index are links to the shared ones.
fn isolated_config() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["snapshots", "index"] {
        std::os::unix::fs::symlink(data_dir().join(sub), dir.path().join(sub)).unwrap();
    }
    let mut config = test_config(data_dir());
    config.data_dir = dir.path().to_path_buf();
    (dir, config)
}

/// All stored lines, parsed.
fn stored(config: &Config) -> Vec<Value> {
    let dir: PathBuf = config.data_dir.join("feedback");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.len() == "2026-11-30.jsonl".len() && name.ends_with(".jsonl"),
            "{name}"
        );
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            lines.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
    }
    lines
}

#[tokio::test]
async fn a_rating_of_a_real_answer_is_stored_without_personal_data() {
    let (_dir, mut config) = isolated_config();
    config.limits.widgets = vec![allmende_web::limits::WidgetConfig {
        id: "rathaus".into(),
        origins: vec![],
        daily_tokens: 0,
    }];
    let app = app_with(config.clone()).await;
    let (status, answer) = send(
        app.clone(),
        post_json(
            "/api/chat",
            json!({"message": "Wie melde ich meinen Wohnsitz um?"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer_id = answer["request_id"].as_str().unwrap().to_string();
    let request = Request::post("/api/feedback")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "Mozilla/5.0 (Erika Mustermann)")
        .header("x-forwarded-for", "198.51.100.23")
        .header("x-allmende-widget", "rathaus")
        .body(Body::from(
            json!({"answer_id": answer_id.to_uppercase(), "rating": "down", "reason": "outdated"})
                .to_string(),
        ))
        .unwrap();
    let (status, _, body) = send_raw(app.clone(), request).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_empty());
    let (status, _, _) = send_raw(
        app.clone(),
        post_json(
            "/api/feedback",
            json!({"answer_id": answer_id, "rating": "up"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let lines = stored(&config);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first = lines[0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["answer_id", "minute", "rating", "reason", "widget"]);
    assert_eq!(
        first["answer_id"],
        answer_id.as_str(),
        "stored in canonical form"
    );
    assert_eq!(first["rating"], "down");
    assert_eq!(first["reason"], "outdated");
    assert_eq!(first["widget"], "rathaus");
    let minute = first["minute"].as_str().unwrap();
    assert_eq!(minute.len(), "2026-11-30T09:51Z".len(), "{minute}");
    assert!(
        minute.ends_with('Z') && minute.as_bytes()[10] == b'T',
        "{minute}"
    );
    assert_eq!(lines[1]["reason"], Value::Null);
    assert_eq!(lines[1]["widget"], Value::Null);
    let raw = serde_json::to_string(&lines).unwrap();
    for personal in ["Mozilla", "Mustermann", "198.51.100.23"] {
        assert!(!raw.contains(personal), "{personal} stored: {raw}");
    }
    let (_, _, metrics) =
        send_raw(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    for line in [
        r#"allmende_feedback_total{rating="down"} 1"#,
        r#"allmende_feedback_total{rating="up"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line} in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn invalid_ratings_get_400_with_the_reason() {
    let (_dir, config) = isolated_config();
    let app = app_with(config.clone()).await;
    let id = uuid::Uuid::new_v4().to_string();
    for (body, code, needle) in [
        (
            json!({"answer_id": id, "rating": "meh"}),
            "invalid_feedback",
            "up",
        ),
        (
            json!({"answer_id": id, "rating": "up", "reason": "too long"}),
            "invalid_feedback",
            "not_helpful",
        ),
        (
            json!({"answer_id": "42", "rating": "up"}),
            "invalid_answer_id",
            "UUID",
        ),
        (
            json!({"answer_id": id, "rating": "up", "comment": "Ich heiße Erika"}),
            "invalid_feedback",
            "comment",
        ),
        (json!({"rating": "up"}), "invalid_feedback", "answer_id"),
        (
            json!({"answer_id": id, "rating": 1}),
            "invalid_feedback",
            "rating",
        ),
        (json!([1, 2]), "invalid_feedback", "expected"),
    ] {
        let (status, response) = send(app.clone(), post_json("/api/feedback", body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert_eq!(response["error"]["code"], code, "{body}: {response}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
        assert!(response["error"]["request_id"].is_string());
    }
    let not_json = Request::post("/api/feedback")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{"))
        .unwrap();
    let (status, response) = send(app.clone(), not_json).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert!(!config.data_dir.join("feedback").exists(), "nothing stored");
    let (status, response) = send(
        app,
        Request::get("/api/feedback").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{response}");
    assert_eq!(response["error"]["code"], "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ratings_are_whole_lines() {
    let (_dir, mut config) = isolated_config();
    config.limits.ip_requests_per_minute = 0;
    let app = app_with(config.clone()).await;
    let ids: Vec<String> = (0..60).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let app = app.clone();
            let rating = if i % 3 == 0 { "down" } else { "up" };
            let body = json!({"answer_id": id, "rating": rating, "reason": "other"});
            tokio::spawn(async move { send(app, post_json("/api/feedback", body)).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::NO_CONTENT);
    }
    let lines = stored(&config);
    assert_eq!(lines.len(), ids.len());
    let mut seen: Vec<&str> = lines
        .iter()
        .map(|l| l["answer_id"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
}
