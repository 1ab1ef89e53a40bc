//! Register connectors: XMeld-shaped messages (`xmeld`) and registers in PostgreSQL
//! (`postgres_register`). All persons are synthetic: the Musterstadt register of
//! `allmende-datasets` and a few invented ones in `tests/fixtures/xmeld/`.
//!
//! The PostgreSQL test runs against a real server: it looks for the server binaries
//! (`/usr/lib/postgresql/*/bin`, `$ALLMENDE_PG_BIN`, or `initdb`/`pg_ctl` on the `PATH`), creates
//! a cluster in a temporary directory under `/tmp` (as the `postgres` user when the test runs as
//! root), starts it on a free port, and stops it again when the test ends (also on failure).
//! Without the binaries it prints a skip message (`apt-get install postgresql`) and passes;
//! under CI=true it fails instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use allmende_connectors::postgres_register::{self, PgSource};
use allmende_connectors::{ColumnType, Error, Parsed, csv_de, xmeld};
use allmende_datasets::musterstadt::{self, Person};
use arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn column<'a, T: 'static>(p: &'a Parsed, name: &str) -> &'a T {
    p.batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", p.batch.schema()))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has type {:?}", p.batch.schema()))
}

fn text(p: &Parsed, name: &str, row: usize) -> Option<String> {
    let c = column::<StringArray>(p, name);
    c.is_valid(row).then(|| c.value(row).to_string())
}

fn date(p: &Parsed, name: &str, row: usize) -> Option<NaiveDate> {
    let c = column::<Date32Array>(p, name);
    c.is_valid(row).then(|| c.value_as_date(row)).flatten()
}

fn int(p: &Parsed, name: &str, row: usize) -> Option<i64> {
    let c = column::<Int64Array>(p, name);
    c.is_valid(row).then(|| c.value(row))
}

fn float(p: &Parsed, name: &str, row: usize) -> Option<f64> {
    let c = column::<Float64Array>(p, name);
    c.is_valid(row).then(|| c.value(row))
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `dd.mm.yyyy` (the CSV register) → date.
fn german_date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%d.%m.%Y").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn schema_of(p: &Parsed) -> Vec<(String, DataType)> {
    p.batch
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

fn xmeld_fixture() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xmeld/melderegister_musterstadt.xml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes register persons as an XMeld-style message (a default prefix other than the
/// fixture's, so prefixes are not what the reader relies on).
fn xmeld_message(persons: &[Person]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <m:datenuebermittlung.allgemein.1101 xmlns:m=\"http://www.osci.de/xmeld2511\">\n\
         <nachrichtenkopf.g2g><identifikation.nachricht>\
         <erstellungszeitpunkt>2026-10-31T06:00:00</erstellungszeitpunkt>\
         </identifikation.nachricht></nachrichtenkopf.g2g>\n",
    );
    let iso = |d: &str| german_date(d).format("%Y-%m-%d").to_string();
    for p in persons {
        out.push_str("<person>");
        out.push_str(&format!(
            "<ordnungsmerkmal>{}</ordnungsmerkmal>",
            p.personen_id
        ));
        out.push_str(&format!(
            "<name><familienname>{}</familienname>",
            escape(&p.familienname)
        ));
        for v in p.vornamen.split(' ') {
            out.push_str(&format!("<vorname>{}</vorname>", escape(v)));
        }
        out.push_str("</name>");
        out.push_str(&format!(
            "<geburt><geburtsdatum>{}</geburtsdatum></geburt>",
            iso(&p.geburtsdatum)
        ));
        out.push_str(&format!(
            "<geschlecht><code>{}</code></geschlecht>",
            p.geschlecht
        ));
        out.push_str(&format!(
            "<staatsangehoerigkeit><code>000</code><name>{}</name></staatsangehoerigkeit>",
            escape(&p.staatsangehoerigkeit)
        ));
        // House numbers like "12a" go into number and letter, as XMeld has them.
        let split = p
            .hausnummer
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(p.hausnummer.len());
        let (number, letter) = p.hausnummer.split_at(split);
        let letter = if letter.is_empty() {
            String::new()
        } else {
            format!("<buchstabeHausnummer>{letter}</buchstabeHausnummer>")
        };
        out.push_str(&format!(
            "<anschrift.inland><strasse>{}</strasse><hausnummer>{number}</hausnummer>{letter}\
             <postleitzahl>{}</postleitzahl><wohnort>Musterstadt</wohnort>\
             <gemeindeteil>{}</gemeindeteil><einzugsdatum>{}</einzugsdatum></anschrift.inland>",
            escape(&p.strasse),
            p.plz,
            escape(&p.stadtbezirk),
            iso(&p.zuzugsdatum)
        ));
        out.push_str("</person>\n");
    }
    out.push_str("</m:datenuebermittlung.allgemein.1101>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// XMeld
// ---------------------------------------------------------------------------------------------

#[test]
fn xmeld_fixture_loads_persons_with_the_register_columns() {
    let p = xmeld::parse(&xmeld_fixture(), "melderegister.xml").unwrap();
    let names: Vec<String> = schema_of(&p).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, xmeld::COLUMNS);
    // The CSV register's columns come first, in its order.
    let csv_header: Vec<&str> = musterstadt::REGISTER_HEADER.split(';').collect();
    assert_eq!(&names[..csv_header.len()], csv_header.as_slice());
    let types: BTreeMap<String, DataType> = schema_of(&p).into_iter().collect();
    assert_eq!(types["geburtsdatum"], DataType::Date32);
    assert_eq!(types["zuzugsdatum"], DataType::Date32);
    assert_eq!(types["geburtsjahr"], DataType::Int64);
    assert_eq!(types["plz"], DataType::Utf8);

    assert_eq!(p.rows_read, 16);
    assert_eq!(p.batch.num_rows(), 10);
    assert_eq!(p.batch.num_rows() + p.quarantine.len(), p.rows_read);
    let ids: Vec<String> = (0..10)
        .map(|r| text(&p, "personen_id", r).unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "P000001", "P000002", "P000003", "P000014", "P000155", "P001000", "P001001", "P002001",
            "P002002", "P002003"
        ]
    );

    // Max Mustermann, field by field (row 5).
    let max = 5;
    assert_eq!(text(&p, "familienname", max).as_deref(), Some("Mustermann"));
    assert_eq!(text(&p, "vornamen", max).as_deref(), Some("Max"));
    assert_eq!(date(&p, "geburtsdatum", max), Some(ymd(1985, 3, 14)));
    assert_eq!(text(&p, "geschlecht", max).as_deref(), Some("m"));
    assert_eq!(text(&p, "strasse", max).as_deref(), Some("Lindenallee"));
    assert_eq!(text(&p, "hausnummer", max).as_deref(), Some("12"));
    assert_eq!(text(&p, "plz", max).as_deref(), Some("12345"));
    assert_eq!(text(&p, "stadtbezirk", max).as_deref(), Some("Altstadt"));
    assert_eq!(
        text(&p, "staatsangehoerigkeit", max).as_deref(),
        Some("deutsch")
    );
    assert_eq!(date(&p, "zuzugsdatum", max), Some(ymd(2011, 9, 1)));
    assert_eq!(int(&p, "geburtsjahr", max), Some(1985));
    assert_eq!(text(&p, "wohnort", max).as_deref(), Some("Musterstadt"));

    // Structured family name, two <vorname>, upper-case code, rumänisch.
    assert_eq!(text(&p, "familienname", 0).as_deref(), Some("Becker"));
    assert_eq!(text(&p, "vornamen", 0).as_deref(), Some("Hans Wolfgang"));
    assert_eq!(text(&p, "geschlecht", 2).as_deref(), Some("w"));
    assert_eq!(
        text(&p, "staatsangehoerigkeit", 3).as_deref(),
        Some("rumänisch")
    );
    assert_eq!(text(&p, "geschlecht", 4).as_deref(), Some("d"));
}

#[test]
fn xmeld_partial_dates_keep_the_year() {
    let p = xmeld::parse(&xmeld_fixture(), "melderegister.xml").unwrap();
    // 1970-00-00: year only; hausnummer 9 + buchstabe b.
    assert_eq!(date(&p, "geburtsdatum", 7), None);
    assert_eq!(int(&p, "geburtsjahr", 7), Some(1970));
    assert_eq!(text(&p, "hausnummer", 7).as_deref(), Some("9b"));
    assert_eq!(
        text(&p, "staatsangehoerigkeit", 7).as_deref(),
        Some("türkisch")
    );
    // 1962-05-00: day unknown; einzugsdatum 2003-00-00 partial too; nationality code only.
    assert_eq!(date(&p, "geburtsdatum", 8), None);
    assert_eq!(int(&p, "geburtsjahr", 8), Some(1962));
    assert_eq!(date(&p, "zuzugsdatum", 8), None);
    assert_eq!(text(&p, "staatsangehoerigkeit", 8).as_deref(), Some("152"));
    // 0000-00-00: unknown; no einzugsdatum at all.
    assert_eq!(date(&p, "geburtsdatum", 9), None);
    assert_eq!(int(&p, "geburtsjahr", 9), None);
    assert_eq!(date(&p, "zuzugsdatum", 9), None);
    assert_eq!(text(&p, "geschlecht", 9).as_deref(), Some("x"));

    assert_eq!(
        p.notes,
        [
            "XMeld message <datenuebermittlung.allgemein.1101> (http://www.osci.de/xmeld2511)",
            "message created 2026-10-31T06:00:00+01:00",
            "2 persons with a partly known geburtsdatum (XMeld 00 for day or month): geburtsdatum null, year kept in geburtsjahr",
            "1 persons with an unknown geburtsdatum (0000-00-00): geburtsdatum and geburtsjahr null",
            "1 persons with a partly known or unknown einzugsdatum: zuzugsdatum null",
        ]
    );
}

#[test]
fn xmeld_quarantine_names_the_rule_but_no_personal_data() {
    let p = xmeld::parse(&xmeld_fixture(), "melderegister.xml").unwrap();
    let got: Vec<(u64, &str, &str)> = p
        .quarantine
        .iter()
        .map(|q| (q.line, q.reason.as_str(), q.raw.as_str()))
        .collect();
    let path = |n: u32| format!("datenuebermittlung.allgemein.1101/person[{n}]");
    assert_eq!(
        got,
        [
            (
                11,
                "person has no <ordnungsmerkmal> (every person needs one)",
                path(11).as_str()
            ),
            (
                12,
                "<geburtsdatum> has a day the month does not have",
                path(12).as_str()
            ),
            (
                13,
                "<ordnungsmerkmal> repeats that of person 2 (must be unique)",
                path(13).as_str()
            ),
            (
                14,
                "<geburtsdatum> lies after the message was created",
                path(14).as_str()
            ),
            (
                15,
                "<einzugsdatum> has a month outside 01-12",
                path(15).as_str()
            ),
            (
                16,
                "<geburtsdatum> has a day but no month",
                path(16).as_str()
            ),
        ]
    );
    // Nothing a person could be recognised by: names, streets, dates, ids.
    let everything = format!("{:?}", p.quarantine);
    for personal in [
        "Schneider",
        "Karin",
        "Marktgasse",
        "Wagner",
        "Lukas",
        "Ahornweg",
        "1990",
        "Schulz",
        "Monika",
        "Birkenweg",
        "Zukunft",
        "Lena",
        "Westring",
        "2999",
        "Braun",
        "Tobias",
        "Hafenstraße",
        "2020",
        "Krüger",
        "Sabine",
        "Goethestraße",
        "1955",
        "P0020",
        "P000002",
        "Musterstadt",
        "1234",
    ] {
        assert!(!everything.contains(personal), "{personal} in {everything}");
    }
}

#[test]
fn xmeld_matches_the_csv_register_cell_by_cell() {
    let persons = musterstadt::register(musterstadt::DEFAULT_SEED, 300);
    let from_xml = xmeld::parse(xmeld_message(&persons).as_bytes(), "gen.xml").unwrap();
    assert!(from_xml.quarantine.is_empty(), "{:?}", from_xml.quarantine);
    assert_eq!(from_xml.batch.num_rows(), 300);

    // The CSV register with postcodes and house numbers declared as text (codes, not numbers).
    let declared = BTreeMap::from([
        ("plz".to_string(), ColumnType::Text),
        ("hausnummer".to_string(), ColumnType::Text),
    ]);
    let csv = csv_de::parse_with(
        musterstadt::register_csv(&persons).as_bytes(),
        "melderegister.csv",
        &declared,
    )
    .unwrap();
    assert_eq!(csv.batch.num_rows(), 300);
    let csv_schema = csv.batch.schema();
    assert_eq!(csv_schema.fields().len(), 11);
    for (i, field) in csv_schema.fields().iter().enumerate() {
        let xml_field = from_xml.batch.schema().field(i).clone();
        assert_eq!(xml_field.name(), field.name());
        assert_eq!(xml_field.data_type(), field.data_type(), "{}", field.name());
        assert_eq!(
            from_xml.batch.column(i).to_data(),
            csv.batch.column(i).to_data(),
            "column {}",
            field.name()
        );
    }
    // Some house numbers had letters, so the split into number + letter was exercised.
    assert!(
        persons
            .iter()
            .any(|p| p.hausnummer.ends_with(['a', 'b', 'c']))
    );
    for (row, person) in persons.iter().enumerate() {
        assert_eq!(
            int(&from_xml, "geburtsjahr", row),
            Some(i64::from(chrono::Datelike::year(&german_date(
                &person.geburtsdatum
            ))))
        );
    }
}

#[test]
fn xmeld_rejects_other_documents_and_broken_xml() {
    let err = xmeld::parse(b"<a xmlns=\"urn:x\"><person/></a>", "x.xml").unwrap_err();
    match err {
        Error::Malformed { origin, reason } => {
            assert_eq!(origin, "x.xml");
            assert!(reason.contains("not an XMeld message"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let fixture = String::from_utf8(xmeld_fixture()).unwrap();
    let broken = fixture.replacen("</familienname>", "</familienName>", 1);
    let at = broken.find("</familienName>").unwrap();
    let err = xmeld::parse(broken.as_bytes(), "kaputt.xml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("kaputt.xml: malformed XML at byte {at}:")),
        "{err} (expected byte {at})"
    );
    // The error names the position, not the text around it.
    assert!(!err.contains("Becker"), "{err}");
    // Every truncation of the message is an error, never a panic or a silently short table.
    let end = fixture.rfind("</xmeld:").unwrap();
    for cut in (0..end).step_by(97) {
        let result = xmeld::parse(&fixture.as_bytes()[..cut], "cut.xml");
        assert!(
            matches!(result, Err(Error::Malformed { .. })),
            "cut at {cut}: {result:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: checks that need no server
// ---------------------------------------------------------------------------------------------

const PASSWORD: &str = "Geheim-Passwort-42";

#[test]
fn pg_statements_other_than_one_select_are_refused_before_connecting() {
    // Port 9 (discard) on an address that is never reached: the refusal comes first.
    let src = |query: &str| PgSource {
        url: format!("postgres://allmende:{PASSWORD}@127.0.0.1:9/register"),
        query: query.into(),
    };
    for query in [
        "DELETE FROM melderegister",
        "  update melderegister SET plz = '1'",
        "DROP TABLE melderegister",
        "COPY melderegister TO '/tmp/x'",
        "-- only a comment",
        "",
    ] {
        match postgres_register::read(&src(query), "t") {
            Err(Error::Spec(reason)) => assert!(
                reason.contains("only a single read-only SELECT or WITH")
                    || reason.contains("empty"),
                "{query}: {reason}"
            ),
            other => panic!("{query}: {other:?}"),
        }
    }
    for query in [
        "SELECT 1; DELETE FROM melderegister",
        "select 1;select 2",
        "WITH a AS (SELECT 1) SELECT * FROM a; DROP TABLE melderegister;",
    ] {
        match postgres_register::read(&src(query), "t") {
            Err(Error::Spec(reason)) => {
                assert!(
                    reason.contains("more than one statement"),
                    "{query}: {reason}"
                )
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    // Semicolons inside literals, identifiers, dollar quotes and comments, and a trailing one,
    // are fine: these get as far as connecting (and fail there, nothing listens on port 9).
    for query in [
        "SELECT 'a;b' AS s",
        "SELECT E'it\\'s;' AS s",
        "SELECT 1 AS \"x;y\"",
        "SELECT $$;$$ AS s, $tag$ ; $tag$ AS t",
        "/* ; /* nested ; */ */ select 1 -- ;\n",
        "(SELECT 1);",
        "with recursive r(n) AS (SELECT 1) SELECT n FROM r ;  -- end",
    ] {
        match postgres_register::read(&src(query), "t") {
            Err(Error::Database { .. }) => {}
            other => panic!("{query}: {other:?}"),
        }
    }
}

#[test]
fn pg_connection_errors_never_show_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let src = PgSource {
        url: format!("postgres://allmende:{PASSWORD}@127.0.0.1:{port}/register?connect_timeout=5"),
        query: "SELECT 1".into(),
    };
    assert_eq!(
        src.redacted_url(),
        format!("postgres://allmende@127.0.0.1:{port}/register?connect_timeout=5")
    );
    let debug = format!("{src:?}");
    assert!(
        !debug.contains(PASSWORD) && debug.contains("allmende@127.0.0.1"),
        "{debug}"
    );
    let err = postgres_register::read(&src, &src.url).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    match err {
        Error::Database { origin, reason } => {
            assert_eq!(origin, src.redacted_url());
            assert!(reason.starts_with("cannot connect"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // A password in the query string and the key-value form are removed as well.
    let kv = PgSource {
        url: format!(
            "host=127.0.0.1 port={port} user=allmende password={PASSWORD} dbname=register"
        ),
        query: "SELECT 1".into(),
    };
    assert_eq!(
        kv.redacted_url(),
        format!("host=127.0.0.1 port={port} user=allmende dbname=register")
    );
    let err = postgres_register::read(&kv, "register")
        .unwrap_err()
        .to_string();
    assert!(!err.contains(PASSWORD), "{err}");
    let param = PgSource {
        url: format!("postgresql://127.0.0.1:{port}/register?user=allmende&password={PASSWORD}"),
        query: "SELECT 1".into(),
    };
    assert_eq!(
        param.redacted_url(),
        format!("postgresql://127.0.0.1:{port}/register?user=allmende")
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a real server
// ---------------------------------------------------------------------------------------------

/// A throw-away PostgreSQL cluster, stopped and deleted on drop.
struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server binaries as the `postgres` user (the test runs as root).
    as_postgres: bool,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The directory with `initdb` and `pg_ctl`.
fn postgres_binaries() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("ALLMENDE_PG_BIN").map(PathBuf::from) {
        return has(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has(dir))
}

impl PgServer {
    fn start() -> Option<Self> {
        let Some(bin) = postgres_binaries() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI=true but no PostgreSQL server binaries: .ci/run installs `postgresql`"
            );
            eprintln!(
                "skipping the PostgreSQL register test: no PostgreSQL server binaries (initdb, \
                 pg_ctl) found in /usr/lib/postgresql/*/bin, $ALLMENDE_PG_BIN or the PATH; \
                 install them with `apt-get install postgresql` (CI does)"
            );
            return None;
        };
        let as_postgres = command_output("id", &["-u"]).as_deref() == Some("0");
        if as_postgres && command_output("id", &["-u", "postgres"]).is_none() {
            eprintln!(
                "skipping the PostgreSQL register test: running as root but there is no \
                 `postgres` user to run the server as (`apt-get install postgresql` creates it)"
            );
            return None;
        }
        // Under /tmp, traversable by the postgres user.
        let dir = tempfile::Builder::new()
            .prefix("allmende-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown failed");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let server = PgServer {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = server.dir.path().join("data");
        let pwfile = format!("--pwfile={}", server.dir.path().join("pw").display());
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "allmende".as_ref(),
                pwfile.as_ref(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-locale".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
        // pg_ctl -w waited for the socket; make sure TCP with the password works too.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match postgres::Client::connect(&server.url(PASSWORD), postgres::NoTls) {
                Ok(_) => break,
                Err(e) if Instant::now() > deadline => panic!("server does not answer: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        Some(server)
    }

    fn url(&self, password: &str) -> String {
        format!(
            "postgres://allmende:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{program} failed: {}\n{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// One row of the test table, as inserted.
#[derive(Debug, Clone)]
struct Expected {
    personen_id: String,
    familienname: String,
    vornamen: String,
    geburtsdatum: Option<NaiveDate>,
    geschlecht: String,
    strasse: String,
    hausnummer: String,
    plz: String,
    stadtbezirk: String,
    staatsangehoerigkeit: String,
    zuzugsdatum: NaiveDate,
    haushalt: Option<i16>,
    alter_jahre: Option<i32>,
    laufende_nr: Option<i64>,
    wohnflaeche: Option<f32>,
    gewicht: Option<f64>,
    gebuehr: Option<String>,
    erfasst_am: Option<NaiveDateTime>,
    geaendert_am: Option<DateTime<Utc>>,
    auskunftssperre: Option<bool>,
    status: Option<&'static str>,
}

fn expected_rows() -> Vec<Expected> {
    musterstadt::register(musterstadt::DEFAULT_SEED, 300)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let n = i as i64;
            let null = i % 7 == 3;
            let born = german_date(&p.geburtsdatum);
            Expected {
                geburtsdatum: (i % 11 != 5).then_some(born),
                zuzugsdatum: german_date(&p.zuzugsdatum),
                haushalt: (!null).then_some((i % 6) as i16 + 1),
                alter_jahre: (!null).then(|| 2026 - chrono::Datelike::year(&born)),
                laufende_nr: (!null).then_some(9_000_000_000 + n * 7919),
                wohnflaeche: (!null).then_some(20.5 + (i % 40) as f32 * 2.25),
                gewicht: (!null).then_some(1.0 / (n as f64 + 3.0)),
                gebuehr: (!null).then(|| format!("{}.{:02}", (n * 37) % 1000, n % 100)),
                erfasst_am: (!null).then(|| {
                    born.and_hms_micro_opt(8, (i % 60) as u32, 30, (i * 1001) as u32)
                        .unwrap()
                }),
                geaendert_am: (!null).then(|| {
                    DateTime::from_timestamp(1_760_000_000 + n * 86_399, (i * 1000) as u32).unwrap()
                }),
                auskunftssperre: (!null).then_some(i % 5 == 0),
                status: (!null).then_some(if i % 4 == 0 { "neben" } else { "haupt" }),
                personen_id: p.personen_id,
                familienname: p.familienname,
                vornamen: p.vornamen,
                geschlecht: p.geschlecht,
                strasse: p.strasse,
                hausnummer: p.hausnummer,
                plz: p.plz,
                stadtbezirk: p.stadtbezirk,
                staatsangehoerigkeit: p.staatsangehoerigkeit,
            }
        })
        .collect()
}

fn create_table(server: &PgServer, rows: &[Expected]) {
    let mut client = postgres::Client::connect(&server.url(PASSWORD), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE SEQUENCE zaehler;
             CREATE TYPE meldestatus AS ENUM ('haupt', 'neben');
             CREATE DOMAIN postleitzahl AS text CHECK (VALUE ~ '^[0-9]{5}$');
             CREATE TABLE melderegister (
                 personen_id text PRIMARY KEY,
                 familienname varchar(80) NOT NULL,
                 vornamen text NOT NULL,
                 geburtsdatum date,
                 geschlecht char(1) NOT NULL,
                 strasse text NOT NULL,
                 hausnummer varchar(8) NOT NULL,
                 plz postleitzahl NOT NULL,
                 stadtbezirk text NOT NULL,
                 staatsangehoerigkeit text NOT NULL,
                 zuzugsdatum date NOT NULL,
                 haushalt int2,
                 alter_jahre int4,
                 laufende_nr int8,
                 wohnflaeche float4,
                 gewicht float8,
                 gebuehr numeric(10, 2),
                 erfasst_am timestamp,
                 geaendert_am timestamptz,
                 auskunftssperre bool,
                 status meldestatus
             );",
        )
        .unwrap();
    let mut tx = client.transaction().unwrap();
    let insert = tx
        .prepare(
            "INSERT INTO melderegister VALUES ($1::text, $2::text, $3::text, $4, $5::text,
                 $6::text, $7::text, $8::text, $9::text, $10::text, $11, $12, $13, $14, $15, $16,
                 ($17::text)::numeric, $18, $19, $20, ($21::text)::meldestatus)",
        )
        .unwrap();
    for r in rows {
        tx.execute(
            &insert,
            &[
                &r.personen_id,
                &r.familienname,
                &r.vornamen,
                &r.geburtsdatum,
                &r.geschlecht,
                &r.strasse,
                &r.hausnummer,
                &r.plz,
                &r.stadtbezirk,
                &r.staatsangehoerigkeit,
                &r.zuzugsdatum,
                &r.haushalt,
                &r.alter_jahre,
                &r.laufende_nr,
                &r.wohnflaeche,
                &r.gewicht,
                &r.gebuehr,
                &r.erfasst_am,
                &r.geaendert_am,
                &r.auskunftssperre,
                &r.status,
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn read(server: &PgServer, query: &str) -> allmende_connectors::Result<Parsed> {
    postgres_register::read(
        &PgSource {
            url: server.url(PASSWORD),
            query: query.into(),
        },
        "musterstadt.melderegister",
    )
}

#[test]
fn pg_register_table_round_trips_against_a_real_server() {
    let Some(server) = PgServer::start() else {
        return;
    };
    let mut rows = expected_rows();
    create_table(&server, &rows);
    rows.sort_by(|a, b| a.personen_id.cmp(&b.personen_id));

    let p = read(&server, "SELECT * FROM melderegister ORDER BY personen_id").unwrap();
    let utc = Some("UTC".into());
    let expected_schema: Vec<(String, DataType)> = [
        ("personen_id", DataType::Utf8),
        ("familienname", DataType::Utf8),
        ("vornamen", DataType::Utf8),
        ("geburtsdatum", DataType::Date32),
        ("geschlecht", DataType::Utf8),
        ("strasse", DataType::Utf8),
        ("hausnummer", DataType::Utf8),
        ("plz", DataType::Utf8),
        ("stadtbezirk", DataType::Utf8),
        ("staatsangehoerigkeit", DataType::Utf8),
        ("zuzugsdatum", DataType::Date32),
        ("haushalt", DataType::Int64),
        ("alter_jahre", DataType::Int64),
        ("laufende_nr", DataType::Int64),
        ("wohnflaeche", DataType::Float64),
        ("gewicht", DataType::Float64),
        ("gebuehr", DataType::Float64),
        (
            "erfasst_am",
            DataType::Timestamp(TimeUnit::Microsecond, None),
        ),
        (
            "geaendert_am",
            DataType::Timestamp(TimeUnit::Microsecond, utc),
        ),
        ("auskunftssperre", DataType::Boolean),
        ("status", DataType::Utf8),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t))
    .collect();
    assert_eq!(schema_of(&p), expected_schema);
    assert_eq!(p.batch.num_rows(), 300);
    assert_eq!(p.rows_read, 300);
    assert!(p.quarantine.is_empty());

    let ts = |name: &str, row: usize| {
        let c = column::<TimestampMicrosecondArray>(&p, name);
        c.is_valid(row).then(|| c.value(row))
    };
    let boolean = |row: usize| {
        let c = column::<BooleanArray>(&p, "auskunftssperre");
        c.is_valid(row).then(|| c.value(row))
    };
    for (row, e) in rows.iter().enumerate() {
        let ctx = &e.personen_id;
        assert_eq!(text(&p, "personen_id", row).as_ref(), Some(&e.personen_id));
        assert_eq!(
            text(&p, "familienname", row).as_ref(),
            Some(&e.familienname),
            "{ctx}"
        );
        assert_eq!(
            text(&p, "vornamen", row).as_ref(),
            Some(&e.vornamen),
            "{ctx}"
        );
        assert_eq!(date(&p, "geburtsdatum", row), e.geburtsdatum, "{ctx}");
        assert_eq!(
            text(&p, "geschlecht", row).as_ref(),
            Some(&e.geschlecht),
            "{ctx}"
        );
        assert_eq!(text(&p, "strasse", row).as_ref(), Some(&e.strasse), "{ctx}");
        assert_eq!(
            text(&p, "hausnummer", row).as_ref(),
            Some(&e.hausnummer),
            "{ctx}"
        );
        assert_eq!(text(&p, "plz", row).as_ref(), Some(&e.plz), "{ctx}");
        assert_eq!(
            text(&p, "stadtbezirk", row).as_ref(),
            Some(&e.stadtbezirk),
            "{ctx}"
        );
        assert_eq!(
            text(&p, "staatsangehoerigkeit", row).as_ref(),
            Some(&e.staatsangehoerigkeit),
            "{ctx}"
        );
        assert_eq!(date(&p, "zuzugsdatum", row), Some(e.zuzugsdatum), "{ctx}");
        assert_eq!(int(&p, "haushalt", row), e.haushalt.map(i64::from), "{ctx}");
        assert_eq!(
            int(&p, "alter_jahre", row),
            e.alter_jahre.map(i64::from),
            "{ctx}"
        );
        assert_eq!(int(&p, "laufende_nr", row), e.laufende_nr, "{ctx}");
        assert_eq!(
            float(&p, "wohnflaeche", row),
            e.wohnflaeche.map(f64::from),
            "{ctx}"
        );
        assert_eq!(float(&p, "gewicht", row), e.gewicht, "{ctx}");
        assert_eq!(
            float(&p, "gebuehr", row),
            e.gebuehr.as_ref().map(|g| g.parse::<f64>().unwrap()),
            "{ctx}"
        );
        assert_eq!(
            ts("erfasst_am", row),
            e.erfasst_am.map(|t| t.and_utc().timestamp_micros()),
            "{ctx}"
        );
        assert_eq!(
            ts("geaendert_am", row),
            e.geaendert_am.map(|t| t.timestamp_micros()),
            "{ctx}"
        );
        assert_eq!(boolean(row), e.auskunftssperre, "{ctx}");
        assert_eq!(text(&p, "status", row).as_deref(), e.status, "{ctx}");
    }
    // The NULLs really are there (every 7th row, and some birth dates).
    assert_eq!(column::<Int64Array>(&p, "haushalt").null_count(), 43);
    assert_eq!(column::<Date32Array>(&p, "geburtsdatum").null_count(), 27);
    assert!(
        p.notes.contains(
            &"300 rows read in 1 chunks of up to 8192 rows, in a read-only transaction".into()
        ),
        "{:?}",
        p.notes
    );
    let notes = p.notes.join("\n");
    assert!(notes.contains("musterstadt.melderegister"), "{notes}");
    assert!(!notes.contains(PASSWORD), "{notes}");

    pg_empty_result_keeps_the_schema(&server);
    pg_reads_in_chunks(&server);
    pg_numeric_and_text_forms(&server);
    pg_unmappable_types_name_the_column(&server);
    pg_nothing_is_written(&server);
    pg_wrong_password_is_a_database_error(&server);
}

fn pg_empty_result_keeps_the_schema(server: &PgServer) {
    let p = read(server, "SELECT * FROM melderegister WHERE false").unwrap();
    assert_eq!(p.batch.num_rows(), 0);
    assert_eq!(p.batch.num_columns(), 21);
    assert_eq!(
        p.batch
            .schema()
            .field_with_name("gebuehr")
            .unwrap()
            .data_type(),
        &DataType::Float64
    );
}

fn pg_reads_in_chunks(server: &PgServer) {
    let p = read(
        server,
        "SELECT g AS n, g::numeric / 8 AS achtel, 'zeile ' || g AS s \
         FROM generate_series(1, 20000) AS g ORDER BY g",
    )
    .unwrap();
    assert_eq!(p.batch.num_rows(), 20000);
    for row in [0usize, 8191, 8192, 16383, 16384, 19999] {
        let n = row as i64 + 1;
        assert_eq!(int(&p, "n", row), Some(n));
        assert_eq!(float(&p, "achtel", row), Some(n as f64 / 8.0));
        assert_eq!(text(&p, "s", row), Some(format!("zeile {n}")));
    }
    assert!(
        p.notes.contains(
            &"20000 rows read in 3 chunks of up to 8192 rows, in a read-only transaction".into()
        ),
        "{:?}",
        p.notes
    );
}

fn pg_numeric_and_text_forms(server: &PgServer) {
    let p = read(
        server,
        "SELECT 0::numeric AS a, -12.5::numeric AS b, 10000::numeric AS c, 0.0001::numeric AS d,
                123456789012.345678::numeric AS e, 'NaN'::numeric AS f,
                0.00000001::numeric AS g, 1e20::numeric AS h, -0.5::numeric AS i,
                NULL::numeric AS j,
                'a5a5a5a5-1111-2222-3333-444455556666'::uuid AS u, '{\"b\": [1, 2]}'::jsonb AS jb,
                '{\"a\":1}'::json AS js, '13:45:07.25'::time AS t, 'x'::\"char\" AS ch,
                'abc'::name AS nm, 42::oid AS o, 'infinity'::date AS inf_d,
                '-infinity'::timestamptz AS inf_t",
    )
    .unwrap();
    let f = |c: &str| float(&p, c, 0);
    assert_eq!(f("a"), Some(0.0));
    assert_eq!(f("b"), Some(-12.5));
    assert_eq!(f("c"), Some(10000.0));
    assert_eq!(f("d"), Some(0.0001));
    assert_eq!(f("e"), "123456789012.345678".parse::<f64>().ok());
    assert!(f("f").unwrap().is_nan());
    assert_eq!(f("g"), Some(0.00000001));
    assert_eq!(f("h"), Some(1e20));
    assert_eq!(f("i"), Some(-0.5));
    assert_eq!(f("j"), None);
    let t = |c: &str| text(&p, c, 0);
    assert_eq!(
        t("u").as_deref(),
        Some("a5a5a5a5-1111-2222-3333-444455556666")
    );
    assert_eq!(t("jb").as_deref(), Some("{\"b\": [1, 2]}"));
    assert_eq!(t("js").as_deref(), Some("{\"a\":1}"));
    assert_eq!(t("t").as_deref(), Some("13:45:07.25"));
    assert_eq!(t("ch").as_deref(), Some("x"));
    assert_eq!(t("nm").as_deref(), Some("abc"));
    assert_eq!(int(&p, "o", 0), Some(42));
    assert_eq!(date(&p, "inf_d", 0), None);
    assert!(column::<TimestampMicrosecondArray>(&p, "inf_t").is_null(0));
    assert!(
        p.notes
            .contains(&"2 infinite dates or timestamps (infinity, -infinity) became null".into()),
        "{:?}",
        p.notes
    );
}

fn pg_unmappable_types_name_the_column(server: &PgServer) {
    for (query, column, ty) in [
        ("SELECT interval '1 day' AS dauer", "'dauer'", "interval"),
        ("SELECT ARRAY[1, 2] AS liste", "'liste'", "int4"),
        ("SELECT '\\x00'::bytea AS roh", "'roh'", "bytea"),
    ] {
        match read(server, query) {
            Err(Error::Spec(reason)) => {
                assert!(reason.contains(column) && reason.contains(ty), "{reason}");
                assert!(reason.contains("::text"), "{reason}");
            }
            other => panic!("{query}: {other:?}"),
        }
    }
}

fn pg_nothing_is_written(server: &PgServer) {
    for query in [
        "DELETE FROM melderegister",
        "SELECT 1; DELETE FROM melderegister",
    ] {
        assert!(
            matches!(read(server, query), Err(Error::Spec(_))),
            "{query}"
        );
    }
    // Starts with WITH, so it passes the statement check; the read-only transaction stops it.
    let err = read(
        server,
        "WITH weg AS (DELETE FROM melderegister RETURNING *) SELECT count(*) AS n FROM weg",
    )
    .unwrap_err();
    match &err {
        Error::Database { reason, .. } => {
            assert!(reason.contains("read-only transaction"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    for query in [
        "SELECT nextval('zaehler')",
        "SELECT * INTO kopie FROM melderegister",
    ] {
        match read(server, query) {
            Err(Error::Database { reason, .. }) => {
                assert!(
                    reason.contains("read-only transaction"),
                    "{query}: {reason}"
                )
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    let p = read(server, "SELECT count(*) AS n FROM melderegister;").unwrap();
    assert_eq!(int(&p, "n", 0), Some(300));
    let p = read(server, "SELECT 'a;b' AS s, $$c;d$$ AS t").unwrap();
    assert_eq!(text(&p, "s", 0).as_deref(), Some("a;b"));
    assert_eq!(text(&p, "t", 0).as_deref(), Some("c;d"));
}

fn pg_wrong_password_is_a_database_error(server: &PgServer) {
    let wrong = "falsches-Passwort-7";
    let src = PgSource {
        url: server.url(wrong),
        query: "SELECT 1".into(),
    };
    let err = postgres_register::read(&src, &src.url).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong), "{shown}");
    match err {
        Error::Database { origin, reason } => {
            assert_eq!(
                origin,
                format!("postgres://allmende@127.0.0.1:{}/postgres", server.port)
            );
            assert!(
                reason.contains("password authentication failed"),
                "{reason}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // A query error names the problem, with the redacted origin.
    match read(server, "SELECT * FROM gibt_es_nicht") {
        Err(Error::Database { origin, reason }) => {
            assert!(!origin.contains(PASSWORD));
            assert!(reason.contains("gibt_es_nicht"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
