//! The Tantivy schema: one Tantivy document per passage.
//!
//! Identifier fields (`passage_id`, `doc_id`, `source`, `kind`) are indexed untokenized so they
//! can be deleted and filtered by exact value. `key` (`"{source}\u{1f}{passage_id}"`, indexed
//! only) identifies a passage across sources, so one passage can be deleted by term;
//! `content_hash` (stored and fast) and the fast `passage_id` let an update compare the new
//! passages of a source with the indexed ones without reading stored documents. `title`, `teaser` and `body` are analyzed with the
//! German analyzer; title and teaser are repeated on every passage so each passage of a document
//! matches its title. Citation fields (`url`, `licence`, `attribution`) are stored only.
//!
//! Changing this schema makes existing on-disk indexes incompatible; bump [`SCHEMA_VERSION`]
//! when you do. [`crate::SearchIndex::open_or_create`] migrates an index of an older version
//! of this schema (version 1: without `key` and `content_hash`) from its stored fields; any
//! other schema is [`crate::Error::IncompatibleIndex`].

use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analyzer::GERMAN_ANALYZER;

/// Version of the field layout, stored in every passage (`schema_version`) for diagnostics.
pub const SCHEMA_VERSION: u64 = 2;

/// Handles to every field of the passage schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `"{doc_id}#{n}"`, unique per passage within its source (also a fast field).
    pub passage_id: Field,
    /// `"{source}\u{1f}{passage_id}"`, unique in the index (indexed, not stored): the term an
    /// update deletes a single passage by.
    pub key: Field,
    /// Hash of everything indexed for the passage (see [`crate::SearchIndex::replace_source`];
    /// stored and fast).
    pub content_hash: Field,
    /// The document the passage belongs to.
    pub doc_id: Field,
    /// The source (dataset) the document was imported from; unit of replacement.
    pub source: Field,
    /// Optional document kind ("service", "office", ...).
    pub kind: Field,
    /// Document title (analyzed, stored).
    pub title: Field,
    /// Optional short teaser (analyzed, stored).
    pub teaser: Field,
    /// Passage text (analyzed with positions, stored).
    pub body: Field,
    /// Canonical URL of the document (stored).
    pub url: Field,
    /// Licence of the document (stored).
    pub licence: Field,
    /// Optional attribution line required by the licence (stored).
    pub attribution: Field,
    /// [`SCHEMA_VERSION`] at write time (stored).
    pub schema_version: Field,
}

/// Builds the passage schema and returns it with its field handles.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(GERMAN_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let keyword = STRING | STORED;
    let fields = Fields {
        passage_id: builder.add_text_field("passage_id", keyword.clone() | FAST),
        key: builder.add_text_field("key", STRING),
        content_hash: builder.add_u64_field("content_hash", STORED | FAST),
        doc_id: builder.add_text_field("doc_id", keyword.clone()),
        source: builder.add_text_field("source", keyword.clone()),
        kind: builder.add_text_field("kind", keyword),
        title: builder.add_text_field("title", text.clone()),
        teaser: builder.add_text_field("teaser", text.clone()),
        body: builder.add_text_field("body", text),
        url: builder.add_text_field("url", STORED),
        licence: builder.add_text_field("licence", STORED),
        attribution: builder.add_text_field("attribution", STORED),
        schema_version: builder.add_u64_field("schema_version", STORED),
    };
    (builder.build(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_deterministic() {
        let (a, _) = build();
        let (b, _) = build();
        assert_eq!(a, b, "open_or_create relies on schema equality");
    }

    #[test]
    fn analyzed_fields_use_the_german_analyzer() {
        let (schema, fields) = build();
        for field in [fields.title, fields.teaser, fields.body] {
            let entry = schema.get_field_entry(field);
            let tantivy::schema::FieldType::Str(options) = entry.field_type() else {
                panic!("{} is not a text field", entry.name());
            };
            let indexing = options.get_indexing_options().expect("indexed");
            assert_eq!(indexing.tokenizer(), GERMAN_ANALYZER);
        }
        let id = schema.get_field_entry(fields.doc_id);
        assert!(id.is_indexed() && id.is_stored());
        assert!(!schema.get_field_entry(fields.url).is_indexed());
        let key = schema.get_field_entry(fields.key);
        assert!(key.is_indexed() && !key.is_stored());
        assert!(schema.get_field_entry(fields.content_hash).is_fast());
        assert!(schema.get_field_entry(fields.passage_id).is_fast());
    }
}
