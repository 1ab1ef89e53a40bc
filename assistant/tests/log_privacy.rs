//! Personal data never reaches the logs: questions full of identifiers (IBAN, tax id, e-mail,
//! phone number, street address, birth date) go through the whole answering flow — refused and
//! answered ones, extractive and with the tiny real-format model — while every tracing event at
//! TRACE level is captured; none of the identifiers may appear in the captured output.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use allmende_assistant::answer::{Assistant, AssistantConfig};
use allmende_assistant::llm::{LocalLlm, write_tiny_qwen2_gguf};
use allmende_search::SearchIndex;

/// Identifiers the questions carry; none of them may be logged.
const IDENTIFIERS: [&str; 7] = [
    "DE89 3704 0044 0532 0130 00",
    "max.mustermann@gmail.com",
    "0171 1234567",
    "12 345 678 903",
    "Lindenallee 12",
    "01.02.1980",
    "L01X00T47",
];

fn questions() -> Vec<String> {
    vec![
        // Refused (a person lookup): the guard logs the question, scrubbed.
        format!(
            "Wo wohnt Max Mustermann? Er ist geboren am {}, wohnt in der {} und hat die IBAN {}.",
            IDENTIFIERS[5], IDENTIFIERS[4], IDENTIFIERS[0]
        ),
        // Answered: identifiers the citizen typed into a service question.
        format!(
            "Meine Steuer-ID ist {} und meine Ausweisnummer {}. Wie melde ich meinen Wohnsitz um? \
             Erreichbar unter {} oder {}.",
            IDENTIFIERS[3], IDENTIFIERS[6], IDENTIFIERS[1], IDENTIFIERS[2]
        ),
    ]
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn index() -> Arc<SearchIndex> {
    support::one_service_index(
        "wohnsitz-ummelden",
        "Wohnsitz ummelden",
        "Melden Sie Ihren neuen Wohnsitz innerhalb von zwei Wochen im Bürgerbüro um.",
    )
}

/// Runs `f` with every tracing event (TRACE and up) written to the returned buffer.
fn capture(f: impl FnOnce()) -> String {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = sink.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

fn assert_no_identifiers(log: &str) {
    assert!(
        !log.is_empty(),
        "nothing was logged: the test would prove nothing"
    );
    for id in IDENTIFIERS {
        assert!(!log.contains(id), "{id} reached the log:\n{log}");
    }
}

#[test]
fn identifiers_in_questions_never_reach_the_logs_in_extractive_mode() {
    let assistant = Assistant::new(index(), None, AssistantConfig::default());
    let log = capture(|| {
        for q in questions() {
            assistant.answer(&q).unwrap();
        }
    });
    assert_no_identifiers(&log);
    assert!(
        log.contains("[IBAN]") || log.contains("[ADRESSE]"),
        "the refused question is logged, scrubbed:\n{log}"
    );
}

#[test]
fn identifiers_in_questions_never_reach_the_logs_with_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_tiny_qwen2_gguf(&path, 5).unwrap();
    let log = capture(|| {
        let llm = LocalLlm::load(&path).unwrap();
        let config = AssistantConfig {
            max_tokens: 8,
            ..AssistantConfig::default()
        };
        let assistant = Assistant::new(index(), Some(llm), config);
        for q in questions() {
            assistant.answer(&q).unwrap();
        }
    });
    assert_no_identifiers(&log);
    assert!(log.contains("generated answer"), "{log}");
}
