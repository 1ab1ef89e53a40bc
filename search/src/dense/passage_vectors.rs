//! Passage vectors kept beside the full-text index, refreshed at ingest, used by the assistant.
//!
//! [`PassageVectors::refresh`] encodes every passage of the given sources exactly as BM25 sees
//! it (see [`passage_text`]), reusing the vector of any passage whose text has not changed
//! since the previous refresh (keyed by the SHA-256 of that text), so re-ingesting unchanged
//! sources costs no encoding — at ~10 passages/s on a 2-core CPU that matters. The result is
//! one [`DenseIndex`] file (`data/dense/passages.adv`, written atomically by
//! [`DenseIndex::save`]); each row's id is `source ␟ passage_id ␟ content hash`.
//!
//! [`DenseRetriever`] pairs the vectors with the encoder and answers "which passages are
//! closest to this question", best passage per document, for hybrid retrieval. Vectors of
//! passages that have since left the index are harmless: looking their ids up in the index
//! finds nothing and they are skipped.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{DenseError, DenseIndex, Encoder, Result};
use crate::SearchIndex;
use crate::StoredPassage;

/// Separates the parts of a row id (ASCII unit separator; never in ids or hashes).
const SEP: char = '\u{1f}';
/// Passages scored per question before keeping the best one of each document.
const PASSAGES_PER_QUERY: usize = 200;
/// Passages encoded per call to the encoder (bounds memory and makes progress visible).
const ENCODE_CHUNK: usize = 64;

/// The text a passage's vector describes: title, teaser and body, as BM25 indexes them.
pub fn passage_text(passage: &StoredPassage) -> String {
    [
        passage.title.as_str(),
        passage.teaser.as_str(),
        passage.text.as_str(),
    ]
    .iter()
    .filter(|t| !t.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join("\n")
}

fn content_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// One row's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowKey<'a> {
    source: &'a str,
    passage_id: &'a str,
    content: &'a str,
}

fn row_id(source: &str, passage_id: &str, content: &str) -> String {
    format!("{source}{SEP}{passage_id}{SEP}{content}")
}

fn parse_row_id(id: &str) -> Option<RowKey<'_>> {
    let mut parts = id.split(SEP);
    let key = RowKey {
        source: parts.next()?,
        passage_id: parts.next()?,
        content: parts.next()?,
    };
    parts.next().is_none().then_some(key)
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Passages whose vector was computed now.
    pub encoded: usize,
    /// Passages whose vector was taken over unchanged.
    pub reused: usize,
}

/// The vectors of all indexed passages of some sources.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PassageVectors {
    rows: DenseIndex,
}

impl PassageVectors {
    /// Reads the vectors saved at `path`; `Ok(None)` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let rows = DenseIndex::load(path)?;
        if let Some(bad) = rows.ids.iter().find(|id| parse_row_id(id).is_none()) {
            return Err(DenseError::Store(format!(
                "{}: row id {bad:?} is not `source␟passage␟hash`",
                path.display()
            )));
        }
        Ok(Some(Self { rows }))
    }

    /// Writes the vectors to `path` (atomically: temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| DenseError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        self.rows.save(path)
    }

    /// Vectors for every passage of `sources` in `index`, reusing those of `previous` whose
    /// text is unchanged and encoding the rest.
    pub fn refresh(
        encoder: &Encoder,
        index: &SearchIndex,
        sources: &[String],
        previous: Option<&PassageVectors>,
    ) -> Result<(Self, RefreshStats)> {
        let known: HashMap<&str, usize> = previous
            .map(|p| {
                p.rows
                    .ids
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| p.rows.dim == encoder.dim() && !id.is_empty())
                    .filter_map(|(row, id)| parse_row_id(id).map(|k| (k.content, row)))
                    .collect()
            })
            .unwrap_or_default();
        let mut rows = DenseIndex::new(encoder.dim());
        let mut stats = RefreshStats::default();
        let mut pending: Vec<(String, String)> = Vec::new();
        for source in unique(sources) {
            let passages = index
                .passages(source)
                .map_err(|e| DenseError::Store(format!("reading passages of {source}: {e}")))?;
            for passage in &passages {
                let text = passage_text(passage);
                let hash = content_hash(&text);
                let id = row_id(source, &passage.passage_id, &hash);
                match (previous, known.get(hash.as_str())) {
                    (Some(previous), Some(&row)) => {
                        rows.push(id, previous.rows.vector(row))?;
                        stats.reused += 1;
                    }
                    _ => pending.push((id, text)),
                }
            }
        }
        for chunk in pending.chunks(ENCODE_CHUNK) {
            let texts: Vec<&str> = chunk.iter().map(|(_, text)| text.as_str()).collect();
            let vectors = encoder.encode_passages(&texts)?;
            for ((id, _), vector) in chunk.iter().zip(&vectors) {
                rows.push(id.clone(), vector)?;
            }
            stats.encoded += chunk.len();
            tracing::debug!(
                encoded = stats.encoded,
                of = pending.len(),
                "encoding passages"
            );
        }
        Ok((Self { rows }, stats))
    }

    /// Number of passage vectors.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.rows.dim
    }

    /// The `k` documents closest to the (already encoded) `query`, each as its best passage:
    /// `(source, passage_id, cosine)`, best first. `sources` restricts the search (empty: all).
    pub fn nearest(
        &self,
        query: &[f32],
        sources: &[String],
        k: usize,
    ) -> Result<Vec<(String, String, f32)>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (id, score) in self.rows.search(query, PASSAGES_PER_QUERY.max(k))? {
            let Some(key) = parse_row_id(&id) else {
                continue;
            };
            if !sources.is_empty() && !sources.iter().any(|s| s == key.source) {
                continue;
            }
            let doc = key
                .passage_id
                .rsplit_once('#')
                .map_or(key.passage_id, |(doc, _)| doc);
            if seen.insert((key.source.to_string(), doc.to_string())) {
                out.push((key.source.to_string(), key.passage_id.to_string(), score));
                if out.len() == k {
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn unique(sources: &[String]) -> impl Iterator<Item = &str> {
    let mut seen = HashSet::new();
    sources
        .iter()
        .map(String::as_str)
        .filter(move |s| seen.insert(*s))
}

/// Dense retrieval for the assistant: the encoder plus the passage vectors.
#[derive(Debug, Clone)]
pub struct DenseRetriever {
    encoder: Arc<Encoder>,
    vectors: Arc<PassageVectors>,
}

impl DenseRetriever {
    /// Pairs an encoder with vectors it produced (the dimensions must agree).
    pub fn new(encoder: Arc<Encoder>, vectors: PassageVectors) -> Result<Self> {
        if !vectors.is_empty() && vectors.dim() != encoder.dim() {
            return Err(DenseError::Store(format!(
                "passage vectors have {} dimensions, the encoder {}; re-run ingest",
                vectors.dim(),
                encoder.dim()
            )));
        }
        Ok(Self {
            encoder,
            vectors: Arc::new(vectors),
        })
    }

    /// Number of passage vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The `k` documents closest to `question` (see [`PassageVectors::nearest`]).
    pub fn search(
        &self,
        question: &str,
        sources: &[String],
        k: usize,
    ) -> Result<Vec<(String, String, f32)>> {
        let query = self.encoder.encode_queries(&[question])?;
        match query.first() {
            Some(query) => self.vectors.nearest(query, sources, k),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_round_trip_and_reject_foreign_ids() {
        let id = row_id("musterstadt_services", "ms-001#2", "abcd");
        assert_eq!(
            parse_row_id(&id),
            Some(RowKey {
                source: "musterstadt_services",
                passage_id: "ms-001#2",
                content: "abcd"
            })
        );
        assert_eq!(parse_row_id("ms-001#2"), None);
        assert_eq!(parse_row_id(&format!("a{SEP}b{SEP}c{SEP}d")), None);
    }

    #[test]
    fn passage_text_skips_empty_parts() {
        let p = StoredPassage {
            doc_id: "d".into(),
            passage_id: "d#0".into(),
            title: "Titel".into(),
            teaser: String::new(),
            text: "Text".into(),
        };
        assert_eq!(passage_text(&p), "Titel\nText");
        assert_ne!(content_hash("Titel\nText"), content_hash("Titel\nText."));
    }

    #[test]
    fn nearest_keeps_the_best_passage_per_document_and_filters_sources() {
        let mut rows = DenseIndex::new(2);
        rows.push(row_id("a", "d1#0", "h1"), &[1.0, 0.0]).unwrap();
        rows.push(row_id("a", "d1#1", "h2"), &[0.9, 0.1]).unwrap();
        rows.push(row_id("b", "d2#0", "h3"), &[0.8, 0.2]).unwrap();
        rows.push(row_id("a", "d3#0", "h4"), &[0.0, 1.0]).unwrap();
        let vectors = PassageVectors { rows };
        let all = vectors.nearest(&[1.0, 0.0], &[], 10).unwrap();
        let ids: Vec<&str> = all.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(ids, ["d1#0", "d2#0", "d3#0"]);
        let only_a = vectors
            .nearest(&[1.0, 0.0], &["a".to_string()], 10)
            .unwrap();
        let ids: Vec<&str> = only_a.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(ids, ["d1#0", "d3#0"]);
        assert_eq!(vectors.nearest(&[1.0, 0.0], &[], 1).unwrap().len(), 1);
    }
}
