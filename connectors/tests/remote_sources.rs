//! Sources as an operator configures them (`[[sources]]` with `url` or `path`), read through
//! [`load`] / [`load_incremental`] against a local HTTP server that serves recorded responses:
//! a CSV file over HTTP fetched conditionally (ETag → `304`, nothing re-read), a CKAN portal
//! paged over real HTTP, a failing server that keeps the last good snapshot, directories of
//! law texts, and the checks on a spec (path or url, registers marked personal, no password in
//! provenance).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use allmende_connectors::http::{HttpClient, HttpOptions};
use allmende_connectors::{
    Error, Format, SnapshotStore, SourceSpec, WriteOutcome, load, load_incremental,
};
use arrow::array::{Array, Int64Array, StringArray};
use support::recorded_server::{Recorded, RecordedServer};

fn spec(format: Format, path: &str, url: Option<String>) -> SourceSpec {
    SourceSpec {
        url,
        ..SourceSpec::open_data("fern", "t", format, PathBuf::from(path), "CC0-1.0", "Test")
    }
}

fn fast_client() -> HttpClient {
    HttpClient::new(HttpOptions {
        timeout: Duration::from_secs(5),
        retries: 1,
        backoff: Duration::from_millis(5),
        ..HttpOptions::default()
    })
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

const CSV: &str = "Stadtbezirk;Einwohner;Stichtag\nMitte;12.345;31.12.2024\nNord;-;31.12.2024\n";

#[test]
fn a_csv_over_http_is_fetched_once_and_then_answered_not_modified() {
    let server = RecordedServer::start();
    server.serve(
        "/daten/einwohner.csv",
        Recorded::new(200, CSV)
            .with_header("Content-Type", "text/csv; charset=utf-8")
            .with_header("ETag", "\"v1\"")
            .with_header("Last-Modified", "Mon, 30 Nov 2026 10:00:00 GMT"),
    );
    let s = spec(Format::Csv, "", Some(server.url("/daten/einwohner.csv")));
    let http = fast_client();
    let first = load_incremental(&s, &http, None).unwrap().expect("fresh");
    let p = &first.provenance;
    assert_eq!(p.origin, server.url("/daten/einwohner.csv"));
    assert_eq!((p.rows_read, p.rows_loaded, p.rows_quarantined), (2, 2, 0));
    let validators = p.validators.clone().expect("validators stored");
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    let einwohner = first
        .batch
        .column_by_name("einwohner")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .clone();
    assert_eq!(einwohner.value(0), 12345);
    assert!(einwohner.is_null(1));

    // The snapshot carries the validators; the next ingest sends them and gets a 304.
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(dir.path());
    assert_eq!(store.write(&first).unwrap(), WriteOutcome::Written);
    let previous = store.provenance(&s.table_name().unwrap()).expect("stored");
    assert_eq!(previous.validators, Some(validators));
    assert!(
        load_incremental(&s, &http, Some(&previous))
            .unwrap()
            .is_none()
    );
    let last = server.requests_to("/daten/einwohner.csv").pop().unwrap();
    assert_eq!(last.header("if-none-match"), Some("\"v1\""));
}

#[test]
fn a_failing_server_is_reported_and_the_last_good_snapshot_stays() {
    let server = RecordedServer::start();
    server.serve("/daten/einwohner.csv", Recorded::new(200, CSV));
    let s = spec(Format::Csv, "", Some(server.url("/daten/einwohner.csv")));
    let http = fast_client();
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(dir.path());
    let good = load_incremental(&s, &http, None).unwrap().unwrap();
    store.write(&good).unwrap();
    let sha = good.provenance.sha256.clone();

    server.fail_first("/daten/einwohner.csv", 10, 503);
    let err = load_incremental(&s, &http, None).unwrap_err();
    assert!(
        matches!(&err, Error::Http { reason, .. } if reason.contains("HTTP 503") && reason.contains("2 attempts")),
        "{err}"
    );
    let kept = store.provenance(&s.table_name().unwrap()).unwrap();
    assert_eq!(kept.sha256, sha);
    assert_eq!(kept.rows_loaded, 2);
}

#[test]
fn a_ckan_portal_is_harvested_page_by_page_over_http() {
    let server = RecordedServer::start();
    for start in [0, 2, 4] {
        server.serve_file(
            &format!("/api/3/action/package_search?rows=2&start={start}&sort=name%20asc"),
            &fixture(&format!("ckan/package_search_start{start}.json")),
        );
    }
    let mut s = spec(Format::CkanDatasets, "", Some(server.url("/api/3/action")));
    s.options.page_size = Some(2);
    let loaded = load(&s).unwrap();
    let p = &loaded.provenance;
    // Five datasets, one without a title in quarantine (see fixtures/ckan/README.md).
    assert_eq!((p.rows_read, p.rows_loaded, p.rows_quarantined), (5, 4, 1));
    assert_eq!(server.requests().len(), 3);
    let ids = loaded
        .batch
        .column_by_name("id")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    assert!(!ids.iter().flatten().any(|id| id.contains("wochenmaerkte")));
    // The hash covers every page: the same harvest gives the same hash.
    assert_eq!(load(&s).unwrap().provenance.sha256, p.sha256);

    let mut distributions = s.clone();
    distributions.format = Format::CkanDistributions;
    assert!(load(&distributions).unwrap().batch.num_rows() > 4);
}

#[test]
fn an_oparl_paging_loop_fails_the_source() {
    let server = RecordedServer::start();
    let body = support::serve_oparl_paging_loop(&server);
    let s = spec(Format::OparlPapers, "", Some(body));
    let err = load(&s).unwrap_err().to_string();
    assert!(err.contains("a paging loop"), "{err}");
}

#[test]
fn a_directory_of_law_texts_is_one_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.md"),
        "% Erstes Gesetz  (EG)\n% Ausfertigungsdatum: 01.02.2003\n\n# § 1 – Zweck\n\nText.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.md"),
        "% Zweites Gesetz  (ZG)\n% Ausfertigungsdatum: 04.05.2006\n\n# § 1 – Zweck\n\nA.\n\n# § 2 – (weggefallen)\n",
    )
    .unwrap();
    let s = spec(Format::LawText, dir.path().to_str().unwrap(), None);
    let loaded = load(&s).unwrap();
    assert_eq!(loaded.batch.num_rows(), 3);
    let laws = loaded
        .batch
        .column_by_name("law")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    assert_eq!(
        laws.iter().flatten().collect::<Vec<_>>(),
        vec!["EG", "ZG", "ZG"]
    );
    // A file changed → another hash.
    let before = loaded.provenance.sha256;
    std::fs::write(
        dir.path().join("b.md"),
        "% Zweites Gesetz  (ZG)\n\n# § 1 – Zweck\n",
    )
    .unwrap();
    assert_ne!(load(&s).unwrap().provenance.sha256, before);
}

#[test]
fn specs_are_checked_before_anything_is_read() {
    let both = spec(
        Format::Csv,
        "x.csv",
        Some("https://example.org/x.csv".into()),
    );
    assert!(
        load(&both)
            .unwrap_err()
            .to_string()
            .contains("either `path` or `url`")
    );
    let neither = spec(Format::Csv, "", None);
    assert!(
        load(&neither)
            .unwrap_err()
            .to_string()
            .contains("needs a `path` or a `url`")
    );
    let ftp = spec(Format::Csv, "", Some("ftp://example.org/x.csv".into()));
    assert!(
        load(&ftp)
            .unwrap_err()
            .to_string()
            .contains("neither an http(s), s3 nor a postgres URL")
    );

    // Registers must be marked personal, so they are aggregate-only and never indexed.
    let xmeld = spec(Format::Xmeld, "register.xml", None);
    let err = load(&xmeld).unwrap_err().to_string();
    assert!(err.contains("personal = true"), "{err}");
    let mut pg = spec(
        Format::Postgres,
        "",
        Some("postgres://melde:geheim@127.0.0.1:1/register".into()),
    );
    pg.personal = true;
    let err = load(&pg).unwrap_err().to_string();
    assert!(err.contains("options.query"), "{err}");
    pg.options.query = Some("SELECT 1".into());
    let err = load(&pg).unwrap_err().to_string();
    assert!(!err.contains("geheim"), "password leaked: {err}");
    assert!(err.contains("melde"), "{err}");
    // A CSV directory is not a format that reads directories.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "[]").unwrap();
    let csv_dir = spec(Format::Csv, dir.path().to_str().unwrap(), None);
    assert!(
        load(&csv_dir)
            .unwrap_err()
            .to_string()
            .contains("reads one file")
    );
}
