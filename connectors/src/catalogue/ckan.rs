//! CKAN Action API responses (`package_search`, `package_show`, also a bare list of packages
//! as `current_package_list_with_resources` returns) and paging through `package_search`.

use serde_json::Value;

use super::{
    CatalogueTable, DatasetRecord, DistributionRecord, build, byte_size, join_sorted,
    normalise_format,
};
use crate::fetch::Fetch;
use crate::{Error, Parsed, Result};

/// Normalised formats whose resource `url` is the file itself, so it is also the download URL
/// (besides the formats [`super::connector_format`] reads).
const FILE_FORMATS: [&str; 24] = [
    "CSV", "TSV", "JSON", "NDJSON", "JSONL", "GEOJSON", "XLSX", "XLS", "ODS", "PARQUET", "XML",
    "GML", "KML", "KMZ", "ZIP", "PDF", "TXT", "RDF", "TTL", "JSONLD", "SHP", "GPKG", "DOCX", "ODT",
];

/// Parses CKAN Action API responses (`(origin, bytes)` pairs, e.g. the pages of one
/// `package_search`) into the requested table. A `package_search` page contributes its
/// `result.results`, a `package_show` response its `result`.
///
/// Errors: a response with `"success": false` is [`Error::Malformed`] carrying CKAN's error
/// (`__type` and `message`, or the field messages of a validation error); invalid JSON is
/// [`Error::Json`]; JSON without a `result` is [`Error::Malformed`].
pub fn parse_ckan(table: CatalogueTable, pages: &[(String, Vec<u8>)]) -> Result<Parsed> {
    let mut records = Vec::new();
    for (origin, bytes) in pages {
        let page = Page::parse(bytes, origin)?;
        records.extend(page.records(origin, records.len()));
    }
    build(table, records, Vec::new())
}

/// Harvests a CKAN portal through its Action API: `package_search` at `api_base` (e.g.
/// `https://host/api/3/action`), `rows_per_page` datasets at a time, optionally with a Solr
/// query `q`, until CKAN's `count` is reached. Pages are requested as
/// `{api_base}/package_search?rows=R&start=S&sort=name%20asc[&q=…]`: a fixed order keeps pages
/// from shifting when datasets change during the harvest (a dataset that still comes twice is
/// kept once). `start` advances by the rows a page actually returned, so a portal that caps
/// `rows` (CKAN's `ckan.search.rows_max`, 1000 by default) is still read completely.
///
/// Errors: a catalogue that needs more than `max_pages` pages is [`Error::Malformed`] (found on
/// the first page, from `count`); `rows_per_page == 0` or `max_pages == 0` is
/// [`Error::Spec`]; `"success": false` and fetch errors are passed on.
pub fn harvest_ckan(
    fetch: &dyn Fetch,
    api_base: &str,
    table: CatalogueTable,
    query: Option<&str>,
    rows_per_page: usize,
    max_pages: usize,
) -> Result<Parsed> {
    if rows_per_page == 0 || max_pages == 0 {
        return Err(Error::Spec(
            "rows_per_page and max_pages must be at least 1 to harvest a CKAN portal".into(),
        ));
    }
    let base = api_base.trim_end_matches('/');
    let query = query
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| format!("&q={}", percent_encode(q)))
        .unwrap_or_default();
    let mut start = 0usize;
    let mut pages = 0usize;
    let mut records = Vec::new();
    let mut notes = Vec::new();
    let mut count = 0usize;
    loop {
        let url = format!(
            "{base}/package_search?rows={rows_per_page}&start={start}&sort=name%20asc{query}"
        );
        if pages == max_pages {
            return Err(Error::Malformed {
                origin: url,
                reason: format!(
                    "the portal now counts {count} datasets, more than max_pages = {max_pages} pages of {rows_per_page} rows"
                ),
            });
        }
        let bytes = fetch.get(&url)?;
        pages += 1;
        let page = Page::parse(&bytes, &url)?;
        count = page.count.ok_or_else(|| Error::Malformed {
            origin: url.clone(),
            reason: "package_search result has no \"count\"".into(),
        })?;
        let needed = count.div_ceil(rows_per_page);
        if pages == 1 && needed > max_pages {
            return Err(Error::Malformed {
                origin: url,
                reason: format!(
                    "the portal counts {count} datasets: {needed} pages of {rows_per_page} rows, more than max_pages = {max_pages}"
                ),
            });
        }
        let returned = page.packages.len();
        tracing::debug!(url = %url, returned, count, "read CKAN page");
        records.extend(page.records(&url, records.len()));
        start += returned;
        if start >= count {
            break;
        }
        if returned == 0 {
            notes.push(format!(
                "CKAN counts {count} datasets but returned none after {start}; the harvest stopped there"
            ));
            break;
        }
    }
    notes.push(format!(
        "read {pages} package_search page(s) of {rows_per_page} rows from {base}; CKAN counts {count} datasets"
    ));
    build(table, records, notes)
}

/// One Action API response.
struct Page {
    /// `result.count` of a `package_search`.
    count: Option<usize>,
    packages: Vec<Value>,
}

impl Page {
    fn parse(bytes: &[u8], origin: &str) -> Result<Page> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
            origin: origin.to_string(),
            source,
        })?;
        if doc.get("success").and_then(Value::as_bool) == Some(false) {
            return Err(Error::Malformed {
                origin: origin.to_string(),
                reason: format!("CKAN reports an error: {}", ckan_error(doc.get("error"))),
            });
        }
        let result = doc.get("result").ok_or_else(|| Error::Malformed {
            origin: origin.to_string(),
            reason: "not a CKAN Action API response (no \"result\")".into(),
        })?;
        Ok(match result {
            Value::Object(o) if o.get("results").is_some_and(Value::is_array) => Page {
                count: o
                    .get("count")
                    .and_then(Value::as_u64)
                    .and_then(|c| usize::try_from(c).ok()),
                packages: o
                    .get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            },
            Value::Object(_) => Page {
                count: None,
                packages: vec![result.clone()],
            },
            Value::Array(items) => Page {
                count: None,
                packages: items.clone(),
            },
            _ => {
                return Err(Error::Malformed {
                    origin: origin.to_string(),
                    reason: "CKAN \"result\" is neither a package nor a search result".into(),
                });
            }
        })
    }

    /// The page's packages as records; `before` is the number of records on earlier pages.
    fn records(&self, origin: &str, before: usize) -> Vec<DatasetRecord> {
        let catalogue = site(origin);
        self.packages
            .iter()
            .enumerate()
            .map(|(i, p)| package(p, &catalogue, origin, before + i + 1))
            .collect()
    }
}

/// CKAN's error object as text: `Not Found Error: Not found`, or the field messages of a
/// validation error.
fn ckan_error(error: Option<&Value>) -> String {
    let Some(Value::Object(error)) = error else {
        return "no error details".into();
    };
    let kind = error.get("__type").and_then(Value::as_str);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string);
    let fields: Vec<String> = error
        .iter()
        .filter(|(k, _)| *k != "__type" && *k != "message")
        .map(|(k, v)| match v {
            Value::Array(items) => format!(
                "{k}: {}",
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    let detail = message.unwrap_or_else(|| fields.join(", "));
    match kind {
        Some(kind) => format!("{kind}: {detail}"),
        None => detail,
    }
}

/// The portal a response came from: the part of the URL before `/api/`.
fn site(origin: &str) -> String {
    origin
        .split_once("/api/")
        .map_or(origin, |(site, _)| site)
        .to_string()
}

/// A string field, or a number as text; empty strings are `None`.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The value of a package extra (`extras: [{key, value}]`).
fn extra(package: &Value, key: &str) -> Option<String> {
    package
        .get("extras")?
        .as_array()?
        .iter()
        .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
        .and_then(|e| text(e, "value"))
}

/// An extra that may hold a JSON list (`["a","b"]`, as GovData's CKAN stores
/// `contributorID`), as its items.
fn extra_list(package: &Value, key: &str) -> Vec<String> {
    let Some(raw) = extra(package, key) else {
        return Vec::new();
    };
    match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => vec![raw],
    }
}

/// The `name`s of a list of objects (`tags`, `groups`).
fn names(package: &Value, key: &str) -> Vec<String> {
    package
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|i| text(i, "name")).collect())
        .unwrap_or_default()
}

/// One CKAN package as a dataset record; `number` is its 1-based position across pages.
fn package(p: &Value, catalogue: &str, origin: &str, number: usize) -> DatasetRecord {
    let id = text(p, "id").or_else(|| text(p, "name"));
    let title = text(p, "title");
    let problem = match (&id, &title) {
        (None, _) => Some("CKAN package has neither \"id\" nor \"name\"".to_string()),
        (Some(_), None) => Some("CKAN package has no \"title\"".to_string()),
        _ => None,
    };
    let id = id.unwrap_or_else(|| format!("{origin}#package-{number}"));
    let licence = text(p, "license_id").or_else(|| text(p, "license_url"));
    let mut themes = names(p, "groups");
    themes.extend(extra_list(p, "theme"));
    let distributions = p
        .get("resources")
        .and_then(Value::as_array)
        .map(|resources| {
            resources
                .iter()
                .enumerate()
                .map(|(k, r)| resource(r, &id, k + 1))
                .collect()
        })
        .unwrap_or_default();
    DatasetRecord {
        raw: format!(
            "name={} id={}: {p}",
            text(p, "name").unwrap_or_default(),
            text(p, "id").unwrap_or_default()
        )
        .chars()
        .take(500)
        .collect(),
        title,
        description: text(p, "notes"),
        publisher: extra(p, "publisher_name")
            .or_else(|| p.get("organization").and_then(|o| text(o, "title")))
            .or_else(|| text(p, "author")),
        contributor_id: join_sorted(extra_list(p, "contributorID")),
        licence,
        keywords: join_sorted(names(p, "tags")),
        themes: join_sorted(themes),
        issued: extra(p, "issued").or_else(|| text(p, "metadata_created")),
        modified: extra(p, "modified").or_else(|| text(p, "metadata_modified")),
        landing_page: text(p, "url"),
        spatial: extra(p, "spatial_uri").or_else(|| extra(p, "spatial")),
        catalogue: Some(catalogue.to_string()),
        distributions,
        problem,
        id,
    }
}

/// One CKAN resource; `number` is its 1-based position in the package.
fn resource(r: &Value, dataset_id: &str, number: usize) -> DistributionRecord {
    let url = text(r, "url");
    let format = text(r, "format").and_then(|f| normalise_format(&f));
    let uploaded = text(r, "url_type").as_deref() == Some("upload");
    let file_format = format
        .as_deref()
        .is_some_and(|f| FILE_FORMATS.contains(&f) || super::connector_format(f).is_some());
    let download_url = text(r, "download_url").or_else(|| {
        if uploaded || file_format {
            url.clone()
        } else {
            None
        }
    });
    DistributionRecord {
        id: text(r, "id").unwrap_or_else(|| format!("{dataset_id}#resource-{number}")),
        title: text(r, "name"),
        format,
        media_type: text(r, "mimetype"),
        access_url: url,
        download_url,
        licence: None,
        modified: text(r, "last_modified"),
        byte_size: text(r, "size").and_then(|s| byte_size(&s)),
    }
}

/// Percent-encodes a query parameter value (UTF-8; unreserved characters stay).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encode("Haushalt 2024"), "Haushalt%202024");
        assert_eq!(percent_encode("tags:wahl&ü"), "tags%3Awahl%26%C3%BC");
    }

    #[test]
    fn validation_errors_list_their_fields() {
        let error: Value =
            serde_json::json!({"__type": "Validation Error", "rows": ["Must be a natural number"]});
        assert_eq!(
            ckan_error(Some(&error)),
            "Validation Error: rows: Must be a natural number"
        );
        assert_eq!(ckan_error(None), "no error details");
    }

    #[test]
    fn the_site_is_the_url_before_the_api() {
        assert_eq!(
            site("https://opendata.example.de/api/3/action/package_search?rows=2"),
            "https://opendata.example.de"
        );
        assert_eq!(site("page1.json"), "page1.json");
    }
}
