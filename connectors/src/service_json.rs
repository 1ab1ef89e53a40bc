//! Service catalogues in JSON: the built-in Musterstadt files (`leistungen.json`,
//! `dienststellen.json`, written by `allmende-datasets`) and the Munich DLDB export
//! (`services_de.json`, `{"data": [...], "meta": {...}}`). HTML descriptions are kept raw
//! (`body_html`) and as clean text (`body_text`). A record without id or title goes to quarantine.

use serde_json::Value;

use crate::html::html_to_text;
use crate::provenance::QuarantinedRow;
use crate::table::TextTable;
use crate::{Error, Parsed, Result};

/// Columns shared by every service table, so documents can be built the same way from each.
pub const SERVICE_COLUMNS: [&str; 12] = [
    "id",
    "title",
    "teaser",
    "body_html",
    "body_text",
    "category",
    "keywords",
    "fees",
    "office_ids",
    "url",
    "leika",
    "updated",
];

const OFFICE_COLUMNS: [&str; 12] = [
    "id",
    "name",
    "street",
    "postcode",
    "city",
    "district",
    "phone",
    "email",
    "opening_hours",
    "appointment_url",
    "service_ids",
    "url",
];

fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn joined(v: &Value, key: &str) -> Option<String> {
    let items = v.get(key)?.as_array()?;
    let parts: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    Some(parts.join(", "))
}

fn parse_json(bytes: &[u8], origin: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        origin: origin.into(),
        source,
    })
}

fn records<'a>(doc: &'a Value, origin: &str) -> Result<&'a Vec<Value>> {
    doc.as_array()
        .or_else(|| doc.get("data").and_then(Value::as_array))
        .ok_or_else(|| Error::Malformed {
            origin: origin.into(),
            reason: "expected a JSON array of records or an object with a \"data\" array".into(),
        })
}

/// Runs `row` over every record; records it rejects go to quarantine with their index (1-based).
fn collect(
    bytes: &[u8],
    origin: &str,
    columns: &[&'static str],
    row: impl Fn(&Value) -> Result<Vec<Option<String>>, String>,
) -> Result<Parsed> {
    let doc = parse_json(bytes, origin)?;
    let items = records(&doc, origin)?;
    let mut table = TextTable::new(columns);
    let mut quarantine = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match row(item) {
            Ok(values) => table.push(values)?,
            Err(reason) => quarantine.push(QuarantinedRow {
                line: i as u64 + 1,
                reason,
                raw: item.to_string().chars().take(500).collect(),
            }),
        }
    }
    Ok(Parsed {
        batch: table.finish()?,
        quarantine,
        rows_read: items.len(),
        notes: Vec::new(),
    })
}

fn required(v: &Value, key: &str) -> Result<String, String> {
    str_field(v, key)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("record has no \"{key}\" (every record needs one)"))
}

/// Musterstadt `leistungen.json`.
pub fn parse_musterstadt_services(bytes: &[u8], origin: &str) -> Result<Parsed> {
    collect(bytes, origin, &SERVICE_COLUMNS, |v| {
        let body_html = str_field(v, "body_html").unwrap_or_default();
        Ok(vec![
            Some(required(v, "id")?),
            Some(required(v, "title")?),
            str_field(v, "teaser"),
            Some(body_html.clone()),
            Some(html_to_text(&body_html)),
            str_field(v, "category"),
            joined(v, "keywords"),
            str_field(v, "fees"),
            str_field(v, "office_id"),
            Some(required(v, "url")?),
            str_field(v, "leika"),
            str_field(v, "updated"),
        ])
    })
}

/// Musterstadt `dienststellen.json`.
pub fn parse_musterstadt_offices(bytes: &[u8], origin: &str) -> Result<Parsed> {
    collect(bytes, origin, &OFFICE_COLUMNS, |v| {
        Ok(vec![
            Some(required(v, "id")?),
            Some(required(v, "name")?),
            str_field(v, "street"),
            str_field(v, "postcode"),
            str_field(v, "city"),
            str_field(v, "district"),
            str_field(v, "phone"),
            str_field(v, "email"),
            str_field(v, "opening_hours_text"),
            str_field(v, "appointment_url"),
            joined(v, "services"),
            str_field(v, "appointment_url"),
        ])
    })
}

/// Munich DLDB `services_de.json`: the service URL comes from `meta.url` with `{serviceId}`
/// filled in; office ids from `locations[].location`; fees are HTML.
pub fn parse_muenchen_services(bytes: &[u8], origin: &str) -> Result<Parsed> {
    collect(bytes, origin, &SERVICE_COLUMNS, |v| {
        let id = required(v, "id")?;
        let description = str_field(v, "description").unwrap_or_default();
        let body_text = html_to_text(&description);
        let url = v
            .pointer("/meta/url")
            .and_then(Value::as_str)
            .map(|u| u.replace("{serviceId}", &id))
            .ok_or_else(|| "record has no \"meta.url\" (needed for citations)".to_string())?;
        let offices: Vec<String> = v
            .get("locations")
            .and_then(Value::as_array)
            .map(|locs| {
                locs.iter()
                    .filter_map(|l| str_field(l, "location"))
                    .collect()
            })
            .unwrap_or_default();
        let teaser = body_text
            .split_inclusive(['.', '!', '?'])
            .next()
            .map(|s| s.trim().to_string());
        Ok(vec![
            Some(id.clone()),
            Some(required(v, "name")?),
            teaser,
            Some(description),
            Some(body_text),
            None,
            v.pointer("/meta/keywords")
                .and_then(Value::as_str)
                .map(str::to_string),
            str_field(v, "fees").map(|f| html_to_text(&f)),
            Some(offices.join(", ")),
            Some(url),
            str_field(v, "leika"),
            v.pointer("/meta/lastupdate")
                .and_then(Value::as_str)
                .map(str::to_string),
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray};

    fn col<'a>(p: &'a Parsed, name: &str) -> &'a StringArray {
        p.batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
    }

    #[test]
    fn munich_record_becomes_a_service_row() {
        let json = r#"{"data":[{"id":"7","name":"Gewerbe-Anmeldung","description":"<p>Sie melden&nbsp;an.</p><p>Weiter.</p>",
            "meta":{"url":"https://x.example/#/services/{serviceId}","lastupdate":"2026-06-08"},
            "locations":[{"location":"10546"}],"leika":"99050012104000","fees":"<p>50 Euro</p>"},
            {"name":"ohne id"}],"meta":{}}"#;
        let p = parse_muenchen_services(json.as_bytes(), "m.json").unwrap();
        assert_eq!(p.batch.num_rows(), 1);
        assert_eq!(col(&p, "url").value(0), "https://x.example/#/services/7");
        assert_eq!(col(&p, "body_text").value(0), "Sie melden an.\n\nWeiter.");
        assert_eq!(col(&p, "teaser").value(0), "Sie melden an.");
        assert_eq!(col(&p, "fees").value(0), "50 Euro");
        assert!(col(&p, "category").is_null(0));
        assert_eq!(p.quarantine.len(), 1);
        assert_eq!(p.quarantine[0].line, 2);
        assert!(p.quarantine[0].reason.contains("\"id\""));
    }

    #[test]
    fn malformed_json_names_the_file() {
        let err = parse_musterstadt_services(b"{oops", "leistungen.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("leistungen.json: invalid json"), "{err}");
        let err = parse_musterstadt_services(b"{\"a\":1}", "l.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a JSON array"), "{err}");
    }
}
