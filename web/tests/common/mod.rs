//! Helpers shared by the web crate's HTTP tests: one ingested Musterstadt data dir per test
//! binary, the real router over it, and request helpers.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::sync::OnceLock;

use allmende_web::config::Config;
use allmende_web::routes::router;
use allmende_web::state::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// One ingested data dir per test binary; every test builds its own state over it.
pub fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().to_path_buf();
        ingest_blocking(test_config(&path));
        (tmp, path)
    })
    .1
}

/// Runs `allmende ingest` for `config` on its own thread and runtime (the caller may already be
/// inside a tokio runtime) and fails the test on any source failure.
pub fn ingest_blocking(config: Config) {
    let report = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(allmende_web::ingest::run(&config))
            .expect("ingest")
    })
    .join()
    .expect("ingest thread");
    assert_eq!(report.failures(), 0, "{}", report.render());
}

/// The test configuration with a tiny random-weight GGUF model (real format, real code path)
/// that writes at most `max_tokens` tokens. Keep the directory alive while the app runs.
#[allow(dead_code)] // not every test binary uses every helper
pub fn tiny_model_config(max_tokens: usize) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tiny.gguf");
    allmende_assistant::llm::write_tiny_qwen2_gguf(&path, 7).expect("tiny model");
    let mut config = test_config(data_dir());
    config.model.name = path.display().to_string();
    config.assistant.max_tokens = max_tokens;
    (dir, config)
}

/// Extractive mode over the built-in Musterstadt only (no dependency on shared sample data).
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.model.name = "none".into();
    config.datasets.shared_dir = data_dir.join("no-shared-data");
    config
}

pub async fn app_with(config: Config) -> axum::Router {
    router(AppState::open(config).await.expect("state"))
}

pub async fn app() -> axum::Router {
    app_with(test_config(data_dir())).await
}

/// Status, content type and body text of a response.
pub async fn send_raw(app: axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let response = app.oneshot(req).await.expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Status and body, parsed as JSON when it is JSON, else as a JSON string.
pub async fn send(app: axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, text) = send_raw(app, req).await;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub fn post_json(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}
