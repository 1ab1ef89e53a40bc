//! Office cards for chat answers: the offices (Dienststellen) responsible for the Musterstadt
//! services an answer cites, read from the open-data tables `musterstadt.leistungen` and
//! `musterstadt.dienststellen` through the query engine (read-only, behind the privacy gate).
//!
//! A citation names a service by its document id (`wohnsitz-ummelden`) or an office directly
//! (`office-buergerbuero-mitte`). Ids are checked against a strict alphabet before they become
//! SQL literals; anything else (Munich services, fact citations) simply matches no row. When the
//! tables are missing or the query fails, the answer has no cards — never an error.

use allmende_assistant::answer::Citation;
use allmende_query::QueryEngine;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use serde::Serialize;

/// Offices shown at most under one answer.
pub const MAX_OFFICES: usize = 3;

/// Prefix of office documents in the search index (see `datasets/manifest.toml`).
const OFFICE_DOC_PREFIX: &str = "office-";

/// The columns read, in this order: the cited service the row was found through (empty for
/// an office cited directly), then the office.
const COLUMNS: [&str; 9] = [
    "via_service",
    "id",
    "name",
    "street",
    "postcode",
    "city",
    "opening_hours",
    "appointment_url",
    "phone",
];

/// One office card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeCard {
    /// Office id (`buergerbuero-mitte`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `street, postcode city`.
    pub address: String,
    /// Opening hours as a town hall website writes them (`Mo–Fr 8–12 Uhr`).
    pub opening_hours: String,
    /// Online appointment booking, when the office offers it.
    pub appointment_url: Option<String>,
    /// Telephone number.
    pub phone: Option<String>,
}

/// What a citation refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cited {
    /// A service description (its office is looked up).
    Service(String),
    /// An office description.
    Office(String),
}

/// The services and offices `citations` refer to, in citation order.
fn cited(citations: &[Citation]) -> Vec<Cited> {
    let mut refs = Vec::new();
    for citation in citations.iter().filter(|c| c.sql.is_none()) {
        let id = citation.doc_id.as_str();
        let item = match id.strip_prefix(OFFICE_DOC_PREFIX) {
            Some(office) if is_plain_id(office) => Cited::Office(office.to_string()),
            None if is_plain_id(id) => Cited::Service(id.to_string()),
            _ => continue,
        };
        if !refs.contains(&item) {
            refs.push(item);
        }
    }
    refs
}

/// Lower-case letters, digits, `-` and `_`: safe inside a quoted SQL literal.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// `'a', 'b'` for an SQL `IN` list (ids are already checked by [`is_plain_id`]).
fn sql_list<'a>(ids: impl Iterator<Item = &'a String>) -> String {
    ids.map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The query for the offices of the cited services plus the offices cited directly; `None`
/// when there is nothing to look up.
fn offices_sql(refs: &[Cited]) -> Option<String> {
    const OFFICE: &str = "d.id, d.name, d.street, d.postcode, d.city, d.opening_hours, \
                          d.appointment_url, d.phone FROM musterstadt.dienststellen d";
    let services: Vec<&String> = refs
        .iter()
        .filter_map(|r| match r {
            Cited::Service(id) => Some(id),
            Cited::Office(_) => None,
        })
        .collect();
    let offices: Vec<&String> = refs
        .iter()
        .filter_map(|r| match r {
            Cited::Office(id) => Some(id),
            Cited::Service(_) => None,
        })
        .collect();
    let mut parts = Vec::new();
    if !services.is_empty() {
        parts.push(format!(
            "SELECT l.id AS via_service, {OFFICE} JOIN musterstadt.leistungen l \
             ON d.id = l.office_ids WHERE l.id IN ({})",
            sql_list(services.into_iter())
        ));
    }
    if !offices.is_empty() {
        parts.push(format!(
            "SELECT '' AS via_service, {OFFICE} WHERE d.id IN ({})",
            sql_list(offices.into_iter())
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

/// The office cards for the services and offices `citations` refer to, in citation order, at
/// most [`MAX_OFFICES`]. Failures are logged and mean "no cards".
pub async fn for_citations(
    engine: &QueryEngine,
    citations: &[Citation],
    request_id: &str,
) -> Vec<OfficeCard> {
    let refs = cited(citations);
    let Some(sql) = offices_sql(&refs) else {
        return Vec::new();
    };
    let result = match engine.sql(&sql).await {
        Ok(result) => result,
        Err(allmende_query::Error::InvalidSql(m)) if m.contains("not found") => {
            tracing::debug!(request_id, "office tables not ingested; no office cards");
            return Vec::new();
        }
        Err(e) => {
            tracing::warn!(request_id, error = %e, "office lookup failed; no office cards");
            return Vec::new();
        }
    };
    let rows: Vec<(Cited, OfficeCard)> = result.batches.iter().flat_map(read_rows).collect();
    in_citation_order(rows, &refs)
}

/// The cards ordered by the first citation that leads to them, each office once, at most
/// [`MAX_OFFICES`].
fn in_citation_order(mut rows: Vec<(Cited, OfficeCard)>, refs: &[Cited]) -> Vec<OfficeCard> {
    rows.sort_by_key(|(via, _)| refs.iter().position(|r| r == via).unwrap_or(usize::MAX));
    let mut cards: Vec<OfficeCard> = Vec::new();
    for (_, card) in rows {
        if cards.len() < MAX_OFFICES && !cards.iter().any(|c| c.id == card.id) {
            cards.push(card);
        }
    }
    cards
}

/// The rows of one result batch (columns in [`COLUMNS`] order, read as text): what led to the
/// office, and its card.
fn read_rows(batch: &RecordBatch) -> Vec<(Cited, OfficeCard)> {
    if batch.num_columns() != COLUMNS.len() {
        return Vec::new();
    }
    let columns: Option<Vec<ArrayRef>> = batch
        .columns()
        .iter()
        .map(|c| cast(c, &DataType::Utf8).ok())
        .collect();
    let Some(columns) = columns else {
        return Vec::new();
    };
    let text = |column: usize, row: usize| -> Option<String> {
        let array = columns[column].as_string::<i32>();
        (!array.is_null(row))
            .then(|| array.value(row).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    (0..batch.num_rows())
        .filter_map(|row| {
            let id = text(1, row)?;
            let via = match text(0, row) {
                Some(service) => Cited::Service(service),
                None => Cited::Office(id.clone()),
            };
            let address = match (text(3, row), text(4, row), text(5, row)) {
                (Some(street), Some(postcode), Some(city)) => {
                    format!("{street}, {postcode} {city}")
                }
                (street, postcode, city) => [street, postcode, city]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let card = OfficeCard {
                id,
                name: text(2, row)?,
                address,
                opening_hours: text(6, row).unwrap_or_default(),
                appointment_url: text(7, row).filter(|u| u.starts_with("https://")),
                phone: text(8, row),
            };
            Some((via, card))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citation(doc_id: &str, sql: Option<&str>) -> Citation {
        Citation {
            number: 1,
            title: "T".into(),
            url: "https://www.musterstadt.example/x".into(),
            licence: "CC0-1.0".into(),
            attribution: None,
            doc_id: doc_id.into(),
            passage_id: format!("{doc_id}#0"),
            sql: sql.map(String::from),
            table: None,
        }
    }

    #[test]
    fn services_and_offices_are_told_apart_and_odd_ids_dropped() {
        let citations = [
            citation("wohnsitz-ummelden", None),
            citation("office-standesamt", None),
            citation("wohnsitz-ummelden", None),
            citation("x'); DROP TABLE y; --", None),
            citation("office-", None),
            citation("einwohner", Some("SELECT 1")),
        ];
        assert_eq!(
            cited(&citations),
            [
                Cited::Service("wohnsitz-ummelden".into()),
                Cited::Office("standesamt".into())
            ]
        );
    }

    #[test]
    fn sql_names_both_lists_or_nothing() {
        assert_eq!(offices_sql(&[]), None);
        let sql = offices_sql(&[Cited::Service("a-b".into()), Cited::Office("c".into())]).unwrap();
        assert!(sql.contains("WHERE d.id IN ('c')"), "{sql}");
        assert!(sql.contains("WHERE l.id IN ('a-b')"), "{sql}");
        assert!(sql.contains(" UNION ALL "), "{sql}");
    }

    #[test]
    fn cards_follow_citation_order_once_each_and_are_capped() {
        let card = |id: &str| OfficeCard {
            id: id.into(),
            name: id.into(),
            address: String::new(),
            opening_hours: String::new(),
            appointment_url: None,
            phone: None,
        };
        let service = |id: &str| Cited::Service(id.into());
        let refs = [
            service("s1"),
            Cited::Office("o".into()),
            service("s2"),
            service("s3"),
            service("s4"),
        ];
        let rows = vec![
            (service("s4"), card("d")),
            (service("s2"), card("a")),
            (Cited::Office("o".into()), card("o")),
            (service("s3"), card("a")),
            (service("s1"), card("b")),
        ];
        let ids: Vec<_> = in_citation_order(rows, &refs)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["b", "o", "a"]);
    }
}
