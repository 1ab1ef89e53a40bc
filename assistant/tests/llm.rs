//! Local LLM tests: a tiny random-weight Qwen2 GGUF written per test (same code path as a
//! real model), error handling for broken files, and — when the weights are present — the real
//! Qwen2.5-Coder-0.5B (and SmolLM2-135M) models.
//!
//! Real-model tests look for `$ALLMENDE_TEST_MODEL` or
//! `data/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf` (pull it with the models module) and
//! skip with a notice on stderr when it is absent.

use std::path::{Path, PathBuf};
use std::time::Instant;

use allmende_assistant::llm::{
    ChatMessage, FinishReason, GenerationParams, GgufTokenizer, LoadOptions, LocalLlm,
    PREFILL_CHUNK, render_chatml, write_tiny_qwen2_gguf,
};
use candle_core::quantized::gguf_file::{self, Value};

fn tiny_model(seed: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-qwen2.gguf");
    write_tiny_qwen2_gguf(&path, seed).unwrap();
    (dir, path)
}

fn greedy(max_tokens: usize) -> GenerationParams {
    GenerationParams {
        max_tokens,
        temperature: 0.0,
        ..GenerationParams::default()
    }
}

fn ask(question: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("Du bist ein hilfreicher Assistent."),
        ChatMessage::user(question),
    ]
}

#[test]
fn local_llm_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LocalLlm>();
    assert_send_sync::<GgufTokenizer>();
}

#[test]
fn tiny_model_loads_with_its_metadata() {
    let (_dir, path) = tiny_model(1);
    let llm = LocalLlm::load(&path).unwrap();
    assert_eq!(llm.model_name(), "tiny-qwen2-test");
    assert_eq!(llm.architecture(), "qwen2");
    assert_eq!(llm.context_length(), 4096);
    assert_eq!(llm.default_system_prompt(), None);
    let tok = llm.tokenizer();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    assert!(tok.eos_ids().contains(&im_end));
    assert!(tok.is_control(im_end));
}

#[test]
fn tiny_tokenizer_round_trips_and_keeps_control_tokens_whole() {
    let (_dir, path) = tiny_model(2);
    let tok = GgufTokenizer::from_file(&path).unwrap();
    for text in [
        "Hallo Welt",
        "Grüße aus Köln: Straße 12, 50667 — ok?\n\n  Tschüß 👋",
        "",
    ] {
        let ids = tok.encode(text).unwrap();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|&id| tok.token_bytes(id).to_vec())
            .collect();
        assert_eq!(bytes, text.as_bytes());
    }
    let hallo = tok.encode("Hallo Welt").unwrap();
    assert_eq!(
        hallo,
        [
            tok.token_to_id("Hallo").unwrap(),
            tok.token_to_id("ĠWelt").unwrap()
        ]
    );
    let ids = tok.encode("<|im_start|>user").unwrap();
    assert_eq!(
        ids,
        [
            tok.token_to_id("<|im_start|>").unwrap(),
            tok.token_to_id("user").unwrap()
        ]
    );

    let llm = LocalLlm::load(&path).unwrap();
    let chat = [ChatMessage::user("Hallo")];
    let rendered = render_chatml(&chat, None);
    // <|im_start|> user \n Hallo <|im_end|> \n <|im_start|> assistant \n
    assert_eq!(llm.count_tokens(&rendered).unwrap(), 9);
}

#[test]
fn greedy_generation_is_deterministic_streams_and_respects_max_tokens() {
    let (_dir, path) = tiny_model(3);
    let llm = LocalLlm::load(&path).unwrap();
    let chat = ask("Wie beantrage ich einen Personalausweis?");
    let mut pieces = Vec::new();
    let first = llm
        .generate(&chat, &greedy(24), &mut |p| pieces.push(p.to_string()))
        .unwrap();
    assert_eq!(first.finish_reason, FinishReason::Length);
    assert_eq!(first.completion_tokens, 24);
    assert_eq!(
        pieces.concat(),
        first.text,
        "streamed pieces concatenate to the text"
    );
    assert!(!first.text.is_empty());
    let expected_prompt = llm.count_tokens(&render_chatml(&chat, None)).unwrap();
    assert_eq!(first.prompt_tokens, expected_prompt);
    assert!(first.prompt_ms > 0.0 && first.generation_ms > 0.0);

    llm.warm_up().unwrap();
    let second = llm.generate(&chat, &greedy(24), &mut |_| {}).unwrap();
    assert_eq!(
        second.text, first.text,
        "greedy decoding is deterministic across calls"
    );

    let short = llm.generate(&chat, &greedy(5), &mut |_| {}).unwrap();
    assert_eq!(
        (short.completion_tokens, short.finish_reason),
        (5, FinishReason::Length)
    );
}

#[test]
fn a_deadline_stops_generation_with_the_text_so_far() {
    let (_dir, path) = tiny_model(3);
    let llm = LocalLlm::load(&path).unwrap();
    let chat = ask("Wie beantrage ich einen Personalausweis?");
    // Already past: nothing is generated, not even the prompt is processed.
    let past = GenerationParams {
        deadline: Some(Instant::now()),
        ..greedy(24)
    };
    let stopped = llm.generate(&chat, &past, &mut |_| {}).unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Deadline);
    assert_eq!((stopped.completion_tokens, stopped.text.as_str()), (0, ""));
    // Far away: the generation runs to max_tokens as without one.
    let later = GenerationParams {
        deadline: Some(Instant::now() + std::time::Duration::from_secs(3600)),
        ..greedy(6)
    };
    let full = llm.generate(&chat, &later, &mut |_| {}).unwrap();
    assert_eq!(
        (full.completion_tokens, full.finish_reason),
        (6, FinishReason::Length)
    );
}

#[test]
fn stop_strings_end_generation_and_are_not_returned() {
    let (_dir, path) = tiny_model(4);
    let llm = LocalLlm::load(&path).unwrap();
    let chat = ask("Öffnungszeiten?");
    let full = llm.generate(&chat, &greedy(32), &mut |_| {}).unwrap().text;
    let chars: Vec<char> = full.chars().collect();
    assert!(chars.len() >= 12, "need some text to cut: {full:?}");
    let stop: String = chars[6..9].iter().collect();
    let cut = full.find(&stop).unwrap();
    let params = GenerationParams {
        stop: vec![stop.clone()],
        ..greedy(32)
    };
    let mut pieces = Vec::new();
    let stopped = llm
        .generate(&chat, &params, &mut |p| pieces.push(p.to_string()))
        .unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert_eq!(
        stopped.text,
        full[..cut],
        "text ends right before the stop string {stop:?}"
    );
    assert_eq!(pieces.concat(), stopped.text);
    assert!(stopped.completion_tokens < 32);
}

#[test]
fn a_cancelled_generation_stops_between_tokens() {
    let (_dir, path) = tiny_model(5);
    let llm = LocalLlm::load(&path).unwrap();
    let chat = ask("Hallo");
    let params = greedy(32);
    let cancel = params.cancel.clone();
    let mut pieces = 0;
    let err = llm
        .generate(&chat, &params, &mut |_| {
            pieces += 1;
            if pieces == 3 {
                cancel.cancel(); // the asker left after three pieces
            }
        })
        .unwrap_err();
    assert!(matches!(err, allmende_assistant::Error::Cancelled), "{err}");
    assert_eq!(pieces, 3, "no token after the cancellation");
    // A token cancelled before the call never starts the prompt.
    assert!(matches!(
        llm.generate(&chat, &params, &mut |_| {}),
        Err(allmende_assistant::Error::Cancelled)
    ));
}

#[test]
fn seeded_sampling_is_reproducible_and_context_is_enforced() {
    let (_dir, path) = tiny_model(5);
    let llm = LocalLlm::load(&path).unwrap();
    let chat = ask("Hallo");
    let params = GenerationParams {
        max_tokens: 16,
        temperature: 0.9,
        seed: 7,
        ..Default::default()
    };
    let a = llm.generate(&chat, &params, &mut |_| {}).unwrap();
    let b = llm.generate(&chat, &params, &mut |_| {}).unwrap();
    assert_eq!(a.text, b.text);

    let context = llm.context_length();
    let too_long = GenerationParams {
        max_tokens: context,
        ..greedy(0)
    };
    let err = llm
        .generate(&chat, &too_long, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("exceeds the context length"), "{err}");
    let long_prompt = ask(&"Wort ".repeat(context / 2));
    let err = llm
        .generate(&long_prompt, &greedy(4), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("exceeds the context length"), "{err}");
}

#[test]
fn chunked_prefill_matches_single_pass() {
    let (_dir, path) = tiny_model(6);
    let mut llm = LocalLlm::load(&path).unwrap();
    let chat = ask(&"Bürgeramt Termin ".repeat(40));
    llm.set_prefill_chunk(llm.context_length());
    let whole = llm.generate(&chat, &greedy(8), &mut |_| {}).unwrap();
    assert!(
        whole.prompt_tokens > PREFILL_CHUNK,
        "{}",
        whole.prompt_tokens
    );
    for chunk in [PREFILL_CHUNK, 7] {
        llm.set_prefill_chunk(chunk);
        let chunked = llm.generate(&chat, &greedy(8), &mut |_| {}).unwrap();
        assert_eq!(chunked.text, whole.text, "chunk {chunk}");
    }
}

#[test]
fn q5_0_repacking_to_q8_0_changes_nothing_but_speed() {
    let (_dir, path) = tiny_model(8);
    let repack = |on: bool| LoadOptions {
        repack: on,
        ..LoadOptions::default()
    };
    let packed = LocalLlm::load_with(&path, &repack(true)).unwrap();
    let original = LocalLlm::load_with(&path, &repack(false)).unwrap();
    // attn_q, attn_k, ffn_gate and ffn_up of both blocks are Q5_0 in the tiny model.
    assert_eq!(packed.repacked_tensors(), 8);
    assert_eq!(original.repacked_tensors(), 0);
    for question in [
        "Wie beantrage ich einen Personalausweis?",
        &"Bürgeramt Termin ".repeat(30),
    ] {
        let chat = ask(question);
        let a = packed.generate(&chat, &greedy(32), &mut |_| {}).unwrap();
        let b = original.generate(&chat, &greedy(32), &mut |_| {}).unwrap();
        assert_eq!(a.completion_tokens, 32);
        assert_eq!(
            a.text, b.text,
            "same greedy tokens with and without repacking"
        );
    }
}

#[test]
fn broken_files_give_clear_errors() {
    let (dir, path) = tiny_model(7);
    let bytes = std::fs::read(&path).unwrap();
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let err_of = |p: &Path| LocalLlm::load(p).unwrap_err().to_string();

    let half = write("half.gguf", &bytes[..bytes.len() / 2]);
    let err = err_of(&half);
    assert!(
        err.contains("truncated") && err.contains("half.gguf"),
        "{err}"
    );
    let header = write("header.gguf", &bytes[..300]);
    assert!(
        err_of(&header).contains("invalid or truncated GGUF"),
        "{}",
        err_of(&header)
    );
    let text = write("readme.gguf", b"# Not a model\nJust some markdown.\n");
    assert!(
        err_of(&text).contains("not a GGUF model file"),
        "{}",
        err_of(&text)
    );
    let missing = dir.path().join("missing.gguf");
    assert!(err_of(&missing).contains("missing.gguf"));

    // Flipped bytes anywhere in the header and metadata: an error or a working model, no panic.
    let metadata_end = bytes.len() / 8;
    for (i, offset) in (4..metadata_end).step_by(metadata_end / 40).enumerate() {
        let mut corrupt = bytes.clone();
        corrupt[offset] ^= 0xA5;
        let p = write(&format!("corrupt{i}.gguf"), &corrupt);
        if let Ok(llm) = LocalLlm::load(&p) {
            let _ = llm.generate(&ask("Hallo"), &greedy(2), &mut |_| {});
        }
    }
}

#[test]
fn unsupported_architecture_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gemma.gguf");
    let arch = Value::String("gemma".into());
    let mut file = std::fs::File::create(&path).unwrap();
    gguf_file::write(&mut file, &[("general.architecture", &arch)], &[]).unwrap();
    drop(file);
    let err = LocalLlm::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("unsupported model architecture 'gemma' (supported: qwen2, llama)"),
        "{err}"
    );
}

/// The real model, if present.
fn real_model(file: &str) -> Option<PathBuf> {
    let path = match std::env::var_os("ALLMENDE_TEST_MODEL") {
        Some(p) if file.starts_with("qwen2.5-coder-0.5b") => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/models")
            .join(file),
    };
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipping: real model {} not found (pull it first)",
            path.display()
        );
        None
    }
}

/// Ids from Qwen2's own `tokenizer.json` (HF `tokenizers`, identical ids and merges).
const QWEN_REFERENCE_IDS: [(&str, &[u32]); 3] = [
    ("Hallo Welt", &[78078, 44966]),
    (
        "Wo kann ich in Köln meinen Führerschein umtauschen? Öffnungszeiten: Mo–Fr 8–12 Uhr.",
        &[
            62762, 15719, 10638, 304, 141377, 81212, 434, 50753, 388, 63859, 4443, 2565, 355, 7522,
            30, 34037, 542, 77, 28122, 2986, 14668, 25, 6050, 4142, 22560, 220, 23, 4142, 16, 17,
            38183, 13,
        ],
    ),
    (
        "  Einrückung\n\n\tTabs, Zahlen 1234567 und Emoji 👋🏽",
        &[
            220, 18069, 129579, 2185, 271, 10261, 3435, 11, 1863, 58193, 220, 16, 17, 18, 19, 20,
            21, 22, 2030, 82367, 61804, 233, 145375,
        ],
    ),
];

const FRANCE_DE: &str = "Antworte mit einem Wort: Was ist die Hauptstadt von Frankreich?";

#[test]
fn real_qwen_tokenizer_matches_reference_ids_and_round_trips() {
    let Some(path) = real_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else {
        return;
    };
    let tok = GgufTokenizer::from_file(&path).unwrap();
    assert_eq!(tok.encode("<|im_start|>user").unwrap(), [151644, 872]);
    assert_eq!(tok.token_to_id("<|im_end|>"), Some(151645));
    for (text, ids) in QWEN_REFERENCE_IDS {
        assert_eq!(tok.encode(text).unwrap(), ids, "{text:?}");
        assert_eq!(tok.decode(ids, false).unwrap(), text);
    }
    // The whole prompt as Qwen's own Jinja template renders it (default system prompt).
    let system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    let prompt = render_chatml(&[ChatMessage::user(FRANCE_DE)], Some(system));
    let expected: &[u32] = &[
        151644, 8948, 198, 2610, 525, 1207, 16948, 11, 3465, 553, 54364, 14817, 13, 1446, 525, 264,
        10950, 17847, 13, 151645, 198, 151644, 872, 198, 17117, 86, 16568, 5451, 17443, 93504, 25,
        14804, 5999, 2746, 89931, 44278, 6538, 9270, 40334, 30, 151645, 198, 151644, 77091, 198,
    ];
    assert_eq!(tok.encode(&prompt).unwrap(), expected);
}

#[test]
fn real_qwen_answers_greedily_like_the_reference_implementation() {
    let Some(path) = real_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else {
        return;
    };
    let started = Instant::now();
    let llm = LocalLlm::load(&path).unwrap();
    let load = started.elapsed();
    assert_eq!(llm.architecture(), "qwen2");
    assert_eq!(llm.context_length(), 32768);
    assert!(
        llm.default_system_prompt()
            .is_some_and(|s| s.starts_with("You are Qwen"))
    );

    let english = [ChatMessage::user(
        "Answer with one word: What is the capital of France?",
    )];
    let g = llm.generate(&english, &greedy(16), &mut |_| {}).unwrap();
    eprintln!(
        "0.5B: load {:.2}s, {} prompt tokens in {:.0} ms, {} tokens in {:.0} ms: {:?}",
        load.as_secs_f64(),
        g.prompt_tokens,
        g.prompt_ms,
        g.completion_tokens,
        g.generation_ms,
        g.text
    );
    assert!(g.text.contains("Paris"), "{:?}", g.text);
    assert_eq!(g.finish_reason, FinishReason::Stop);

    // In German this small Coder model answers wrongly. An independent NumPy forward pass over
    // the same dequantised GGUF weights (llama.cpp's `gguf` Python package) produces the same
    // greedy tokens (smallest top-1 margin: 0.5 logits), so this pins numerical fidelity.
    let german = [ChatMessage::user(FRANCE_DE)];
    let g = llm.generate(&german, &greedy(16), &mut |_| {}).unwrap();
    assert_eq!(g.text, "Frankreich's Hauptstadt ist Berlin.");
}

#[test]
fn real_smollm2_runs_through_the_llama_path() {
    let Some(path) = real_model("smollm2-135m-instruct-q4_1.gguf") else {
        return;
    };
    let llm = LocalLlm::load(&path).unwrap();
    assert_eq!(llm.architecture(), "llama");
    assert_eq!(llm.context_length(), 8192, "the GGUF context length");
    let tok = llm.tokenizer();
    let text = "Hello world, 2024 was a year.";
    assert_eq!(tok.decode(&tok.encode(text).unwrap(), false).unwrap(), text);
    let chat = [ChatMessage::user(
        "What is the capital of France? Answer in one word.",
    )];
    let g = llm.generate(&chat, &greedy(12), &mut |_| {}).unwrap();
    eprintln!("SmolLM2: {:?} ({} prompt tokens)", g.text, g.prompt_tokens);
    assert!(g.text.contains("Paris"), "{:?}", g.text);
}

/// Throughput of the real 0.5B model (mostly Q5_0 matrices) with and without the Q8_0
/// repacking, on a German retrieval-style prompt of about 800 tokens. Run with
/// `RAYON_NUM_THREADS=2 cargo test -p allmende-assistant --test llm -- --ignored --nocapture
/// repack_throughput` (optionally `--release`).
#[test]
#[ignore = "benchmark; takes a minute"]
fn real_qwen_repack_throughput() {
    let Some(path) = real_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else {
        return;
    };
    let passage = "Der Personalausweis kann im Bürgeramt der Stadt beantragt werden. Bitte \
        bringen Sie ein aktuelles biometrisches Passfoto, Ihren bisherigen Ausweis und gegebenenfalls \
        die Geburtsurkunde mit. Die Gebühr beträgt 37 Euro für Personen ab 24 Jahren. Termine \
        vergibt das Bürgeramt online oder telefonisch montags bis freitags von 8 bis 12 Uhr. ";
    let mut context = String::new();
    for i in 1..=9 {
        context.push_str(&format!("[{i}] {passage}\n"));
    }
    let chat = [
        ChatMessage::system(format!(
            "Du bist der Bürgerassistent der Stadtverwaltung. Antworte auf Deutsch, siezend, \
             und nur auf Grundlage der folgenden Quellen:\n{context}"
        )),
        ChatMessage::user("Was muss ich zur Beantragung eines Personalausweises mitbringen?"),
    ];
    for repack in [false, true, false, true] {
        let started = Instant::now();
        let llm = LocalLlm::load_with(
            &path,
            &LoadOptions {
                repack,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        eprintln!(
            "repack={repack}: load {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        drop(llm);
    }
    for repack in [true, false, true] {
        let started = Instant::now();
        let llm = LocalLlm::load_with(
            &path,
            &LoadOptions {
                repack,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        let load = started.elapsed();
        llm.warm_up().unwrap();
        let g = llm.generate(&chat, &greedy(32), &mut |_| {}).unwrap();
        eprintln!(
            "repack={repack} ({} tensors): load {:.0} ms, prefill {} tokens {:.1} tok/s, \
             generation {} tokens {:.1} tok/s: {:?}",
            llm.repacked_tensors(),
            load.as_secs_f64() * 1000.0,
            g.prompt_tokens,
            g.prompt_tokens as f64 / g.prompt_ms * 1000.0,
            g.completion_tokens,
            g.completion_tokens as f64 / g.generation_ms * 1000.0,
            g.text
        );
    }
}

/// A system prompt long enough to be cached (the cache skips prefixes under 16 tokens).
fn long_system_chat(question: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(
            "Sie sind der Bürgerservice-Assistent der Stadt Musterstadt. Antworten Sie nur mit \
             Informationen aus den Quellen, kurz, freundlich und in der Sie-Form.",
        ),
        ChatMessage::user(question),
    ]
}

#[test]
fn the_system_prompt_prefix_is_reused_and_changes_nothing() {
    let (_dir, path) = tiny_model(11);
    let cached = LocalLlm::load(&path).unwrap();
    let uncached = LocalLlm::load_with(
        &path,
        &LoadOptions {
            prefix_cache: 0,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let first = cached
        .generate(
            &long_system_chat("Wie melde ich mich um?"),
            &greedy(16),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        first.cached_prompt_tokens, 0,
        "nothing cached before the first call"
    );
    assert_eq!(cached.cached_prefixes(), 1);
    for question in ["Was kostet ein Reisepass?", "Wie melde ich mich um?"] {
        let chat = long_system_chat(question);
        let reused = cached.generate(&chat, &greedy(16), &mut |_| {}).unwrap();
        let fresh = uncached.generate(&chat, &greedy(16), &mut |_| {}).unwrap();
        assert!(
            reused.cached_prompt_tokens >= 16 && reused.cached_prompt_tokens < reused.prompt_tokens,
            "{} of {} prompt tokens reused",
            reused.cached_prompt_tokens,
            reused.prompt_tokens
        );
        assert_eq!(fresh.cached_prompt_tokens, 0);
        assert_eq!(
            reused.text, fresh.text,
            "same answer with and without the cache"
        );
    }
    assert_eq!(cached.cached_prefixes(), 1, "one system prompt, one entry");
    assert_eq!(uncached.cached_prefixes(), 0);
}

#[test]
fn one_model_serves_concurrent_generations_with_sequential_results() {
    let (_dir, path) = tiny_model(12);
    let llm = std::sync::Arc::new(LocalLlm::load(&path).unwrap());
    let questions = [
        "Wie melde ich mich um?",
        "Was kostet ein Personalausweis?",
        "Hallo",
    ];
    let sequential: Vec<String> = questions
        .iter()
        .map(|q| {
            llm.generate(&long_system_chat(q), &greedy(12), &mut |_| {})
                .unwrap()
                .text
        })
        .collect();
    let handles: Vec<_> = questions
        .iter()
        .map(|q| {
            let (llm, q) = (llm.clone(), q.to_string());
            std::thread::spawn(move || {
                llm.generate(&long_system_chat(&q), &greedy(12), &mut |_| {})
                    .unwrap()
                    .text
            })
        })
        .collect();
    let concurrent: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(concurrent, sequential);
}
