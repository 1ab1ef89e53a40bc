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
use crate::ingest::{SourceDocument, read_documents};
use crate::passages::{passage_id, split_passages};
use crate::schema::{self, Fields, SCHEMA_VERSION};
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
    /// An index written with a different schema yields [`Error::IncompatibleIndex`].
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let directory = MmapDirectory::open(dir).map_err(TantivyError::from)?;
        let (schema, fields) = schema::build();
        let index = Index::open_or_create(directory, schema).map_err(|e| match e {
            TantivyError::SchemaError(reason) => Error::IncompatibleIndex {
                path: dir.to_path_buf(),
                reason,
            },
            TantivyError::IncompatibleIndex(reason) => Error::IncompatibleIndex {
                path: dir.to_path_buf(),
                reason: format!("{reason:?}"),
            },
            other => Error::Tantivy(other),
        })?;
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

    /// Replaces every passage whose `source` equals `source` with the passages of the documents
    /// in `batches`, in one commit: searches see either the old or the new state, never a mix.
    ///
    /// All batches are validated first (see [`crate::ingest`] for the expected columns); on any
    /// error nothing changes. Empty `batches` removes the source. Returns the number of
    /// documents and passages now indexed for `source`.
    pub fn replace_source(&self, source: &str, batches: &[RecordBatch]) -> Result<IndexStats> {
        let docs = read_documents(batches)?;
        let mut passages = Vec::new();
        for doc in &docs {
            self.push_passages(source, doc, &mut passages);
        }
        let stats = IndexStats {
            documents: docs.len(),
            passages: passages.len(),
        };

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
        writer.delete_term(Term::from_field_text(self.fields.source, source));
        for passage in passages {
            // On error the writer is dropped without commit, which discards everything.
            writer.add_document(passage)?;
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
            "source indexed"
        );
        Ok(stats)
    }

    fn push_passages(&self, source: &str, doc: &SourceDocument, out: &mut Vec<TantivyDocument>) {
        let f = &self.fields;
        let mut texts = split_passages(&doc.body);
        if texts.is_empty() {
            // Keep documents without body text findable by title and teaser.
            texts.push(String::new());
        }
        for (n, text) in texts.into_iter().enumerate() {
            let mut d = TantivyDocument::default();
            d.add_text(f.passage_id, passage_id(&doc.doc_id, n));
            d.add_text(f.doc_id, &doc.doc_id);
            d.add_text(f.source, source);
            d.add_text(f.title, &doc.title);
            d.add_text(f.body, text);
            d.add_text(f.url, &doc.url);
            d.add_text(f.licence, &doc.licence);
            for (field, value) in [
                (f.kind, &doc.kind),
                (f.teaser, &doc.teaser),
                (f.attribution, &doc.attribution),
            ] {
                if let Some(value) = value {
                    d.add_text(field, value);
                }
            }
            d.add_u64(f.schema_version, SCHEMA_VERSION);
            out.push(d);
        }
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
                passages: 1
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
