//! End-to-end tests of `allmende-search` on a small German municipal corpus built in the test
//! (see `common/mod.rs`).

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use allmende_search::{Error, Hit, IndexStats, MAX_QUERY_CHARS, SearchIndex, SearchOptions};
use common::{Row, amt_batch, batch, corpus, ids, indexed, search};

#[test]
fn personalausweis_query_ranks_its_service_first() {
    let index = indexed();
    let hits = search(&index, "Personalausweis beantragen");
    assert_eq!(ids(&hits)[0], "personalausweis", "{:?}", ids(&hits));
    let top = &hits[0];
    assert_eq!(top.title, "Personalausweis beantragen");
    assert_eq!(top.source, "stadt");
    assert_eq!(top.kind.as_deref(), Some("service"));
    assert_eq!(top.licence, "dl-de/by-2-0");
    assert_eq!(top.attribution.as_deref(), Some("Stadt Musterstadt"));
    assert!(top.passage_id.starts_with("personalausweis#"));
    assert!(
        top.text.contains(top.snippet.as_str()),
        "snippet is a fragment of the passage"
    );
}

#[test]
fn natural_question_finds_registration_services() {
    let index = indexed();
    let hits = search(&index, "Wie melde ich meinen Wohnsitz um?");
    let top2: Vec<&str> = ids(&hits).into_iter().take(2).collect();
    assert!(
        top2.iter()
            .any(|id| *id == "wohnsitz-ummelden" || *id == "wohnsitz-anmelden"),
        "{top2:?}"
    );
    let hits = search(&index, "Umzug innerhalb der Stadt");
    assert_eq!(ids(&hits)[0], "wohnsitz-ummelden");
    let hits = search(&index, "Wohnungsgeberbestätigung");
    let found: HashSet<&str> = ids(&hits).into_iter().collect();
    assert_eq!(
        found,
        HashSet::from(["wohnsitz-ummelden", "wohnsitz-anmelden"])
    );
}

#[test]
fn folding_and_stemming_match_spelling_variants() {
    let index = indexed();
    let hits = search(&index, "Strasse");
    assert!(ids(&hits).contains(&"bewohnerparken"), "{:?}", ids(&hits));
    let parken = hits.iter().find(|h| h.doc_id == "bewohnerparken").unwrap();
    assert!(
        parken.snippet_html.contains("<mark>Straße</mark>"),
        "{}",
        parken.snippet_html
    );

    let hits = search(&index, "Buergerbuero");
    assert!(
        ids(&hits).contains(&"wohnsitz-ummelden"),
        "{:?}",
        ids(&hits)
    );

    // "Hunde" matches the inflected "Hund"/"Hunde" in the body and the part "Hund" of the
    // compounds "Hundesteuer" (title) and "Hundesteuermarke"; no other document has a dog.
    let hits = search(&index, "Hunde");
    assert_eq!(ids(&hits), vec!["hundesteuer"]);
    // Coordination: the passage with both terms beats the one with "anmelden" in its title.
    let hits = search(&index, "Hund anmelden");
    assert_eq!(ids(&hits)[0], "hundesteuer", "{:?}", ids(&hits));
    let hits = search(&index, "Reisepässe");
    assert_eq!(ids(&hits)[0], "reisepass");
}

#[test]
fn title_and_teaser_match_every_passage() {
    let index = indexed();
    let opts = SearchOptions {
        limit: 50,
        one_hit_per_document: false,
        ..Default::default()
    };
    let hits = index.search("Personalausweis", &opts).unwrap();
    let ausweis: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.doc_id == "personalausweis")
        .collect();
    assert!(
        ausweis.len() >= 3,
        "the long body has several passages: {}",
        ausweis.len()
    );
    let passage_ids: HashSet<&str> = ausweis.iter().map(|h| h.passage_id.as_str()).collect();
    assert_eq!(passage_ids.len(), ausweis.len());
    for n in 0..ausweis.len() {
        assert!(passage_ids.contains(format!("personalausweis#{n}").as_str()));
    }
    // "EU" occurs only in the teaser of the passport service.
    let hits = search(&index, "EU");
    assert_eq!(ids(&hits), vec!["reisepass"]);
}

#[test]
fn one_hit_per_document_and_ordering() {
    let index = indexed();
    let grouped = search(&index, "Ausweis Euro");
    let unique: HashSet<&str> = ids(&grouped).into_iter().collect();
    assert_eq!(unique.len(), grouped.len(), "one hit per document");

    let all = index
        .search(
            "Ausweis Euro",
            &SearchOptions {
                limit: 100,
                one_hit_per_document: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(all.len() > grouped.len());
    for pair in all.windows(2) {
        assert!(
            pair[0].score >= pair[1].score,
            "scores are sorted descending"
        );
        if pair[0].score == pair[1].score {
            assert!(
                pair[0].passage_id < pair[1].passage_id,
                "ties broken by passage_id"
            );
        }
    }
    // The best passage of each document is the one that is kept.
    assert_eq!(grouped[0].passage_id, all[0].passage_id);

    let limited = index.search(
        "Ausweis Euro",
        &SearchOptions {
            limit: 2,
            ..Default::default()
        },
    );
    assert_eq!(limited.unwrap().len(), 2);
    assert_eq!(search(&index, "Ausweis Euro"), grouped, "deterministic");
}

#[test]
fn snippets_are_safe_html() {
    let index = SearchIndex::in_memory().unwrap();
    let body = "Achtung <script>alert('x')</script> & Hundesteuer \"zahlen\".".to_string();
    index
        .replace_source("x", &[batch(&[("evil", "service", "Abgabe", None, body)])])
        .unwrap();
    let hits = search(&index, "Hundesteuer");
    assert_eq!(hits.len(), 1);
    let html = &hits[0].snippet_html;
    assert!(html.contains("<mark>Hundesteuer</mark>"), "{html}");
    let without_marks = html.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !without_marks.contains('<') && !without_marks.contains('>'),
        "{html}"
    );
    assert!(
        hits[0].snippet.contains("<script>"),
        "plain snippet is unescaped text"
    );

    // A part of a compound marks the whole compound ("Steuer" in "Hundesteuer").
    let hits = search(&index, "Steuer");
    assert!(
        hits[0].snippet_html.contains("<mark>Hundesteuer</mark>"),
        "{}",
        hits[0].snippet_html
    );

    // Title-only match: no fragment in the body, so the snippet is the passage start.
    let hits = search(&index, "Abgabe");
    assert_eq!(hits[0].snippet, hits[0].text);
    assert!(hits[0].snippet_html.starts_with("Achtung &lt;script&gt;"));
}

#[test]
fn replace_source_replaces_only_that_source() {
    let index = indexed();
    let land = vec![(
        "land-wohngeld",
        "service",
        "Wohngeld",
        None,
        "Wohngeld ist ein Zuschuss zur Miete.".to_string(),
    )];
    let stats = index.replace_source("land", &[batch(&land)]).unwrap();
    assert_eq!(
        stats,
        IndexStats {
            documents: 1,
            passages: 1,
            added: 1,
            ..IndexStats::default()
        }
    );
    let before = index.num_passages().unwrap();
    let stadt_before = before as usize - 1;
    assert!(before > 11);

    let new_stadt: [Row; 2] = [
        (
            "sperrmuell",
            "service",
            "Sperrmüll anmelden",
            None,
            "Neu: Sperrmüll online.".into(),
        ),
        (
            "fundbuero",
            "office",
            "Fundbüro",
            None,
            "Verlorene Sachen abgeben.".into(),
        ),
    ];
    // Two batches in one call.
    let stats = index.replace_source("stadt", &[batch(&new_stadt[..1]), batch(&new_stadt[1..])]);
    // "sperrmuell" keeps its id with a new text, "fundbuero" is new, the rest is gone.
    assert_eq!(
        stats.unwrap(),
        IndexStats {
            documents: 2,
            passages: 2,
            added: 1,
            updated: 1,
            deleted: stadt_before - 1,
            unchanged: 0,
        }
    );
    assert_eq!(index.num_passages().unwrap(), 3);
    assert!(
        search(&index, "Hundesteuer").is_empty(),
        "old passages are gone"
    );
    assert!(search(&index, "Personalausweis").is_empty());
    assert_eq!(
        search(&index, "Sperrmüll")[0].text,
        "Neu: Sperrmüll online."
    );
    assert_eq!(
        ids(&search(&index, "Wohngeld")),
        vec!["land-wohngeld"],
        "other source kept"
    );

    let stats = index.replace_source("stadt", &[]).unwrap();
    assert_eq!(
        stats,
        IndexStats {
            documents: 0,
            passages: 0,
            deleted: 2,
            ..IndexStats::default()
        }
    );
    assert_eq!(index.num_passages().unwrap(), 1);
}

#[test]
fn searches_never_see_a_half_replaced_source() {
    let index = Arc::new(SearchIndex::in_memory().unwrap());
    let (old, new) = (amt_batch("old", 20), amt_batch("new", 20));
    index
        .replace_source("s", std::slice::from_ref(&old))
        .unwrap();
    let reader = {
        let index = Arc::clone(&index);
        std::thread::spawn(move || {
            let opts = SearchOptions {
                limit: 100,
                one_hit_per_document: true,
                ..Default::default()
            };
            for _ in 0..200 {
                let hits = index.search("Amt", &opts).unwrap();
                assert_eq!(hits.len(), 20, "every search sees exactly one full version");
                let olds = hits.iter().filter(|h| h.doc_id.starts_with("old")).count();
                assert!(olds == 0 || olds == 20, "mixed state: {olds} old hits");
            }
        })
    };
    for round in 0..10 {
        let rows = if round % 2 == 0 { &new } else { &old };
        index
            .replace_source("s", std::slice::from_ref(rows))
            .unwrap();
    }
    reader.join().unwrap();
}

#[test]
fn persistent_index_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let before = {
        let index = SearchIndex::open_or_create(&path).unwrap();
        assert_eq!(index.num_passages().unwrap(), 0);
        index.replace_source("stadt", &[batch(&corpus())]).unwrap();
        search(&index, "Personalausweis beantragen")
    };
    assert!(!before.is_empty());
    let index = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(search(&index, "Personalausweis beantragen"), before);
    // A second handle on the same directory can update it (the writer lock is per update).
    let other = SearchIndex::open_or_create(&path).unwrap();
    other.replace_source("stadt", &[]).unwrap();
    drop(other);
    let reopened = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(reopened.num_passages().unwrap(), 0);
}

#[test]
fn incompatible_index_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("something_else", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(dir.path(), builder.build()).unwrap();
    let err = SearchIndex::open_or_create(dir.path()).unwrap_err();
    assert!(matches!(err, Error::IncompatibleIndex { .. }), "{err}");
    assert!(err.to_string().contains("delete the directory"), "{err}");
}

#[test]
fn hostile_and_odd_queries_are_handled() {
    let index = indexed();
    for q in ["", "   \n\t", "und oder die", "?!", "\"\"", "()", "::"] {
        assert_eq!(search(&index, q), vec![], "{q:?}");
    }
    for q in [
        "C++",
        "\"Personalausweis",
        "title:Hund",
        "body:(Hund OR Katze) AND NOT",
        "[Hund TO Katze]",
        "Hund^5 ~2 *",
        "AND OR NOT",
        "🐕🐕 Hund 🐕",
        "Собака Hund 狗",
        "\u{0}\u{200b}Hund\u{feff}",
        "-Hund +Steuer",
    ] {
        let hits = index.search(q, &SearchOptions::default());
        assert!(hits.is_ok(), "{q:?}: {hits:?}");
    }
    assert_eq!(ids(&search(&index, "title:Hund")), vec!["hundesteuer"]);

    let ok = "Hund ".repeat(MAX_QUERY_CHARS / 5);
    assert!(index.search(&ok, &SearchOptions::default()).is_ok());
    let long = "Hund ".repeat(2_000);
    let err = index.search(&long, &SearchOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::QueryTooLong {
                len: 10_000,
                max: MAX_QUERY_CHARS
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_batches_are_rejected_with_the_column_name() {
    let index = indexed();
    let before = index.num_passages().unwrap();
    let full = batch(&corpus());
    let without_licence = full.project(&[0, 1, 2, 3, 4, 5, 7]).unwrap();
    assert!(without_licence.column_by_name("licence").is_none());
    let err = index
        .replace_source("stadt", &[without_licence])
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingColumn { column } if column == "licence"),
        "{err}"
    );
    assert!(err.to_string().contains("`licence`"));
    assert_eq!(index.num_passages().unwrap(), before, "nothing changed");

    // Optional columns may be absent.
    let minimal = full.project(&[0, 2, 4, 5, 6]).unwrap();
    let stats = index.replace_source("minimal", &[minimal]).unwrap();
    assert_eq!(stats.documents, 10);
}

#[test]
fn source_filter_keeps_only_the_named_sources_without_changing_scores() {
    let index = indexed();
    index
        .replace_source("andere", &[amt_batch("x", 3)])
        .unwrap();
    let all = index
        .search(
            "Amt Personalausweis",
            &SearchOptions {
                limit: 50,
                ..Default::default()
            },
        )
        .unwrap();
    let sources: Vec<(&str, &str)> = all
        .iter()
        .map(|h| (h.source.as_str(), h.doc_id.as_str()))
        .collect();
    assert!(
        all.iter().any(|h| h.source == "andere") && all.iter().any(|h| h.source == "stadt"),
        "{sources:?}"
    );
    let only = |sources: &[&str]| {
        let opts = SearchOptions {
            limit: 50,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        index.search("Amt Personalausweis", &opts).unwrap()
    };
    let stadt = only(&["stadt"]);
    assert!(!stadt.is_empty() && stadt.iter().all(|h| h.source == "stadt"));
    for hit in &stadt {
        let unfiltered = all.iter().find(|h| h.passage_id == hit.passage_id).unwrap();
        assert!(
            (unfiltered.score - hit.score).abs() < 1e-4,
            "the filter must not change scores"
        );
    }
    assert!(only(&["gibt-es-nicht"]).is_empty());
    assert_eq!(only(&["stadt", "andere"]).len(), all.len());
}

#[test]
fn citizen_words_find_official_services() {
    let index = indexed();
    assert_eq!(
        ids(&search(&index, "Perso abgelaufen"))[0],
        "personalausweis"
    );
    assert_eq!(ids(&search(&index, "Anwohnerparken"))[0], "bewohnerparken");
}

#[test]
fn compound_parts_find_the_compound() {
    let index = indexed();
    // Title "Bewohnerparkausweis": each part finds it, and it ranks first.
    for q in ["Parkausweis", "Bewohner", "Bewohnerparkausweis"] {
        assert_eq!(ids(&search(&index, q))[0], "bewohnerparken", "{q}");
    }
    // "Hund" also matches the compound in the title "Hundesteuer".
    let hits = search(&index, "Hund");
    assert_eq!(ids(&hits), vec!["hundesteuer"]);
    let hits = search(&index, "Steuer Hund");
    assert_eq!(ids(&hits)[0], "hundesteuer", "{:?}", ids(&hits));
    // A compound query finds documents that spell its parts separately or in other compounds.
    let hits = search(&index, "Gewerbeanmeldungsformular");
    assert_eq!(ids(&hits)[0], "gewerbe", "{:?}", ids(&hits));
    // Highlighting marks the whole compound, not a fragment of it.
    let hits = search(&index, "Steuer");
    let hund = hits.iter().find(|h| h.doc_id == "hundesteuer").unwrap();
    assert!(
        hund.snippet_html.contains("<mark>Steuerverwaltung</mark>"),
        "{}",
        hund.snippet_html
    );
}

#[test]
fn compounds_are_split_in_persistent_indexes_too() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    index.replace_source("stadt", &[batch(&corpus())]).unwrap();
    drop(index);
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(ids(&search(&index, "Parkausweis"))[0], "bewohnerparken");
    assert_eq!(ids(&search(&index, "Sperrmülltermin"))[0], "sperrmuell");
}
