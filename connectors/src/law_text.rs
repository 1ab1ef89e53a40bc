//! Federal law texts in Markdown, as exported from gesetze-im-internet.de by the `gesetze`
//! project: a `% Title (ABBR)` line, a `% Ausfertigungsdatum: dd.mm.yyyy` line, then one
//! `# heading` per section (`# § 3 – Speicherung von Daten`, `# Eingangsformel`,
//! `# Anlage 2 – (zu § 3 Absatz 2)`) followed by its paragraphs.
//!
//! Each section becomes one row of a `sections` table: `law` (the abbreviation), `law_title`,
//! `enacted` (Date32), `position` (1-based, in file order), `section` (`§ 3`, `Anlage 2`,
//! `Eingangsformel`), `heading`, `body` (the section's text, blank lines collapsed) and
//! `repealed` (the section reads `(weggefallen)`). The table of contents
//! (`# Inhaltsübersicht`), which the export leaves empty, is skipped with a note. A file
//! without the title line is [`Error::Malformed`]: it is not a law export.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::german::parse_date;
use crate::typed::days_since_epoch;
use crate::{Error, Parsed, Result};

/// Columns of the `sections` table.
pub const SECTION_COLUMNS: [&str; 8] = [
    "law",
    "law_title",
    "enacted",
    "position",
    "section",
    "heading",
    "body",
    "repealed",
];

/// One section as read from the file.
#[derive(Debug, Default)]
struct Section {
    section: String,
    heading: Option<String>,
    body: Vec<String>,
}

/// Parses one law file into its sections.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Parsed> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Malformed {
        origin: origin.into(),
        reason: format!("law text is not UTF-8: {e}"),
    })?;
    let mut title_lines = text.lines().filter_map(|l| l.strip_prefix('%'));
    let title = title_lines
        .next()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .ok_or_else(|| Error::Malformed {
            origin: origin.into(),
            reason: "no '% <title>' line: not a law text export".into(),
        })?;
    let enacted = title_lines
        .filter_map(|l| l.trim().strip_prefix("Ausfertigungsdatum:"))
        .find_map(|d| parse_date(d.trim()))
        .map(days_since_epoch);
    let law = abbreviation(&title);

    let mut notes = vec![title.clone()];
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("# ") {
            sections.push(split_heading(heading.trim()));
        } else if let Some(current) = sections.last_mut() {
            let line = line.trim();
            if !line.is_empty() {
                current.body.push(line.to_string());
            }
        }
    }
    let before = sections.len();
    sections.retain(|s| s.section != "Inhaltsübersicht");
    if sections.len() < before {
        notes.push("table of contents (Inhaltsübersicht) skipped".into());
    }
    let rows = sections.len();
    let batch = build_batch(&law, &title, enacted, sections)?;
    Ok(Parsed::new(batch, Vec::new(), Vec::new(), rows, notes))
}

/// `Bundesmeldegesetz (BMG)` → `BMG`; `… (E-Government-Gesetz - EGovG)` → `EGovG`; a title
/// without parentheses is its own abbreviation.
fn abbreviation(title: &str) -> String {
    let inner = title
        .rfind('(')
        .and_then(|open| title[open + 1..].strip_suffix(')'))
        .unwrap_or(title);
    inner
        .rsplit(" - ")
        .next()
        .unwrap_or(inner)
        .trim()
        .to_string()
}

/// `§ 3 – Speicherung von Daten` → (`§ 3`, `Speicherung von Daten`); `Eingangsformel` → itself.
fn split_heading(heading: &str) -> Section {
    let (section, title) = match heading.split_once(" – ") {
        Some((s, t)) => (s.trim(), Some(t.trim().to_string())),
        None => (heading, None),
    };
    Section {
        section: section.to_string(),
        heading: title,
        body: Vec::new(),
    }
}

fn build_batch(
    law: &str,
    title: &str,
    enacted: Option<i32>,
    sections: Vec<Section>,
) -> Result<RecordBatch> {
    let n = sections.len();
    let repealed: Vec<bool> = sections
        .iter()
        .map(|s| {
            let marker = |t: &str| t.trim() == "(weggefallen)" || t.trim() == "-";
            s.heading.as_deref().is_some_and(marker) || (s.body.len() == 1 && marker(&s.body[0]))
        })
        .collect();
    let positions: Vec<i64> = (1..=n as i64).collect();
    let mut section_col = Vec::with_capacity(n);
    let mut heading_col = Vec::with_capacity(n);
    let mut body_col = Vec::with_capacity(n);
    for s in sections {
        section_col.push(Some(s.section));
        heading_col.push(s.heading);
        body_col.push((!s.body.is_empty()).then(|| s.body.join("\n\n")));
    }
    let fields = vec![
        Field::new(SECTION_COLUMNS[0], DataType::Utf8, false),
        Field::new(SECTION_COLUMNS[1], DataType::Utf8, false),
        Field::new(SECTION_COLUMNS[2], DataType::Date32, true),
        Field::new(SECTION_COLUMNS[3], DataType::Int64, false),
        Field::new(SECTION_COLUMNS[4], DataType::Utf8, false),
        Field::new(SECTION_COLUMNS[5], DataType::Utf8, true),
        Field::new(SECTION_COLUMNS[6], DataType::Utf8, true),
        Field::new(SECTION_COLUMNS[7], DataType::Boolean, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![law; n])),
        Arc::new(StringArray::from(vec![title; n])),
        Arc::new(Date32Array::from(vec![enacted; n])),
        Arc::new(Int64Array::from(positions)),
        Arc::new(StringArray::from(section_col)),
        Arc::new(StringArray::from(heading_col)),
        Arc::new(StringArray::from(body_col)),
        Arc::new(BooleanArray::from(repealed)),
    ];
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_come_from_the_title() {
        assert_eq!(abbreviation("Bundesmeldegesetz (BMG)"), "BMG");
        assert_eq!(
            abbreviation(
                "Gesetz zur Förderung der elektronischen Verwaltung (E-Government-Gesetz - EGovG)"
            ),
            "EGovG"
        );
        assert_eq!(
            abbreviation("Verordnung … (Barrierefreie-Informationstechnik-Verordnung - BITV 2.0)"),
            "BITV 2.0"
        );
        assert_eq!(abbreviation("Passgesetz"), "Passgesetz");
    }

    #[test]
    fn sections_keep_their_paragraphs_and_repealed_ones_are_marked() {
        let text = "% Testgesetz  (TG)\n% Ausfertigungsdatum: 03.05.2013\n \n# Inhaltsübersicht\n\n \n# § 1 – Zweck\n\n(1) Erster Absatz.\n\n(2) Zweiter.\n\n# § 2 – (weggefallen)\n\n# Anlage 1 – (zu § 1)\n\nTabelle\n";
        let parsed = parse(text.as_bytes(), "tg.md").expect("parses");
        let b = &parsed.batch;
        assert_eq!(b.num_rows(), 3);
        let col = |i: usize| {
            b.column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("utf8")
                .clone()
        };
        assert_eq!(col(0).value(0), "TG");
        assert_eq!(col(4).value(0), "§ 1");
        assert_eq!(col(5).value(0), "Zweck");
        assert_eq!(col(6).value(0), "(1) Erster Absatz.\n\n(2) Zweiter.");
        assert_eq!(col(4).value(2), "Anlage 1");
        let repealed = b
            .column(7)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bool");
        assert!(!repealed.value(0) && repealed.value(1) && !repealed.value(2));
        let enacted = b
            .column(2)
            .as_any()
            .downcast_ref::<Date32Array>()
            .expect("date");
        assert_eq!(
            enacted.value_as_date(0).map(|d| d.to_string()).as_deref(),
            Some("2013-05-03")
        );
        assert!(parsed.notes.iter().any(|n| n.contains("Inhaltsübersicht")));
    }

    #[test]
    fn a_file_without_title_line_is_refused() {
        let err = parse(b"# \xC2\xA7 1 \xE2\x80\x93 Zweck\n", "x.md").expect_err("not a law");
        assert!(err.to_string().contains("not a law text export"), "{err}");
    }
}
