//! XZuFi 2.2 service descriptions (PVOG transfer messages) on the hand-written fixtures in
//! `tests/fixtures/xzufi/`: page 1 with three services and their organisation units (prefixed
//! namespace, escaped HTML, CDATA), page 2 with the XZuFi namespace as default namespace and
//! the problems a real delivery can have (missing id, missing title, two versions of one
//! service, an expired service, a bad LeiKa key, a deletion). Expected values are read off the
//! fixtures by hand.

mod support;

use support::text_column as col;

use std::path::Path;

use allmende_connectors::service_json::SERVICE_COLUMNS;
use allmende_connectors::{Error, Parsed, xzufi};
use arrow::array::Array;
use arrow::datatypes::DataType;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xzufi")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of `column` in the row whose id is `id` (`None` for null).
fn cell(p: &Parsed, id: &str, column: &str) -> Option<String> {
    let ids = col(p, "id");
    let row = (0..ids.len())
        .find(|&i| ids.value(i) == id)
        .unwrap_or_else(|| panic!("no service {id}"));
    let c = col(p, column);
    c.is_valid(row).then(|| c.value(row).to_string())
}

fn page1() -> Parsed {
    xzufi::parse(&fixture("pvog_musterstadt_seite1.xml"), "seite1.xml").unwrap()
}

fn page2() -> Parsed {
    xzufi::parse(&fixture("pvog_musterstadt_seite2.xml"), "seite2.xml").unwrap()
}

#[test]
fn the_table_has_exactly_the_service_columns() {
    let p = page1();
    let schema = p.batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, SERVICE_COLUMNS);
    assert!(
        schema
            .fields()
            .iter()
            .all(|f| f.data_type() == &DataType::Utf8)
    );
    assert_eq!(p.batch.num_rows(), 3);
    assert_eq!(p.rows_read, 3);
    assert!(p.quarantine.is_empty(), "{:?}", p.quarantine);
    let ids: Vec<&str> = (0..3).map(|i| col(&p, "id").value(i)).collect();
    assert_eq!(ids, ["L100001", "L100002", "L100003"]);
}

#[test]
fn personalausweis_is_read_field_by_field() {
    let p = page1();
    let get = |c: &str| cell(&p, "L100001", c);
    // Leistungsbezeichnung II wins over Leistungsbezeichnung; the German inhalt over English.
    assert_eq!(get("title").as_deref(), Some("Personalausweis beantragen"));
    assert_eq!(
        get("teaser").as_deref(),
        Some("Den Personalausweis beantragen Sie persönlich im Bürgerbüro.")
    );
    // Volltext first, then the modules with headings in positionDarstellung order (5, 6, 7).
    assert_eq!(
        get("body_html").as_deref(),
        Some(
            "<p>Alle Deutschen ab 16&nbsp;Jahren, die in Musterstadt gemeldet sind, brauchen \
             einen gültigen Personalausweis oder Reisepass.</p><p>Der Ausweis enthält die \
             <strong>Online-Ausweisfunktion</strong>.</p>\n\
             <h3>Voraussetzungen</h3>\n\
             <p>Sie sind mit Haupt- oder alleiniger Wohnung in Musterstadt gemeldet.</p>\n\
             <h3>Erforderliche Unterlagen</h3>\n\
             <ul><li>ein aktuelles biometrisches Passfoto</li><li>der bisherige Ausweis oder \
             Reisepass</li></ul>\n\
             <h3>Bearbeitungsdauer</h3>\n\
             <p>Die Herstellung dauert etwa drei bis vier Wochen.</p>"
        )
    );
    assert_eq!(
        get("body_text").as_deref(),
        Some(
            "Alle Deutschen ab 16 Jahren, die in Musterstadt gemeldet sind, brauchen einen \
             gültigen Personalausweis oder Reisepass.\n\n\
             Der Ausweis enthält die Online-Ausweisfunktion.\n\n\
             Voraussetzungen\n\n\
             Sie sind mit Haupt- oder alleiniger Wohnung in Musterstadt gemeldet.\n\n\
             Erforderliche Unterlagen\n\n\
             - ein aktuelles biometrisches Passfoto\n\
             - der bisherige Ausweis oder Reisepass\n\n\
             Bearbeitungsdauer\n\n\
             Die Herstellung dauert etwa drei bis vier Wochen."
        )
    );
    assert_eq!(get("category").as_deref(), Some("Ausweise und Dokumente"));
    assert_eq!(get("keywords").as_deref(), Some("Perso, Ausweis, eID"));
    // A described fee as text, an undescribed one by its amount.
    assert_eq!(
        get("fees").as_deref(),
        Some("Ab 24 Jahren: 37,00 Euro\n22,80 EUR")
    );
    assert_eq!(get("office_ids").as_deref(), Some("buergerbuero-mitte"));
    // modulUrsprungsportal wins over the link of the Ursprungsportal text module.
    assert_eq!(
        get("url").as_deref(),
        Some("https://www.musterstadt.example/leistungen/personalausweis-beantragen")
    );
    assert_eq!(get("leika").as_deref(), Some("99102013104000"));
    assert_eq!(get("updated").as_deref(), Some("2026-09-14"));
}

#[test]
fn wohnsitz_and_hundesteuer_use_the_fallbacks() {
    let p = page1();
    let w = |c: &str| cell(&p, "L100002", c);
    assert_eq!(w("title").as_deref(), Some("Wohnsitz anmelden"));
    // No teaser or Kurztext: the first sentence of the body. The Volltext came as CDATA.
    assert_eq!(
        w("teaser").as_deref(),
        Some(
            "Wer in eine Wohnung in Musterstadt einzieht, muss sich innerhalb von zwei Wochen anmelden."
        )
    );
    assert!(w("body_html").unwrap().starts_with(
        "<p>Wer in eine Wohnung in Musterstadt einzieht, muss sich innerhalb von <b>zwei Wochen</b>"
    ));
    // Unterlagen (position 2) before Frist (3); Kosten has no position and comes last.
    let text = w("body_text").unwrap();
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s} missing in {text}"))
    };
    assert!(at("Erforderliche Unterlagen") < at("Frist"));
    assert!(at("Frist") < at("Kosten"));
    assert!(text.contains("- Wohnungsgeberbestätigung"));
    assert_eq!(w("category").as_deref(), Some("Meldewesen, Umzug"));
    // Duplicate keywords collapse.
    assert_eq!(w("keywords").as_deref(), Some("Ummeldung, Umzug"));
    // No modulKosten: the Kosten text module.
    assert_eq!(
        w("fees").as_deref(),
        Some("Die Anmeldung ist gebührenfrei.")
    );
    // Two organisation units name the service in their zustaendigkeit.
    assert_eq!(
        w("office_ids").as_deref(),
        Some("buergerbuero-mitte, buergerbuero-nord")
    );
    // The LeiKa key sits inside <struktur>; no geaendertDatumZeit: erstellungDatumZeit.
    assert_eq!(w("leika").as_deref(), Some("99115005001000"));
    assert_eq!(w("updated").as_deref(), Some("2022-06-30"));

    let h = |c: &str| cell(&p, "L100003", c);
    assert_eq!(h("title").as_deref(), Some("Hundesteuer anmelden"));
    // Named "Teaser" although code 15 is Kurztext: the name wins.
    assert_eq!(
        h("teaser").as_deref(),
        Some("Wer in Musterstadt einen Hund hält, meldet ihn beim Steueramt an.")
    );
    assert_eq!(
        h("fees").as_deref(),
        Some("Erster Hund: 96 Euro im Jahr\nJeder weitere Hund: 144 Euro im Jahr")
    );
    assert!(
        h("body_text")
            .unwrap()
            .ends_with("Rechtsgrundlagen\n\n§ 4 Hundesteuersatzung der Stadt Musterstadt")
    );
    assert_eq!(h("office_ids"), None);
    assert_eq!(h("url"), None);
    assert_eq!(h("keywords"), None);
    assert_eq!(h("updated").as_deref(), Some("2026-01-05"));
}

#[test]
fn notes_describe_the_message() {
    let p = page1();
    assert!(
        p.notes.contains(&format!(
            "XZuFi message <transfer.leistung.052010> ({})",
            xzufi::NAMESPACE
        )),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes
            .contains(&"message created 2026-10-20T07:30:00+02:00".to_string()),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes
            .contains(&"3 services, 2 organisation units".to_string()),
        "{:?}",
        p.notes
    );
}

#[test]
fn second_page_quarantines_bad_services_and_keeps_the_newest_version() {
    let p = page2();
    assert_eq!(p.rows_read, 6);
    assert_eq!(p.batch.num_rows() + p.quarantine.len(), p.rows_read);
    let ids: Vec<&str> = (0..p.batch.num_rows())
        .map(|i| col(&p, "id").value(i))
        .collect();
    assert_eq!(ids, ["L100004", "L100003"]);
    let lines: Vec<u64> = p.quarantine.iter().map(|q| q.line).collect();
    assert_eq!(lines, [2, 3, 4, 6]);
    let q = &p.quarantine;
    assert!(q[0].reason.contains("no <xzufi:id>"), "{}", q[0].reason);
    assert!(
        q[0].raw.starts_with(
            "<leistung> <modulText> <inhalt languageCode=\"de\">Sperrmüll anmelden</inhalt>"
        ),
        "{}",
        q[0].raw
    );
    assert!(q[1].reason.contains("no title"), "{}", q[1].reason);
    assert!(q[1].raw.contains("<id>L100005</id>"), "{}", q[1].raw);
    assert_eq!(
        q[2].reason,
        "older version of service 'L100003' (service 5 is newer)"
    );
    assert_eq!(
        q[3].reason,
        "gueltigkeit ended 2020-12-31, before the message was created (2026-10-20)"
    );
    assert!(q.iter().all(|q| q.raw.chars().count() <= 301));

    // The newer version of L100003 with its organisation unit from this page.
    assert_eq!(
        cell(&p, "L100003", "title").as_deref(),
        Some("Hund anmelden (Hundesteuer)")
    );
    assert_eq!(
        cell(&p, "L100003", "office_ids").as_deref(),
        Some("steueramt")
    );
    assert_eq!(
        cell(&p, "L100003", "updated").as_deref(),
        Some("2026-09-01")
    );

    assert!(
        p.notes.iter().any(|n| n.starts_with("1 deletions")),
        "{:?}",
        p.notes
    );
    assert!(
        p.notes.contains(
            &"LeiKa keys that are not 14 digits were left out: service 1: '9902700600100'"
                .to_string()
        ),
        "{:?}",
        p.notes
    );
}

#[test]
fn default_namespace_code_only_modules_and_inline_xhtml() {
    let p = page2();
    let f = |c: &str| cell(&p, "L100004", c);
    // Code 03 without a name is Leistungsbezeichnung II.
    assert_eq!(f("title").as_deref(), Some("Führungszeugnis beantragen"));
    assert_eq!(f("leika").as_deref(), Some("99027006001000"));
    // Inline XHTML is kept as markup; an unknown module keeps its name as heading.
    assert_eq!(
        f("body_html").as_deref(),
        Some(
            "<p xmlns=\"http://www.w3.org/1999/xhtml\">Das Führungszeugnis beantragen Sie im \
             Bürgerbüro oder online beim <a href=\"https://www.bundesjustizamt.de\">Bundesamt \
             für Justiz</a>.</p>\n\
             <h3>Besonderheiten in Musterstadt</h3>\n\
             <p>Bitte an die Wohnanschrift denken.</p>\n\
             <h3>Erforderliche Unterlagen</h3>\n\
             <p>Ein gültiger Personalausweis oder Reisepass.</p>"
        )
    );
    assert_eq!(
        f("teaser").as_deref(),
        Some(
            "Das Führungszeugnis beantragen Sie im Bürgerbüro oder online beim Bundesamt für Justiz."
        )
    );
    assert_eq!(f("fees").as_deref(), Some("13,00 EUR"));
    assert_eq!(f("updated").as_deref(), Some("2026-08-01"));
}

#[test]
fn prefixes_do_not_matter_namespaces_do() {
    let doc = |root_ns: &str, prefix: &str| {
        let p = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}:")
        };
        let decl = if prefix.is_empty() {
            format!("xmlns=\"{root_ns}\"")
        } else {
            format!("xmlns:{prefix}=\"{root_ns}\"")
        };
        format!(
            "<{p}transfer {decl}><{p}leistung><{p}id>X1</{p}id><{p}modulText>\
             <{p}inhalt>Test-Leistung</{p}inhalt><{p}leikaTextmodul><code>02</code>\
             </{p}leikaTextmodul></{p}modulText></{p}leistung></{p}transfer>"
        )
    };
    for prefix in ["xzufi", "x", "ns0", ""] {
        let p = xzufi::parse(doc(xzufi::NAMESPACE, prefix).as_bytes(), "t.xml").unwrap();
        assert_eq!(p.batch.num_rows(), 1, "prefix {prefix}");
        assert_eq!(col(&p, "title").value(0), "Test-Leistung");
    }
    // A single service as the root element.
    let single = format!(
        "<xzufi:leistung xmlns:xzufi=\"{}\"><xzufi:id>X2</xzufi:id><xzufi:modulText>\
         <xzufi:inhalt>Einzeln</xzufi:inhalt><xzufi:leikaTextmodul><code>03</code>\
         </xzufi:leikaTextmodul></xzufi:modulText></xzufi:leistung>",
        xzufi::NAMESPACE
    );
    let p = xzufi::parse(single.as_bytes(), "einzeln.xml").unwrap();
    assert_eq!(p.batch.num_rows(), 1);
    assert_eq!(col(&p, "id").value(0), "X2");
    assert_eq!(col(&p, "title").value(0), "Einzeln");
    // The right local names in another namespace are not XZuFi.
    let err = xzufi::parse(doc("urn:example:other", "xzufi").as_bytes(), "t.xml").unwrap_err();
    match err {
        Error::Malformed { origin, reason } => {
            assert_eq!(origin, "t.xml");
            assert!(reason.contains("not an XZuFi message"), "{reason}");
            assert!(reason.contains("urn:example:other"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn malformed_xml_names_the_byte_position() {
    let bytes = fixture("pvog_musterstadt_seite1.xml");
    let text = String::from_utf8(bytes).unwrap();
    // A mismatched end tag in the middle of service 2.
    let broken = text.replacen(
        "<xzufi:inhalt languageCode=\"de\">Wohnsitz anmelden</xzufi:inhalt>",
        "<xzufi:inhalt languageCode=\"de\">Wohnsitz anmelden</xzufi:inhalx>",
        1,
    );
    let at = broken.find("</xzufi:inhalx>").unwrap();
    match xzufi::parse(broken.as_bytes(), "kaputt.xml").unwrap_err() {
        Error::Malformed { origin, reason } => {
            assert_eq!(origin, "kaputt.xml");
            assert!(
                reason.starts_with(&format!("malformed XML at byte {at}:")),
                "{reason} (expected byte {at})"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // A truncated message.
    let cut = &text.as_bytes()[..text.len() / 2];
    let err = xzufi::parse(cut, "halb.xml").unwrap_err().to_string();
    assert!(err.starts_with("halb.xml: malformed XML at byte"), "{err}");
    // An undeclared prefix, invalid UTF-8 and an empty file.
    let err = xzufi::parse(b"<a:leistung/>", "p.xml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("prefix 'a' is not declared"), "{err}");
    let err = xzufi::parse(b"<x>\xff</x>", "u.xml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("at byte 3: not valid UTF-8"), "{err}");
    let err = xzufi::parse(b"  ", "leer.xml").unwrap_err().to_string();
    assert!(err.contains("no root element"), "{err}");
}

#[test]
fn a_bom_does_not_shift_the_content() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(fixture("pvog_musterstadt_seite1.xml"));
    let p = xzufi::parse(&bytes, "bom.xml").unwrap();
    assert_eq!(p.batch.num_rows(), 3);
    assert_eq!(
        cell(&p, "L100003", "title").as_deref(),
        Some("Hundesteuer anmelden")
    );
}

#[test]
fn every_truncation_is_an_error_never_a_panic() {
    let text = String::from_utf8(fixture("pvog_musterstadt_seite2.xml")).unwrap();
    let end = text.rfind("</transfer.leistung.052010>").unwrap();
    for cut in (0..end).step_by(61) {
        let result = xzufi::parse(&text.as_bytes()[..cut], "cut.xml");
        assert!(
            matches!(result, Err(Error::Malformed { .. })),
            "cut at {cut}: {result:?}"
        );
    }
}
