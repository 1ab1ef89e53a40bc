//! Incremental updates of a source, and the migration of indexes written by schema version 1.
//!
//! Every passage carries a content hash: 64-bit FNV-1a over everything that is indexed or
//! stored for it (source, ids, title, teaser, body, URL, licence, kind, attribution), plus
//! [`SCHEMA_VERSION`] and [`ANALYZER_VERSION`], so a new analysis chain re-indexes every
//! passage once. [`plan`] compares the passages of a new import with the `(passage_id, hash)`
//! pairs indexed for the source (read from fast fields by [`indexed_hashes`]): unchanged
//! passages are left alone, changed ones are deleted by their `key` term and added again,
//! new ones added, vanished ones deleted.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tantivy::collector::DocSetCollector;
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Schema, Value};
use tantivy::{DocAddress, Index, IndexWriter, Searcher, TantivyDocument, Term};

use crate::analyzer::{self, ANALYZER_VERSION};
use crate::error::{Error, Result};
use crate::ingest::SourceDocument;
use crate::passages::{passage_id, split_passages};
use crate::schema::{Fields, SCHEMA_VERSION};

/// Separates source and passage id in the `key` field (ASCII unit separator).
const KEY_SEPARATOR: char = '\u{1f}';

/// The `key` field value of a passage: unique in the index.
pub(crate) fn key(source: &str, passage_id: &str) -> String {
    format!("{source}{KEY_SEPARATOR}{passage_id}")
}

/// Everything indexed for one passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PassageRecord {
    pub source: String,
    pub doc_id: String,
    pub passage_id: String,
    pub title: String,
    pub teaser: Option<String>,
    pub body: String,
    pub url: String,
    pub licence: String,
    pub kind: Option<String>,
    pub attribution: Option<String>,
}

impl PassageRecord {
    /// The passages of `doc` (a body-less document gets one title-only passage).
    pub(crate) fn from_document(source: &str, doc: &SourceDocument) -> Vec<Self> {
        let mut texts = split_passages(&doc.body);
        if texts.is_empty() {
            // Keep documents without body text findable by title and teaser.
            texts.push(String::new());
        }
        texts
            .into_iter()
            .enumerate()
            .map(|(n, body)| Self {
                source: source.to_string(),
                doc_id: doc.doc_id.clone(),
                passage_id: passage_id(&doc.doc_id, n),
                title: doc.title.clone(),
                teaser: doc.teaser.clone(),
                body,
                url: doc.url.clone(),
                licence: doc.licence.clone(),
                kind: doc.kind.clone(),
                attribution: doc.attribution.clone(),
            })
            .collect()
    }

    /// The content hash (see the module docs).
    pub(crate) fn content_hash(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(&SCHEMA_VERSION.to_le_bytes());
        feed(&ANALYZER_VERSION.to_le_bytes());
        fn optional(v: &Option<String>) -> (u8, &str) {
            v.as_deref().map_or((0, ""), |s| (1, s))
        }
        let parts: [(u8, &str); 10] = [
            (1, &self.source),
            (1, &self.doc_id),
            (1, &self.passage_id),
            (1, &self.title),
            optional(&self.teaser),
            (1, &self.body),
            (1, &self.url),
            (1, &self.licence),
            optional(&self.kind),
            optional(&self.attribution),
        ];
        for (present, text) in parts {
            // Length-prefixed, so no two different records feed the same bytes.
            feed(&[present]);
            feed(&(text.len() as u64).to_le_bytes());
            feed(text.as_bytes());
        }
        hash
    }

    /// The Tantivy document of this passage.
    pub(crate) fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(f.passage_id, &self.passage_id);
        d.add_text(f.key, key(&self.source, &self.passage_id));
        d.add_u64(f.content_hash, self.content_hash());
        d.add_text(f.doc_id, &self.doc_id);
        d.add_text(f.source, &self.source);
        d.add_text(f.title, &self.title);
        d.add_text(f.body, &self.body);
        d.add_text(f.url, &self.url);
        d.add_text(f.licence, &self.licence);
        for (field, value) in [
            (f.kind, &self.kind),
            (f.teaser, &self.teaser),
            (f.attribution, &self.attribution),
        ] {
            if let Some(value) = value {
                d.add_text(field, value);
            }
        }
        d.add_u64(f.schema_version, SCHEMA_VERSION);
        d
    }

    /// Reads a passage back from its stored fields, looked up by name in `schema` (which may
    /// be an older version of the passage schema). `None` without a `passage_id` or `source`.
    fn from_stored(doc: &TantivyDocument, schema: &Schema) -> Option<Self> {
        let text = |name: &str| -> Option<String> {
            let field = schema.get_field(name).ok()?;
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        Some(Self {
            source: text("source")?,
            doc_id: text("doc_id").unwrap_or_default(),
            passage_id: text("passage_id")?,
            title: text("title").unwrap_or_default(),
            teaser: text("teaser"),
            body: text("body").unwrap_or_default(),
            url: text("url").unwrap_or_default(),
            licence: text("licence").unwrap_or_default(),
            kind: text("kind"),
            attribution: text("attribution"),
        })
    }
}

/// The content hashes indexed for each passage id of `source` (normally one per id).
pub(crate) fn indexed_hashes(
    searcher: &Searcher,
    fields: &Fields,
    source: &str,
) -> Result<HashMap<String, Vec<u64>>> {
    let query = TermQuery::new(
        Term::from_field_text(fields.source, source),
        IndexRecordOption::Basic,
    );
    let mut by_segment: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for address in searcher.search(&query, &DocSetCollector)? {
        by_segment
            .entry(address.segment_ord)
            .or_default()
            .push(address.doc_id);
    }
    let mut out: HashMap<String, Vec<u64>> = HashMap::new();
    let mut id = String::new();
    for (segment, docs) in by_segment {
        let fast = searcher.segment_reader(segment).fast_fields();
        let ids = fast
            .str("passage_id")?
            .ok_or_else(|| Error::Internal("passage_id is not a fast field".into()))?;
        let hashes = fast.u64("content_hash")?;
        for doc in docs {
            let ord = ids
                .term_ords(doc)
                .next()
                .ok_or_else(|| Error::Internal(format!("passage without id in {source}")))?;
            id.clear();
            ids.ord_to_str(ord, &mut id)
                .map_err(|e| Error::Internal(format!("reading a passage id: {e}")))?;
            let hash = hashes.first(doc).unwrap_or_default();
            out.entry(id.clone()).or_default().push(hash);
        }
    }
    Ok(out)
}

/// What an update of one source does.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `key` terms to delete (changed and vanished passages).
    pub delete: Vec<String>,
    /// Passages to add (new and changed ones).
    pub add: Vec<PassageRecord>,
    pub added: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

impl Plan {
    /// `true` if the update would change nothing.
    pub(crate) fn is_noop(&self) -> bool {
        self.delete.is_empty() && self.add.is_empty()
    }
}

/// Compares the new passages of `source` with the indexed ones (see the module docs). An id
/// indexed more than once (which a correct index never has) counts as updated, so the update
/// leaves exactly one copy.
pub(crate) fn plan(
    source: &str,
    records: Vec<PassageRecord>,
    mut indexed: HashMap<String, Vec<u64>>,
) -> Plan {
    let mut plan = Plan::default();
    for record in records {
        match indexed.remove(&record.passage_id) {
            Some(hashes) if hashes == [record.content_hash()] => plan.unchanged += 1,
            Some(_) => {
                plan.updated += 1;
                plan.delete.push(key(source, &record.passage_id));
                plan.add.push(record);
            }
            None => {
                plan.added += 1;
                plan.add.push(record);
            }
        }
    }
    let mut vanished: Vec<String> = indexed.into_keys().collect();
    vanished.sort_unstable();
    plan.deleted = vanished.len();
    plan.delete
        .extend(vanished.iter().map(|passage_id| key(source, passage_id)));
    plan
}

/// Whether `schema` is schema version 1 of the passage schema (before content hashes).
fn is_version_1(schema: &Schema) -> bool {
    [
        "passage_id",
        "doc_id",
        "source",
        "title",
        "body",
        "schema_version",
    ]
    .iter()
    .all(|name| schema.get_field(name).is_ok())
        && schema.get_field("content_hash").is_err()
}

/// Rebuilds the index in `dir`, written with schema version 1, with the current `schema`:
/// reads every passage from the stored fields, removes the old index files and writes the
/// passages again (with keys and content hashes), in one commit. Any other schema is
/// [`Error::IncompatibleIndex`] with `reason`.
pub(crate) fn migrate_version_1(
    dir: &Path,
    schema: Schema,
    fields: &Fields,
    reason: String,
) -> Result<Index> {
    let incompatible = |reason: String| Error::IncompatibleIndex {
        path: dir.to_path_buf(),
        reason,
    };
    let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
    let old = Index::open(directory.clone())?;
    let old_schema = old.schema();
    if !is_version_1(&old_schema) {
        return Err(incompatible(reason));
    }
    let records = {
        let searcher = old.reader()?.searcher();
        let mut records = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            for doc in segment.doc_ids_alive() {
                let stored: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc))?;
                if let Some(record) = PassageRecord::from_stored(&stored, &old_schema) {
                    records.push(record);
                }
            }
        }
        records
    };
    drop(old);
    tracing::warn!(
        path = %dir.display(),
        passages = records.len(),
        "search index was written by schema version 1; rebuilding it with schema version {SCHEMA_VERSION} \
         from its stored passages (if this is interrupted, delete the directory and run `allmende ingest`)"
    );
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let is_lock = name.to_string_lossy().starts_with(".tantivy-")
            && name.to_string_lossy().ends_with(".lock");
        if entry.path().is_file() && !is_lock {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    let index = Index::create(directory, schema, tantivy::IndexSettings::default())?;
    analyzer::register(&index)?;
    let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 50_000_000)?;
    for record in &records {
        writer.add_document(record.to_document(fields))?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    tracing::info!(path = %dir.display(), passages = records.len(), "search index migrated");
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(passage_id: &str, body: &str) -> PassageRecord {
        PassageRecord {
            source: "s".into(),
            doc_id: passage_id.split('#').next().unwrap().into(),
            passage_id: passage_id.into(),
            title: "Titel".into(),
            teaser: None,
            body: body.into(),
            url: "https://example.org".into(),
            licence: "cc-by-4.0".into(),
            kind: None,
            attribution: None,
        }
    }

    #[test]
    fn hash_covers_every_field() {
        let base = record("a#0", "Text");
        let h = base.content_hash();
        assert_eq!(h, base.clone().content_hash());
        let variants = [
            PassageRecord {
                body: "Text.".into(),
                ..base.clone()
            },
            PassageRecord {
                title: "Titel2".into(),
                ..base.clone()
            },
            PassageRecord {
                teaser: Some(String::new()),
                ..base.clone()
            },
            PassageRecord {
                url: "https://example.org/x".into(),
                ..base.clone()
            },
            PassageRecord {
                licence: "dl-de".into(),
                ..base.clone()
            },
            PassageRecord {
                kind: Some("service".into()),
                ..base.clone()
            },
            PassageRecord {
                attribution: Some("Stadt".into()),
                ..base.clone()
            },
            PassageRecord {
                source: "t".into(),
                ..base.clone()
            },
            PassageRecord {
                passage_id: "a#1".into(),
                ..base.clone()
            },
            // Moving text between fields changes the hash (length prefixes).
            PassageRecord {
                title: "TitelText".into(),
                body: String::new(),
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.content_hash(), h, "{v:?}");
        }
    }

    #[test]
    fn plan_sorts_passages_into_added_updated_deleted_unchanged() {
        let indexed = HashMap::from([
            ("a#0".to_string(), vec![record("a#0", "alt").content_hash()]),
            (
                "b#0".to_string(),
                vec![record("b#0", "gleich").content_hash()],
            ),
            ("c#0".to_string(), vec![record("c#0", "weg").content_hash()]),
            ("d#0".to_string(), vec![1, 1]),
        ]);
        let new = vec![
            record("a#0", "neu"),
            record("b#0", "gleich"),
            record("d#0", "doppelt"),
            record("e#0", "frisch"),
        ];
        let plan = plan("s", new, indexed);
        assert_eq!(
            (plan.added, plan.updated, plan.deleted, plan.unchanged),
            (1, 2, 1, 1)
        );
        assert_eq!(
            plan.delete,
            [key("s", "a#0"), key("s", "d#0"), key("s", "c#0")]
        );
        let added: Vec<&str> = plan.add.iter().map(|r| r.passage_id.as_str()).collect();
        assert_eq!(added, ["a#0", "d#0", "e#0"]);
        assert!(!plan.is_noop());
        assert!(super::plan("s", Vec::new(), HashMap::new()).is_noop());
    }
}
