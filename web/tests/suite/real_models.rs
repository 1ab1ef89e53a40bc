//! The README's example questions, answered through `POST /api/chat` by each real model that is
//! present in `data/models` (CI pulls both Qwen2.5-Coder sizes; locally a missing file skips
//! with a notice). Checks what a citizen relies on: the right official page is cited, every
//! citation is used and points to the municipality, numbers come with their query, English
//! questions get English answers, and nothing of the prompt leaks.
//!
//! Model output is not fixed text, so the assertions are about grounding, citations and
//! language, not wording.

use crate::common;

use std::path::PathBuf;

use axum::http::StatusCode;
use common::{app_with, data_dir, post_json, send, test_config};
use serde_json::{Value, json};

const MODELS: [&str; 2] = [
    "qwen2.5-coder-1.5b-instruct-q4_k_m",
    "qwen2.5-coder-0.5b-instruct-q4_k_m",
];

fn model_file(name: &str) -> Option<PathBuf> {
    let spec = allmende_assistant::models::find(name).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/models")
        .join(spec.file_name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping {name}: {} not present (`allmende models pull {name}`)",
            path.display()
        );
        None
    }
}

async fn ask(model: &std::path::Path, message: &str, extra: Value) -> Value {
    let mut config = test_config(data_dir());
    config.model.name = model.display().to_string();
    config.assistant.max_tokens = 120;
    let mut body = json!({ "message": message });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, body) = send(app_with(config).await, post_json("/api/chat", body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eprintln!("{message} → {body}");
    body
}

/// Generated, cites a page whose URL contains `expected_page`, uses every citation it lists,
/// leaks no prompt.
fn assert_grounded(body: &Value, expected_page: &str) {
    assert_eq!(body["mode"]["kind"], "generated", "{body}");
    let answer = body["answer"].as_str().unwrap();
    let citations = body["citations"].as_array().unwrap();
    assert!(
        citations
            .iter()
            .any(|c| c["url"].as_str().is_some_and(|u| u.contains(expected_page))),
        "{expected_page} not cited: {body}"
    );
    for (i, c) in citations.iter().enumerate() {
        assert_eq!(c["number"], json!(i + 1));
        assert!(
            answer.contains(&format!("[{}]", i + 1)),
            "[{}] unused: {answer}",
            i + 1
        );
        let url = c["url"].as_str().unwrap();
        assert!(
            url.is_empty() || url.starts_with("https://www.musterstadt.example/"),
            "{url}"
        );
    }
    for leak in [
        "<|im_",
        "Regeln:",
        "Quellen:\n",
        "Sie sind der Bürgerservice",
    ] {
        assert!(!answer.contains(leak), "prompt leaked ({leak}): {answer}");
    }
}

async fn readme_questions(name: &str) {
    let Some(model) = model_file(name) else {
        return;
    };

    let body = ask(&model, "Wie melde ich meinen Wohnsitz um?", json!({})).await;
    assert_grounded(&body, "/leistungen/wohnsitz-ummelden");
    assert_eq!(body["language"], "de");

    // Any of the ID-card pages (regular, provisional, for children) states a fee.
    let body = ask(&model, "Was kostet ein Personalausweis?", json!({})).await;
    assert_grounded(&body, "personalausweis");

    let body = ask(
        &model,
        "I am moving within the city. How do I update my address?",
        json!({}),
    )
    .await;
    assert_eq!(body["language"], "en");
    assert_grounded(&body, "/leistungen/wohnsitz-ummelden");
    let answer = body["answer"].as_str().unwrap().to_lowercase();
    let english = ["the ", " you", " your", " to "]
        .iter()
        .filter(|w| answer.contains(*w))
        .count();
    assert!(english >= 2, "not an English answer: {answer}");

    // A number question: the fact from the open-data table is the cited source, with its SQL.
    let body = ask(&model, "Wie viele Einwohner hat die Südstadt?", json!({})).await;
    assert_eq!(body["mode"]["kind"], "generated", "{body}");
    let citations = body["citations"].as_array().unwrap();
    let data = citations
        .iter()
        .find(|c| c["sql"].is_string())
        .unwrap_or_else(|| panic!("no cited query: {body}"));
    assert_eq!(data["table"], "musterstadt.bevoelkerung");
    assert!(data["sql"].as_str().unwrap().contains("Südstadt"), "{data}");

    // Leichte Sprache: still grounded and cited.
    let body = ask(
        &model,
        "Wie melde ich meinen Wohnsitz um?",
        json!({ "style": "leichte_sprache" }),
    )
    .await;
    assert_grounded(&body, "/leistungen/wohnsitz-ummelden");
}

#[tokio::test]
async fn qwen_1_5b_answers_the_readme_questions_with_correct_citations() {
    readme_questions(MODELS[0]).await;
}

#[tokio::test]
async fn qwen_0_5b_answers_the_readme_questions_with_correct_citations() {
    readme_questions(MODELS[1]).await;
}
