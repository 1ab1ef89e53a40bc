//! Facts from data: the templates of `datasets/facts.toml` run against a real query engine over
//! real snapshots, built from `datasets/manifest.toml` the way `allmende ingest` does; values
//! are checked against the Musterstadt generator's own records.

use std::path::Path;

use allmende_assistant::facts::{Fact, FactBook};
use allmende_connectors::{SnapshotStore, SourceSpec};
use allmende_datasets::musterstadt::{self, DEFAULT_SEED, DISTRICTS, FIRST_YEAR, LAST_YEAR};
use allmende_query::{QueryConfig, QueryEngine};
use tempfile::TempDir;

#[derive(serde::Deserialize)]
struct Manifest {
    sources: Vec<SourceSpec>,
}

/// Generates Musterstadt with the web crate's default seed, loads every `{musterstadt}` source
/// of the manifest into snapshots (`{shared}` sources are skipped) and opens an engine.
async fn engine() -> (TempDir, QueryEngine) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("musterstadt");
    musterstadt::write_to(&dir, DEFAULT_SEED).unwrap();
    let manifest: Manifest = toml::from_str(allmende_datasets::MANIFEST).unwrap();
    let store = SnapshotStore::new(tmp.path().join("snapshots"));
    for mut spec in manifest.sources {
        let raw = spec.path.to_string_lossy().into_owned();
        let Some(rest) = raw.strip_prefix("{musterstadt}/") else {
            continue;
        };
        spec.path = dir.join(rest);
        store
            .write(&allmende_connectors::load(&spec).unwrap())
            .unwrap();
    }
    let engine = QueryEngine::open(&store, QueryConfig::default())
        .await
        .unwrap();
    (tmp, engine)
}

fn book() -> FactBook {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/facts.toml");
    FactBook::load(&path).unwrap()
}

async fn ask(engine: &QueryEngine, question: &str) -> Option<Fact> {
    book().lookup(engine, question).await.unwrap()
}

/// German thousands separators, written independently of the crate's formatter.
fn de(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(*c);
    }
    out
}

fn de1(x: f64) -> String {
    format!("{x:.1}").replace('.', ",")
}

fn row(district: &str, year: u16) -> musterstadt::PopulationRow {
    musterstadt::population(DEFAULT_SEED)
        .into_iter()
        .find(|r| r.district == district && r.year == year)
        .unwrap()
}

fn assert_cited(fact: &Fact, table: &str) {
    assert_eq!(fact.table, table);
    assert_eq!(fact.licence, musterstadt::LICENCE);
    assert_eq!(fact.attribution.as_deref(), Some(musterstadt::ATTRIBUTION));
    assert!(fact.sql.contains(table), "{}", fact.sql);
}

#[tokio::test]
async fn district_population_is_the_latest_generated_value() {
    let (_tmp, engine) = engine().await;
    for district in DISTRICTS {
        let r = row(district, LAST_YEAR);
        let fact = ask(
            &engine,
            &format!("Wie viele Einwohner hat der Stadtbezirk {district}?"),
        )
        .await
        .unwrap_or_else(|| panic!("no fact for {district}"));
        assert_eq!(fact.id, "einwohner-bezirk");
        assert_eq!(
            fact.title,
            format!("Einwohner im Stadtbezirk {district} ({LAST_YEAR})")
        );
        assert_eq!(
            fact.text,
            format!(
                "Im Stadtbezirk {district} lebten im Jahr {LAST_YEAR} {} Menschen, davon {} Frauen und {} Männer (Stand: {LAST_YEAR}, neuester Wert der Bevölkerungsstatistik).",
                de(r.total.into()),
                de(r.female.into()),
                de(r.male.into())
            )
        );
        assert!(
            fact.text.contains('.'),
            "no thousands separator: {}",
            fact.text
        );
        assert!(fact.sql.contains(&format!("stadtbezirk = '{district}'")));
        assert_cited(&fact, "musterstadt.bevoelkerung");
    }
    // The literal runs through the engine as it is cited.
    let fact = ask(&engine, "Wie viele Einwohner hat die Südstadt?")
        .await
        .unwrap();
    let rerun = engine.sql(&fact.sql).await.unwrap();
    assert_eq!(rerun.num_rows(), 1);
    // The lookup future can be spawned (axum handlers, tokio tasks).
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let book = book();
    let again = assert_send(book.lookup(&engine, "Wie viele Einwohner hat die Südstadt?"));
    assert_eq!(again.await.unwrap().as_ref(), Some(&fact));
    let json = serde_json::to_value(&fact).unwrap();
    assert_eq!(json["licence"], "CC0-1.0");
}

#[tokio::test]
async fn german_and_english_phrasings_give_the_same_value() {
    let (_tmp, engine) = engine().await;
    for (question, district) in [
        ("Wie viele Menschen leben in der Altstadt?", "Altstadt"),
        ("How many people live in Nordviertel?", "Nordviertel"),
        ("how many inhabitants does suedstadt have", "Südstadt"),
        ("Wie groß ist die Bevölkerung von Am See?", "Am See"),
        ("What is the population of Weststadt?", "Weststadt"),
    ] {
        let fact = ask(&engine, question).await.unwrap();
        let total = de(row(district, LAST_YEAR).total.into());
        assert_eq!(fact.id, "einwohner-bezirk", "{question}");
        assert!(
            fact.text.contains(&format!(" {total} Menschen")),
            "{question}: {}",
            fact.text
        );
    }
}

#[tokio::test]
async fn a_named_year_is_used_when_the_table_has_it() {
    let (_tmp, engine) = engine().await;
    for year in FIRST_YEAR..=LAST_YEAR {
        let r = row("Südstadt", year);
        let fact = ask(
            &engine,
            &format!("Wie viele Einwohner hatte die Südstadt {year}?"),
        )
        .await
        .unwrap();
        assert_eq!(fact.id, "einwohner-bezirk-jahr");
        assert_eq!(
            fact.title,
            format!("Einwohner im Stadtbezirk Südstadt ({year})")
        );
        assert!(
            fact.text
                .contains(&format!("im Jahr {year} {} Menschen", de(r.total.into())))
        );
        assert!(fact.sql.contains(&format!("jahr = {year}")), "{}", fact.sql);
    }
    // A year outside the table: no fact rather than a silently different year.
    assert_eq!(
        ask(&engine, "Wie viele Einwohner hatte die Südstadt 2030?").await,
        None
    );
}

#[tokio::test]
async fn city_population_is_the_sum_over_districts() {
    let (_tmp, engine) = engine().await;
    let total = |year: u16| -> u64 {
        musterstadt::population(DEFAULT_SEED)
            .iter()
            .filter(|r| r.year == year)
            .map(|r| u64::from(r.total))
            .sum()
    };
    let fact = ask(&engine, "Wie viele Einwohner hat Musterstadt?")
        .await
        .unwrap();
    assert_eq!(fact.id, "einwohner-stadt");
    assert_eq!(
        fact.text,
        format!(
            "In Musterstadt lebten im Jahr {LAST_YEAR} insgesamt {} Menschen (Summe der 6 Stadtbezirke; Stand: {LAST_YEAR}, neuester Wert der Bevölkerungsstatistik).",
            de(total(LAST_YEAR))
        )
    );
    assert_cited(&fact, "musterstadt.bevoelkerung");
    let fact = ask(&engine, "How many people live in the city?")
        .await
        .unwrap();
    assert!(fact.text.contains(&de(total(LAST_YEAR))));
    let fact = ask(&engine, "Wie viele Einwohner hatte Musterstadt 2019?")
        .await
        .unwrap();
    assert_eq!(fact.id, "einwohner-stadt-jahr");
    assert!(
        fact.text
            .contains(&format!("insgesamt {} Menschen", de(total(2019))))
    );
}

#[tokio::test]
async fn population_change_between_years() {
    let (_tmp, engine) = engine().await;
    let check = |fact: &Fact, district: &str, from: u16| {
        let (a, b) = (row(district, from).total, row(district, LAST_YEAR).total);
        let percent = (f64::from(b) - f64::from(a)).abs() * 100.0 / f64::from(a);
        let direction = if b >= a { "gestiegen" } else { "gesunken" };
        assert_eq!(
            fact.text,
            format!(
                "Im Stadtbezirk {district} ist die Einwohnerzahl von {} ({from}) auf {} ({LAST_YEAR}) {direction}, um {} Menschen oder {} %.",
                de(a.into()),
                de(b.into()),
                de(a.abs_diff(b).into()),
                de1(percent)
            )
        );
    };
    let fact = ask(
        &engine,
        "Wie hat sich die Einwohnerzahl der Südstadt verändert?",
    )
    .await
    .unwrap();
    assert_eq!(fact.id, "einwohner-bezirk-entwicklung");
    check(&fact, "Südstadt", FIRST_YEAR);
    let fact = ask(
        &engine,
        "Wie hat sich die Bevölkerung der Oststadt seit 2018 entwickelt?",
    )
    .await
    .unwrap();
    assert_eq!(fact.id, "einwohner-bezirk-entwicklung-seit");
    check(&fact, "Oststadt", 2018);
}

#[tokio::test]
async fn shares_use_a_decimal_comma() {
    let (_tmp, engine) = engine().await;
    let r = row("Südstadt", LAST_YEAR);
    let fact = ask(
        &engine,
        "Wie hoch ist der Anteil der Kinder in der Südstadt?",
    )
    .await
    .unwrap();
    assert_eq!(
        fact.text,
        format!(
            "Im Stadtbezirk Südstadt waren im Jahr {LAST_YEAR} {} % der Einwohner unter 18 Jahre alt.",
            de1(r.share_under_18)
        )
    );
    let r = row("Oststadt", LAST_YEAR);
    let fact = ask(
        &engine,
        "Wie viel Prozent der Menschen in der Oststadt sind älter als 65?",
    )
    .await
    .unwrap();
    assert_eq!(fact.id, "anteil-65-plus-bezirk");
    assert!(
        fact.text.contains(&format!(" {} % ", de1(r.share_65_plus))),
        "{}",
        fact.text
    );
}

#[tokio::test]
async fn offices_overall_and_per_district() {
    let (_tmp, engine) = engine().await;
    let offices = musterstadt::offices();
    let fact = ask(&engine, "Wie viele Dienststellen gibt es?")
        .await
        .unwrap();
    assert_eq!(fact.id, "dienststellen-stadt");
    assert!(
        fact.text
            .contains(&format!(" {} Dienststellen.", offices.len())),
        "{}",
        fact.text
    );
    assert_cited(&fact, "musterstadt.dienststellen");
    for district in DISTRICTS {
        let mut names: Vec<&str> = offices
            .iter()
            .filter(|o| o.district == district)
            .map(|o| o.name.as_str())
            .collect();
        names.sort_unstable();
        let word = if names.len() == 1 {
            "Dienststelle"
        } else {
            "Dienststellen"
        };
        let fact = ask(
            &engine,
            &format!("Wie viele Ämter gibt es im Stadtbezirk {district}?"),
        )
        .await
        .unwrap();
        assert_eq!(fact.id, "dienststellen-bezirk");
        assert_eq!(
            fact.text,
            format!(
                "Im Stadtbezirk {district} gibt es {} {word} der Stadtverwaltung: {}.",
                names.len(),
                names.join("; ")
            )
        );
    }
    let fact = ask(&engine, "Wie viele Bürgerbüros gibt es?")
        .await
        .unwrap();
    let buero = offices
        .iter()
        .filter(|o| o.name.starts_with("Bürgerbüro"))
        .count();
    assert!(
        fact.text
            .starts_with(&format!("Musterstadt hat {buero} Bürgerbüro")),
        "{}",
        fact.text
    );
    // There is no Stadtbezirk „Mitte“ (the Bürgerbüro Mitte is in the Altstadt): no number.
    assert_eq!(
        ask(
            &engine,
            "Wie viele Bürgerbüros gibt es im Stadtbezirk Mitte?"
        )
        .await,
        None
    );
    let fact = ask(&engine, "How many services are there?").await.unwrap();
    let services = musterstadt::services();
    assert!(
        fact.text
            .contains(&format!(" {} Verwaltungsleistungen", services.len()))
    );
}

#[tokio::test]
async fn unknown_places_and_other_questions_give_none() {
    let (_tmp, engine) = engine().await;
    for question in [
        "Wie viele Einwohner hat Berlin?",
        "Wie viele Einwohner hat der Stadtbezirk Mitte?",
        "Wie melde ich mich um?",
        "Wo ist das Bürgerbüro?",
        "Einwohner der Südstadt",
        "Wie viele Kinder leben in der Südstadt?",
        "Wie viele Einwohner haben die Südstadt und die Altstadt?",
        "",
    ] {
        assert_eq!(ask(&engine, question).await, None, "{question}");
    }
}

#[tokio::test]
async fn sql_injection_in_the_question_is_inert() {
    let (_tmp, engine) = engine().await;
    let normal = ask(&engine, "Wie viele Einwohner hat die Südstadt?").await;
    for question in [
        "Wie viele Einwohner hat die Südstadt'; DROP TABLE x; --",
        "Wie viele Einwohner hat die Südstadt' OR '1'='1",
        "Wie viele Einwohner hat {stadtbezirk} die Südstadt\") UNION SELECT * FROM musterstadt.melderegister --",
    ] {
        let fact = book().lookup(&engine, question).await.expect("no error");
        if let Some(fact) = &fact {
            assert_eq!(Some(fact), normal.as_ref(), "{question}");
            assert!(!fact.sql.to_lowercase().contains("drop"));
            assert!(!fact.sql.contains("melderegister"));
        }
    }
    assert!(
        engine
            .sql("SELECT count(*) FROM musterstadt.bevoelkerung")
            .await
            .is_ok()
    );
}

const REGISTER_BOOK: &str = r#"
[[fact]]
id = "register-direct"
table = "musterstadt.melderegister"
keywords = ["gemeldet", "personen"]
sql = "SELECT COUNT(*) AS n FROM musterstadt.melderegister"
title = "Gemeldete Personen"
text = "{n} Personen"

[[fact]]
id = "register-hidden-in-a-join"
table = "musterstadt.bevoelkerung"
keywords = ["gemeldet", "personen"]
sql = """
SELECT COUNT(*) AS n FROM musterstadt.bevoelkerung b
JOIN musterstadt.melderegister r ON r.stadtbezirk = b.stadtbezirk
"""
title = "Gemeldete Personen"
text = "{n} Personen"

[[fact]]
id = "register-as-slot"
table = "musterstadt.bevoelkerung"
keywords = ["gemeldet", "personen"]
sql = "SELECT {name} AS n FROM musterstadt.bevoelkerung LIMIT 1"
title = "Name"
text = "{n}"
[[fact.slot]]
name = "name"
values = "SELECT familienname FROM musterstadt.melderegister"
"#;

#[tokio::test]
async fn register_templates_never_yield_data() {
    let (_tmp, engine) = engine().await;
    assert!(engine.policy().is_personal("musterstadt.melderegister"));
    let book = FactBook::from_toml(REGISTER_BOOK).unwrap();
    assert_eq!(book.len(), 3);
    let surname = &musterstadt::register(DEFAULT_SEED, 1)[0].familienname;
    for question in [
        "Wie viele Personen sind gemeldet?".to_string(),
        format!("Wie viele Personen namens {surname} sind gemeldet?"),
    ] {
        assert_eq!(
            book.lookup(&engine, &question).await.unwrap(),
            None,
            "{question}"
        );
    }
    // The engine's gate, not only the template's `table`, is what refuses them.
    for sql in [
        "SELECT COUNT(*) AS n FROM musterstadt.bevoelkerung b JOIN musterstadt.melderegister r ON r.stadtbezirk = b.stadtbezirk",
        "SELECT familienname FROM musterstadt.melderegister",
    ] {
        let err = engine.sql(sql).await.unwrap_err();
        assert!(
            matches!(err, allmende_query::Error::PersonalData { .. }),
            "{err}"
        );
    }
    // The built-in templates do not read the register either.
    let fact = ask(
        &engine,
        "Wie viele Personen sind im Melderegister gemeldet?",
    )
    .await;
    assert!(fact.is_none_or(|f| !f.sql.contains("melderegister")));
}

#[tokio::test]
async fn missing_tables_and_broken_templates_are_skipped() {
    let (_tmp, engine) = engine().await;
    let book = FactBook::from_toml(
        r#"
[[fact]]
id = "nicht-geladen"
table = "muenchen.leistungen"
keywords = ["leistungen"]
sql = "SELECT COUNT(*) AS n FROM muenchen.leistungen"
title = "t"
text = "{n}"

[[fact]]
id = "falsche-spalte"
table = "musterstadt.bevoelkerung"
keywords = ["leistungen"]
sql = "SELECT gibt_es_nicht AS n FROM musterstadt.bevoelkerung"
title = "t"
text = "{n}"

[[fact]]
id = "falscher-platzhalter"
table = "musterstadt.bevoelkerung"
keywords = ["leistungen"]
sql = "SELECT 1 AS n FROM musterstadt.bevoelkerung"
title = "t"
text = "{m}"

[[fact]]
id = "kein-wert"
table = "musterstadt.bevoelkerung"
keywords = ["leistungen"]
sql = "SELECT MAX(jahr) AS n FROM musterstadt.bevoelkerung WHERE jahr < 1900"
title = "t"
text = "{n}"

[[fact]]
id = "in-ordnung"
table = "musterstadt.leistungen"
keywords = ["leistungen"]
sql = "SELECT COUNT(*) AS n FROM musterstadt.leistungen"
title = "t"
text = "{n} Leistungen"
"#,
    )
    .unwrap();
    // The broken templates come first (same specificity, file order) and are skipped.
    let fact = book.lookup(&engine, "Leistungen in München").await.unwrap();
    let fact = fact.expect("the valid template answers");
    assert_eq!(fact.id, "in-ordnung");
    assert_eq!(
        fact.text,
        format!("{} Leistungen", musterstadt::services().len())
    );
}

#[tokio::test]
async fn every_example_in_the_book_is_answered_by_its_template() {
    let (_tmp, engine) = engine().await;
    let book = book();
    assert!(book.len() >= 10, "{}", book.len());
    let embedded = FactBook::from_toml(allmende_datasets::FACTS).unwrap();
    assert_eq!(embedded.len(), book.len());
    let with_examples: std::collections::HashSet<&str> =
        book.examples().map(|(id, _)| id).collect();
    assert_eq!(
        with_examples.len(),
        book.len(),
        "every template needs an example"
    );
    for (id, question) in book.examples() {
        let fact = book.lookup(&engine, question).await.unwrap();
        let fact = fact.unwrap_or_else(|| panic!("{id}: no fact for {question:?}"));
        println!("{question}\n  {}\n  {}", fact.title, fact.text);
        assert_eq!(fact.id, id, "{question}");
        assert_eq!(fact.licence, "CC0-1.0");
        assert!(
            !fact.text.contains('{') && !fact.title.contains('{'),
            "{}",
            fact.text
        );
    }
}

#[test]
fn invalid_books_are_refused() {
    let entry = |extra: &str, sql: &str| {
        format!(
            "[[fact]]\nid = \"x\"\ntable = \"a.b\"\nkeywords = [\"k\"]\nsql = \"{sql}\"\ntitle = \"t\"\ntext = \"t\"\n{extra}"
        )
    };
    assert!(FactBook::from_toml(&entry("", "SELECT 1 FROM a.b")).is_ok());
    let e = FactBook::from_toml(&entry("keywrods = [\"k\"]", "SELECT 1 FROM a.b")).unwrap_err();
    assert!(e.to_string().contains("unknown field `keywrods`"), "{e}");
    for sql in [
        "DROP TABLE a.b",
        "UPDATE a.b SET x = 1",
        "SELECT 1 FROM a.b; DELETE FROM a.b",
    ] {
        let e = FactBook::from_toml(&entry("", sql)).unwrap_err();
        assert!(e.to_string().contains("SELECT"), "{sql}: {e}");
    }
}
