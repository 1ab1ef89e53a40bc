//! Open-data catalogues: DCAT-AP.de (Turtle, RDF/XML, JSON-LD, Hydra paging) and the CKAN
//! Action API, read into two tables with declared schemas ([`schema`]) that look the same
//! whichever kind of catalogue they come from:
//!
//! - `datasets`: `id` (the dataset IRI, or CKAN's `id`, else `name`), `title`, `description`,
//!   `publisher`, `contributor_id` (`dcatde:contributorID`), `licence`, `keywords`, `themes`,
//!   `issued`, `modified`, `landing_page`, `spatial`, `catalogue`, `distribution_count` (Int64);
//! - `distributions`: `dataset_id`, `id`, `title`, `format`, `media_type`, `access_url`,
//!   `download_url`, `licence`, `modified`, `byte_size` (Int64).
//!
//! Every other column is Utf8. Several values of one property are joined with `|` (sorted,
//! each once): keywords, themes, licences, contributor ids, spatial coverage.
//!
//! **DCAT** ([`parse_dcat`], [`harvest_dcat`]): every resource typed `dcat:Dataset` is a
//! dataset, with the distributions it names by `dcat:distribution` (`adms:sample` is not a
//! distribution). Where a literal comes in several languages, German (`@de`, `@de-DE`) wins,
//! then an untagged literal, then any; among equals the smallest value, so the result does not
//! depend on the order of the serialisation. The publisher is the `foaf:name` of the
//! `dct:publisher` agent (its IRI when it has no name). A dataset's `licence` is its own
//! `dct:license`, else the licences of its distributions; a distribution without a licence
//! inherits the dataset's. `themes` are the theme IRIs as given (e.g.
//! `http://publications.europa.eu/resource/authority/data-theme/ENVI`). `spatial` is the
//! geometry of a `dct:Location` (WKT preferred over GeoJSON), else its IRIs (a GeoNames or
//! political-geocoding IRI). `catalogue` is the `dcat:Catalog` that lists the dataset, else the
//! page's only catalogue, else the page's origin. `format` is normalised ([`normalise_format`]):
//! the last path segment of a file-type IRI in upper case (`…/file-type/CSV` → `CSV`);
//! `media_type` drops the IANA prefix (`…/media-types/application/json` → `application/json`).
//! `dcat:DataService` resources are **skipped**, not listed as datasets: they are APIs, not
//! data, and a distribution served by one already carries its endpoint as `access_url`; how
//! many were skipped is in the notes. Blank-node datasets are called `<origin>#dataset-<n>`
//! and blank-node distributions `<dataset id>#distribution-<n>` (numbered in document order),
//! so ids are stable between harvests. IRIs are read leniently (real catalogues carry `tel:`
//! IRIs with spaces); any other syntax error is [`crate::Error::Malformed`] with the position.
//! JSON-LD with a remote `@context` is not supported (contexts are not fetched).
//!
//! **CKAN** ([`parse_ckan`], [`harvest_ckan`]) follows ckanext-dcat's mapping: `notes` →
//! description, `organization.title` (or the `publisher_name` extra) → publisher, `license_id`
//! → licence, `tags` → keywords, `groups` → themes (group names), the `issued` / `modified`
//! extras else `metadata_created` / `metadata_modified`, `url` → landing page, the
//! `spatial_uri` / `spatial` extra → spatial, the `contributorID` extra (a JSON list in
//! GovData's CKAN) → contributor id; resources: `name` → title, `format`, `mimetype`, `url` →
//! access URL, `size` → byte size, `last_modified` → modified. A resource's `download_url` is
//! its `download_url` field, else its `url` when the file was uploaded to CKAN or its format is
//! a file format ([`connector_format`] knows it, or PDF, ZIP, XML, …); a `url` of format HTML,
//! WMS, API, … is an access URL only.
//!
//! A dataset without a title (and a CKAN record without `id` and `name`) goes to quarantine
//! with its 1-based number across all pages; in the `distributions` table its distributions are
//! quarantined with their own numbers. A dataset that comes again on a later page (pages shift
//! while a catalogue changes) is kept once, with a note.
//!
//! **From a distribution to a table.** The catalogue tables say where the data is; they do not
//! download it. To ingest a distribution, take a row with a `download_url` and a `format` that
//! [`connector_format`] maps to a [`Format`], fetch the URL with [`crate::http::HttpClient`]
//! (the same [`crate::fetch::Fetch`] seam), write the bytes to a file and describe it with
//! [`crate::SourceSpec::open_data`]: that format, the distribution's `licence` as licence and
//! the dataset's `publisher` (with the licence) as attribution; [`crate::load`] then parses it
//! like any local file and its provenance names the file. Rows with only an `access_url` point
//! at web pages or services (WMS, WFS, APIs) and need a protocol connector of their own.

mod ckan;
mod dcat;
mod rdf;

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

pub use ckan::{harvest_ckan, parse_ckan};
pub use dcat::{harvest_dcat, parse_dcat};

use crate::provenance::QuarantinedRow;
use crate::{Format, Parsed, Result};

/// Columns of the `datasets` table, in order; all Utf8 except `distribution_count` (Int64).
pub const DATASET_COLUMNS: [&str; 14] = [
    "id",
    "title",
    "description",
    "publisher",
    "contributor_id",
    "licence",
    "keywords",
    "themes",
    "issued",
    "modified",
    "landing_page",
    "spatial",
    "catalogue",
    "distribution_count",
];

/// Columns of the `distributions` table, in order; all Utf8 except `byte_size` (Int64).
pub const DISTRIBUTION_COLUMNS: [&str; 10] = [
    "dataset_id",
    "id",
    "title",
    "format",
    "media_type",
    "access_url",
    "download_url",
    "licence",
    "modified",
    "byte_size",
];

/// Which of the two catalogue tables to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogueTable {
    /// One row per dataset.
    Datasets,
    /// One row per distribution (resource) of a dataset.
    Distributions,
}

impl CatalogueTable {
    /// The table name: `datasets` or `distributions`.
    pub fn name(self) -> &'static str {
        match self {
            CatalogueTable::Datasets => "datasets",
            CatalogueTable::Distributions => "distributions",
        }
    }
}

/// The declared schema of a catalogue table: every column nullable Utf8, except
/// `distribution_count` and `byte_size` (Int64).
pub fn schema(table: CatalogueTable) -> SchemaRef {
    let (columns, int_column) = match table {
        CatalogueTable::Datasets => (&DATASET_COLUMNS[..], "distribution_count"),
        CatalogueTable::Distributions => (&DISTRIBUTION_COLUMNS[..], "byte_size"),
    };
    let fields: Vec<Field> = columns
        .iter()
        .map(|name| {
            let data_type = if *name == int_column {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            Field::new(*name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The RDF serialisations DCAT catalogues come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RdfSyntax {
    /// Turtle (`.ttl`).
    Turtle,
    /// RDF/XML (`.rdf`, `.xml`).
    RdfXml,
    /// JSON-LD (`.jsonld`, `.json`).
    JsonLd,
}

impl RdfSyntax {
    /// The syntax's usual name, as in error messages.
    pub fn name(self) -> &'static str {
        match self {
            RdfSyntax::Turtle => "Turtle",
            RdfSyntax::RdfXml => "RDF/XML",
            RdfSyntax::JsonLd => "JSON-LD",
        }
    }

    /// The syntax a file name or URL's extension says (`.ttl`, `.rdf`/`.xml`,
    /// `.jsonld`/`.json`, case-insensitive; a URL's query and fragment are ignored).
    pub fn from_path(path_or_url: &str) -> Option<Self> {
        let path = path_or_url.split(['?', '#']).next().unwrap_or(path_or_url);
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "ttl" | "turtle" => Some(RdfSyntax::Turtle),
            "rdf" | "xml" | "owl" => Some(RdfSyntax::RdfXml),
            "jsonld" | "json" => Some(RdfSyntax::JsonLd),
            _ => None,
        }
    }

    /// The syntax the content looks like: JSON (`{`, `[`) is JSON-LD; an XML declaration,
    /// comment or start tag with attributes is RDF/XML; an IRI in `<…>`, `@prefix`, `PREFIX`,
    /// `#`, `_:` or a prefixed name is Turtle. Leading whitespace and a byte-order mark are skipped; `None`
    /// for empty input.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
        let head = &bytes[start..bytes.len().min(start + 512)];
        match head[0] {
            b'{' | b'[' => Some(RdfSyntax::JsonLd),
            b'<' => {
                if head.starts_with(b"<?xml") || head.starts_with(b"<!") {
                    return Some(RdfSyntax::RdfXml);
                }
                // An XML start tag has attributes (RDF/XML needs its namespaces) or ends in
                // `/`; a Turtle IRI has neither whitespace nor a closing slash inside `<…>`.
                let tag_end = head.iter().position(|&b| b == b'>').unwrap_or(head.len());
                let tag = &head[1..tag_end];
                if tag.iter().any(u8::is_ascii_whitespace) || tag.ends_with(b"/") {
                    Some(RdfSyntax::RdfXml)
                } else {
                    Some(RdfSyntax::Turtle)
                }
            }
            _ => Some(RdfSyntax::Turtle),
        }
    }

    /// The syntax of a document: from `origin`'s extension, else sniffed from the content.
    pub fn detect(origin: &str, bytes: &[u8]) -> Option<Self> {
        Self::from_path(origin).or_else(|| Self::sniff(bytes))
    }
}

/// The connector format a normalised distribution format ([`normalise_format`]) can be read
/// with, for formats the connectors read straight from a downloaded file: CSV, JSON, NDJSON,
/// GeoJSON, XLSX and Parquet.
pub fn connector_format(format: &str) -> Option<Format> {
    match normalise_format(format)?.as_str() {
        "CSV" => Some(Format::Csv),
        "JSON" => Some(Format::Json),
        "NDJSON" | "JSONL" => Some(Format::Ndjson),
        "GEOJSON" => Some(Format::Geojson),
        "XLSX" => Some(Format::Xlsx),
        "PARQUET" => Some(Format::Parquet),
        _ => None,
    }
}

/// Normalises a distribution format: an IRI becomes its last path segment (`…/file-type/CSV`
/// → `CSV`, `…/media-types/text/csv` → `CSV`); a leading `.` is dropped; a code (letters,
/// digits, `-`, `_`, `+`, `.`) is upper-cased (`csv` → `CSV`, `GeoJSON` → `GEOJSON`); anything
/// else (a media type such as `text/csv`, a phrase) is kept as it is, trimmed. `None` for an
/// empty value.
pub fn normalise_format(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let token = if raw.contains("://") {
        let path = raw.split(['?', '#']).next().unwrap_or(raw);
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path)
    } else {
        raw
    };
    let token = token.trim_start_matches('.');
    if token.is_empty() {
        return None;
    }
    let code = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'));
    Some(if code {
        token.to_ascii_uppercase()
    } else {
        token.to_string()
    })
}

/// A media type without the IANA registry prefix (`https://www.iana.org/assignments/media-types/`).
fn normalise_media_type(raw: &str) -> String {
    let raw = raw.trim();
    for prefix in [
        "https://www.iana.org/assignments/media-types/",
        "http://www.iana.org/assignments/media-types/",
    ] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    raw.to_string()
}

/// A parsed `dcat:byteSize` or CKAN `size`: a whole, non-negative number of bytes (`42702`,
/// `685246.0`); anything else is `None`.
fn byte_size(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(n) = raw.parse::<i64>() {
        return (n >= 0).then_some(n);
    }
    let f = raw.parse::<f64>().ok()?;
    let whole = f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 9.2e18;
    // The range check above keeps the conversion exact.
    whole.then_some(f as i64)
}

/// Values joined with `|`, sorted and each once; `None` when there are none.
fn join_sorted<I, S>(values: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut values: Vec<String> = values
        .into_iter()
        .map(Into::into)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    values.sort();
    values.dedup();
    (!values.is_empty()).then(|| values.join("|"))
}

/// One dataset as read from a catalogue, before it becomes rows.
#[derive(Debug, Clone, Default)]
struct DatasetRecord {
    id: String,
    title: Option<String>,
    description: Option<String>,
    publisher: Option<String>,
    contributor_id: Option<String>,
    /// The dataset's own licence (distribution licences are merged in when it has none).
    licence: Option<String>,
    keywords: Option<String>,
    themes: Option<String>,
    issued: Option<String>,
    modified: Option<String>,
    landing_page: Option<String>,
    spatial: Option<String>,
    catalogue: Option<String>,
    distributions: Vec<DistributionRecord>,
    /// Why the record cannot be loaded (no title, no id); it goes to quarantine.
    problem: Option<String>,
    /// What the quarantine shows of the record.
    raw: String,
}

/// One distribution of a dataset.
#[derive(Debug, Clone, Default)]
struct DistributionRecord {
    id: String,
    title: Option<String>,
    format: Option<String>,
    media_type: Option<String>,
    access_url: Option<String>,
    download_url: Option<String>,
    licence: Option<String>,
    modified: Option<String>,
    byte_size: Option<i64>,
}

/// Builds the requested table from the records of all pages: the first record of an id is
/// kept, later ones are noted; records with a problem go to quarantine.
fn build(
    table: CatalogueTable,
    records: Vec<DatasetRecord>,
    mut notes: Vec<String>,
) -> Result<Parsed> {
    let mut distinct_notes = HashSet::new();
    notes.retain(|n| distinct_notes.insert(n.clone()));
    let mut seen = HashSet::new();
    let mut repeated = Vec::new();
    let records: Vec<DatasetRecord> = records
        .into_iter()
        .filter(|r| {
            let first = seen.insert(r.id.clone());
            if !first {
                repeated.push(r.id.clone());
            }
            first
        })
        .collect();
    if !repeated.is_empty() {
        notes.push(format!(
            "{} dataset(s) came more than once and were kept once: {}",
            repeated.len(),
            repeated.join(", ")
        ));
    }
    let mut text: Vec<Vec<Option<String>>> = Vec::new();
    let mut ints: Vec<Option<i64>> = Vec::new();
    let mut quarantine = Vec::new();
    let mut rows_read = 0;
    for (n, record) in records.iter().enumerate() {
        let number = n as u64 + 1;
        match table {
            CatalogueTable::Datasets => {
                rows_read += 1;
                if let Some(problem) = &record.problem {
                    quarantine.push(QuarantinedRow {
                        line: number,
                        reason: problem.clone(),
                        raw: record.raw.clone(),
                    });
                    continue;
                }
                let licence = record.licence.clone().or_else(|| {
                    join_sorted(
                        record
                            .distributions
                            .iter()
                            .filter_map(|d| d.licence.clone()),
                    )
                });
                text.push(vec![
                    Some(record.id.clone()),
                    record.title.clone(),
                    record.description.clone(),
                    record.publisher.clone(),
                    record.contributor_id.clone(),
                    licence,
                    record.keywords.clone(),
                    record.themes.clone(),
                    record.issued.clone(),
                    record.modified.clone(),
                    record.landing_page.clone(),
                    record.spatial.clone(),
                    record.catalogue.clone(),
                ]);
                ints.push(Some(record.distributions.len() as i64));
            }
            CatalogueTable::Distributions => {
                if let (Some(problem), true) = (&record.problem, record.distributions.is_empty()) {
                    notes.push(format!(
                        "dataset {number} ({}) is quarantined ({problem}); it has no distributions",
                        record.id
                    ));
                }
                for d in &record.distributions {
                    rows_read += 1;
                    if let Some(problem) = &record.problem {
                        quarantine.push(QuarantinedRow {
                            line: rows_read as u64,
                            reason: format!(
                                "its dataset {} (dataset {number}) is quarantined: {problem}",
                                record.id
                            ),
                            raw: format!("{} of {}", d.id, record.raw)
                                .chars()
                                .take(500)
                                .collect(),
                        });
                        continue;
                    }
                    let licence = d.licence.clone().or_else(|| record.licence.clone());
                    text.push(vec![
                        Some(record.id.clone()),
                        Some(d.id.clone()),
                        d.title.clone(),
                        d.format.clone(),
                        d.media_type.clone(),
                        d.access_url.clone(),
                        d.download_url.clone(),
                        licence,
                        d.modified.clone(),
                    ]);
                    ints.push(d.byte_size);
                }
            }
        }
    }
    let schema = schema(table);
    let text_columns = schema.fields().len() - 1;
    let mut arrays: Vec<ArrayRef> = (0..text_columns)
        .map(|c| {
            let column: Vec<Option<&str>> = text
                .iter()
                .map(|row| {
                    row.get(c)
                        .and_then(|v| v.as_deref())
                        .filter(|v| !v.trim().is_empty())
                })
                .collect();
            Arc::new(StringArray::from(column)) as ArrayRef
        })
        .collect();
    arrays.push(Arc::new(Int64Array::from(ints)));
    Ok(Parsed {
        batch: RecordBatch::try_new(schema, arrays)?,
        quarantine,
        rows_read,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_normalised() {
        let cases = [
            (
                "http://publications.europa.eu/resource/authority/file-type/CSV",
                Some("CSV"),
            ),
            (
                "http://publications.europa.eu/resource/authority/file-type/GEOJSON/",
                Some("GEOJSON"),
            ),
            (
                "https://www.iana.org/assignments/media-types/text/csv",
                Some("CSV"),
            ),
            (" csv ", Some("CSV")),
            (".xlsx", Some("XLSX")),
            ("GeoJSON", Some("GEOJSON")),
            ("text/csv", Some("text/csv")),
            ("Esri Shapefile", Some("Esri Shapefile")),
            ("  ", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise_format(raw).as_deref(), expected, "{raw}");
        }
        assert_eq!(connector_format("csv"), Some(Format::Csv));
        assert_eq!(
            connector_format("http://publications.europa.eu/resource/authority/file-type/XLSX"),
            Some(Format::Xlsx)
        );
        assert_eq!(connector_format("PDF"), None);
    }

    #[test]
    fn byte_sizes_must_be_whole_and_non_negative() {
        assert_eq!(byte_size("42702"), Some(42702));
        assert_eq!(byte_size("2500000000.0"), Some(2_500_000_000));
        assert_eq!(byte_size("0.0"), Some(0));
        assert_eq!(byte_size("12.5"), None);
        assert_eq!(byte_size("-1"), None);
        assert_eq!(byte_size("groß"), None);
    }

    #[test]
    fn media_types_lose_the_iana_prefix() {
        assert_eq!(
            normalise_media_type(
                "https://www.iana.org/assignments/media-types/application/gml+xml"
            ),
            "application/gml+xml"
        );
        assert_eq!(normalise_media_type("ZIP"), "ZIP");
    }
}
