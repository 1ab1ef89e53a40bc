//! `allmende bench inference`: runs [`allmende_assistant::bench`] and renders the result as an
//! aligned table, Markdown (llama-bench's layout) or JSON.
//!
//! Threads: candle sizes its thread pool from `RAYON_NUM_THREADS` the first time it is used,
//! and this crate may not change its own environment (`unsafe_code` is forbidden). So
//! `--threads N` is applied by [`reexec_with_threads`], which runs the same command line again
//! in a child process with `RAYON_NUM_THREADS=N` (and `CANDLE_NUM_THREADS=N`); call it before
//! any model work.

use std::process::ExitCode;

use allmende_assistant::bench::{self, BenchConfig};
use anyhow::Context;

/// Output formats of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFormat {
    /// Aligned text table with load, time-to-first-token and memory notes.
    Table,
    /// The full result as pretty JSON (an array with one object).
    Json,
    /// A Markdown table like llama-bench's.
    Markdown,
}

/// Runs the benchmark on `model` and renders it in `format`. `threads` is only checked (see
/// the module docs): it must equal the thread count candle will use.
pub fn run_inference_bench(config: BenchConfig, format: BenchFormat) -> anyhow::Result<String> {
    if !config.model.is_file() {
        anyhow::bail!(
            "no model file at {} (pass a .gguf path or a registry name with --model, \
             and `allmende models pull` it first)",
            config.model.display()
        );
    }
    let result =
        bench::run(&config).with_context(|| format!("benchmarking {}", config.model.display()))?;
    let results = [result];
    Ok(match format {
        BenchFormat::Table => bench::to_table(&results),
        BenchFormat::Markdown => bench::to_markdown(&results),
        BenchFormat::Json => format!("{}\n", serde_json::to_string_pretty(&results)?),
    })
}

/// If `threads` is given and `RAYON_NUM_THREADS` does not already say so, runs this program
/// again with the same arguments and `RAYON_NUM_THREADS`/`CANDLE_NUM_THREADS` set to it,
/// inheriting stdin/stdout/stderr, and returns the child's exit code. Returns `Ok(None)` when
/// the current process already has the right setting (or no thread count was asked for), in
/// which case the caller runs the benchmark itself.
pub fn reexec_with_threads(threads: Option<usize>) -> anyhow::Result<Option<ExitCode>> {
    let Some(n) = threads else {
        return Ok(None);
    };
    if n == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    let current = std::env::var("RAYON_NUM_THREADS").ok();
    if current
        .as_deref()
        .and_then(|s| s.trim().parse::<usize>().ok())
        == Some(n)
    {
        return Ok(None);
    }
    let exe = std::env::current_exe().context("locating the allmende executable")?;
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("RAYON_NUM_THREADS", n.to_string())
        .env("CANDLE_NUM_THREADS", n.to_string())
        .status()
        .context("re-running allmende with RAYON_NUM_THREADS set")?;
    let code = status.code().unwrap_or(1);
    Ok(Some(ExitCode::from(u8::try_from(code).unwrap_or(1))))
}
