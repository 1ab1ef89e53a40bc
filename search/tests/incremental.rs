//! Incremental `replace_source`: unchanged passages are left alone, changed and vanished ones
//! replaced or deleted, in one commit; and indexes written by schema version 1 are migrated.

#[allow(dead_code)]
mod common;

use allmende_search::{IndexStats, SearchIndex, SearchOptions};
use common::{Row, batch, corpus, ids, search};

fn stats(
    documents: usize,
    passages: usize,
    (added, updated, deleted, unchanged): (usize, usize, usize, usize),
) -> IndexStats {
    IndexStats {
        documents,
        passages,
        added,
        updated,
        deleted,
        unchanged,
    }
}

/// The passages of `doc_id` in source `stadt`.
fn passages_of(index: &SearchIndex, doc_id: &str) -> usize {
    index
        .passages("stadt")
        .unwrap()
        .iter()
        .filter(|p| p.doc_id == doc_id)
        .count()
}

fn meta_json(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("meta.json")).unwrap()
}

#[test]
fn re_ingesting_the_same_batches_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    let first = index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    let n = first.passages;
    assert!(n > corpus().len(), "the corpus has multi-passage documents");
    assert_eq!(first, stats(corpus().len(), n, (n, 0, 0, 0)));
    let before = search(&index, "Personalausweis beantragen");
    let meta = meta_json(dir.path());

    // Same documents, split differently over batches and in another order.
    let mut rows = corpus();
    rows.reverse();
    let again = index
        .replace_source("stadt", &[batch(&rows[..3]), batch(&rows[3..])])
        .unwrap();
    assert_eq!(again, stats(corpus().len(), n, (0, 0, 0, n)));
    assert_eq!(meta_json(dir.path()), meta, "no commit was made");
    assert_eq!(index.num_passages().unwrap() as usize, n);
    assert_eq!(search(&index, "Personalausweis beantragen"), before);
}

#[test]
fn changing_one_document_updates_only_its_passages() {
    let index = SearchIndex::in_memory().unwrap();
    let first = index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    let ausweis_passages = passages_of(&index, "personalausweis");
    assert!(ausweis_passages >= 2);

    // Same length, one word changed in every paragraph: same passage ids, new content.
    let mut rows: Vec<Row> = corpus();
    let ausweis = rows.iter_mut().find(|r| r.0 == "personalausweis").unwrap();
    ausweis.4 = ausweis.4.replace("Bürgerbüro", "Kundenzentrum");
    let changed = index.replace_source("stadt", &[batch(&rows)]).unwrap();
    assert!(changed.updated >= 1 && changed.updated <= ausweis_passages);
    assert_eq!(
        changed,
        stats(
            rows.len(),
            first.passages,
            (0, changed.updated, 0, first.passages - changed.updated)
        )
    );
    assert_eq!(index.num_passages().unwrap() as usize, first.passages);
    let hits = search(&index, "Kundenzentrum");
    assert_eq!(ids(&hits), ["personalausweis"]);
    assert!(
        !search(&index, "Bürgerbüro Personalausweis")
            .iter()
            .any(|h| h.doc_id == "personalausweis" && h.text.contains("Bürgerbüro")),
        "the old text is gone"
    );

    // A title change touches every passage of that document (the title is in each one).
    let hund = rows.iter_mut().find(|r| r.0 == "hundesteuer").unwrap();
    hund.2 = "Hundesteuer und Hundemarke";
    let retitled = index.replace_source("stadt", &[batch(&rows)]).unwrap();
    assert_eq!(retitled.updated, passages_of(&index, "hundesteuer"));
    assert_eq!(retitled.added + retitled.deleted, 0);
    assert_eq!(
        search(&index, "Hundemarke")[0].title,
        "Hundesteuer und Hundemarke"
    );
}

#[test]
fn removing_or_growing_a_document_deletes_or_adds_passages() {
    let index = SearchIndex::in_memory().unwrap();
    let first = index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    let ausweis_passages = passages_of(&index, "personalausweis");

    let without: Vec<Row> = corpus()
        .into_iter()
        .filter(|r| r.0 != "personalausweis")
        .collect();
    let removed = index.replace_source("stadt", &[batch(&without)]).unwrap();
    assert_eq!(
        removed,
        stats(
            without.len(),
            first.passages - ausweis_passages,
            (0, 0, ausweis_passages, first.passages - ausweis_passages)
        )
    );
    assert!(!ids(&search(&index, "Personalausweis beantragen")).contains(&"personalausweis"));
    assert_eq!(passages_of(&index, "personalausweis"), 0);

    // Back again: its passages are added, nothing else moves.
    let restored = index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    assert_eq!(
        (restored.added, restored.updated, restored.deleted),
        (ausweis_passages, 0, 0)
    );
    assert_eq!(
        ids(&search(&index, "Personalausweis beantragen"))[0],
        "personalausweis"
    );

    // A one-passage document that grows to several: passage #0 changes, the rest is new.
    let mut rows = corpus();
    let hund = rows.iter_mut().find(|r| r.0 == "hundesteuer").unwrap();
    let paragraph = hund.4.clone();
    hund.4 = vec![paragraph.clone(); 12].join("\n\n");
    assert_eq!(passages_of(&index, "hundesteuer"), 1);
    let grown = index.replace_source("stadt", &[batch(&rows)]).unwrap();
    let now = passages_of(&index, "hundesteuer");
    assert!(now > 1);
    assert_eq!((grown.updated, grown.added, grown.deleted), (1, now - 1, 0));
    // And shrinks back: the extra passages are deleted.
    let shrunk = index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    assert_eq!(
        (shrunk.updated, shrunk.added, shrunk.deleted),
        (1, 0, now - 1)
    );
    assert_eq!(passages_of(&index, "hundesteuer"), 1);
}

#[test]
fn the_same_passage_id_in_two_sources_is_two_passages() {
    let index = SearchIndex::in_memory().unwrap();
    let rows = corpus();
    index.replace_source("stadt", &[batch(&rows[..2])]).unwrap();
    index.replace_source("land", &[batch(&rows[..2])]).unwrap();
    let per_source = index.passages("stadt").unwrap().len();
    assert_eq!(index.num_passages().unwrap() as usize, 2 * per_source);

    let mut changed = rows[..2].to_vec();
    changed[1].4 = "Neu im Land: Reisepass per Post.".into();
    let land = index.replace_source("land", &[batch(&changed)]).unwrap();
    assert!(land.updated >= 1);
    assert_eq!(
        index.passages("stadt").unwrap().len(),
        per_source,
        "other source kept"
    );
    let opts = SearchOptions {
        sources: vec!["stadt".into()],
        ..SearchOptions::default()
    };
    let stadt = index.search("Reisepass", &opts).unwrap();
    assert!(stadt.iter().all(|h| !h.text.contains("per Post")));
    assert!(
        index
            .search("Reisepass per Post", &SearchOptions::default())
            .unwrap()
            .iter()
            .any(|h| h.source == "land" && h.text.contains("per Post"))
    );

    let cleared = index.replace_source("land", &[]).unwrap();
    assert_eq!(cleared.deleted, land.passages);
    assert_eq!(index.num_passages().unwrap() as usize, per_source);
}

/// Writes an index with schema version 1 (before `key` and `content_hash`), as Allmende did
/// up to this change.
fn write_version_1_index(dir: &std::path::Path) {
    use tantivy::schema::{
        IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    };
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(allmende_search::analyzer::GERMAN_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let keyword = STRING | STORED;
    let passage_id = builder.add_text_field("passage_id", keyword.clone());
    let doc_id = builder.add_text_field("doc_id", keyword.clone());
    let source = builder.add_text_field("source", keyword.clone());
    let kind = builder.add_text_field("kind", keyword);
    let title = builder.add_text_field("title", text.clone());
    let teaser = builder.add_text_field("teaser", text.clone());
    let body = builder.add_text_field("body", text);
    let url = builder.add_text_field("url", STORED);
    let licence = builder.add_text_field("licence", STORED);
    let _attribution = builder.add_text_field("attribution", STORED);
    let version = builder.add_u64_field("schema_version", STORED);
    let index = tantivy::Index::create_in_dir(dir, builder.build()).unwrap();
    allmende_search::analyzer::register(&index).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
    let mut doc = tantivy::TantivyDocument::default();
    doc.add_text(passage_id, "fund#0");
    doc.add_text(doc_id, "fund");
    doc.add_text(source, "stadt");
    doc.add_text(kind, "office");
    doc.add_text(title, "Fundbüro");
    doc.add_text(teaser, "Verloren, gefunden.");
    doc.add_text(body, "Das Fundbüro bewahrt Fundsachen sechs Monate auf.");
    doc.add_text(url, "https://stadt.example/fund");
    doc.add_text(licence, "cc0");
    doc.add_u64(version, 1);
    writer.add_document(doc).unwrap();
    writer.commit().unwrap();
}

#[test]
fn an_index_of_schema_version_1_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    std::fs::create_dir_all(&path).unwrap();
    write_version_1_index(&path);

    let index = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(index.num_passages().unwrap(), 1);
    let hits = search(&index, "Fundsachen");
    assert_eq!(ids(&hits), ["fund"]);
    assert_eq!(hits[0].kind.as_deref(), Some("office"));
    assert_eq!(hits[0].url, "https://stadt.example/fund");
    drop(index);

    // Reopening finds the new schema; importing the same document changes nothing.
    let index = SearchIndex::open_or_create(&path).unwrap();
    let string = |v: &str| -> arrow::array::ArrayRef {
        std::sync::Arc::new(arrow::array::StringArray::from(vec![v]))
    };
    let same = arrow::record_batch::RecordBatch::try_from_iter([
        ("doc_id", string("fund")),
        ("kind", string("office")),
        ("title", string("Fundbüro")),
        ("teaser", string("Verloren, gefunden.")),
        (
            "body",
            string("Das Fundbüro bewahrt Fundsachen sechs Monate auf."),
        ),
        ("url", string("https://stadt.example/fund")),
        ("licence", string("cc0")),
    ])
    .unwrap();
    let stats = index.replace_source("stadt", &[same]).unwrap();
    assert_eq!(
        (stats.unchanged, stats.updated, stats.added),
        (1, 0, 0),
        "{stats:?}"
    );
}
