//! [`SearchIndex`]: opening the Tantivy index, replacing a source's passages, searching.
//!
//! Concurrency: a `SearchIndex` is `Send + Sync` and meant to be shared (`Arc`). Searches run
//! concurrently against the latest committed state. Updates are serialized within the process
//! by a mutex; the Tantivy writer (and its directory lock) is created per update and released
//! afterwards, so a second process (e.g. an import CLI next to the web server) can update an
//! on-disk index while this one serves it. Readers pick up other processes' commits within
//! milliseconds ([`ReloadPolicy::OnCommitWithDelay`]) and their own commits immediately.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use arrow::record_batch::RecordBatch;
use tantivy::directory::MmapDirectory;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::error::{Error, Result};
use crate::incremental::{self, PassageRecord};
use crate::ingest::read_documents;
use crate::schema::{self, Fields};
use crate::{Hit, IndexStats, SearchOptions, analyzer, hits, query};

/// Memory budget of the (single-threaded) index writer.
const WRITER_MEMORY_BYTES: usize = 50_000_000;

/// A full-text index of citizen-facing documents, one Tantivy document per passage.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// Serializes updates within this process.
    update_lock: Mutex<()>,
    /// Index directory, `None` for in-memory indexes.
    path: Option<PathBuf>,
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .field("passages", &self.reader.searcher().num_docs())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index stored in `dir`, creating the directory and an empty index if needed.
    ///
    /// `dir` is the index directory itself; the application passes `data_dir.join("index")`.
    /// An index written by schema version 1 (before content hashes) is rebuilt from its stored
    /// passages, with a warning in the log; any other schema yields
    /// [`Error::IncompatibleIndex`].
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let directory = MmapDirectory::open(dir).map_err(TantivyError::from)?;
        let (schema, fields) = schema::build();
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            Err(TantivyError::SchemaError(reason)) => {
                incremental::migrate_version_1(dir, schema, &fields, reason)?
            }
            Err(TantivyError::IncompatibleIndex(reason)) => {
                return Err(Error::IncompatibleIndex {
                    path: dir.to_path_buf(),
                    reason: format!("{reason:?}"),
                });
            }
            Err(other) => return Err(Error::Tantivy(other)),
        };
        let this = Self::with_index(index, fields, Some(dir.to_path_buf()))?;
        tracing::debug!(path = %dir.display(), passages = this.num_passages()?, "search index opened");
        Ok(this)
    }

    /// Creates an empty index in memory (tests, ephemeral demos).
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema::build();
        Self::with_index(Index::create_in_ram(schema), fields, None)
    }

    fn with_index(index: Index, fields: Fields, path: Option<PathBuf>) -> Result<Self> {
        analyzer::register(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            analyzer: analyzer::german_analyzer()?,
            update_lock: Mutex::new(()),
            path,
        })
    }

    /// Makes the passages of `source` those of the documents in `batches`, in one commit:
    /// searches see either the old or the new state, never a mix.
    ///
    /// The update is incremental: passages whose id and content (see the content hash in
    /// `schema`) are already indexed are left alone; changed ones are replaced, new ones added
    /// and those whose id vanished deleted. An import that changes nothing writes nothing.
    /// All batches are validated first (see [`crate::ingest`] for the expected columns); on any
    /// error nothing changes. Empty `batches` removes the source. Returns the number of
    /// documents and passages now indexed for `source` and what changed.
    pub fn replace_source(&self, source: &str, batches: &[RecordBatch]) -> Result<IndexStats> {
        let docs = read_documents(batches)?;
        let records: Vec<PassageRecord> = docs
            .iter()
            .flat_map(|doc| PassageRecord::from_document(source, doc))
            .collect();
        let passages = records.len();

        let _guard = self
            .update_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut writer: IndexWriter<TantivyDocument> = self
            .index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(|e| match e {
                TantivyError::LockFailure(..) => Error::Locked {
                    path: self
                        .path
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("(in memory)")),
                },
                other => Error::Tantivy(other),
            })?;
        // Compare with the latest commit, which another process may have made since this
        // reader last reloaded; nobody can commit while this writer holds the lock.
        self.reader.reload()?;
        let indexed = incremental::indexed_hashes(&self.reader.searcher(), &self.fields, source)?;
        let plan = incremental::plan(source, records, indexed);
        let stats = IndexStats {
            documents: docs.len(),
            passages,
            added: plan.added,
            updated: plan.updated,
            deleted: plan.deleted,
            unchanged: plan.unchanged,
        };
        if plan.is_noop() {
            tracing::info!(source, passages, "source unchanged");
            return Ok(stats);
        }
        for key in &plan.delete {
            writer.delete_term(Term::from_field_text(self.fields.key, key));
        }
        for record in &plan.add {
            // On error the writer is dropped without commit, which discards everything.
            writer.add_document(record.to_document(&self.fields))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        // The commit is durable; let pending segment merges finish so segments do not pile up
        // across updates. A failed merge only costs efficiency, so it is not an error.
        if let Err(error) = writer.wait_merging_threads() {
            tracing::warn!(%error, "search index segment merge failed");
        }
        tracing::info!(
            source,
            documents = stats.documents,
            passages = stats.passages,
            added = stats.added,
            updated = stats.updated,
            deleted = stats.deleted,
            unchanged = stats.unchanged,
            "source indexed"
        );
        Ok(stats)
    }

    /// Searches passages for free text `query` (no syntax; see [`crate::query`]).
    ///
    /// Returns `Ok(vec![])` for empty, whitespace-only or stop-word-only queries, and
    /// [`Error::QueryTooLong`] beyond [`crate::MAX_QUERY_CHARS`] characters.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<Vec<Hit>> {
        query::check_length(query)?;
        let terms = query::query_terms(&mut self.analyzer.clone(), query);
        let Some(text_query) = query::build_query(&self.fields, &terms) else {
            return Ok(Vec::new());
        };
        let tantivy_query = query::restrict_to_sources(&self.fields, text_query, &opts.sources);
        let query_terms = hits::QueryTerms {
            terms: &terms,
            analyzer: &self.analyzer,
        };
        hits::search(
            &self.reader.searcher(),
            &self.fields,
            &tantivy_query,
            &query_terms,
            opts,
        )
    }

    /// Number of passages currently searchable (all sources).
    pub fn num_passages(&self) -> Result<u64> {
        Ok(self.reader.searcher().num_docs())
    }

    /// The passages `(source, passage_id)` as hits scored as given, in the given order (ids
    /// no longer indexed are skipped): how dense-retrieval results become citable hits.
    pub fn hits_by_passage_id(&self, wanted: &[(String, String, f32)]) -> Result<Vec<Hit>> {
        hits::by_passage_ids(&self.reader.searcher(), &self.fields, wanted)
    }

    /// Every passage of `source` as indexed (title, teaser and body text), ordered by passage
    /// id: the input for dense vectors, which must describe exactly what BM25 searches.
    pub fn passages(&self, source: &str) -> Result<Vec<StoredPassage>> {
        use tantivy::collector::DocSetCollector;
        use tantivy::schema::Value;
        let searcher = self.reader.searcher();
        let query = tantivy::query::TermQuery::new(
            Term::from_field_text(self.fields.source, source),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let text = |doc: &TantivyDocument, field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut out = Vec::new();
        for address in searcher.search(&query, &DocSetCollector)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            let f = &self.fields;
            out.push(StoredPassage {
                doc_id: text(&doc, f.doc_id),
                passage_id: text(&doc, f.passage_id),
                title: text(&doc, f.title),
                teaser: text(&doc, f.teaser),
                text: text(&doc, f.body),
            });
        }
        out.sort_by(|a, b| a.passage_id.cmp(&b.passage_id));
        Ok(out)
    }
}

/// One indexed passage as stored (see [`SearchIndex::passages`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassage {
    /// The document's id.
    pub doc_id: String,
    /// `"{doc_id}#{n}"`.
    pub passage_id: String,
    /// Document title (repeated on every passage).
    pub title: String,
    /// Document teaser (repeated on every passage).
    pub teaser: String,
    /// The passage's body text.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray};

    use super::*;

    fn batch(rows: &[(&str, &str, &str)]) -> RecordBatch {
        let col = |values: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(values)) };
        RecordBatch::try_from_iter([
            ("doc_id", col(rows.iter().map(|r| r.0).collect())),
            ("title", col(rows.iter().map(|r| r.1).collect())),
            ("body", col(rows.iter().map(|r| r.2).collect())),
            ("url", col(vec!["https://example.org"; rows.len()])),
            ("licence", col(vec!["cc-by-4.0"; rows.len()])),
        ])
        .unwrap()
    }

    #[test]
    fn index_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SearchIndex>();
    }

    #[test]
    fn documents_without_body_are_found_by_title() {
        let index = SearchIndex::in_memory().unwrap();
        let stats = index
            .replace_source("s", &[batch(&[("leer", "Fundbüro", "")])])
            .unwrap();
        assert_eq!(
            stats,
            IndexStats {
                documents: 1,
                passages: 1,
                added: 1,
                ..IndexStats::default()
            }
        );
        let hits = index
            .search("Fundbuero", &SearchOptions::default())
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].passage_id, "leer#0");
        assert_eq!(hits[0].text, "");
    }

    #[test]
    fn failed_update_changes_nothing() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .replace_source("s", &[batch(&[("a", "Hundesteuer", "Text.")])])
            .unwrap();
        let bad = RecordBatch::try_from_iter([(
            "doc_id",
            Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
        )])
        .unwrap();
        assert!(index.replace_source("s", &[bad]).is_err());
        assert_eq!(index.num_passages().unwrap(), 1);
        assert!(format!("{index:?}").contains("passages: 1"));
    }

    #[test]
    fn passages_of_a_source_are_listed_in_id_order() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .replace_source(
                "a",
                &[batch(&[
                    ("d2", "Zwei", "Text zwei."),
                    ("d1", "Eins", "Text eins."),
                ])],
            )
            .unwrap();
        index
            .replace_source("b", &[batch(&[("x", "Andere", "Quelle.")])])
            .unwrap();
        let passages = index.passages("a").unwrap();
        let ids: Vec<&str> = passages.iter().map(|p| p.passage_id.as_str()).collect();
        assert_eq!(ids, ["d1#0", "d2#0"]);
        assert_eq!(passages[0].title, "Eins");
        assert_eq!(passages[0].text, "Text eins.");
        assert!(index.passages("nope").unwrap().is_empty());
    }

    #[test]
    fn limit_zero_and_empty_index() {
        let index = SearchIndex::in_memory().unwrap();
        assert!(
            index
                .search("Hund", &SearchOptions::default())
                .unwrap()
                .is_empty()
        );
        index
            .replace_source("s", &[batch(&[("a", "Hund", "Hund.")])])
            .unwrap();
        let opts = SearchOptions {
            limit: 0,
            ..SearchOptions::default()
        };
        assert!(index.search("Hund", &opts).unwrap().is_empty());
    }
}
