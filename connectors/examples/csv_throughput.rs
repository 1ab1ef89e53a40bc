//! German CSV ingest throughput without the rest of Allmende: the same measurement as
//! `allmende bench csv` (see `allmende_connectors::throughput`), in a binary that builds in
//! release mode with only the connectors' dependencies:
//!
//! ```text
//! cargo build --release --locked -p allmende-connectors --example csv_throughput
//! target/release/examples/csv_throughput [--json] [--repeat N] [--format csv|genesis] FILE...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use allmende_connectors::Format;
use allmende_connectors::throughput::{CsvBenchArgs, run, to_table};

fn main() -> ExitCode {
    let mut args = CsvBenchArgs {
        files: Vec::new(),
        format: Format::Csv,
        repeat: 5,
    };
    let mut json = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--repeat" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => args.repeat = n,
                None => return usage("--repeat needs a number"),
            },
            "--format" => match it.next().as_deref() {
                Some("csv") => args.format = Format::Csv,
                Some("genesis") => args.format = Format::Genesis,
                _ => return usage("--format is csv or genesis"),
            },
            flag if flag.starts_with("--") => return usage(&format!("unknown option {flag}")),
            file => args.files.push(PathBuf::from(file)),
        }
    }
    if args.files.is_empty() {
        return usage("no files given");
    }
    match run(&args) {
        Ok(results) if json => match serde_json::to_string_pretty(&results) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(results) => {
            print!("{}", to_table(&results));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "error: {problem}\nusage: csv_throughput [--json] [--repeat N] [--format csv|genesis] FILE..."
    );
    ExitCode::from(2)
}
