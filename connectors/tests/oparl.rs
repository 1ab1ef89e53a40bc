//! OParl 1.1 into tables: the real Karlsruhe files and the specification's examples (from
//! `../shared/datasets`, skipped when missing), quarantine and duplicate handling, and the
//! harvest of a recorded server (System → Body → paged paper list, `modified_since`, paging
//! loops, the page limit).

mod support;

use support::text_column as strings;

use support::shared;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use allmende_connectors::fetch::Fetch;
use allmende_connectors::http::{HttpClient, HttpOptions};
use allmende_connectors::oparl::{self, OparlKind, harvest, parse_objects, read_dir};
use allmende_connectors::{Connector, Error, Parsed};
use arrow::array::{Array, BooleanArray, Date32Array, Int64Array};
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use serde_json::{Value, json};
use support::recorded_server::{Recorded, RecordedServer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oparl")
        .join(name)
}

fn dates<'a>(p: &'a Parsed, name: &str) -> &'a Date32Array {
    p.batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<Date32Array>()
        .unwrap_or_else(|| panic!("{name} is not Date32"))
}

fn counts<'a>(p: &'a Parsed, name: &str) -> &'a Int64Array {
    p.batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{name} is not Int64"))
}

fn flags<'a>(p: &'a Parsed, name: &str) -> &'a BooleanArray {
    p.batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap_or_else(|| panic!("{name} is not Boolean"))
}

/// The row whose `id` ends with `suffix`.
fn row(p: &Parsed, suffix: &str) -> usize {
    let ids = strings(p, "id");
    (0..ids.len())
        .find(|&i| ids.value(i).ends_with(suffix))
        .unwrap_or_else(|| panic!("no row with id ending in {suffix}"))
}

fn day(y: i32, m: u32, d: u32) -> i32 {
    (NaiveDate::from_ymd_opt(y, m, d).unwrap() - NaiveDate::default()).num_days() as i32
}

fn all_ids(p: &Parsed) -> HashSet<String> {
    let ids = strings(p, "id");
    (0..ids.len()).map(|i| ids.value(i).to_string()).collect()
}

fn page(origin: &str, value: Value) -> (String, Vec<u8>) {
    (origin.to_string(), value.to_string().into_bytes())
}

#[test]
fn declared_schemas() {
    let papers = oparl::schema(OparlKind::Paper);
    let names: Vec<&str> = papers.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "body",
            "name",
            "reference",
            "date",
            "paper_type",
            "main_file_url",
            "main_file_name",
            "auxiliary_file_count",
            "consultation_count",
            "web",
            "created",
            "modified",
            "deleted"
        ]
    );
    assert_eq!(
        papers.field_with_name("date").unwrap().data_type(),
        &DataType::Date32
    );
    assert!(!papers.field_with_name("id").unwrap().is_nullable());
    let meetings = oparl::schema(OparlKind::Meeting);
    assert_eq!(
        meetings
            .field_with_name("agenda_item_count")
            .unwrap()
            .data_type(),
        &DataType::Int64
    );
    assert_eq!(
        meetings.field_with_name("cancelled").unwrap().data_type(),
        &DataType::Boolean
    );
    let organizations = oparl::schema(OparlKind::Organization);
    assert_eq!(
        organizations
            .field_with_name("end_date")
            .unwrap()
            .data_type(),
        &DataType::Date32
    );
    assert_eq!(OparlKind::Meeting.table(), "meetings");
    assert_eq!(
        OparlKind::Organization.schema_type(),
        "https://schema.oparl.org/1.1/Organization"
    );
}

#[test]
fn karlsruhe_papers() {
    let Some(dir) = shared("oparl_karlsruhe/papers") else {
        return;
    };
    let p = read_dir(OparlKind::Paper, &dir).unwrap();
    assert_eq!(p.batch.num_rows(), 50);
    assert_eq!(p.rows_read, 50);
    assert!(p.quarantine.is_empty(), "{:?}", p.quarantine);
    assert_eq!(all_ids(&p).len(), 50);
    assert!(
        p.notes[0].starts_with("read 50 OParl files from "),
        "{:?}",
        p.notes
    );
    // Files are read sorted by name: 1.json, 10.json, 101.json, ...
    assert_eq!(
        strings(&p, "id").value(0),
        "https://web1.karlsruhe.de/oparl/bodies/0001/papers/ag/1"
    );
    assert_eq!(
        strings(&p, "id").value(1),
        "https://web1.karlsruhe.de/oparl/bodies/0001/papers/ag/10"
    );

    let i = row(&p, "/papers/ag/1");
    assert_eq!(
        strings(&p, "name").value(i),
        "Ergänzungsantrag: Erweiterung des Klinikums um eine MRE-Ambulanz zur Verhinderung der \
         epidemischen Verbreitung nosokomialer Infektionen"
    );
    assert_eq!(strings(&p, "reference").value(i), "2013/0140");
    assert_eq!(dates(&p, "date").value(i), day(2013, 10, 22));
    assert_eq!(
        strings(&p, "paper_type").value(i),
        "Änderungs-/Ergänzungsantrag"
    );
    assert_eq!(
        strings(&p, "body").value(i),
        "https://web1.karlsruhe.de/oparl/bodies/0001"
    );
    assert_eq!(counts(&p, "auxiliary_file_count").value(i), 2);
    assert_eq!(counts(&p, "consultation_count").value(i), 0);
    assert!(strings(&p, "main_file_url").is_null(i));
    assert_eq!(strings(&p, "created").value(i), "2016-10-12T09:08:36+02:00");
    assert_eq!(
        strings(&p, "modified").value(i),
        "2025-03-03T14:30:22+01:00"
    );
    assert!(!flags(&p, "deleted").value(i));

    let i = row(&p, "/papers/ag/101");
    assert_eq!(strings(&p, "reference").value(i), "2015/0307");
    assert_eq!(dates(&p, "date").value(i), day(2015, 5, 19));
    assert_eq!(dates(&p, "date").null_count(), 0);
}

#[test]
fn karlsruhe_meetings() {
    let Some(dir) = shared("oparl_karlsruhe/meetings") else {
        return;
    };
    let p = read_dir(OparlKind::Meeting, &dir).unwrap();
    assert_eq!(p.batch.num_rows(), 20);
    assert!(p.quarantine.is_empty(), "{:?}", p.quarantine);
    let i = row(&p, "/meetings/10022");
    assert_eq!(i, 0);
    assert_eq!(
        strings(&p, "name").value(i),
        "Ortschaftsrat Durlach (öffentlich/nicht öffentlich)"
    );
    assert_eq!(strings(&p, "start").value(i), "2025-01-15T17:00:00+01:00");
    assert_eq!(strings(&p, "end").value(i), "2025-01-15T00:00:00+01:00");
    assert_eq!(
        strings(&p, "location_description").value(i),
        "Bürgersaal im Rathaus, Pfinztalstr. 33"
    );
    assert_eq!(
        strings(&p, "organization_ids").value(i),
        "https://web1.karlsruhe.de/oparl/bodies/0001/organizations/gr/40333"
    );
    assert_eq!(counts(&p, "agenda_item_count").value(i), 7);
    assert!(!flags(&p, "cancelled").value(i));
    assert_eq!(
        counts(&p, "agenda_item_count").value(row(&p, "/meetings/10023")),
        15
    );
    let total: i64 = counts(&p, "agenda_item_count").iter().flatten().sum();
    assert_eq!(total, 196);
}

#[test]
fn karlsruhe_organizations_from_one_array_file() {
    let Some(file) = shared("oparl_karlsruhe/organizations.json") else {
        return;
    };
    let p = read_dir(OparlKind::Organization, &file).unwrap();
    assert_eq!(p.batch.num_rows(), 97);
    assert!(p.quarantine.is_empty(), "{:?}", p.quarantine);
    let i = row(&p, "/organizations/at/883022");
    assert_eq!(i, 0);
    assert_eq!(strings(&p, "name").value(i), "Behindertenbeauftragte");
    assert_eq!(strings(&p, "short_name").value(i), "SJB");
    assert_eq!(dates(&p, "start_date").value(i), day(2026, 1, 1));
    assert!(dates(&p, "end_date").is_null(i));

    let i = row(&p, "/organizations/at/882950");
    assert_eq!(strings(&p, "name").value(i), "_Fachbereich Datenübernahme");
    assert_eq!(dates(&p, "end_date").value(i), day(2013, 6, 4));
    assert_eq!(
        dates(&p, "end_date").len() - dates(&p, "end_date").null_count(),
        1
    );

    let i = row(&p, "/organizations/gr/32130");
    assert_eq!(strings(&p, "name").value(i), "Gemeinderat");
    assert_eq!(
        strings(&p, "classification").value(i),
        "Beschließender Ausschuss"
    );
    let classified = strings(&p, "classification");
    assert_eq!(classified.len() - classified.null_count(), 6);
}

#[test]
fn specification_examples() {
    let Some(dir) = shared("oparl_spec_examples") else {
        return;
    };
    let p = read_dir(OparlKind::Paper, &dir.join("Paper-01.json")).unwrap();
    assert_eq!(p.batch.num_rows(), 1);
    assert_eq!(
        strings(&p, "id").value(0),
        "https://oparl.example.org/paper/749"
    );
    assert_eq!(
        strings(&p, "name").value(0),
        "Antwort auf Anfrage 1200/2014"
    );
    assert_eq!(strings(&p, "reference").value(0), "1234/2014");
    assert_eq!(dates(&p, "date").value(0), day(2014, 4, 4));
    assert_eq!(
        strings(&p, "paper_type").value(0),
        "Beantwortung einer Anfrage"
    );
    assert_eq!(
        strings(&p, "main_file_url").value(0),
        "https://oparl.example.org/files/57737.pdf"
    );
    assert_eq!(
        strings(&p, "main_file_name").value(0),
        "Anlage 1 zur Anfrage"
    );
    assert_eq!(counts(&p, "auxiliary_file_count").value(0), 1);
    assert_eq!(counts(&p, "consultation_count").value(0), 1);

    let m = read_dir(OparlKind::Meeting, &dir.join("Meeting-01.json")).unwrap();
    assert_eq!(
        strings(&m, "name").value(0),
        "4. Sitzung des Finanzausschusses"
    );
    assert_eq!(strings(&m, "start").value(0), "2013-01-04T08:00:00+01:00");
    assert_eq!(
        strings(&m, "organization_ids").value(0),
        "https://oparl.example.org/organization/34"
    );
    assert_eq!(counts(&m, "agenda_item_count").value(0), 1);
    assert_eq!(
        strings(&m, "location_description").value(0),
        "Rathaus der Beispielstadt, Ratshausplatz 1, 12345 Beispielstadt"
    );

    let o = read_dir(OparlKind::Organization, &dir.join("Organization-01.json")).unwrap();
    assert_eq!(strings(&o, "short_name").value(0), "Finanzausschuss");
    assert_eq!(strings(&o, "organization_type").value(0), "Gremium");
    assert_eq!(strings(&o, "classification").value(0), "Ausschuss");
    assert_eq!(dates(&o, "start_date").value(0), day(2012, 7, 17));
    assert_eq!(
        strings(&o, "body").value(0),
        "https://oparl.example.org/bodies/1"
    );

    // The whole folder as papers: one Paper; System, Body, Meeting, ... are of another type.
    let all = read_dir(OparlKind::Paper, &dir).unwrap();
    assert_eq!(all.batch.num_rows(), 1);
    assert_eq!(all.rows_read, 8);
    assert_eq!(all.quarantine.len(), 7);
    // Sorted by name: Body-01 is record 1, Paper-01 record 6.
    assert_eq!(all.quarantine[0].line, 1);
    assert_eq!(
        all.quarantine[0].reason,
        "type is \"https://schema.oparl.org/1.1/Body\", expected \"https://schema.oparl.org/1.1/Paper\""
    );
    assert!(all.quarantine.iter().all(|q| q.line != 6));
    assert!(all.quarantine[0].raw.contains("\"ags\":\"05315000\""));
}

#[test]
fn wrong_types_and_missing_ids_are_quarantined_with_record_numbers_across_pages() {
    let pages = vec![
        page(
            "page-1",
            json!({
                "data": [
                    {"id": "https://x.example/paper/1", "type": "https://schema.oparl.org/1.1/Paper", "name": "Eins"},
                    {"id": "https://x.example/meeting/9", "type": "https://schema.oparl.org/1.1/Meeting", "name": "Sitzung"},
                    {"type": "https://schema.oparl.org/1.1/Paper", "name": "ohne id"}
                ],
                "links": {}
            }),
        ),
        page(
            "page-2",
            json!([
                {"id": "https://x.example/paper/2", "type": "https://schema.oparl.org/1.0/Paper", "name": "Zwei (OParl 1.0)"},
                42,
                {"id": "https://x.example/paper/3", "name": "ohne type"}
            ]),
        ),
        page(
            "single",
            json!({"id": "https://x.example/paper/4", "type": "https://schema.oparl.org/1.1/Paper", "name": "Vier", "deleted": true}),
        ),
    ];
    let p = parse_objects(OparlKind::Paper, &pages).unwrap();
    assert_eq!(p.rows_read, 7);
    assert_eq!(p.batch.num_rows(), 3);
    let names = strings(&p, "name");
    assert_eq!(
        (0..3).map(|i| names.value(i)).collect::<Vec<_>>(),
        ["Eins", "Zwei (OParl 1.0)", "Vier"]
    );
    assert!(flags(&p, "deleted").value(2));
    assert!(!flags(&p, "deleted").value(0));
    let lines: Vec<u64> = p.quarantine.iter().map(|q| q.line).collect();
    assert_eq!(lines, [2, 3, 5, 6]);
    assert!(
        p.quarantine[0].reason.contains("Meeting"),
        "{}",
        p.quarantine[0].reason
    );
    assert!(p.quarantine[0].raw.contains("Sitzung"));
    assert_eq!(
        p.quarantine[1].reason,
        "object has no \"id\" (every OParl object needs one)"
    );
    assert_eq!(p.quarantine[2].reason, "not a JSON object");
    assert_eq!(p.quarantine[2].raw, "42");
    assert!(p.quarantine[3].reason.contains("no \"type\""));

    // The raw text of a huge rejected object is cut to about 2 KB.
    let huge = page(
        "huge",
        json!([{"type": "https://schema.oparl.org/1.1/Paper", "name": "ä".repeat(10_000)}]),
    );
    let p = parse_objects(OparlKind::Paper, &[huge]).unwrap();
    let raw = &p.quarantine[0].raw;
    assert!(raw.len() <= 2100 && raw.len() >= 2000, "{}", raw.len());
    assert!(raw.ends_with('…'));
}

#[test]
fn duplicated_ids_keep_the_latest_modified() {
    let paper = |name: &str, modified: &str| {
        json!({"id": "https://x.example/paper/7", "type": "https://schema.oparl.org/1.1/Paper",
               "name": name, "modified": modified})
    };
    let pages = vec![
        page(
            "p1",
            json!({"data": [paper("neu", "2025-03-01T10:00:00+01:00")]}),
        ),
        page(
            "p2",
            json!({"data": [paper("alt", "2024-01-01T10:00:00+01:00")]}),
        ),
        page(
            "p3",
            json!([paper("neuer", "2025-03-01T10:30:00+01:00"),
                   {"id": "https://x.example/paper/8", "type": "https://schema.oparl.org/1.1/Paper", "name": "acht"}]),
        ),
    ];
    let p = parse_objects(OparlKind::Paper, &pages).unwrap();
    assert_eq!(p.batch.num_rows(), 2);
    assert_eq!(strings(&p, "name").value(0), "neuer");
    assert_eq!(
        strings(&p, "modified").value(0),
        "2025-03-01T10:30:00+01:00"
    );
    assert_eq!(strings(&p, "name").value(1), "acht");
    // Superseded versions are neither loaded nor quarantined nor counted as read.
    assert_eq!(p.rows_read, 2);
    assert!(p.quarantine.is_empty());
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("2 records repeated an id") && n.contains("paper/7")),
        "{:?}",
        p.notes
    );
}

#[test]
fn unreadable_dates_are_left_empty_and_noted() {
    let pages = vec![page(
        "orgs",
        json!([{"id": "o1", "type": "https://schema.oparl.org/1.1/Organization",
                "name": "Rat", "startDate": "seit jeher", "endDate": "2020-12-31T00:00:00+01:00"}]),
    )];
    let p = parse_objects(OparlKind::Organization, &pages).unwrap();
    assert_eq!(p.batch.num_rows(), 1);
    assert!(dates(&p, "start_date").is_null(0));
    assert_eq!(dates(&p, "end_date").value(0), day(2020, 12, 31));
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("1 dates could not be read") && n.contains("seit jeher")),
        "{:?}",
        p.notes
    );
}

#[test]
fn broken_pages_are_errors_naming_the_page() {
    let err = parse_objects(OparlKind::Paper, &[("p.json".into(), b"{oops".to_vec())]).unwrap_err();
    assert!(
        matches!(&err, Error::Json { origin, .. } if origin == "p.json"),
        "{err}"
    );
    let err = parse_objects(OparlKind::Paper, &[("q.json".into(), b"\"text\"".to_vec())])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("q.json: expected an OParl object"), "{err}");
    let err = OparlKind::Meeting
        .parse(br#"{"data": {"id": "x"}}"#, "r.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"data\" member of an OParl list must be an array"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = read_dir(OparlKind::Paper, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no *.json files"), "{err}");
}

/// Serves System → bodies → the Karlsruhe papers as three list pages linked by `links.next`.
fn karlsruhe_server(papers: &Path) -> (RecordedServer, Vec<String>) {
    let server = RecordedServer::start();
    server.serve_file("/oparl/", &fixture("system.json"));
    server.serve_file("/oparl/bodies", &fixture("bodies.json"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(papers)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let objects: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let ids = objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    let chunks: Vec<&[Value]> = objects.chunks(17).collect();
    assert_eq!(chunks.len(), 3);
    for (n, chunk) in chunks.iter().enumerate() {
        let mut links = json!({"first": "{base}/oparl/body/0/papers"});
        if n + 1 < chunks.len() {
            links["next"] = json!(format!("{{base}}/oparl/body/0/papers?page={}", n + 2));
        }
        let body = json!({
            "data": chunk,
            "pagination": {"totalElements": 50, "elementsPerPage": 17, "currentPage": n + 1, "totalPages": 3},
            "links": links,
        });
        // The first page answers the request with modified_since (path fallback).
        let target = if n == 0 {
            "/oparl/body/0/papers".to_string()
        } else {
            format!("/oparl/body/0/papers?page={}", n + 1)
        };
        server.serve_json(&target, &body.to_string());
    }
    (server, ids)
}

fn fast_client() -> HttpClient {
    HttpClient::new(HttpOptions {
        timeout: Duration::from_secs(5),
        retries: 1,
        backoff: Duration::from_millis(5),
        ..HttpOptions::default()
    })
}

#[test]
fn harvest_walks_system_body_and_three_paper_pages() {
    let Some(papers) = shared("oparl_karlsruhe/papers") else {
        return;
    };
    let (server, ids) = karlsruhe_server(&papers);
    // A transient failure on page 2 is retried by the client.
    server.fail_first_with("/oparl/body/0/papers?page=2", 1, Recorded::new(503, "busy"));
    let client = fast_client();
    let since = "2020-01-01T00:00:00+01:00";
    let p = harvest(
        &client,
        &server.url("/oparl/"),
        OparlKind::Paper,
        Some(since),
        10,
    )
    .unwrap();

    assert_eq!(p.batch.num_rows(), 50);
    assert!(p.quarantine.is_empty());
    assert_eq!(all_ids(&p), ids.into_iter().collect::<HashSet<_>>());
    let i = row(&p, "/papers/ag/1");
    assert_eq!(strings(&p, "reference").value(i), "2013/0140");

    let targets: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/oparl/",
            "/oparl/bodies",
            "/oparl/body/0/papers?modified_since=2020-01-01T00%3A00%3A00%2B01%3A00",
            "/oparl/body/0/papers?page=2",
            "/oparl/body/0/papers?page=2",
            "/oparl/body/0/papers?page=3",
        ]
    );
    assert!(
        p.notes[0].contains("4 list pages fetched (3 of them paper pages) from 1 bodies"),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n == "only objects modified since 2020-01-01T00:00:00+01:00 (modified_since)")
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("/oparl/body/0: 3 pages from ")),
        "{:?}",
        p.notes
    );
}

#[test]
fn harvest_refuses_a_paging_loop_and_too_many_pages() {
    let server = RecordedServer::start();
    let body = support::serve_oparl_paging_loop(&server);
    let client = fast_client();

    let err = harvest(&client, &body, OparlKind::Paper, None, 100).unwrap_err();
    let Error::Malformed { origin, reason } = err else {
        panic!("expected a malformed-source error");
    };
    assert_eq!(
        origin,
        server.url("/oparl/body/1/papers?sort=modified&page=2")
    );
    assert!(reason.contains("a paging loop"), "{reason}");
    assert!(
        reason.contains(&server.url("/oparl/body/1/papers?sort=modified")),
        "{reason}"
    );
    assert_eq!(server.requests().len(), 3);

    // The page limit stops a list before the loop is reached; modified_since joins with `&`.
    let err = harvest(
        &client,
        &body,
        OparlKind::Paper,
        Some("2024-01-01T00:00:00Z"),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("stopped after 1 list pages (max_pages)"),
        "{err}"
    );
    let last = server.requests().last().unwrap().target.clone();
    assert_eq!(
        last,
        "/oparl/body/1/papers?sort=modified&modified_since=2024-01-01T00%3A00%3A00Z"
    );
}

/// An in-memory [`Fetch`] for harvests that need no sockets.
struct Pages(HashMap<String, Value>);

impl Fetch for Pages {
    fn get(&self, url: &str) -> allmende_connectors::Result<Vec<u8>> {
        self.0
            .get(url)
            .map(|v| v.to_string().into_bytes())
            .ok_or_else(|| Error::Http {
                url: url.into(),
                reason: "HTTP 404 Not Found".into(),
            })
    }
}

#[test]
fn harvest_meetings_from_a_body_and_refuses_other_entry_points() {
    let meeting = |id: &str, name: &str| {
        json!({"id": id, "type": "https://schema.oparl.org/1.1/Meeting", "name": name,
               "organization": [{"id": "https://x.example/org/1", "type": "https://schema.oparl.org/1.1/Organization"}, "https://x.example/org/2"],
               "cancelled": true})
    };
    let pages = Pages(HashMap::from([
        (
            "https://x.example/body/1".to_string(),
            json!({"id": "https://x.example/body/1", "type": "https://schema.oparl.org/1.1/Body",
                   "meeting": "https://x.example/body/1/meetings"}),
        ),
        (
            "https://x.example/body/1/meetings".to_string(),
            json!({"data": [meeting("https://x.example/m/1", "Rat")],
                   "links": {"next": "https://x.example/body/1/meetings?p=2"}}),
        ),
        (
            "https://x.example/body/1/meetings?p=2".to_string(),
            json!({"data": [meeting("https://x.example/m/2", "Ausschuss")], "links": {}}),
        ),
        (
            "https://x.example/paper/1".to_string(),
            json!({"id": "https://x.example/paper/1", "type": "https://schema.oparl.org/1.1/Paper"}),
        ),
    ]));
    let p = harvest(
        &pages,
        "https://x.example/body/1",
        OparlKind::Meeting,
        None,
        5,
    )
    .unwrap();
    assert_eq!(p.batch.num_rows(), 2);
    assert_eq!(strings(&p, "name").value(1), "Ausschuss");
    assert_eq!(
        strings(&p, "organization_ids").value(0),
        "https://x.example/org/1|https://x.example/org/2"
    );
    assert!(flags(&p, "cancelled").value(0));

    // The body has no paper list: nothing to harvest, said in the notes.
    let p = harvest(
        &pages,
        "https://x.example/body/1",
        OparlKind::Paper,
        None,
        5,
    )
    .unwrap();
    assert_eq!(p.batch.num_rows(), 0);
    assert!(
        p.notes.iter().any(|n| n.contains("has no \"paper\" list")),
        "{:?}",
        p.notes
    );

    let err = harvest(
        &pages,
        "https://x.example/paper/1",
        OparlKind::Paper,
        None,
        5,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected an OParl System or Body"), "{err}");

    let err = harvest(
        &pages,
        "https://x.example/body/1",
        OparlKind::Meeting,
        Some("gestern"),
        5,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Spec(ref m) if m.contains("not an RFC 3339 time")),
        "{err}"
    );
}
