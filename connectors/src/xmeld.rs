//! XMeld-shaped Melderegister messages — for the **synthetic** Musterstadt register only.
//!
//! A message (any root element in an XMeld namespace `http://www.osci.de/xmeld…`, e.g.
//! `<xmeld:datenuebermittlung.allgemein.1101>`) holds repeated `<person>` elements (children
//! unqualified, as in XÖV). Each person becomes one row; the columns are those of the
//! synthetic `melderegister.csv` (see `allmende_datasets::musterstadt::REGISTER_HEADER`), in
//! the same order and with the same types the CSV connector gives them when `plz` and
//! `hausnummer` are declared as text, followed by two columns the CSV does not have:
//!
//! | column | type | taken from (inside `<person>`) |
//! |---|---|---|
//! | `personen_id` | Utf8 | `<ordnungsmerkmal>` (required) |
//! | `familienname` | Utf8 | `<name>/<familienname>` (its `<name>` child if structured) |
//! | `vornamen` | Utf8 | every `<name>/<vorname>` joined with a space (or `<vornamen>`) |
//! | `geburtsdatum` | Date32 | `<geburtsdatum>` (also inside `<geburt>`); null when only partly known |
//! | `geschlecht` | Utf8 | `<geschlecht>` code (`m`, `w`, `d`, `x`) |
//! | `strasse`, `hausnummer`, `plz` | Utf8 | `<anschrift.inland>`: `<strasse>`, `<hausnummer>` + `<buchstabeHausnummer>`, `<postleitzahl>` |
//! | `stadtbezirk` | Utf8 | `<anschrift.inland>/<gemeindeteil>` (or `<stadtbezirk>`) |
//! | `staatsangehoerigkeit` | Utf8 | `<staatsangehoerigkeit>`: its `<name>` (e.g. `deutsch`), else its `<code>` |
//! | `zuzugsdatum` | Date32 | `<anschrift.inland>/<einzugsdatum>` (or `<zuzugsdatum>`) |
//! | `geburtsjahr` | Int64 | the year of `<geburtsdatum>`, also when day or month are unknown |
//! | `wohnort` | Utf8 | `<anschrift.inland>/<wohnort>` |
//!
//! **Partial dates.** XMeld writes partly known dates with zeros: `1970-00-00` (only the year
//! known), `1970-05-00` (year and month), `0000-00-00` (unknown); `1970` and `1970-05` are read
//! the same way. Such a date is null in the date column, the year is kept in `geburtsjahr`
//! (null for an unknown date), and the notes count them.
//!
//! **Personal data stays out of the quarantine and the logs.** A person without
//! `<ordnungsmerkmal>`, with a repeated one, or with an impossible `geburtsdatum` or
//! `einzugsdatum` (day 30 in February, month 13, a day without a month, a year before 1800, a
//! date after the message was created) goes to the quarantine with a reason that names the
//! element and the rule but never a value, and with `raw` set to the element path and record
//! number only (`datenuebermittlung.allgemein.1101/person[11]`) — never the name, address or
//! birth date in clear. Logging (`tracing`) reports counts only. Downstream the table is
//! register data: aggregate-only, never indexed (`personal = true` in its source spec).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};

use crate::provenance::QuarantinedRow;
use crate::typed::days_since_epoch;
use crate::xzufi::{XmlElement, XmlName, document_text, scan};
use crate::{Error, Parsed, Result};

/// XMeld namespaces start with this (`http://www.osci.de/xmeld2511`, …).
pub const NAMESPACE_BASE: &str = "http://www.osci.de/xmeld";

/// The columns of the table, in order: the CSV register's columns, then `geburtsjahr` and
/// `wohnort`.
pub const COLUMNS: [&str; 13] = [
    "personen_id",
    "familienname",
    "vornamen",
    "geburtsdatum",
    "geschlecht",
    "strasse",
    "hausnummer",
    "plz",
    "stadtbezirk",
    "staatsangehoerigkeit",
    "zuzugsdatum",
    "geburtsjahr",
    "wohnort",
];

/// A date as XMeld writes it, possibly only partly known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XmeldDate {
    Full(NaiveDate),
    /// Day (and possibly month) unknown.
    Year(i32),
    Unknown,
}

/// Reads `YYYY-MM-DD` with XMeld's zeros for unknown parts (also `YYYY`, `YYYY-MM`, and a
/// time-zone suffix). `Err` says which rule the date breaks, without repeating the value.
fn parse_date(text: &str, latest: NaiveDate) -> std::result::Result<XmeldDate, &'static str> {
    let text = text.trim();
    let text = text.strip_suffix('Z').unwrap_or(text);
    // `1985-03-14+01:00`: drop the offset (a date has no time to shift).
    let text = match text.get(10..) {
        Some(rest) if rest.starts_with(['+', '-']) => &text[..10],
        _ => text,
    };
    let parts: Vec<&str> = text.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (year, month, day) = match parts.as_slice() {
        [y] => (number(y, 4), Some(0), Some(0)),
        [y, m] => (number(y, 4), number(m, 2), Some(0)),
        [y, m, d] => (number(y, 4), number(m, 2), number(d, 2)),
        _ => (None, None, None),
    };
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err("is not a date of the form YYYY-MM-DD");
    };
    if year == 0 {
        return if month == 0 && day == 0 {
            Ok(XmeldDate::Unknown)
        } else {
            Err("has month or day but no year")
        };
    }
    if year < 1800 {
        return Err("lies before 1800");
    }
    let year = year as i32;
    if month == 0 {
        return if day == 0 {
            check_year(year, latest)
        } else {
            Err("has a day but no month")
        };
    }
    if month > 12 {
        return Err("has a month outside 01-12");
    }
    if day == 0 {
        return check_year(year, latest);
    }
    let date =
        NaiveDate::from_ymd_opt(year, month, day).ok_or("has a day the month does not have")?;
    if date > latest {
        return Err("lies after the message was created");
    }
    Ok(XmeldDate::Full(date))
}

fn check_year(year: i32, latest: NaiveDate) -> std::result::Result<XmeldDate, &'static str> {
    if year > latest.year() {
        Err("lies after the message was created")
    } else {
        Ok(XmeldDate::Year(year))
    }
}

/// The text of a name part: its own text or its `<name>` child (structured name types).
fn name_text(e: &XmlElement) -> Option<String> {
    e.value()
        .or_else(|| e.child("name").and_then(XmlElement::value))
}

/// One person read from the message, before the checks.
#[derive(Debug, Default)]
struct Person {
    personen_id: Option<String>,
    familienname: Option<String>,
    vornamen: Option<String>,
    geburtsdatum: Option<NaiveDate>,
    geschlecht: Option<String>,
    strasse: Option<String>,
    hausnummer: Option<String>,
    plz: Option<String>,
    stadtbezirk: Option<String>,
    staatsangehoerigkeit: Option<String>,
    zuzugsdatum: Option<NaiveDate>,
    geburtsjahr: Option<i64>,
    wohnort: Option<String>,
}

/// What was only partly known about one person (for the notes).
#[derive(Debug, Default)]
struct Partial {
    birth_year_only: bool,
    birth_unknown: bool,
    move_in_partial: bool,
}

/// Reads one `<person>`; `Err` is the quarantine reason (no values in it).
fn read_person(
    p: &XmlElement,
    latest: NaiveDate,
) -> std::result::Result<(Person, Partial), String> {
    let mut partial = Partial::default();
    let personen_id = p
        .first_descendant("ordnungsmerkmal")
        .and_then(XmlElement::value)
        .ok_or("person has no <ordnungsmerkmal> (every person needs one)")?;
    let name = p.child("name");
    let familienname = name
        .and_then(|n| n.child("familienname"))
        .or_else(|| p.first_descendant("familienname"))
        .and_then(name_text);
    let given: Vec<String> = name
        .map(|n| {
            n.children
                .iter()
                .filter(|c| c.name.local == "vorname" || c.name.local == "vornamen")
                .filter_map(name_text)
                .collect()
        })
        .unwrap_or_default();
    let vornamen = (!given.is_empty()).then(|| given.join(" "));

    let mut geburtsdatum = None;
    let mut geburtsjahr = None;
    if let Some(text) = p
        .first_descendant("geburtsdatum")
        .and_then(XmlElement::value)
    {
        match parse_date(&text, latest).map_err(|rule| format!("<geburtsdatum> {rule}"))? {
            XmeldDate::Full(d) => {
                geburtsdatum = Some(d);
                geburtsjahr = Some(i64::from(d.year()));
            }
            XmeldDate::Year(y) => {
                geburtsjahr = Some(i64::from(y));
                partial.birth_year_only = true;
            }
            XmeldDate::Unknown => partial.birth_unknown = true,
        }
    }

    let address = p.first_descendant("anschrift.inland");
    let field = |local: &str| {
        address
            .and_then(|a| a.first_descendant(local))
            .and_then(XmlElement::value)
    };
    let hausnummer = match (field("hausnummer"), field("buchstabeHausnummer")) {
        (Some(n), Some(b)) => Some(format!("{n}{b}")),
        (n, _) => n,
    };
    let move_in = field("einzugsdatum")
        .or_else(|| field("zuzugsdatum"))
        .or_else(|| {
            p.first_descendant("zuzugsdatum")
                .and_then(XmlElement::value)
        });
    let mut zuzugsdatum = None;
    if let Some(text) = move_in {
        match parse_date(&text, latest).map_err(|rule| format!("<einzugsdatum> {rule}"))? {
            XmeldDate::Full(d) => zuzugsdatum = Some(d),
            XmeldDate::Year(_) | XmeldDate::Unknown => partial.move_in_partial = true,
        }
    }
    let person = Person {
        personen_id: Some(personen_id),
        familienname,
        vornamen,
        geburtsdatum,
        geschlecht: p
            .first_descendant("geschlecht")
            .and_then(XmlElement::code)
            .map(|g| g.to_lowercase()),
        strasse: field("strasse"),
        hausnummer,
        plz: field("postleitzahl"),
        stadtbezirk: field("gemeindeteil").or_else(|| field("stadtbezirk")),
        staatsangehoerigkeit: p.first_descendant("staatsangehoerigkeit").and_then(|s| {
            s.child("name")
                .and_then(XmlElement::value)
                .or_else(|| s.code())
        }),
        zuzugsdatum,
        geburtsjahr,
        wohnort: field("wohnort"),
    };
    Ok((person, partial))
}

fn text_array(persons: &[Person], get: impl Fn(&Person) -> &Option<String>) -> ArrayRef {
    Arc::new(StringArray::from_iter(
        persons.iter().map(|p| get(p).as_deref()),
    ))
}

fn date_array(persons: &[Person], get: impl Fn(&Person) -> Option<NaiveDate>) -> ArrayRef {
    Arc::new(Date32Array::from_iter(
        persons.iter().map(|p| get(p).map(days_since_epoch)),
    ))
}

fn build(persons: &[Person]) -> Result<RecordBatch> {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|&name| {
            let data_type = match name {
                "geburtsdatum" | "zuzugsdatum" => DataType::Date32,
                "geburtsjahr" => DataType::Int64,
                _ => DataType::Utf8,
            };
            Field::new(name, data_type, true)
        })
        .collect();
    let arrays: Vec<ArrayRef> = vec![
        text_array(persons, |p| &p.personen_id),
        text_array(persons, |p| &p.familienname),
        text_array(persons, |p| &p.vornamen),
        date_array(persons, |p| p.geburtsdatum),
        text_array(persons, |p| &p.geschlecht),
        text_array(persons, |p| &p.strasse),
        text_array(persons, |p| &p.hausnummer),
        text_array(persons, |p| &p.plz),
        text_array(persons, |p| &p.stadtbezirk),
        text_array(persons, |p| &p.staatsangehoerigkeit),
        date_array(persons, |p| p.zuzugsdatum),
        Arc::new(Int64Array::from_iter(persons.iter().map(|p| p.geburtsjahr))),
        text_array(persons, |p| &p.wohnort),
    ];
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// Parses an XMeld-shaped register message into the register table (see the module docs for
/// the columns). `origin` names the message in errors.
///
/// XML that is not well-formed, or a root element outside the XMeld namespaces, is an
/// [`Error::Malformed`] with the byte position. Persons that cannot be loaded go to the
/// quarantine with their 1-based record number, a reason without values, and only their
/// element path as `raw` — never their name or address.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Parsed> {
    let (document, offset) = document_text(bytes, origin)?;
    let mut persons: Vec<(String, XmlElement)> = Vec::new();
    let mut created: Option<String> = None;
    let root = scan(
        document,
        offset,
        origin,
        |ancestors, name| {
            let outer = ancestors
                .first()
                .is_some_and(|root| root.in_namespace(NAMESPACE_BASE));
            outer
                && (name.namespace.is_none() || name.in_namespace(NAMESPACE_BASE))
                && (name.local == "person" || name.local == "erstellungszeitpunkt")
                && !ancestors.iter().any(|a| a.local == "person")
        },
        |ancestors, element| {
            if element.name.local == "person" {
                persons.push((path(ancestors), element));
            } else if created.is_none() {
                created = element.value();
            }
            Ok(())
        },
    )?;
    if !root.in_namespace(NAMESPACE_BASE) {
        return Err(Error::Malformed {
            origin: origin.into(),
            reason: format!(
                "not an XMeld message: the root element <{}> is in namespace {}, expected {NAMESPACE_BASE}…",
                root.local,
                root.namespace.as_deref().unwrap_or("(none)")
            ),
        });
    }
    let latest = created
        .as_deref()
        .and_then(|c| c.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| chrono::Utc::now().date_naive());

    let mut loaded: Vec<Person> = Vec::new();
    let mut quarantine = Vec::new();
    let mut first_with_id: HashMap<String, usize> = HashMap::new();
    let (mut year_only, mut unknown, mut move_in_partial) = (0usize, 0usize, 0usize);
    for (i, (parent, element)) in persons.iter().enumerate() {
        let number = i + 1;
        let raw = format!("{parent}/person[{number}]");
        let result = read_person(element, latest).and_then(|(person, partial)| {
            let id = person.personen_id.clone().unwrap_or_default();
            match first_with_id.get(&id) {
                Some(first) => Err(format!(
                    "<ordnungsmerkmal> repeats that of person {first} (must be unique)"
                )),
                None => {
                    first_with_id.insert(id, number);
                    Ok((person, partial))
                }
            }
        });
        match result {
            Ok((person, partial)) => {
                year_only += usize::from(partial.birth_year_only);
                unknown += usize::from(partial.birth_unknown);
                move_in_partial += usize::from(partial.move_in_partial);
                loaded.push(person);
            }
            Err(reason) => quarantine.push(QuarantinedRow {
                line: number as u64,
                reason,
                raw,
            }),
        }
    }

    let mut notes = vec![format!(
        "XMeld message <{}> ({})",
        root.local,
        root.namespace.as_deref().unwrap_or_default()
    )];
    if let Some(created) = &created {
        notes.push(format!("message created {created}"));
    }
    if year_only > 0 {
        notes.push(format!(
            "{year_only} persons with a partly known geburtsdatum (XMeld 00 for day or month): geburtsdatum null, year kept in geburtsjahr"
        ));
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} persons with an unknown geburtsdatum (0000-00-00): geburtsdatum and geburtsjahr null"
        ));
    }
    if move_in_partial > 0 {
        notes.push(format!(
            "{move_in_partial} persons with a partly known or unknown einzugsdatum: zuzugsdatum null"
        ));
    }
    tracing::info!(
        persons = persons.len(),
        loaded = loaded.len(),
        quarantined = quarantine.len(),
        "read XMeld register message"
    );
    Ok(Parsed {
        batch: build(&loaded)?,
        quarantine,
        rows_read: persons.len(),
        notes,
    })
}

/// `a/b/c` from the local names of the ancestors.
fn path(ancestors: &[XmlName]) -> String {
    ancestors
        .iter()
        .map(|a| a.local.as_str())
        .collect::<Vec<_>>()
        .join("/")
}
