//! A llama-bench-style CPU inference benchmark for [`LocalLlm`]: prompt processing (`ppN`, a
//! prefill of exactly N tokens) and text generation (`tgN`, N greedy decode steps of one token
//! each), repeated and reported as tokens per second, mean ± standard deviation.
//!
//! - **pp**: a synthetic prompt of exactly `prompt_tokens` tokens (ChatML framing included),
//!   built by repeating the token ids of a German administrative text — llama-bench uses random
//!   tokens; the cost of a prefill does not depend on which tokens they are. Measured with
//!   [`LocalLlm::generate`] and `max_tokens = 1`: `prompt_ms` is the prefill, and the time to
//!   first token (`ttft_ms`) adds the sampling of that first token.
//! - **tg**: after a short prompt, `gen_tokens + 1` tokens are sampled greedily; the first comes
//!   from the prefill's logits, each further one costs one single-token forward pass, so the
//!   measured interval holds exactly `gen_tokens` decode passes (plus their argmax). Should
//!   the model end its answer early, the next of a few fallback prompts is tried and the
//!   longest run counts; [`BenchResult::tg_decoded_tokens`] says how many passes were measured.
//!
//! One unmeasured warm-up ([`LocalLlm::warm_up`]) runs before the repetitions, like
//! llama-bench's warm-up run.
//!
//! **Threads**: candle sizes its rayon pool and its gemm parallelism from `RAYON_NUM_THREADS`
//! when the pool is first used, so a thread count must be in the environment before any model
//! work in the process. [`run`] does not (cannot, `unsafe_code` is forbidden) change it; it
//! reports the effective count and errors if [`BenchConfig::threads`] asks for a different one.
//! The CLI applies `--threads` by re-executing itself with `RAYON_NUM_THREADS` set.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::llm::{Accelerator, ChatMessage, FinishReason, GenerationParams, LoadOptions, LocalLlm};
use crate::{Error, Result};

/// Text whose token ids are repeated to build the synthetic pp prompt.
const FILLER: &str = "Der Personalausweis kann im Bürgeramt der Stadt beantragt werden. Bitte \
    bringen Sie ein aktuelles biometrisches Passfoto, Ihren bisherigen Ausweis und gegebenenfalls \
    die Geburtsurkunde mit. Die Gebühr beträgt 37 Euro für Personen ab 24 Jahren. Termine \
    vergibt das Bürgeramt online oder telefonisch montags bis freitags von 8 bis 12 Uhr. \
    Die Abfallkalender für das kommende Jahr liegen im Rathaus aus und stehen im Netz bereit. ";

/// Prompts for the tg test, tried in order until one yields a full-length answer.
const TG_PROMPTS: [&str; 3] = [
    "Zähle auf Deutsch von eins bis dreihundert, jede Zahl ausgeschrieben in einer eigenen Zeile.",
    "Schreibe einen ausführlichen, langen Aufsatz über die Geschichte der kommunalen \
     Selbstverwaltung in Deutschland.",
    "Erzähle eine lange Geschichte über einen Tag im Bürgeramt.",
];

/// What to benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The GGUF file.
    pub model: PathBuf,
    /// Tokens of the pp test (default 512).
    pub prompt_tokens: usize,
    /// Decode steps of the tg test (default 128).
    pub gen_tokens: usize,
    /// Measured repetitions of each test (default 3).
    pub repetitions: usize,
    /// Expected thread count; `None` takes whatever `RAYON_NUM_THREADS` (or the CPU count)
    /// gives. See the module docs: this must already be in effect, [`run`] only checks it.
    pub threads: Option<usize>,
    /// Where to run: `cpu` (default), `cuda`, `cuda:N`, `metal` (see [`Accelerator::parse`]).
    pub device: String,
}

impl BenchConfig {
    /// The llama-bench defaults (pp512, tg128, 3 repetitions) for `model`.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            prompt_tokens: 512,
            gen_tokens: 128,
            repetitions: 3,
            threads: None,
            device: "cpu".into(),
        }
    }
}

/// Mean, sample standard deviation and the raw samples of one measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for a single sample.
    pub stddev: f64,
    pub samples: Vec<f64>,
}

impl Stat {
    /// Statistics of `samples` (all zero when empty).
    pub fn of(samples: Vec<f64>) -> Self {
        let n = samples.len() as f64;
        if samples.is_empty() {
            return Self {
                mean: 0.0,
                stddev: 0.0,
                samples,
            };
        }
        let mean = samples.iter().sum::<f64>() / n;
        let stddev = if samples.len() > 1 {
            (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self {
            mean,
            stddev,
            samples,
        }
    }

    fn show(&self) -> String {
        format!("{:.2} ± {:.2}", self.mean, self.stddev)
    }
}

/// The outcome of one [`run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// `general.name` of the model (or the file stem).
    pub model: String,
    /// The GGUF path as given.
    pub file: String,
    /// File size in bytes.
    pub size_bytes: u64,
    /// Number of weights (sum of all tensor element counts in the GGUF).
    pub params: u64,
    /// `general.architecture`.
    pub architecture: String,
    /// Always `CPU` for now.
    pub backend: String,
    /// Effective thread count (`RAYON_NUM_THREADS`, else the CPU count).
    pub threads: usize,
    /// Tokens of the pp test.
    pub prompt_tokens: usize,
    /// Requested decode steps of the tg test.
    pub gen_tokens: usize,
    /// Decode steps actually measured in every tg repetition (the minimum over repetitions);
    /// below `gen_tokens` only if the model ended every fallback prompt's answer early.
    pub tg_decoded_tokens: usize,
    /// Measured repetitions.
    pub repetitions: usize,
    /// Prompt processing, tokens per second.
    pub pp_tok_s: Stat,
    /// Text generation, tokens per second.
    pub tg_tok_s: Stat,
    /// Time to first token of the pp prompt (prefill plus first sample), milliseconds.
    pub ttft_ms: Stat,
    /// Loading the model (including repacking), milliseconds; the warm-up is not included.
    pub load_ms: f64,
    /// Tensors converted to Q8_0 at load (see [`crate::llm::LoadOptions::repack`]).
    pub repacked_tensors: usize,
    /// Peak resident set size of the process (`VmHWM`), Linux only.
    pub peak_rss_bytes: Option<u64>,
}

impl BenchResult {
    /// `ppN`.
    pub fn pp_test(&self) -> String {
        format!("pp{}", self.prompt_tokens)
    }

    /// `tgN`.
    pub fn tg_test(&self) -> String {
        format!("tg{}", self.gen_tokens)
    }
}

/// Loads the model, warms it up and runs `repetitions` pp and tg measurements.
pub fn run(config: &BenchConfig) -> Result<BenchResult> {
    if config.prompt_tokens == 0 || config.gen_tokens == 0 || config.repetitions == 0 {
        return Err(Error::Model(
            "benchmark sizes must be positive (prompt tokens, generated tokens, repetitions)"
                .into(),
        ));
    }
    let path = config.model.as_path();
    let size_bytes = std::fs::metadata(path)
        .map_err(|e| Error::Model(format!("cannot benchmark {}: {e}", path.display())))?
        .len();
    let threads = candle_core::utils::get_num_threads();
    if let Some(wanted) = config.threads
        && wanted != threads
    {
        return Err(Error::Model(format!(
            "{wanted} threads requested, but candle will use {threads}: the thread count must \
             be set with RAYON_NUM_THREADS={wanted} before the process starts any model work"
        )));
    }
    let params = count_params(path)?;

    let accelerator = Accelerator::parse(&config.device)?;
    let options = LoadOptions {
        accelerator,
        // Every repetition must prefill its whole prompt.
        prefix_cache: 0,
        ..LoadOptions::default()
    };
    let started = Instant::now();
    let mut llm = LocalLlm::load_with(path, &options)?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    llm.warm_up()?;

    let needed = config.prompt_tokens.max(config.gen_tokens + 64) + 1;
    if needed > llm.context_length() {
        return Err(Error::Model(format!(
            "the benchmark needs {needed} tokens of context, {} has {}",
            llm.model_name(),
            llm.context_length()
        )));
    }

    let pp_chat = synthetic_chat(&mut llm, config.prompt_tokens)?;
    let mut pp = Vec::with_capacity(config.repetitions);
    let mut ttft = Vec::with_capacity(config.repetitions);
    for _ in 0..config.repetitions {
        let g = llm.generate(&pp_chat, &greedy(1), &mut |_| {})?;
        if g.prompt_tokens != config.prompt_tokens {
            return Err(Error::Internal(format!(
                "pp prompt has {} tokens instead of {}",
                g.prompt_tokens, config.prompt_tokens
            )));
        }
        pp.push(per_second(g.prompt_tokens, g.prompt_ms));
        ttft.push(g.prompt_ms + g.generation_ms);
    }

    let mut tg = Vec::with_capacity(config.repetitions);
    let mut tg_decoded = usize::MAX;
    let mut prompt = 0;
    for _ in 0..config.repetitions {
        let (decoded, ms) = loop {
            let chat = [ChatMessage::user(TG_PROMPTS[prompt])];
            let g = llm.generate(&chat, &greedy(config.gen_tokens + 1), &mut |_| {})?;
            let decoded = g.completion_tokens.saturating_sub(1);
            let full = g.finish_reason == FinishReason::Length && decoded == config.gen_tokens;
            if full || prompt + 1 == TG_PROMPTS.len() {
                break (decoded, g.generation_ms);
            }
            // The model ended its answer early: use the next prompt from now on.
            prompt += 1;
        };
        if decoded == 0 {
            return Err(Error::Model(format!(
                "{} ends every tg prompt's answer after its first token; cannot measure \
                 generation speed",
                llm.model_name()
            )));
        }
        tg_decoded = tg_decoded.min(decoded);
        tg.push(per_second(decoded, ms));
    }

    Ok(BenchResult {
        model: llm.model_name().to_string(),
        file: path.display().to_string(),
        size_bytes,
        params,
        architecture: llm.architecture().to_string(),
        backend: match accelerator {
            Accelerator::Cpu => "CPU".into(),
            other => other.to_string().to_uppercase(),
        },
        threads,
        prompt_tokens: config.prompt_tokens,
        gen_tokens: config.gen_tokens,
        tg_decoded_tokens: tg_decoded,
        repetitions: config.repetitions,
        pp_tok_s: Stat::of(pp),
        tg_tok_s: Stat::of(tg),
        ttft_ms: Stat::of(ttft),
        load_ms,
        repacked_tensors: llm.repacked_tensors(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

fn greedy(max_tokens: usize) -> GenerationParams {
    GenerationParams {
        max_tokens,
        temperature: 0.0,
        top_p: None,
        seed: 0,
        stop: Vec::new(),
        repeat_penalty: 1.0,
        ..GenerationParams::default()
    }
}

fn per_second(tokens: usize, ms: f64) -> f64 {
    tokens as f64 / (ms.max(1e-6) / 1000.0)
}

/// A chat whose rendered prompt is exactly `target` tokens: an empty system message (so no
/// default system prompt is inserted) and a user message of repeated filler tokens, sized by
/// counting the rendered prompt (`generate` with `max_tokens = 0` only tokenises).
fn synthetic_chat(llm: &mut LocalLlm, target: usize) -> Result<Vec<ChatMessage>> {
    let filler = llm.tokenizer().encode(FILLER)?;
    if filler.is_empty() {
        return Err(Error::Internal(
            "the filler text encodes to no tokens".into(),
        ));
    }
    let chat = |text: String| vec![ChatMessage::system(""), ChatMessage::user(text)];
    let count = |llm: &mut LocalLlm, text: &str| -> Result<usize> {
        Ok(llm
            .generate(&chat(text.to_string()), &greedy(0), &mut |_| {})?
            .prompt_tokens)
    };
    let overhead = count(llm, "")?;
    if target <= overhead {
        return Err(Error::Model(format!(
            "the pp test needs more than the {overhead} tokens of chat framing; ask for at \
             least {} prompt tokens",
            overhead + 1
        )));
    }
    let text_for = |llm: &LocalLlm, n: usize| -> Result<String> {
        let ids: Vec<u32> = filler.iter().copied().cycle().take(n).collect();
        llm.tokenizer().decode(&ids, false)
    };
    // Re-tokenising decoded text can merge or split at the seams; correct and retry.
    let mut n = target - overhead;
    let mut tried = Vec::new();
    for _ in 0..32 {
        let text = text_for(llm, n)?;
        let got = count(llm, &text)?;
        if got == target {
            return Ok(chat(text));
        }
        tried.push(n);
        let next = (n as i64 + target as i64 - got as i64).max(1) as usize;
        // Oscillating between lengths: step by one instead.
        n = if tried.contains(&next) {
            if got < target {
                n + 1
            } else {
                n.saturating_sub(1).max(1)
            }
        } else {
            next
        };
        if tried.contains(&n) && tried.iter().filter(|&&t| t == n).count() > 2 {
            break;
        }
    }
    Err(Error::Internal(format!(
        "cannot build a prompt of exactly {target} tokens from the filler text"
    )))
}

/// Sum of the element counts of all tensors in the GGUF header.
fn count_params(path: &Path) -> Result<u64> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::Model(format!("cannot benchmark {}: {e}", path.display())))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)
        .map_err(|e| Error::Model(format!("{} is not a GGUF file: {e}", path.display())))?;
    Ok(content
        .tensor_infos
        .values()
        .map(|t| t.shape.elem_count() as u64)
        .sum())
}

/// `VmHWM` from `/proc/self/status`, in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn params_text(params: u64) -> String {
    let p = params as f64;
    if p >= 1e9 {
        format!("{:.2} B", p / 1e9)
    } else if p >= 1e6 {
        format!("{:.2} M", p / 1e6)
    } else if p >= 1e3 {
        format!("{:.2} K", p / 1e3)
    } else {
        params.to_string()
    }
}

const HEADERS: [&str; 7] = [
    "model", "size", "params", "backend", "threads", "test", "t/s",
];
/// Columns aligned right (numbers), as llama-bench does.
const RIGHT: [bool; 7] = [false, true, true, false, true, true, true];

/// One row per test: model, size, params, backend, threads, test, t/s.
fn rows(results: &[BenchResult]) -> Vec<[String; 7]> {
    let mut rows = Vec::new();
    for r in results {
        let model = format!("{} ({})", r.model, r.architecture);
        for (test, stat) in [(r.pp_test(), &r.pp_tok_s), (r.tg_test(), &r.tg_tok_s)] {
            rows.push([
                model.clone(),
                gib(r.size_bytes),
                params_text(r.params),
                r.backend.clone(),
                r.threads.to_string(),
                test,
                stat.show(),
            ]);
        }
    }
    rows
}

/// Per-result notes below the table: load time, time to first token, peak memory.
fn notes(results: &[BenchResult]) -> String {
    let mut out = String::new();
    for r in results {
        out.push_str(&format!(
            "{}: load {:.0} ms, ttft {} {} ms, peak RSS {}",
            r.model,
            r.load_ms,
            r.pp_test(),
            r.ttft_ms.show(),
            r.peak_rss_bytes.map_or_else(|| "n/a".to_string(), gib),
        ));
        if r.repacked_tensors > 0 {
            out.push_str(&format!(
                ", {} tensors repacked to Q8_0",
                r.repacked_tensors
            ));
        }
        if r.tg_decoded_tokens < r.gen_tokens {
            out.push_str(&format!(
                "; note: the model ended its answers early, tg measured over {} tokens",
                r.tg_decoded_tokens
            ));
        }
        out.push('\n');
    }
    out
}

fn widths(rows: &[[String; 7]]) -> [usize; 7] {
    let mut w = HEADERS.map(|h| h.chars().count());
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            w[i] = w[i].max(cell.chars().count());
        }
    }
    w
}

fn pad(cell: &str, width: usize, right: bool) -> String {
    if right {
        format!("{cell:>width$}")
    } else {
        format!("{cell:<width$}")
    }
}

/// An aligned plain-text table, one row per test, followed by load/ttft/memory notes.
pub fn to_table(results: &[BenchResult]) -> String {
    let rows = rows(results);
    let w = widths(&rows);
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| pad(c, w[i], RIGHT[i]))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(&HEADERS.map(String::from));
    let rule: Vec<String> = w.iter().map(|&n| "-".repeat(n)).collect();
    out.push_str(&format!("{}\n", rule.join("  ")));
    for row in &rows {
        out.push_str(&line(row));
    }
    out.push('\n');
    out.push_str(&notes(results));
    out
}

/// A Markdown table in llama-bench's layout, followed by the notes as a paragraph.
pub fn to_markdown(results: &[BenchResult]) -> String {
    let rows = rows(results);
    let w = widths(&rows);
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| pad(&c.replace('|', "\\|"), w[i], RIGHT[i]))
            .collect();
        format!("| {} |\n", parts.join(" | "))
    };
    let mut out = line(&HEADERS.map(String::from));
    let rule: Vec<String> = (0..7)
        .map(|i| {
            if RIGHT[i] {
                format!("{}:", "-".repeat(w[i].max(2) - 1))
            } else {
                "-".repeat(w[i].max(1))
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    for row in &rows {
        out.push_str(&line(row));
    }
    out.push('\n');
    for note in notes(results).lines() {
        out.push_str(&format!("- {note}\n"));
    }
    out
}
