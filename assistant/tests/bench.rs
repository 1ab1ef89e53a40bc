//! The inference benchmark on the tiny random-weight Qwen2 model: small sizes, no timing
//! assertions — only that every number is a sane measurement and the renderings carry the
//! test names.

use std::path::PathBuf;

use allmende_assistant::bench::{self, BenchConfig, BenchResult};
use allmende_assistant::llm::write_tiny_qwen2_gguf;

fn tiny_model() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-qwen2.gguf");
    write_tiny_qwen2_gguf(&path, 7).unwrap();
    (dir, path)
}

fn small(path: PathBuf) -> BenchConfig {
    BenchConfig {
        prompt_tokens: 64,
        gen_tokens: 8,
        repetitions: 2,
        ..BenchConfig::new(path)
    }
}

fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

#[test]
fn defaults_are_llama_bench_sizes() {
    let c = BenchConfig::new("m.gguf");
    assert_eq!(
        (c.prompt_tokens, c.gen_tokens, c.repetitions),
        (512, 128, 3)
    );
    assert_eq!(c.threads, None);
}

#[test]
fn tiny_model_bench_measures_and_renders() {
    let (_dir, path) = tiny_model();
    let r = bench::run(&small(path.clone())).unwrap();

    assert_eq!(r.model, "tiny-qwen2-test");
    assert_eq!(r.architecture, "qwen2");
    assert_eq!(r.backend, "CPU");
    assert_eq!(r.size_bytes, std::fs::metadata(&path).unwrap().len());
    assert!(r.params > 0);
    assert!(r.threads > 0);
    assert_eq!((r.prompt_tokens, r.gen_tokens, r.repetitions), (64, 8, 2));
    assert!(r.tg_decoded_tokens >= 1 && r.tg_decoded_tokens <= 8);
    for stat in [&r.pp_tok_s, &r.tg_tok_s, &r.ttft_ms] {
        assert_eq!(stat.samples.len(), 2);
        assert!(stat.samples.iter().all(|&x| positive(x)), "{stat:?}");
        assert!(positive(stat.mean));
        assert!(stat.stddev.is_finite() && stat.stddev >= 0.0);
    }
    assert!(r.load_ms.is_finite() && r.load_ms >= 0.0);
    if cfg!(target_os = "linux") {
        assert!(r.peak_rss_bytes.unwrap() > 0);
    }

    let results = [r.clone()];
    let table = bench::to_table(&results);
    let markdown = bench::to_markdown(&results);
    for text in [&table, &markdown] {
        assert!(text.contains("pp64"), "{text}");
        assert!(text.contains("tg8"), "{text}");
        assert!(text.contains("tiny-qwen2-test"), "{text}");
        assert!(text.contains(" ± "), "{text}");
    }
    assert!(markdown.starts_with("| model"), "{markdown}");
    assert!(
        markdown.lines().nth(1).unwrap().contains("---:"),
        "{markdown}"
    );
    // All table rows are the same width (aligned columns).
    let widths: Vec<usize> = table.lines().take(4).map(|l| l.chars().count()).collect();
    assert!(widths.iter().all(|&w| w == widths[0]), "{table}");

    let json = serde_json::to_string(&results).unwrap();
    let back: Vec<BenchResult> = serde_json::from_str(&json).unwrap();
    // serde_json parses floats to within one ulp, not always bit-exactly.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    let mut expected = r.clone();
    let got = &back[0];
    for (e, g) in [
        (&mut expected.pp_tok_s, &got.pp_tok_s),
        (&mut expected.tg_tok_s, &got.tg_tok_s),
        (&mut expected.ttft_ms, &got.ttft_ms),
    ] {
        assert!(
            close(e.mean, g.mean) && close(e.stddev, g.stddev),
            "{e:?} {g:?}"
        );
        for (x, y) in e.samples.iter().zip(&g.samples) {
            assert!(close(*x, *y), "{e:?} {g:?}");
        }
        *e = g.clone();
    }
    assert!(close(expected.load_ms, got.load_ms));
    expected.load_ms = got.load_ms;
    assert_eq!(back, vec![expected]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value[0]["pp_tok_s"]["mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.gguf");
    let err = bench::run(&small(path)).unwrap_err().to_string();
    assert!(err.contains("nope.gguf"), "{err}");
    assert!(
        err.contains("No such file") || err.contains("not found"),
        "{err}"
    );
}

#[test]
fn wrong_thread_count_and_zero_sizes_are_rejected() {
    let (_dir, path) = tiny_model();
    let mut config = small(path);
    config.threads = Some(candle_core::utils::get_num_threads() + 1);
    let err = bench::run(&config).unwrap_err().to_string();
    assert!(err.contains("RAYON_NUM_THREADS"), "{err}");
    config.threads = None;
    config.gen_tokens = 0;
    assert!(bench::run(&config).is_err());
}

#[test]
fn prompt_shorter_than_the_chat_framing_is_rejected() {
    let (_dir, path) = tiny_model();
    let mut config = small(path);
    config.prompt_tokens = 2;
    let err = bench::run(&config).unwrap_err().to_string();
    assert!(err.contains("prompt tokens"), "{err}");
}

/// The full pp512/tg128 benchmark on a real model:
/// `ALLMENDE_BENCH_MODEL=data/models/….gguf cargo test -p allmende-assistant --test bench -- \
/// --ignored --nocapture` (optionally `ALLMENDE_BENCH_REPS`). Prints the Markdown table.
#[test]
#[ignore = "needs a real model and minutes of CPU time"]
fn real_model_bench() {
    let Some(path) = std::env::var_os("ALLMENDE_BENCH_MODEL").map(PathBuf::from) else {
        eprintln!("skipping: set ALLMENDE_BENCH_MODEL to a GGUF file");
        return;
    };
    let path = if path.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path)
    } else {
        path
    };
    let mut config = BenchConfig::new(path);
    if let Some(reps) = std::env::var("ALLMENDE_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        config.repetitions = reps;
    }
    let r = bench::run(&config).unwrap();
    println!("{}", bench::to_markdown(std::slice::from_ref(&r)));
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}

#[test]
fn prompts_of_odd_lengths_are_built_exactly() {
    let (_dir, path) = tiny_model();
    for prompt_tokens in [14, 15, 100, 511, 513] {
        let config = BenchConfig {
            prompt_tokens,
            gen_tokens: 2,
            repetitions: 1,
            ..BenchConfig::new(path.clone())
        };
        // `run` errors if the pp prompt is not exactly `prompt_tokens` long.
        let r = bench::run(&config).unwrap();
        assert_eq!(r.pp_test(), format!("pp{prompt_tokens}"));
    }
}
