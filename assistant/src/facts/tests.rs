//! Unit tests of template parsing and matching (no database; the integration tests in
//! `assistant/tests/facts.rs` run the templates against real snapshots).

use super::placeholder::placeholders;
use super::template::{Template, parse};
use super::text::fold;
use super::*;

const BOOK: &str = r#"
cues = ["wie viel", "how many"]

[[fact]]
id = "einwohner-bezirk"
table = "musterstadt.bevoelkerung"
keywords = ["einwohner", "population", "people live"]
except = ["stadtbezirk mitte"]
except_regex = '\b20\d\d\b'
sql = "SELECT einwohner FROM musterstadt.bevoelkerung WHERE stadtbezirk = {bezirk}"
title = "Einwohner {bezirk}"
text = "{einwohner} Menschen"
examples = ["Wie viele Einwohner hat die Südstadt?"]
[[fact.slot]]
name = "bezirk"
values = "SELECT DISTINCT stadtbezirk FROM musterstadt.bevoelkerung"

[[fact]]
id = "einwohner-stadt"
table = "musterstadt.bevoelkerung"
keywords = ["einwohner"]
also = [["musterstadt", "stadt"]]
sql = "SELECT sum(einwohner) AS n FROM musterstadt.bevoelkerung"
title = "Einwohner"
text = "{n}"

[[fact]]
id = "veraenderung"
table = "musterstadt.bevoelkerung"
cues = []
keywords = ["einwohner"]
also = [["verändert", "gewachsen"], ["seit"]]
sql = "WITH x AS (SELECT 1) SELECT 1 AS n FROM musterstadt.bevoelkerung"
title = "t"
text = "{n:1}"
"#;

fn book() -> Vec<Template> {
    parse(BOOK, "test.toml").unwrap()
}

fn matching(question: &str) -> Vec<String> {
    let q = fold(question);
    book()
        .into_iter()
        .filter(|t| t.words_match(&q))
        .map(|t| t.id)
        .collect()
}

#[test]
fn parses_the_example_book() {
    let fb = FactBook::from_toml(BOOK).unwrap();
    assert_eq!(fb.len(), 3);
    assert!(!fb.is_empty());
    let examples: Vec<_> = fb.examples().collect();
    assert_eq!(
        examples,
        [("einwohner-bezirk", "Wie viele Einwohner hat die Südstadt?")]
    );
    assert!(FactBook::from_toml("").unwrap().is_empty());
}

#[test]
fn words_cues_also_and_except() {
    assert_eq!(
        matching("Wie viele Einwohner hat die Südstadt?"),
        ["einwohner-bezirk"]
    );
    assert_eq!(
        matching("How many people live in Nordviertel?"),
        ["einwohner-bezirk"]
    );
    // `also` needs a word of every group; `stadt` is a word start, not inside "Südstadt".
    assert_eq!(
        matching("Wie viele Einwohner hat die Stadt?"),
        ["einwohner-bezirk", "einwohner-stadt"]
    );
    // No cue: only the template with `cues = []` may match, and it needs both groups.
    assert!(matching("Einwohner der Südstadt").is_empty());
    assert_eq!(
        matching("Wie hat sich die Einwohnerzahl seit 2015 verändert?"),
        ["veraenderung"]
    );
    // except / except_regex ("stadt" starts "Stadtbezirk": the real book excludes that)
    assert_eq!(
        matching("Wie viele Einwohner hat der Stadtbezirk Mitte?"),
        ["einwohner-stadt"]
    );
    assert!(matching("Wie viele Einwohner hatte die Südstadt 2019?").is_empty());
    // not a number question at all
    assert!(matching("Wie melde ich mich um?").is_empty());
}

#[test]
fn specificity_prefers_slots_then_groups() {
    let b = book();
    let spec: Vec<_> = b.iter().map(Template::specificity).collect();
    assert_eq!(spec, [(1, 0), (0, 1), (0, 2)]);
}

#[test]
fn placeholders_are_parsed_and_checked() {
    assert_eq!(
        placeholders("a {x} b {y_2:1}").unwrap(),
        [("x".to_string(), None), ("y_2".to_string(), Some(1))]
    );
    assert!(placeholders("{x").is_err());
    assert!(placeholders("x}").is_err());
    assert!(placeholders("{X}").is_err());
    assert!(placeholders("{x:9}").is_err());
    assert!(placeholders("{}").is_err());
}

fn error_of(toml: &str) -> String {
    FactBook::from_toml(toml).unwrap_err().to_string()
}

fn entry(extra: &str, sql: &str) -> String {
    format!(
        "[[fact]]\nid = \"x\"\ntable = \"a.b\"\nkeywords = [\"k\"]\nsql = \"{sql}\"\ntitle = \"t\"\ntext = \"t\"\n{extra}"
    )
}

#[test]
fn invalid_templates_are_refused_with_the_entry_named() {
    let ok = "SELECT 1 FROM a.b";
    assert!(FactBook::from_toml(&entry("", ok)).is_ok());
    let unknown = error_of(&entry("colour = \"blau\"", ok));
    assert!(unknown.contains("unknown field `colour`"), "{unknown}");
    assert!(unknown.contains("[[fact]] #1 (id \"x\")"), "{unknown}");
    assert!(error_of("colour = 1").contains("unknown field"));
    for sql in [
        "DROP TABLE a.b",
        "DELETE FROM a.b",
        "INSERT INTO a.b SELECT 1",
        "-- SELECT\\nUPDATE a.b SET x = 1",
        "SELECT 1 FROM a.b; DROP TABLE a.b",
    ] {
        let e = error_of(&entry("", sql));
        assert!(e.contains("id \"x\"") && e.contains("SELECT"), "{sql}: {e}");
    }
    let cases = [
        (entry("", "SELECT 1 FROM c.d"), "does not read its table"),
        (entry("", "SELECT {s} FROM a.b"), "no slot s"),
        (
            entry("[[fact.slot]]\nname = \"s\"\nvalues = \"SELECT 1\"", ok),
            "never used",
        ),
        (
            entry(
                "[[fact.slot]]\nname = \"s\"\nvalues = \"DELETE FROM a.b\"",
                "SELECT {s} FROM a.b",
            ),
            "slot s",
        ),
        (entry("except_regex = \"(\"", ok), "except_regex"),
        (entry("also = [[]]", ok), "also"),
        (entry("", ok).replace("\"x\"", "\"X Y\""), "id must be"),
        (entry("", ok).replace("a.b\"", "ab\""), "source.table"),
        (
            entry("", ok).replace("text = \"t\"", "text = \"{x\""),
            "text",
        ),
        (format!("{}\n{}", entry("", ok), entry("", ok)), "twice"),
    ];
    for (toml, expected) in cases {
        let e = error_of(&toml);
        assert!(e.contains(expected), "expected '{expected}' in: {e}");
        assert!(e.starts_with("facts: fact templates: [[fact]] #"), "{e}");
    }
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facts.toml");
    std::fs::write(&path, entry("bogus = 1", "SELECT 1 FROM a.b")).unwrap();
    let e = FactBook::load(&path).unwrap_err().to_string();
    assert!(e.contains("facts.toml") && e.contains("bogus"), "{e}");
    let missing = FactBook::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}
