//! An answer with a deadline (the web layer's time limit): when the model cannot start in time,
//! the same sources are answered extractively — a labelled, cited answer in time instead of a
//! timeout — and with time to spare the model answers as usual.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use allmende_assistant::answer::{AnswerMode, AnswerRequest, Assistant, AssistantConfig};
use allmende_assistant::llm::{LocalLlm, write_tiny_qwen2_gguf};
use allmende_search::SearchIndex;

/// One service description about moving house.
fn moving_house_index() -> Arc<SearchIndex> {
    support::one_service_index(
        "umzug",
        "Umzug innerhalb der Stadt melden",
        "Nach einem Umzug melden Sie sich binnen zwei Wochen im Bürgerbüro um.",
    )
}

#[test]
fn past_the_deadline_the_sources_are_answered_extractively() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_tiny_qwen2_gguf(&path, 9).unwrap();
    let config = AssistantConfig {
        max_tokens: 8,
        ..AssistantConfig::default()
    };
    let assistant = Assistant::new(
        moving_house_index(),
        Some(LocalLlm::load(&path).unwrap()),
        config,
    );
    let question = "Wie melde ich meinen Umzug innerhalb der Stadt?";

    let mut late = AnswerRequest::new(question);
    late.deadline = Some(Instant::now());
    let mut streamed = String::new();
    let answer = assistant
        .answer_request(&late, &mut |piece| streamed.push_str(piece))
        .unwrap();
    assert_eq!(answer.mode, AnswerMode::Extractive, "{answer:?}");
    assert!(!answer.citations.is_empty(), "still cited: {answer:?}");
    assert!(answer.citations[0].url.contains("/leistungen/umzug"));
    assert_eq!(
        streamed, answer.text,
        "the extractive text is what was sent"
    );

    let mut timely = AnswerRequest::new(question);
    timely.deadline = Some(Instant::now() + Duration::from_secs(3600));
    let answer = assistant.answer_request(&timely, &mut |_| {}).unwrap();
    assert!(
        matches!(answer.mode, AnswerMode::Generated { .. }),
        "with time to spare the model answers: {answer:?}"
    );
}
