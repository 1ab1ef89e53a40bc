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
    let shared_present = config.datasets.shared_dir.is_dir();
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    for mut spec in manifest.sources {
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
        }
        specs.push(spec);
    }
    Ok((specs, skipped))
}

/// Runs the whole ingest.
pub async fn run(config: &Config) -> anyhow::Result<IngestReport> {
    let dir = config.musterstadt_dir();
    allmende_datasets::musterstadt::write_to(&dir, config.datasets.seed)
        .with_context(|| format!("writing Musterstadt into {}", dir.display()))?;
    let (mut specs, skipped) = manifest_sources(config)?;
    specs.extend(config.sources.iter().cloned());

    let store = SnapshotStore::new(config.snapshot_dir());
    let mut report = IngestReport {
        skipped,
        ..IngestReport::default()
    };
    for spec in &specs {
        let table = format!("{}.{}", spec.source, spec.table);
        let outcome = allmende_connectors::load(spec).and_then(|loaded| {
            let p = &loaded.provenance;
            let counts = (p.rows_read, p.rows_loaded, p.rows_quarantined);
            store
                .write(&loaded)
                .map(|w| (counts.0, counts.1, counts.2, w))
        });
        if let Err(e) = &outcome {
            tracing::error!(table = %table, error = %e, "source failed; the last good snapshot is kept");
        }
        report.sources.push(SourceReport {
            table,
            outcome: outcome.map_err(|e| e.to_string()),
        });
    }

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

/// Opens (or creates) the search index in `dir`.
pub fn open_index(dir: &Path) -> anyhow::Result<SearchIndex> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    SearchIndex::open_or_create(dir)
        .with_context(|| format!("opening search index {}", dir.display()))
}
