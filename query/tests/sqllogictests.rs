//! SQL behaviour as sqllogictest (`.slt`) files, run against one [`QueryEngine`] over real
//! Parquet snapshots written by the connectors crate:
//!
//! - Musterstadt (the generator's population CSV, open; its synthetic register, personal) as
//!   `musterstadt.bevoelkerung` / `musterstadt.melderegister`;
//! - real German-formatted files from `../shared/datasets` (Destatis Gemeindeverzeichnis, the
//!   IT.NRW GENESIS table and budget CSVs of Köln, Berlin residents by LOR), loaded with the
//!   same source specs as `allmende ingest` (read from the built-in manifest);
//! - a small hand-written German CSV with every null placeholder
//!   (`slt/fixtures/platzhalter.csv`) as `fixture.platzhalter`.
//!
//! Files under `slt/public/` run with [`Role::Public`], files under `slt/analyst/` with
//! [`Role::Analyst`]. A file whose text contains the line `# requires: shared-datasets` is
//! skipped with a note when `../shared/datasets` is absent — except under `CI=true`, where that
//! is a failure (`ALLMENDE_SLT_SHARED_DIR` points the test at another folder). Every record of
//! every file runs; all failures are reported together, each with its file and line.
//!
//! Results are compared as Arrow's display strings (`allmende_query::display_rows`, NULL as
//! `NULL`); column types are checked strictly: `I` for integers, `R` for floats and decimals,
//! `T` for everything else. Errors carry the engine's message, so `statement error <regex>` and
//! `query error <regex>` match what an analyst would see.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use allmende_connectors::{Format, SnapshotStore, SourceSpec, load};
use allmende_datasets::musterstadt;
use allmende_query::{QueryConfig, QueryEngine, Role, display_rows};
use arrow::array::Array;
use arrow::datatypes::DataType;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Record, Runner, strict_column_validator};

/// The Musterstadt seed of the demo (`allmende ingest` uses the same).
const SEED: u64 = musterstadt::DEFAULT_SEED;

/// The marker line of files that need `../shared/datasets`.
const REQUIRES_SHARED: &str = "# requires: shared-datasets";

/// The tables of the built-in manifest that are loaded from `../shared/datasets`.
const SHARED_TABLES: [(&str, &str); 12] = [
    ("destatis", "gemeinden"),
    ("koeln", "flaechennutzung"),
    ("koeln", "gesamtergebnisplan"),
    ("koeln", "bezirkshaushalt"),
    ("berlin", "einwohner_2019"),
    ("berlin", "einwohner_2020"),
    ("karlsruhe", "vorlagen"),
    ("karlsruhe", "sitzungen"),
    ("karlsruhe", "gremien"),
    ("dcat_beispiel", "datensaetze"),
    ("dcat_beispiel", "distributionen"),
    ("gesetze", "paragraphen"),
];

fn slt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt")
}

/// `../shared/datasets` beside the workspace, or `ALLMENDE_SLT_SHARED_DIR` where set (to check
/// the skip without moving the shared folder).
fn shared_dir() -> PathBuf {
    match std::env::var_os("ALLMENDE_SLT_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/datasets"
        ))
        .into(),
    }
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The spec of `source.table` from the built-in manifest (`datasets/manifest.toml`) with
/// `{musterstadt}` and `{shared}` resolved: the spec `allmende ingest` builds. The manifest is
/// TOML; the entries used here are flat `key = "value"` tables without options, which this
/// reads directly (the query crate has no TOML parser).
fn manifest_spec(source: &str, table: &str, musterstadt: &Path, shared: &Path) -> SourceSpec {
    for entry in allmende_datasets::MANIFEST.split("[[sources]]").skip(1) {
        let mut fields = std::collections::BTreeMap::new();
        for line in entry.lines() {
            let Some((key, value)) = line.split_once(" = ") else {
                continue;
            };
            fields.insert(key.trim(), value.trim().trim_matches('"'));
        }
        if fields.get("source") != Some(&source) || fields.get("table") != Some(&table) {
            continue;
        }
        assert!(
            !entry.contains("[sources.options]"),
            "{source}.{table}: the manifest entry has options this test does not read"
        );
        let field = |k: &str| {
            *fields
                .get(k)
                .unwrap_or_else(|| panic!("{source}.{table}: no {k} in the manifest"))
        };
        let format: Format = serde_json::from_value(serde_json::Value::from(field("format")))
            .unwrap_or_else(|e| panic!("{source}.{table}: format: {e}"));
        let path = field("path");
        let path = if let Some(rest) = path.strip_prefix("{shared}/") {
            shared.join(rest)
        } else if let Some(rest) = path.strip_prefix("{musterstadt}/") {
            musterstadt.join(rest)
        } else {
            panic!("{source}.{table}: unexpected path {path}")
        };
        return SourceSpec {
            personal: fields.get("personal") == Some(&"true"),
            ..SourceSpec::open_data(
                source,
                table,
                format,
                path,
                field("licence"),
                field("attribution"),
            )
        };
    }
    panic!("{source}.{table} is not in the built-in manifest");
}

/// Writes every snapshot and opens the engine. Returns the directory that holds them (keep it
/// alive) and whether the shared datasets were loaded.
async fn engine() -> (tempfile::TempDir, QueryEngine, bool) {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("musterstadt");
    let files = musterstadt::write_to(&generated, SEED).unwrap();
    let shared = shared_dir();
    let shared_present = shared.is_dir();
    let mut specs = Vec::new();
    for (table, path) in [
        ("bevoelkerung", &files.population),
        ("melderegister", &files.register),
    ] {
        let spec = manifest_spec("musterstadt", table, &generated, &shared);
        assert_eq!(&spec.path, path, "the manifest names the generator's file");
        specs.push(spec);
    }
    assert!(specs[1].personal, "the register is marked personal");
    specs.push(SourceSpec::open_data(
        "fixture",
        "platzhalter",
        Format::Csv,
        slt_dir().join("fixtures/platzhalter.csv"),
        "CC0-1.0",
        "handgeschriebenes Testbeispiel (Allmende)",
    ));
    if shared_present {
        for (source, table) in SHARED_TABLES {
            specs.push(manifest_spec(source, table, &generated, &shared));
        }
    }
    let store = SnapshotStore::new(dir.path().join("snapshots"));
    for spec in &specs {
        let loaded = load(spec).unwrap_or_else(|e| panic!("{}.{}: {e}", spec.source, spec.table));
        store.write(&loaded).unwrap();
    }
    let engine = QueryEngine::open(&store, QueryConfig::default())
        .await
        .unwrap();
    (dir, engine, shared_present)
}

/// The engine's error, as its message.
#[derive(Debug)]
struct EngineError(String);

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EngineError {}

/// One "connection": the shared engine under one role.
struct Session {
    engine: Arc<QueryEngine>,
    role: Role,
}

/// The sqllogictest type letter of an Arrow type.
fn column_type(data_type: &DataType) -> DefaultColumnType {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

impl Session {
    async fn query(&self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        let result = self
            .engine
            .sql_as(sql, self.role)
            .await
            .map_err(|e| EngineError(e.to_string()))?;
        if result.truncated {
            return Err(EngineError(format!(
                "the result was truncated after {} rows",
                result.num_rows()
            )));
        }
        let types = result
            .schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = display_rows(&result.batches).map_err(|e| EngineError(e.to_string()))?;
        // Arrow displays NULL and '' alike, as nothing; sqllogictest writes NULL and (empty).
        let mut row = 0;
        for batch in &result.batches {
            for r in 0..batch.num_rows() {
                for (cell, column) in rows[row].iter_mut().zip(batch.columns()) {
                    if column.is_null(r) {
                        *cell = "NULL".into();
                    } else if cell.is_empty() {
                        *cell = "(empty)".into();
                    }
                }
                row += 1;
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

/// `AsyncDB` is declared with `#[async_trait]`; this is its expansion (the query crate does not
/// depend on `async-trait`).
impl AsyncDB for Session {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    fn run<'life0, 'life1, 'async_trait>(
        &'life0 mut self,
        sql: &'life1 str,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<DBOutput<DefaultColumnType>, EngineError>>
                + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.query(sql).await })
    }

    fn shutdown<'life0, 'async_trait>(
        &'life0 mut self,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async {})
    }

    fn engine_name(&self) -> &str {
        "allmende"
    }
}

/// The `.slt` files under `slt/<dir>`, sorted.
fn slt_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(slt_dir().join(dir))
        .unwrap_or_else(|e| panic!("slt/{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    files
}

/// What running one file gave.
struct FileReport {
    records: usize,
    failures: Vec<String>,
}

/// Runs every record of `path` under `role`, collecting every failure (not only the first).
async fn run_file(engine: &Arc<QueryEngine>, role: Role, path: &Path) -> FileReport {
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(records) => records,
        Err(e) => {
            return FileReport {
                records: 0,
                failures: vec![format!("{}: does not parse: {e}", path.display())],
            };
        }
    };
    let engine = engine.clone();
    let mut runner = Runner::new(move || {
        let engine = engine.clone();
        async move { Ok::<_, EngineError>(Session { engine, role }) }
    });
    runner.with_column_validator(strict_column_validator);
    let mut report = FileReport {
        records: 0,
        failures: Vec::new(),
    };
    for record in records {
        match record {
            Record::Halt { .. } => break,
            Record::Statement { .. } | Record::Query { .. } => report.records += 1,
            _ => {}
        }
        if let Err(e) = runner.run_async(record).await {
            report.failures.push(e.display(false).to_string());
        }
    }
    report
}

#[tokio::test]
async fn sql_behaviour_matches_the_slt_files() {
    let (_dir, engine, shared_present) = engine().await;
    let engine = Arc::new(engine);
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    // A file in any other folder would never run.
    for entry in std::fs::read_dir(slt_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            ["public", "analyst", "fixtures"].contains(&name.as_str()),
            "slt/{name}: .slt files go under slt/public/ (public role) or slt/analyst/ (analyst role)"
        );
    }
    for (dir, role) in [("public", Role::Public), ("analyst", Role::Analyst)] {
        let files = slt_files(dir);
        assert!(!files.is_empty(), "no .slt files in slt/{dir}");
        for path in files {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&path).unwrap();
            if !shared_present && text.lines().any(|l| l.trim() == REQUIRES_SHARED) {
                let note = format!(
                    "{name}: skipped, the sample data directory {} does not exist",
                    shared_dir().display()
                );
                if on_ci() {
                    failures.push(format!(
                        "{note} (CI=true: the shared datasets are required)"
                    ));
                } else {
                    println!("note: {note}");
                }
                continue;
            }
            let report = run_file(&engine, role, &path).await;
            summary.push(format!(
                "{name} ({role}): {} records, {} failed",
                report.records,
                report.failures.len()
            ));
            failures.extend(report.failures);
        }
    }
    println!("{}", summary.join("\n"));
    assert!(
        failures.is_empty(),
        "{} sqllogictest failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
