//! Parquet snapshots on disk: `<root>/<source>/<table>.parquet`, provenance embedded in the
//! Parquet key-value metadata (so data and provenance change in one atomic rename), rejected rows
//! beside it in `<table>.quarantine.jsonl`. Writes go to a temporary file in the same directory,
//! are synced, then renamed over the old snapshot: a crash leaves the previous snapshot intact.
//! A source whose content hash is unchanged is not rewritten.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::provenance::{Provenance, TableName};
use crate::source::LoadedTable;
use crate::{Error, Result};

/// Rows per Parquet row group of a snapshot (DuckDB's default size).
pub const SNAPSHOT_ROW_GROUP_ROWS: usize = 122_880;

/// Parquet metadata key under which the provenance JSON is stored.
pub const PROVENANCE_KEY: &str = "allmende.provenance";

/// A snapshot found on disk.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The Parquet file.
    pub path: PathBuf,
    /// Its provenance.
    pub provenance: Provenance,
}

/// What [`SnapshotStore::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new snapshot replaced the old one.
    Written,
    /// The source content hash equals the current snapshot's; nothing was written.
    Unchanged,
}

/// The directory of all snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    root: PathBuf,
}

impl SnapshotStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Path of a table's Parquet file.
    pub fn parquet_path(&self, table: &TableName) -> PathBuf {
        self.root
            .join(&table.source)
            .join(format!("{}.parquet", table.table))
    }

    /// Path of a table's quarantine file.
    pub fn quarantine_path(&self, table: &TableName) -> PathBuf {
        self.root
            .join(&table.source)
            .join(format!("{}.quarantine.jsonl", table.table))
    }

    /// The provenance of a table's current snapshot, if it has a readable one.
    pub fn provenance(&self, table: &TableName) -> Option<Provenance> {
        let path = self.parquet_path(table);
        path.is_file()
            .then(|| read_provenance(&path).ok())
            .flatten()
    }

    /// Writes a loaded table atomically, unless its content hash is unchanged.
    pub fn write(&self, loaded: &LoadedTable) -> Result<WriteOutcome> {
        let table = &loaded.provenance.table;
        let path = self.parquet_path(table);
        let unchanged = read_provenance(&path).is_ok_and(|existing| {
            existing.sha256 == loaded.provenance.sha256
                && existing.personal == loaded.provenance.personal
        });
        if unchanged {
            tracing::info!(table = %table, "source unchanged, snapshot kept");
            return Ok(WriteOutcome::Unchanged);
        }
        let dir = path
            .parent()
            .ok_or_else(|| Error::Internal("snapshot path has no parent".into()))?;
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;

        let provenance_json = serde_json::to_string(&loaded.provenance)
            .map_err(|e| Error::Internal(e.to_string()))?;
        // Snappy (fast to decode, as DuckDB and Spark write by default) and row groups of
        // SNAPSHOT_ROW_GROUP_ROWS: a large table is read by several cores at once and a filter
        // can skip whole row groups by their statistics.
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(SNAPSHOT_ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                PROVENANCE_KEY.to_string(),
                provenance_json,
            )]))
            .build();
        atomic_write(&path, |file| {
            let mut writer = ArrowWriter::try_new(file, loaded.batch.schema(), Some(props))?;
            writer.write(&loaded.batch)?;
            writer.close()?;
            Ok(())
        })?;

        let mut lines = String::new();
        for row in &loaded.quarantine {
            lines
                .push_str(&serde_json::to_string(row).map_err(|e| Error::Internal(e.to_string()))?);
            lines.push('\n');
        }
        atomic_write(&self.quarantine_path(table), |mut file| {
            file.write_all(lines.as_bytes())
                .map_err(|e| Error::io("quarantine", e))
        })?;
        Ok(WriteOutcome::Written)
    }

    /// Every snapshot under the root, sorted by table name. Unreadable files are skipped with a
    /// warning (a half-written temp file is never named `*.parquet`).
    pub fn list(&self) -> Result<Vec<Snapshot>> {
        let mut out = Vec::new();
        let Ok(sources) = fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for source in sources.flatten().filter(|e| e.path().is_dir()) {
            let files = fs::read_dir(source.path()).map_err(|e| Error::io(source.path(), e))?;
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|x| x == "parquet") {
                    match read_provenance(&path) {
                        Ok(provenance) => out.push(Snapshot { path, provenance }),
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "skipping unreadable snapshot")
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.provenance.table.cmp(&b.provenance.table));
        Ok(out)
    }
}

/// Reads the provenance stored in a snapshot's Parquet footer.
pub fn read_provenance(path: &Path) -> Result<Provenance> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = SerializedFileReader::new(file)?;
    let json = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kvs| kvs.iter().find(|kv| kv.key == PROVENANCE_KEY))
        .and_then(|kv| kv.value.clone())
        .ok_or_else(|| Error::Malformed {
            origin: path.display().to_string(),
            reason: "parquet file carries no allmende provenance (not written by allmende ingest?)"
                .into(),
        })?;
    serde_json::from_str(&json).map_err(|source| Error::Json {
        origin: path.display().to_string(),
        source,
    })
}

/// Writes through `fill` into a temp file beside `path`, syncs it, and renames it over `path`.
fn atomic_write(path: &Path, fill: impl FnOnce(File) -> Result<()>) -> Result<()> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("snapshot");
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = fill(file.try_clone().map_err(|e| Error::io(&tmp, e))?)
        .and_then(|()| file.sync_all().map_err(|e| Error::io(&tmp, e)));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent().and_then(|d| File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}
