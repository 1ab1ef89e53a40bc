//! `allmende ingest`: generate Musterstadt, load every source of the manifest (and of
//! `[[sources]]`) into Parquet snapshots, then rebuild the search documents through SQL.
//!
//! A failing source is reported and keeps its last good snapshot; the other sources go on.
//! Search documents are made by each source's `documents_sql`, run through the query engine —
//! and therefore through its privacy gate, so register rows cannot reach the index.

use std::path::Path;

use allmende_connectors::{SnapshotStore, SourceSpec, WriteOutcome};
use allmende_query::QueryEngine;
use allmende_search::SearchIndex;
use anyhow::Context;
use serde::Deserialize;

use crate::config::Config;

/// Outcome of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceReport {
    /// `source.table`.
    pub table: String,
    /// Records read, loaded and quarantined, or the error that kept the old snapshot.
    pub outcome: Result<(usize, usize, usize, WriteOutcome), String>,
}

/// What an ingest run did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// One entry per source attempted.
    pub sources: Vec<SourceReport>,
    /// Sources skipped because their sample-data directory is absent.
    pub skipped: Vec<String>,
    /// Passages indexed per document source.
    pub indexed: Vec<(String, usize)>,
    /// Passage vectors encoded and reused (`None`: the e5 encoder is not installed).
    pub dense: Option<allmende_search::dense::RefreshStats>,
}

impl IngestReport {
    /// Number of sources that failed.
    pub fn failures(&self) -> usize {
        self.sources.iter().filter(|s| s.outcome.is_err()).count()
    }

    /// A human-readable summary table.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<28} {:>8} {:>8} {:>12}  status\n",
            "table", "read", "loaded", "quarantined"
        );
        for s in &self.sources {
            match &s.outcome {
                Ok((read, loaded, quarantined, outcome)) => {
                    let status = match outcome {
                        WriteOutcome::Written => "written",
                        WriteOutcome::Unchanged => "unchanged",
                    };
                    out.push_str(&format!(
                        "{:<28} {read:>8} {loaded:>8} {quarantined:>12}  {status}\n",
                        s.table
                    ));
                }
                Err(e) => out.push_str(&format!(
                    "{:<28} {:>8} {:>8} {:>12}  FAILED: {e}\n",
                    s.table, "-", "-", "-"
                )),
            }
        }
        for s in &self.skipped {
            out.push_str(&format!("skipped {s}\n"));
        }
        for (source, passages) in &self.indexed {
            out.push_str(&format!("indexed {source}: {passages} passages\n"));
        }
        match &self.dense {
            Some(d) => out.push_str(&format!(
                "passage vectors: {} encoded, {} unchanged\n",
                d.encoded, d.reused
            )),
            None => out.push_str("passage vectors: e5 encoder not installed (BM25 only)\n"),
        }
        out
    }
}

#[derive(Deserialize)]
struct Manifest {
    sources: Vec<SourceSpec>,
}

/// The built-in manifest with `{musterstadt}` and `{shared}` resolved. Returns the specs whose
/// files can be expected to exist and the names of those skipped (shared dir absent).
pub fn manifest_sources(config: &Config) -> anyhow::Result<(Vec<SourceSpec>, Vec<String>)> {
    let manifest: Manifest =
        toml::from_str(allmende_datasets::MANIFEST).context("built-in manifest is invalid")?;
    resolve_placeholders(config, manifest.sources, None)
}

/// Resolves `{shared}/` and `{musterstadt}/` at the start of each path, and relative paths
/// against `base` (the directory of a `--source` file). Sources under an absent shared
/// directory are left out and named in the second list.
fn resolve_placeholders(
    config: &Config,
    sources: Vec<SourceSpec>,
    base: Option<&Path>,
) -> anyhow::Result<(Vec<SourceSpec>, Vec<String>)> {
    let shared_present = config.datasets.shared_dir.is_dir();
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    for mut spec in sources {
        let raw = spec.path.to_string_lossy().into_owned();
        if let Some(rest) = raw.strip_prefix("{shared}/") {
            if !shared_present {
                skipped.push(format!(
                    "{}.{} (sample data directory {} not found)",
                    spec.source,
                    spec.table,
                    config.datasets.shared_dir.display()
                ));
                continue;
            }
            spec.path = config.datasets.shared_dir.join(rest);
        } else if let Some(rest) = raw.strip_prefix("{musterstadt}/") {
            spec.path = config.musterstadt_dir().join(rest);
        } else if let Some(base) = base.filter(|_| !raw.is_empty() && spec.path.is_relative()) {
            spec.path = base.join(&spec.path);
        }
        specs.push(spec);
    }
    Ok((specs, skipped))
}

/// The `[[sources]]` of source files given to `allmende ingest --source FILE` (the same
/// entries as in `allmende.toml`; relative paths are relative to the file).
pub fn source_file_specs(
    config: &Config,
    files: &[std::path::PathBuf],
) -> anyhow::Result<(Vec<SourceSpec>, Vec<String>)> {
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading source file {}", file.display()))?;
        let parsed: Manifest = toml::from_str(&text)
            .with_context(|| format!("source file {} is invalid", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let (s, k) = resolve_placeholders(config, parsed.sources, Some(base))?;
        specs.extend(s);
        skipped.extend(k);
    }
    Ok((specs, skipped))
}

/// Runs the whole ingest: Musterstadt, the built-in manifest and the configured sources.
pub async fn run(config: &Config) -> anyhow::Result<IngestReport> {
    let dir = config.musterstadt_dir();
    allmende_datasets::musterstadt::write_to(&dir, config.datasets.seed)
        .with_context(|| format!("writing Musterstadt into {}", dir.display()))?;
    let (mut specs, skipped) = manifest_sources(config)?;
    specs.extend(config.sources.iter().cloned());
    run_specs(config, specs, skipped).await
}

/// Ingests only the sources of the given files (`allmende ingest --source FILE`): their
/// snapshots, and their search documents where they have `documents_sql`.
pub async fn run_source_files(
    config: &Config,
    files: &[std::path::PathBuf],
) -> anyhow::Result<IngestReport> {
    let (specs, skipped) = source_file_specs(config, files)?;
    anyhow::ensure!(
        !specs.is_empty() || !skipped.is_empty(),
        "the source files name no [[sources]]"
    );
    run_specs(config, specs, skipped).await
}

/// Loads `specs` into snapshots, then rebuilds the search documents of those with
/// `documents_sql`.
async fn run_specs(
    config: &Config,
    specs: Vec<SourceSpec>,
    skipped: Vec<String>,
) -> anyhow::Result<IngestReport> {
    let store = SnapshotStore::new(config.snapshot_dir());
    let mut report = IngestReport {
        skipped,
        ..IngestReport::default()
    };
    let progress = progress_bar(specs.len());
    // One HTTP client (one connection pool) for every remote source of the run.
    let http = allmende_connectors::http::HttpClient::default();
    for spec in &specs {
        let table = format!("{}.{}", spec.source, spec.table);
        progress.set_message(table.clone());
        // Connectors block (files, HTTP, a PostgreSQL client with its own runtime).
        let (spec, store_for_source, http) = (spec.clone(), store.clone(), http.clone());
        let outcome =
            tokio::task::spawn_blocking(move || ingest_source(&spec, &store_for_source, &http))
                .await
                .map_err(|e| allmende_connectors::Error::Internal(format!("ingest task: {e}")))
                .and_then(|r| r);
        if let Err(e) = &outcome {
            progress.suspend(|| {
                tracing::error!(table = %table, error = %e, "source failed; the last good snapshot is kept")
            });
        }
        report.sources.push(SourceReport {
            table,
            outcome: outcome.map_err(|e| e.to_string()),
        });
        progress.inc(1);
    }
    progress.finish_and_clear();

    let engine = QueryEngine::open(&store, config.query.clone()).await?;
    let index = open_index(&config.index_dir())?;
    for spec in specs.iter().filter(|s| s.documents_sql.is_some()) {
        let name = format!("{}.{}", spec.source, spec.table);
        if engine.policy().is_personal(&name) {
            anyhow::bail!("{name} is marked personal and cannot be a document source");
        }
        let sql = spec.documents_sql.as_deref().unwrap_or_default();
        let result = match engine.sql(sql).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(table = %name, error = %e, "building search documents failed; index kept");
                report.sources.push(SourceReport {
                    table: format!("{name} (documents)"),
                    outcome: Err(e.to_string()),
                });
                continue;
            }
        };
        let stats = index.replace_source(&name, &result.batches)?;
        report.indexed.push((name, stats.passages));
    }
    let document_sources: Vec<String> = specs
        .iter()
        .filter(|s| s.documents_sql.is_some())
        .map(|s| format!("{}.{}", s.source, s.table))
        .collect();
    match crate::dense::refresh_vectors(config, &index, &document_sources) {
        Ok(stats) => report.dense = stats,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "passage vectors not refreshed; hybrid retrieval uses the previous ones"
            );
            report.sources.push(SourceReport {
                table: "dense vectors".into(),
                outcome: Err(format!("{e:#}")),
            });
        }
    }
    Ok(report)
}

/// Loads one source (conditionally, when its snapshot carries HTTP validators) and writes its
/// snapshot; a `304 Not Modified` keeps the snapshot and reports its last counts.
fn ingest_source(
    spec: &SourceSpec,
    store: &SnapshotStore,
    http: &allmende_connectors::http::HttpClient,
) -> allmende_connectors::Result<(usize, usize, usize, WriteOutcome)> {
    let previous = store.provenance(&spec.table_name()?);
    match allmende_connectors::load_incremental(spec, http, previous.as_ref())? {
        Some(loaded) => {
            let p = &loaded.provenance;
            let counts = (p.rows_read, p.rows_loaded, p.rows_quarantined);
            let written = store.write(&loaded)?;
            Ok((counts.0, counts.1, counts.2, written))
        }
        None => {
            let p = previous.ok_or_else(|| {
                allmende_connectors::Error::Internal("not modified without a snapshot".into())
            })?;
            Ok((
                p.rows_read,
                p.rows_loaded,
                p.rows_quarantined,
                WriteOutcome::Unchanged,
            ))
        }
    }
}

/// A progress bar on stderr for the sources of a long ingest; drawn only on a terminal.
fn progress_bar(sources: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(sources as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} sources  {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Opens (or creates) the search index in `dir`.
pub fn open_index(dir: &Path) -> anyhow::Result<SearchIndex> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    SearchIndex::open_or_create(dir)
        .with_context(|| format!("opening search index {}", dir.display()))
}
