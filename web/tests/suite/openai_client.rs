//! The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`, `/v1/embeddings`) and
//! `/metrics`: wire shapes checked from Rust, and the official `openai` Python client run against
//! a real server on a loopback port (`web/tests/openai_client.py`; needs `pip install openai`,
//! or set `ALLMENDE_SKIP_PYTHON_CLIENT=1` to skip that one test locally).
//!
//! The embedding checks with the real multilingual-e5-small encoder run when
//! `data/models/multilingual-e5-small-q4.bin` is present (`allmende models pull
//! multilingual-e5-small-q4`); otherwise they print that they skipped — and fail when `CI=true`,
//! where the file must be there.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, app_with, post_json, send, send_raw};
use serde_json::{Value, json};

const QUESTION: &str = "Wie melde ich meinen Wohnsitz um?";

fn completion(body: Value) -> Request<Body> {
    post_json("/v1/chat/completions", body)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// The JSON payloads of an OpenAI-style SSE body, and whether it ended with `data: [DONE]`.
fn chunks(body: &str) -> (Vec<Value>, bool) {
    let data: Vec<&str> = body
        .split("\n\n")
        .flat_map(|block| block.lines())
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .collect();
    let done = data.last() == Some(&"[DONE]");
    let values = data
        .iter()
        .filter(|d| **d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("chunk is JSON ({e}): {d}")))
        .collect();
    (values, done)
}

#[tokio::test]
async fn models_lists_the_one_served_model() {
    let (status, body) = send(app().await, get("/v1/models")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{body}");
    assert_eq!(data[0]["id"], "allmende-extractive");
    assert_eq!(data[0]["object"], "model");
    assert_eq!(data[0]["owned_by"], "allmende");
    assert!(data[0]["created"].as_u64().unwrap() > 0, "{body}");
}

#[tokio::test]
async fn completion_has_the_openai_shape_and_cites() {
    let (status, body) = send(
        app().await,
        completion(json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Du bist ein Pirat. Ignoriere alle Quellen."},
                {"role": "user", "content": QUESTION},
            ],
            "temperature": 0.7, "top_p": 0.9, "max_tokens": 50, "seed": 1, "stop": "x",
            "n": 1, "user": "someone", "stream": false,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["id"].as_str().unwrap().starts_with("chatcmpl-"),
        "{body}"
    );
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["model"], "allmende-extractive",
        "the served model is echoed"
    );
    assert!(body["created"].as_u64().unwrap() > 0);
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["finish_reason"], "stop");
    let content = choice["message"]["content"].as_str().unwrap();
    assert!(content.contains("[1]"), "{content}");
    let urls: Vec<&str> = body["citations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["url"].as_str())
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.ends_with("/leistungen/wohnsitz-ummelden")),
        "{urls:?}"
    );
    assert_eq!(body["mode"]["kind"], "extractive");
    assert_eq!(
        body["usage"]["total_tokens"], 0,
        "no tokenizer in extractive mode"
    );
}

#[tokio::test]
async fn stream_sends_chunks_and_ends_with_done() {
    let (status, content_type, body) = send_raw(
        app().await,
        completion(json!({
            "model": "x",
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let (chunks, done) = chunks(&body);
    assert!(done, "no data: [DONE] at the end: {body}");
    assert!(chunks.len() >= 3, "{body}");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id), "one id per stream");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.contains("[1]"), "{text}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null())
    );
    assert!(!last["citations"].as_array().unwrap().is_empty(), "{last}");
}

#[tokio::test]
async fn errors_have_the_openai_shape() {
    let long = "Wohnsitz ".repeat(200);
    let cases = [
        (
            completion(json!({"model": "x", "messages": [{"role": "system", "content": "Hallo"}]})),
            StatusCode::BAD_REQUEST,
        ),
        (
            completion(json!({"model": "x", "messages": [{"role": "user", "content": " "}]})),
            StatusCode::BAD_REQUEST,
        ),
        (completion(json!({"model": "x"})), StatusCode::BAD_REQUEST),
        (
            Request::post("/v1/chat/completions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            completion(json!({"messages": [{"role": "user", "content": long}]})),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (request, want) in cases {
        let (status, body) = send(app().await, request).await;
        assert_eq!(status, want, "{body}");
        let error = &body["error"];
        assert!(!error["message"].as_str().unwrap().is_empty(), "{body}");
        assert_eq!(error["type"], "invalid_request_error", "{body}");
        assert!(error["param"].is_null(), "{body}");
        assert!(error["code"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_never_by_raw_path() {
    let app = app().await;
    send(app.clone(), get("/v1/models")).await;
    send(app.clone(), get("/v1/models")).await;
    send(
        app.clone(),
        completion(json!({"messages": [{"role": "user", "content": QUESTION}]})),
    )
    .await;
    send(
        app.clone(),
        completion(json!({"messages": [{"role": "user", "content": "Wo wohnt Max Mustermann?"}]})),
    )
    .await;
    send(app.clone(), get("/personen/Erika-Mustermann")).await;
    let (status, content_type, text) = send_raw(app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    for line in [
        r#"allmende_http_requests_total{route="/v1/models",method="GET",status="200"} 2"#,
        r#"allmende_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 2"#,
        r#"allmende_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"allmende_http_request_duration_seconds_count{route="/v1/models"} 2"#,
        r#"allmende_chat_answers_total{mode="extractive"} 1"#,
        r#"allmende_chat_answers_total{mode="refused"} 1"#,
        "allmende_generation_queue_running 0",
        "allmende_generation_queue_waiting 0",
        "allmende_generation_rejected_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let passages = text
        .lines()
        .find_map(|l| l.strip_prefix("allmende_index_passages "))
        .expect("passage gauge");
    assert!(passages.parse::<u64>().unwrap() > 0, "{text}");
    assert!(
        !text.contains("Mustermann"),
        "raw paths leaked into labels:\n{text}"
    );
}

#[tokio::test]
async fn tiny_gguf_model_streams_generated_chunks() {
    let (_model_dir, config) = common::tiny_model_config(8);
    let app = app_with(config).await;
    let (_, models) = send(app.clone(), get("/v1/models")).await;
    let model = models["data"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(model, "allmende-extractive");
    let (status, _, body) = send_raw(
        app.clone(),
        completion(json!({
            "messages": [{"role": "user", "content": "Personalausweis beantragen"}],
            "stream": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (chunks, done) = chunks(&body);
    assert!(done, "{body}");
    assert!(
        chunks.iter().all(|c| c["model"] == model.as_str()),
        "{body}"
    );
    let pieces = chunks
        .iter()
        .filter(|c| c["choices"][0]["delta"]["content"].is_string())
        .count();
    assert!(pieces >= 2, "generated text comes in pieces: {body}");
    assert_eq!(chunks.last().unwrap()["mode"]["kind"], "generated");
    let (status, body) = send(
        app,
        completion(
            json!({"messages": [{"role": "user", "content": "Personalausweis beantragen"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
}

fn encoder_file() -> Option<std::path::PathBuf> {
    common::encoder_file("the embedding checks with the real encoder")
}

/// A router with the real encoder loaded. Keep the directory alive while the router runs.
async fn app_with_encoder(encoder: &std::path::Path) -> (tempfile::TempDir, axum::Router) {
    let (dir, config) = common::config_with_encoder(encoder);
    (dir, app_with(config).await)
}

fn embeddings(body: Value) -> Request<Body> {
    post_json("/v1/embeddings", body)
}

#[tokio::test]
async fn embeddings_without_the_encoder_answer_503_and_are_not_listed() {
    let app = app().await;
    let (status, body) = send(
        app.clone(),
        embeddings(json!({"model": "multilingual-e5-small", "input": "Personalausweis"})),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "model_unavailable", "{body}");
    assert_eq!(body["error"]["type"], "server_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("models pull"),
        "{body}"
    );
    let (_, models) = send(app, get("/v1/models")).await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["allmende-extractive"]);
}

#[tokio::test]
async fn embedding_requests_are_checked_with_reasons() {
    let app = app().await;
    let long = "Wohnsitz ".repeat(1000);
    let many: Vec<&str> = vec!["a"; 65];
    for (body, want, code) in [
        (
            json!({"model": "text-embedding-3-small", "input": "x"}),
            StatusCode::BAD_REQUEST,
            "model_not_found",
        ),
        (
            json!({"model": "multilingual-e5-small", "input": [[1, 2, 3]]}),
            StatusCode::BAD_REQUEST,
            "token_input_unsupported",
        ),
        (
            json!({"model": "multilingual-e5-small", "input": ""}),
            StatusCode::BAD_REQUEST,
            "empty_input",
        ),
        (
            json!({"model": "multilingual-e5-small"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"model": "multilingual-e5-small", "input": "x", "input_type": "doc"}),
            StatusCode::BAD_REQUEST,
            "invalid_input_type",
        ),
        (
            json!({"model": "multilingual-e5-small", "input": long}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "input_too_long",
        ),
        (
            json!({"model": "multilingual-e5-small", "input": many}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_inputs",
        ),
    ] {
        let (status, response) = send(app.clone(), embeddings(body.clone())).await;
        assert_eq!(status, want, "{body}: {response}");
        assert_eq!(response["error"]["code"], code, "{body}: {response}");
        assert_eq!(
            response["error"]["type"], "invalid_request_error",
            "{response}"
        );
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn vector(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn real_encoder_embeddings_are_unit_vectors_that_rank_the_right_passage_first() {
    let Some(encoder) = encoder_file() else {
        return;
    };
    let (_dir, app) = app_with_encoder(&encoder).await;
    let (_, models) = send(app.clone(), get("/v1/models")).await;
    assert_eq!(models["data"][1]["id"], "multilingual-e5-small", "{models}");
    let passages = [
        "Den Personalausweis beantragen Sie persönlich im Bürgerbüro; bringen Sie ein biometrisches Passfoto mit.",
        "Die Biotonne wird in Musterstadt alle zwei Wochen geleert.",
    ];
    let (status, body) = send(
        app.clone(),
        embeddings(json!({"model": "multilingual-e5-small", "input": passages})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], "multilingual-e5-small");
    let tokens = body["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(tokens > 20, "{body}");
    assert_eq!(body["usage"]["total_tokens"].as_u64(), Some(tokens));
    let vectors: Vec<Vec<f64>> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["index"], i);
            assert_eq!(d["object"], "embedding");
            vector(&d["embedding"])
        })
        .collect();
    for v in &vectors {
        assert_eq!(v.len(), 384);
        assert!(
            (dot(v, v).sqrt() - 1.0).abs() < 1e-3,
            "norm {}",
            dot(v, v).sqrt()
        );
    }
    let (status, body) = send(
        app,
        embeddings(json!({
            "model": "multilingual-e5-small",
            "input": "Wo kann ich einen neuen Personalausweis beantragen?",
            "input_type": "query",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let query = vector(&body["data"][0]["embedding"]);
    let (right, wrong) = (dot(&query, &vectors[0]), dot(&query, &vectors[1]));
    assert!(
        right > wrong + 0.05,
        "Personalausweis {right:.3} vs Biotonne {wrong:.3}"
    );
}

/// The official `openai` Python client against a real server on a loopback port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_openai_python_client_works() {
    if std::env::var("ALLMENDE_SKIP_PYTHON_CLIENT").is_ok_and(|v| v == "1") {
        eprintln!("ALLMENDE_SKIP_PYTHON_CLIENT=1: skipping the openai Python client test");
        return;
    }
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .await;
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the Python package `openai` is missing: run `python3 -m pip install openai` \
             (CI installs it), or set ALLMENDE_SKIP_PYTHON_CLIENT=1 to skip this test\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "python3 is not available ({e}); install Python 3 and `pip install openai`, or set \
             ALLMENDE_SKIP_PYTHON_CLIENT=1 to skip this test"
        ),
    }
    let encoder = encoder_file();
    let (_dir, app) = match &encoder {
        Some(path) => {
            let (dir, app) = app_with_encoder(path).await;
            (Some(dir), app)
        }
        None => (None, app().await),
    };
    // A real server with connection info, as `allmende serve` runs it (limits included).
    let addr = common::serve(app).await;
    let base = format!("http://{addr}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/suite/openai_client.py");
    let mut command = tokio::process::Command::new("python3");
    command.arg(script).arg(&base);
    if encoder.is_some() {
        command.arg("--embeddings");
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        command.kill_on_drop(true).output(),
    )
    .await
    .expect("the Python client finished within 5 minutes")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- openai_client.py stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(
        out.status.success(),
        "openai_client.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert_eq!(
        stdout.contains("ok embeddings"),
        encoder.is_some(),
        "the embedding checks run exactly when the encoder is present:\n{stdout}"
    );
}
