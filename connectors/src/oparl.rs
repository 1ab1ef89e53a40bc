//! OParl 1.1 council information systems (<https://oparl.org/spezifikation>): papers
//! (`Drucksachen`), meetings (`Sitzungen`) and organizations (`Gremien`) into three tables with
//! declared schemas ([`schema`]).
//!
//! [`parse_objects`] reads pages that are a single OParl object, a JSON array of objects or an
//! OParl list page (`{"data": [...], "links": {"next": ...}}`), in any mix. An object whose
//! `type` is not the kind's schema type (1.1 or 1.0) or that has no `id` goes to quarantine
//! with its record number across all pages; when an id comes more than once, the version with
//! the latest `modified` is kept. [`read_dir`] reads a folder of `*.json` files (or one file),
//! [`harvest`] walks a live server: System → Body list → the kind's list, paged by
//! `links.next`, optionally filtered with `modified_since`, through [`crate::fetch::Fetch`].

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Date32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use crate::fetch::Fetch;
use crate::provenance::QuarantinedRow;
use crate::typed::days_since_epoch;
use crate::{Connector, Error, Parsed, Result};

/// Longest raw JSON text kept with a quarantined object, in bytes.
const RAW_LIMIT: usize = 2048;

/// The OParl object types this module turns into tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OparlKind {
    /// `Paper` (Drucksache): table `papers`.
    Paper,
    /// `Meeting` (Sitzung): table `meetings`.
    Meeting,
    /// `Organization` (Gremium, Fraktion, …): table `organizations`.
    Organization,
}

impl OparlKind {
    /// The OParl type name, e.g. `Paper`.
    pub fn type_name(self) -> &'static str {
        match self {
            OparlKind::Paper => "Paper",
            OparlKind::Meeting => "Meeting",
            OparlKind::Organization => "Organization",
        }
    }

    /// The table name, e.g. `papers`.
    pub fn table(self) -> &'static str {
        match self {
            OparlKind::Paper => "papers",
            OparlKind::Meeting => "meetings",
            OparlKind::Organization => "organizations",
        }
    }

    /// The field of a Body that holds the URL of this kind's list, e.g. `paper`.
    pub fn list_field(self) -> &'static str {
        match self {
            OparlKind::Paper => "paper",
            OparlKind::Meeting => "meeting",
            OparlKind::Organization => "organization",
        }
    }

    /// The schema type URL in OParl 1.1, e.g. `https://schema.oparl.org/1.1/Paper`.
    pub fn schema_type(self) -> String {
        format!("https://schema.oparl.org/1.1/{}", self.type_name())
    }

    /// True when `type_url` names this kind in OParl 1.1 or 1.0 (`http` or `https`).
    pub fn matches_type(self, type_url: &str) -> bool {
        oparl_type(type_url) == Some(self.type_name())
    }

    fn columns(self) -> &'static [(&'static str, Col)] {
        match self {
            OparlKind::Paper => PAPER_COLUMNS,
            OparlKind::Meeting => MEETING_COLUMNS,
            OparlKind::Organization => ORGANIZATION_COLUMNS,
        }
    }
}

/// The type name of an OParl 1.0/1.1 schema URL (`https://schema.oparl.org/1.1/Paper` →
/// `Paper`).
fn oparl_type(type_url: &str) -> Option<&str> {
    let rest = type_url
        .strip_prefix("https://schema.oparl.org/")
        .or_else(|| type_url.strip_prefix("http://schema.oparl.org/"))?;
    let (version, name) = rest.split_once('/')?;
    matches!(version, "1.0" | "1.1").then_some(name)
}

/// Arrow type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// Utf8, nullable.
    Text,
    /// Date32, nullable (empty when missing or not a date).
    Date,
    /// Int64, never null (an absent array counts 0).
    Count,
    /// Boolean, never null (absent is false).
    Flag,
}

const PAPER_COLUMNS: &[(&str, Col)] = &[
    ("id", Col::Text),
    ("body", Col::Text),
    ("name", Col::Text),
    ("reference", Col::Text),
    ("date", Col::Date),
    ("paper_type", Col::Text),
    ("main_file_url", Col::Text),
    ("main_file_name", Col::Text),
    ("auxiliary_file_count", Col::Count),
    ("consultation_count", Col::Count),
    ("web", Col::Text),
    ("created", Col::Text),
    ("modified", Col::Text),
    ("deleted", Col::Flag),
];

const MEETING_COLUMNS: &[(&str, Col)] = &[
    ("id", Col::Text),
    ("name", Col::Text),
    ("meeting_state", Col::Text),
    ("start", Col::Text),
    ("end", Col::Text),
    ("location_description", Col::Text),
    ("organization_ids", Col::Text),
    ("agenda_item_count", Col::Count),
    ("cancelled", Col::Flag),
    ("web", Col::Text),
    ("created", Col::Text),
    ("modified", Col::Text),
    ("deleted", Col::Flag),
];

const ORGANIZATION_COLUMNS: &[(&str, Col)] = &[
    ("id", Col::Text),
    ("body", Col::Text),
    ("name", Col::Text),
    ("short_name", Col::Text),
    ("organization_type", Col::Text),
    ("classification", Col::Text),
    ("start_date", Col::Date),
    ("end_date", Col::Date),
    ("web", Col::Text),
    ("created", Col::Text),
    ("modified", Col::Text),
    ("deleted", Col::Flag),
];

/// The declared schema of a kind's table. Timestamps (`created`, `modified`, a meeting's
/// `start` and `end`) stay RFC 3339 text with their offset; calendar dates are Date32;
/// `organization_ids` is joined with `|`.
pub fn schema(kind: OparlKind) -> SchemaRef {
    let fields: Vec<Field> = kind
        .columns()
        .iter()
        .map(|(name, col)| match col {
            Col::Text => Field::new(*name, DataType::Utf8, *name != "id"),
            Col::Date => Field::new(*name, DataType::Date32, true),
            Col::Count => Field::new(*name, DataType::Int64, false),
            Col::Flag => Field::new(*name, DataType::Boolean, false),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// One cell of a row, matching its column's [`Col`].
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(Option<String>),
    Date(Option<i32>),
    Count(i64),
    Flag(bool),
}

/// A string field (numbers are written out); empty strings are absent.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Length of an array field; 0 when absent.
fn count(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(0, |a| a.len() as i64)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The id of a reference that is either a URL string or an embedded object.
fn reference_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Object(_) => text(v, "id"),
        _ => None,
    }
}

/// Reads a calendar date (`2014-04-04`, also the date part of a date-time). `Err` when the
/// field is there but not a date.
fn date(v: &Value, key: &str) -> Result<Option<i32>, String> {
    let Some(value) = text(v, key) else {
        return Ok(None);
    };
    value
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(|d| Some(days_since_epoch(d)))
        .ok_or(value)
}

/// Collects the cells of one object; dates that do not parse are left empty and counted.
struct RowBuilder<'a> {
    object: &'a Value,
    bad_dates: Vec<String>,
}

impl RowBuilder<'_> {
    fn text(&self, key: &str) -> Cell {
        Cell::Text(text(self.object, key))
    }

    fn date(&mut self, key: &str) -> Cell {
        match date(self.object, key) {
            Ok(d) => Cell::Date(d),
            Err(shown) => {
                self.bad_dates.push(format!("{key} = {shown:?}"));
                Cell::Date(None)
            }
        }
    }
}

/// The row of an object that passed the type and id checks.
fn row(kind: OparlKind, id: &str, b: &mut RowBuilder<'_>) -> Vec<Cell> {
    let v = b.object;
    let id = Cell::Text(Some(id.to_string()));
    match kind {
        OparlKind::Paper => {
            let main = v.get("mainFile");
            let (main_url, main_name) = match main {
                Some(Value::String(url)) => (Some(url.clone()), None),
                Some(file @ Value::Object(_)) => (
                    text(file, "accessUrl").or_else(|| text(file, "downloadUrl")),
                    text(file, "name").or_else(|| text(file, "fileName")),
                ),
                _ => (None, None),
            };
            vec![
                id,
                b.text("body"),
                b.text("name"),
                b.text("reference"),
                b.date("date"),
                b.text("paperType"),
                Cell::Text(main_url),
                Cell::Text(main_name),
                Cell::Count(count(v, "auxiliaryFile")),
                Cell::Count(count(v, "consultation")),
                b.text("web"),
                b.text("created"),
                b.text("modified"),
                Cell::Flag(flag(v, "deleted")),
            ]
        }
        OparlKind::Meeting => {
            let location = v.get("location").and_then(|l| text(l, "description"));
            let organizations: Vec<String> = v
                .get("organization")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(reference_id).collect())
                .unwrap_or_default();
            let organizations = (!organizations.is_empty()).then(|| organizations.join("|"));
            vec![
                id,
                b.text("name"),
                b.text("meetingState"),
                b.text("start"),
                b.text("end"),
                Cell::Text(location),
                Cell::Text(organizations),
                Cell::Count(count(v, "agendaItem")),
                Cell::Flag(flag(v, "cancelled")),
                b.text("web"),
                b.text("created"),
                b.text("modified"),
                Cell::Flag(flag(v, "deleted")),
            ]
        }
        OparlKind::Organization => vec![
            id,
            b.text("body"),
            b.text("name"),
            b.text("shortName"),
            b.text("organizationType"),
            b.text("classification"),
            b.date("startDate"),
            b.date("endDate"),
            b.text("web"),
            b.text("created"),
            b.text("modified"),
            Cell::Flag(flag(v, "deleted")),
        ],
    }
}

/// The objects of one page: a list page's `data`, an array's items or the object itself.
fn page_objects(doc: Value, origin: &str) -> Result<Vec<Value>> {
    match doc {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.remove("data") {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(Error::Malformed {
                origin: origin.into(),
                reason: "the \"data\" member of an OParl list must be an array".into(),
            }),
            None => Ok(vec![Value::Object(map)]),
        },
        _ => Err(Error::Malformed {
            origin: origin.into(),
            reason:
                "expected an OParl object, a JSON array of objects or a list page with \"data\""
                    .into(),
        }),
    }
}

/// The JSON text of a rejected object, cut at about 2 KB.
fn raw_text(v: &Value) -> String {
    let mut raw = v.to_string();
    if raw.len() > RAW_LIMIT {
        let mut end = RAW_LIMIT;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        raw.truncate(end);
        raw.push('…');
    }
    raw
}

/// Why an object cannot be a row of `kind`, or its id.
fn check(kind: OparlKind, v: &Value) -> Result<String, String> {
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let expected = kind.schema_type();
    match v.get("type") {
        Some(Value::String(t)) if kind.matches_type(t) => {}
        Some(Value::String(t)) => return Err(format!("type is {t:?}, expected {expected:?}")),
        _ => return Err(format!("object has no \"type\" (expected {expected:?})")),
    }
    match v.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(id.clone()),
        _ => Err("object has no \"id\" (every OParl object needs one)".into()),
    }
}

/// True when `new` was modified after `old` (RFC 3339 instants; a missing or unreadable
/// `modified` is older than any readable one; equal times prefer the later record).
fn is_newer(new: Option<&str>, old: Option<&str>) -> bool {
    let instant = |s: Option<&str>| s.and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    match (instant(new), instant(old)) {
        (Some(n), Some(o)) => n >= o,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => new >= old,
    }
}

/// Parses OParl pages of one kind into its table. Each page is a single object, a JSON array
/// of objects or a list page (`{"data": [...], "links": {...}}`); `origin` names the page in
/// errors. Objects of another type or without `id` go to quarantine (line = record number
/// across all pages). An id seen twice keeps the version with the latest `modified`; the
/// superseded versions are named in the notes and not counted in `rows_read`.
pub fn parse_objects(kind: OparlKind, pages: &[(String, Vec<u8>)]) -> Result<Parsed> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut modified: Vec<Option<String>> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut quarantine = Vec::new();
    let mut bad_dates = Vec::new();
    let mut superseded: Vec<String> = Vec::new();
    let mut record = 0u64;
    for (origin, bytes) in pages {
        let doc: Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
            origin: origin.clone(),
            source,
        })?;
        for object in page_objects(doc, origin)? {
            record += 1;
            let id = match check(kind, &object) {
                Ok(id) => id,
                Err(reason) => {
                    quarantine.push(QuarantinedRow {
                        line: record,
                        reason,
                        raw: raw_text(&object),
                    });
                    continue;
                }
            };
            let mut builder = RowBuilder {
                object: &object,
                bad_dates: Vec::new(),
            };
            let cells = row(kind, &id, &mut builder);
            let this_modified = text(&object, "modified");
            for bad in builder.bad_dates {
                bad_dates.push(format!("record {record} ({id}): {bad}"));
            }
            match by_id.get(&id) {
                Some(&i) => {
                    if is_newer(this_modified.as_deref(), modified[i].as_deref()) {
                        rows[i] = cells;
                        modified[i] = this_modified;
                    }
                    superseded.push(id);
                }
                None => {
                    by_id.insert(id, rows.len());
                    rows.push(cells);
                    modified.push(this_modified);
                }
            }
        }
    }
    let mut notes = Vec::new();
    if !superseded.is_empty() {
        notes.push(format!(
            "{} records repeated an id already read; kept the version with the latest \
             \"modified\" for each (not counted as rows read), e.g. {}",
            superseded.len(),
            superseded[0]
        ));
    }
    if !bad_dates.is_empty() {
        notes.push(format!(
            "{} dates could not be read and were left empty, e.g. {}",
            bad_dates.len(),
            bad_dates[0]
        ));
    }
    let rows_read = rows.len() + quarantine.len();
    Ok(Parsed {
        batch: build(kind, rows)?,
        quarantine,
        rows_read,
        notes,
    })
}

/// Builds the batch of a kind from its rows.
fn build(kind: OparlKind, rows: Vec<Vec<Cell>>) -> Result<RecordBatch> {
    let columns = kind.columns();
    let mut cells: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows.len()); columns.len()];
    for row in rows {
        if row.len() != columns.len() {
            return Err(Error::Internal(format!(
                "OParl {} row has {} cells for {} columns",
                kind.type_name(),
                row.len(),
                columns.len()
            )));
        }
        for (column, cell) in cells.iter_mut().zip(row) {
            column.push(cell);
        }
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for ((name, col), column) in columns.iter().zip(cells) {
        let mismatch = || {
            Error::Internal(format!(
                "OParl {} column {name} got a cell of another type",
                kind.type_name()
            ))
        };
        let array: ArrayRef = match col {
            Col::Text => Arc::new(StringArray::from(
                column
                    .into_iter()
                    .map(|c| match c {
                        Cell::Text(t) => Ok(t),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<Vec<_>>>()?,
            )),
            Col::Date => Arc::new(Date32Array::from(
                column
                    .into_iter()
                    .map(|c| match c {
                        Cell::Date(d) => Ok(d),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<Vec<_>>>()?,
            )),
            Col::Count => Arc::new(Int64Array::from(
                column
                    .into_iter()
                    .map(|c| match c {
                        Cell::Count(n) => Ok(n),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<Vec<_>>>()?,
            )),
            Col::Flag => Arc::new(BooleanArray::from(
                column
                    .into_iter()
                    .map(|c| match c {
                        Cell::Flag(b) => Ok(b),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<Vec<_>>>()?,
            )),
        };
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(schema(kind), arrays)?)
}

/// One page of bytes: the kind parses it with [`parse_objects`].
impl Connector for OparlKind {
    fn parse(&self, bytes: &[u8], origin: &str) -> Result<Parsed> {
        parse_objects(*self, &[(origin.to_string(), bytes.to_vec())])
    }
}

/// Reads every `*.json` file of a folder (sorted by file name) as pages of `kind`; `path` may
/// also be a single file (e.g. an `organizations.json` array).
pub fn read_dir(kind: OparlKind, path: &Path) -> Result<Parsed> {
    let pages = if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        vec![(path.display().to_string(), bytes)]
    } else {
        crate::remote::read_files(path, &["json"])?
    };
    if pages.is_empty() {
        return Err(Error::Malformed {
            origin: path.display().to_string(),
            reason: format!("no *.json files with OParl {} objects", kind.type_name()),
        });
    }
    let mut parsed = parse_objects(kind, &pages)?;
    parsed.notes.insert(
        0,
        format!("read {} OParl files from {}", pages.len(), path.display()),
    );
    Ok(parsed)
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with `name=value` appended to its query (`?` or `&` as needed, before a fragment).
fn with_query(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let separator = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let mut out = format!("{base}{separator}{name}={}", encode_query_value(value));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Walks paged OParl lists, counting pages against the harvest's limit.
struct Walker<'a> {
    fetch: &'a dyn Fetch,
    max_pages: usize,
    pages_fetched: usize,
}

impl Walker<'_> {
    fn get_json(&mut self, url: &str) -> Result<(Vec<u8>, Value)> {
        let bytes = self.fetch.get(url)?;
        let doc = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            origin: url.to_string(),
            source,
        })?;
        Ok((bytes, doc))
    }

    /// Fetches a list and all its following pages; `visit` sees each page.
    fn list(
        &mut self,
        first: &str,
        mut visit: impl FnMut(&str, Vec<u8>, &Value) -> Result<()>,
    ) -> Result<usize> {
        let mut seen = HashSet::new();
        let mut url = first.to_string();
        let mut pages = 0;
        loop {
            if self.pages_fetched >= self.max_pages {
                return Err(Error::Malformed {
                    origin: url,
                    reason: format!(
                        "stopped after {} list pages (max_pages); the server keeps sending \
                         next links",
                        self.max_pages
                    ),
                });
            }
            seen.insert(url.clone());
            let (bytes, doc) = self.get_json(&url)?;
            self.pages_fetched += 1;
            pages += 1;
            let next = doc
                .pointer("/links/next")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .map(str::to_string);
            visit(&url, bytes, &doc)?;
            match next {
                None => return Ok(pages),
                Some(next) if seen.contains(&next) => {
                    return Err(Error::Malformed {
                        origin: url,
                        reason: format!(
                            "links.next points back to {next}, a page of this list already \
                             fetched (a paging loop)"
                        ),
                    });
                }
                Some(next) => url = next,
            }
        }
    }
}

/// Harvests one kind from a live OParl server through `fetch`. `system_or_body_url` is the
/// System (its `body` list is walked) or a single Body; for each Body the list named by the
/// kind (`paper`, `meeting`, `organization`) is followed by `links.next` until it ends.
/// `modified_since` (RFC 3339) is sent as the `modified_since` filter of each list's first
/// page. More than `max_pages` list pages in all, or a `next` link that repeats a page of the
/// same list, stop the harvest with [`Error::Malformed`]. The notes record the pages fetched.
pub fn harvest(
    fetch: &dyn Fetch,
    system_or_body_url: &str,
    kind: OparlKind,
    modified_since: Option<&str>,
    max_pages: usize,
) -> Result<Parsed> {
    if let Some(since) = modified_since {
        DateTime::parse_from_rfc3339(since).map_err(|e| {
            Error::Spec(format!(
                "modified_since '{since}' is not an RFC 3339 time ({e}), e.g. 2024-01-01T00:00:00+01:00"
            ))
        })?;
    }
    let mut walker = Walker {
        fetch,
        max_pages,
        pages_fetched: 0,
    };
    let (_, entry) = walker.get_json(system_or_body_url)?;
    let entry_type = entry
        .get("type")
        .and_then(Value::as_str)
        .and_then(oparl_type);
    let mut bodies: Vec<Value> = Vec::new();
    match entry_type {
        Some("Body") => bodies.push(entry),
        Some("System") => {
            let list = text(&entry, "body").ok_or_else(|| Error::Malformed {
                origin: system_or_body_url.into(),
                reason: "the OParl System has no \"body\" list URL".into(),
            })?;
            let mut found = Vec::new();
            walker.list(&list, |_, _, page| {
                if let Some(items) = page.get("data").and_then(Value::as_array) {
                    found.extend(items.iter().cloned());
                }
                Ok(())
            })?;
            for body in found {
                match body {
                    // A list that names its bodies by URL only.
                    Value::String(url) => bodies.push(walker.get_json(&url)?.1),
                    other => bodies.push(other),
                }
            }
        }
        _ => {
            return Err(Error::Malformed {
                origin: system_or_body_url.into(),
                reason: "expected an OParl System or Body object (its \"type\" ends in /System or /Body)"
                    .into(),
            });
        }
    }
    if bodies.is_empty() {
        return Err(Error::Malformed {
            origin: system_or_body_url.into(),
            reason: "the OParl System lists no bodies".into(),
        });
    }
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    let mut notes = Vec::new();
    for body in &bodies {
        let body_id = text(body, "id").unwrap_or_else(|| "(body without id)".into());
        let Some(list) = text(body, kind.list_field()) else {
            notes.push(format!(
                "body {body_id} has no \"{}\" list; skipped",
                kind.list_field()
            ));
            continue;
        };
        let first = match modified_since {
            Some(since) => with_query(&list, "modified_since", since),
            None => list,
        };
        let count = walker.list(&first, |url, bytes, _| {
            pages.push((url.to_string(), bytes));
            Ok(())
        })?;
        notes.push(format!("body {body_id}: {count} pages from {first}"));
    }
    tracing::info!(
        url = %system_or_body_url,
        kind = kind.type_name(),
        bodies = bodies.len(),
        pages = walker.pages_fetched,
        "harvested OParl lists"
    );
    let mut parsed = parse_objects(kind, &pages)?;
    let mut head = vec![format!(
        "harvested OParl {} from {system_or_body_url}: {} list pages fetched ({} of them {} \
         pages) from {} bodies",
        kind.table(),
        walker.pages_fetched,
        pages.len(),
        kind.list_field(),
        bodies.len()
    )];
    if let Some(since) = modified_since {
        head.push(format!(
            "only objects modified since {since} (modified_since)"
        ));
    }
    head.extend(notes);
    head.append(&mut parsed.notes);
    parsed.notes = head;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded_and_appended() {
        assert_eq!(
            encode_query_value("2024-01-01T00:00:00+01:00"),
            "2024-01-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(
            with_query("https://x.example/papers", "a", "b c"),
            "https://x.example/papers?a=b%20c"
        );
        assert_eq!(
            with_query("https://x.example/papers?body=1", "a", "b"),
            "https://x.example/papers?body=1&a=b"
        );
        assert_eq!(
            with_query("https://x.example/papers?", "a", "b"),
            "https://x.example/papers?a=b"
        );
        assert_eq!(
            with_query("https://x.example/p#top", "a", "b"),
            "https://x.example/p?a=b#top"
        );
    }

    #[test]
    fn types_of_both_versions_are_accepted() {
        assert!(OparlKind::Paper.matches_type("https://schema.oparl.org/1.1/Paper"));
        assert!(OparlKind::Paper.matches_type("https://schema.oparl.org/1.0/Paper"));
        assert!(!OparlKind::Paper.matches_type("https://schema.oparl.org/1.1/Meeting"));
        assert!(!OparlKind::Paper.matches_type("https://schema.oparl.org/2.0/Paper"));
        assert!(!OparlKind::Paper.matches_type("Paper"));
    }

    #[test]
    fn latest_modified_wins() {
        assert!(is_newer(
            Some("2025-01-01T00:00:00+01:00"),
            Some("2024-12-31T22:30:00+00:00")
        ));
        // 00:30 at UTC+2 is 22:30 UTC, before 23:00 UTC.
        assert!(!is_newer(
            Some("2025-01-01T00:30:00+02:00"),
            Some("2024-12-31T23:00:00+00:00")
        ));
        assert!(is_newer(Some("2025-01-01T00:00:00Z"), None));
        assert!(!is_newer(None, Some("2025-01-01T00:00:00Z")));
    }

    #[test]
    fn raw_text_is_cut_on_a_char_boundary() {
        let v = Value::String("ä".repeat(3000));
        let raw = raw_text(&v);
        assert!(raw.len() <= RAW_LIMIT + '…'.len_utf8());
        assert!(raw.ends_with('…'));
    }

    #[test]
    fn dates_accept_date_times_and_reject_text() {
        let v: Value =
            serde_json::json!({"a": "2014-04-04", "b": "2014-04-04T10:00:00+02:00", "c": "bald"});
        let day = days_since_epoch(NaiveDate::from_ymd_opt(2014, 4, 4).unwrap());
        assert_eq!(date(&v, "a"), Ok(Some(day)));
        assert_eq!(date(&v, "b"), Ok(Some(day)));
        assert_eq!(date(&v, "c"), Err("bald".to_string()));
        assert_eq!(date(&v, "missing"), Ok(None));
    }
}
