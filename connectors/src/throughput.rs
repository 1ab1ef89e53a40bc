//! German CSV ingest throughput, measured on the very path `allmende ingest` takes: each file
//! is read and parsed by [`crate::load`] (encoding and separator detection, German numbers and
//! dates, null placeholders, type inference, quarantine) `repeat` times after a warm-up, and
//! the median run is reported in rows and megabytes per second. `allmende bench csv` and the
//! `csv_throughput` example print it; `benches/csv_side_by_side.py` runs it next to DuckDB's
//! `read_csv` on the same files in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Error, Format, Result, SourceSpec};

/// What to measure.
#[derive(Debug, Clone)]
pub struct CsvBenchArgs {
    /// The files.
    pub files: Vec<PathBuf>,
    /// `csv` or `genesis`.
    pub format: Format,
    /// Timed runs per file (after one warm-up run).
    pub repeat: usize,
}

/// One file's result.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CsvBenchResult {
    /// The file.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Data rows read, loaded and quarantined (of the last run).
    pub rows_read: usize,
    pub rows_loaded: usize,
    pub rows_quarantined: usize,
    /// Median wall time of one read-and-parse, in seconds.
    pub median_s: f64,
    /// Fastest run, in seconds.
    pub min_s: f64,
    /// Rows read per second at the median.
    pub rows_per_s: f64,
    /// Megabytes (10^6) per second at the median.
    pub mb_per_s: f64,
}

/// Runs the benchmark; blocking (call it from `spawn_blocking`).
pub fn run(args: &CsvBenchArgs) -> Result<Vec<CsvBenchResult>> {
    if args.repeat == 0 {
        return Err(Error::Spec("--repeat must be at least 1".into()));
    }
    if !matches!(args.format, Format::Csv | Format::Genesis) {
        return Err(Error::Spec(
            "the CSV benchmark measures the csv and genesis formats".into(),
        ));
    }
    let mut results = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let bytes = std::fs::metadata(file)
            .map_err(|e| Error::io(file, e))?
            .len();
        let spec = SourceSpec::open_data("bench", "csv", args.format, file.clone(), "-", "-");
        let mut loaded = crate::load(&spec)?;
        let mut times: Vec<Duration> = Vec::with_capacity(args.repeat);
        for _ in 0..args.repeat {
            let start = Instant::now();
            loaded = crate::load(&spec)?;
            times.push(start.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2].as_secs_f64();
        let p = &loaded.provenance;
        results.push(CsvBenchResult {
            file: file.display().to_string(),
            bytes,
            rows_read: p.rows_read,
            rows_loaded: p.rows_loaded,
            rows_quarantined: p.rows_quarantined,
            median_s: median,
            min_s: times[0].as_secs_f64(),
            rows_per_s: p.rows_read as f64 / median,
            mb_per_s: bytes as f64 / 1e6 / median,
        });
    }
    Ok(results)
}

/// An aligned table of the results.
pub fn to_table(results: &[CsvBenchResult]) -> String {
    let mut out = format!(
        "{:<48} {:>10} {:>9} {:>9} {:>6} {:>10} {:>12} {:>8}\n",
        "file", "bytes", "read", "loaded", "quar.", "median ms", "rows/s", "MB/s"
    );
    for r in results {
        let name = r.file.rsplit('/').next().unwrap_or(&r.file);
        out.push_str(&format!(
            "{:<48} {:>10} {:>9} {:>9} {:>6} {:>10.2} {:>12.0} {:>8.1}\n",
            name,
            r.bytes,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            r.median_s * 1e3,
            r.rows_per_s,
            r.mb_per_s
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_german_csv_and_counts_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        let mut text = String::from("Bezirk;Einwohner;Stichtag\n");
        for i in 0..500 {
            text.push_str(&format!("Bezirk {i};{}.{:03};31.12.2024\n", i, i));
        }
        text.push_str("nur zwei;Felder\n");
        std::fs::write(&path, text).expect("write");
        let results = run(&CsvBenchArgs {
            files: vec![path],
            format: Format::Csv,
            repeat: 2,
        })
        .expect("bench runs");
        let r = &results[0];
        assert_eq!(
            (r.rows_read, r.rows_loaded, r.rows_quarantined),
            (501, 500, 1)
        );
        assert!(r.median_s > 0.0 && r.min_s <= r.median_s);
        assert!(to_table(&results).contains("t.csv"));
    }

    #[test]
    fn zero_repeats_are_refused() {
        let err = run(&CsvBenchArgs {
            files: vec![],
            format: Format::Csv,
            repeat: 0,
        })
        .expect_err("refused");
        assert!(err.to_string().contains("--repeat"));
    }
}
