//! Source specifications (what to read, from where, under which licence) and the [`Connector`]
//! trait that every format implements. A spec comes from the dataset manifest or from the
//! `[[sources]]` of `allmende.toml`; its `options` table configures the format (see
//! [`SourceOptions`]).

use std::path::PathBuf;

use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::http::HttpClient;
use crate::options::SourceOptions;
use crate::provenance::{Provenance, QuarantinedRow, TableName};
use crate::remote::{Fetched, fetch_and_parse};
use crate::{
    Error, Result, coordinates, csv_de, genesis, geojson, json_table, law_text, parquet_in,
    service_json, xlsx, xmeld, xzufi,
};

/// The file formats the connectors understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// German-formatted CSV (see [`crate::csv_de`]).
    Csv,
    /// A GENESIS statistics table: titles, multi-row header, footnotes (see [`crate::genesis`]).
    Genesis,
    /// A JSON array of objects (see [`crate::json_table`]).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet, read through (see [`crate::parquet_in`]).
    Parquet,
    /// An Excel workbook (see [`crate::xlsx`]).
    Xlsx,
    /// GeoJSON, reprojected to WGS84 (see [`crate::geojson`]).
    Geojson,
    /// Musterstadt `leistungen.json`.
    MusterstadtServices,
    /// Musterstadt `dienststellen.json`.
    MusterstadtOffices,
    /// Munich DLDB `services_de.json`.
    MuenchenServices,
    /// OParl 1.1 papers (Drucksachen): a directory of objects, a list or an object file, or
    /// a live server's System/Body URL (see [`crate::oparl`]).
    OparlPapers,
    /// OParl 1.1 meetings (Sitzungen).
    OparlMeetings,
    /// OParl 1.1 organizations (Gremien).
    OparlOrganizations,
    /// DCAT-AP.de catalogue, one row per dataset (Turtle, RDF/XML, JSON-LD; Hydra paging
    /// over HTTP; see [`crate::catalogue`]).
    DcatDatasets,
    /// DCAT-AP.de catalogue, one row per distribution.
    DcatDistributions,
    /// CKAN Action API (`package_search` pages), one row per dataset.
    CkanDatasets,
    /// CKAN Action API, one row per resource.
    CkanDistributions,
    /// XZuFi 2.2 / PVOG service descriptions (see [`crate::xzufi`]).
    Xzufi,
    /// XMeld-shaped Melderegister message (register data: `personal = true`).
    Xmeld,
    /// A register table in PostgreSQL: `url = "postgres://…"` and `options.query`
    /// (register data: `personal = true`; see [`crate::postgres_register`]).
    Postgres,
    /// Federal law texts in Markdown, one row per section (a file or a directory of files).
    LawText,
}

/// One table to ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// SQL schema the table lands in, e.g. `musterstadt`.
    pub source: String,
    /// Table name within the source.
    pub table: String,
    /// File format.
    pub format: Format,
    /// Local path of the file (or directory, for OParl dumps and law texts). Give either
    /// `path` or `url`.
    #[serde(default)]
    pub path: PathBuf,
    /// Remote location: an `http(s)://` file or protocol entry point (OParl System, CKAN
    /// `…/api/3/action`, DCAT catalogue page), or a `postgres://` database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Licence identifier, e.g. `dl-de/by-2-0`.
    pub licence: String,
    /// Attribution text that must accompany the data.
    pub attribution: String,
    /// Register data with personal information: aggregate-only, never indexed.
    #[serde(default)]
    pub personal: bool,
    /// SQL that turns this table into search documents (`doc_id, title, teaser, body, url,
    /// licence, attribution, kind`); absent for tables that are not documents.
    #[serde(default)]
    pub documents_sql: Option<String>,
    /// Format options: declared column types, sheet, header row, JSON records, CRS, ...
    #[serde(default)]
    pub options: SourceOptions,
}

impl SourceSpec {
    /// A spec for open data (not personal, no documents, default options) with the given
    /// licence and attribution; set the other fields directly where they differ.
    pub fn open_data(
        source: &str,
        table: &str,
        format: Format,
        path: PathBuf,
        licence: &str,
        attribution: &str,
    ) -> Self {
        Self {
            source: source.into(),
            table: table.into(),
            format,
            path,
            url: None,
            licence: licence.into(),
            attribution: attribution.into(),
            personal: false,
            documents_sql: None,
            options: SourceOptions::default(),
        }
    }

    /// The validated qualified name.
    pub fn table_name(&self) -> Result<TableName> {
        TableName::new(&self.source, &self.table)
    }
}

/// What a format parser returns.
#[derive(Debug)]
pub struct Parsed {
    /// The rows that loaded.
    pub batch: RecordBatch,
    /// Rows that did not, with reasons.
    pub quarantine: Vec<QuarantinedRow>,
    /// Records read from the file.
    pub rows_read: usize,
    /// What the file said besides its rows (titles, footnotes, CRS, upstream metadata).
    pub notes: Vec<String>,
}

impl Parsed {
    /// A parse result from its parts: rows rejected while reading the file and rows rejected
    /// while typing the columns go into one quarantine, in file order.
    pub(crate) fn new(
        batch: RecordBatch,
        read_rejects: Vec<QuarantinedRow>,
        type_rejects: Vec<QuarantinedRow>,
        rows_read: usize,
        notes: Vec<String>,
    ) -> Self {
        Self {
            batch,
            quarantine: merge_rejects(read_rejects, type_rejects),
            rows_read,
            notes,
        }
    }
}

/// Both kinds of rejected rows in one list, in file order.
pub(crate) fn merge_rejects(
    mut read_rejects: Vec<QuarantinedRow>,
    type_rejects: Vec<QuarantinedRow>,
) -> Vec<QuarantinedRow> {
    read_rejects.extend(type_rejects);
    read_rejects.sort_by_key(|q| q.line);
    read_rejects
}

/// A loaded table: its rows, its rejects and its provenance.
#[derive(Debug)]
pub struct LoadedTable {
    /// The rows.
    pub batch: RecordBatch,
    /// Rows sent to quarantine.
    pub quarantine: Vec<QuarantinedRow>,
    /// Where it came from.
    pub provenance: Provenance,
}

/// A data source that can be read into an Arrow table: one implementation per format, with
/// the schema either declared (service catalogues, `options.columns`) or inferred.
pub trait Connector {
    /// Parses raw bytes read from `origin`; rows that cannot be loaded go to the quarantine.
    fn parse(&self, bytes: &[u8], origin: &str) -> Result<Parsed>;
}

/// A format with its options: the connector a [`SourceSpec`] describes.
#[derive(Debug, Clone, Copy)]
pub struct Configured<'a> {
    /// The format.
    pub format: Format,
    /// Its options.
    pub options: &'a SourceOptions,
}

impl Connector for Configured<'_> {
    fn parse(&self, bytes: &[u8], origin: &str) -> Result<Parsed> {
        let o = self.options;
        let mut parsed = match self.format {
            Format::Csv => csv_de::parse_with(bytes, origin, &o.columns).map(|p| Parsed {
                batch: p.batch,
                quarantine: p.quarantine,
                rows_read: p.rows_read,
                notes: Vec::new(),
            }),
            Format::Genesis => genesis::parse(bytes, origin, o),
            Format::Json => json_table::parse_json(bytes, origin, o),
            Format::Ndjson => json_table::parse_ndjson(bytes, origin, o),
            Format::Parquet => parquet_in::parse(bytes, origin, o),
            Format::Xlsx => xlsx::parse(bytes, origin, o),
            Format::Geojson => geojson::parse(bytes, origin, o),
            Format::MusterstadtServices => service_json::parse_musterstadt_services(bytes, origin),
            Format::MusterstadtOffices => service_json::parse_musterstadt_offices(bytes, origin),
            Format::MuenchenServices => service_json::parse_muenchen_services(bytes, origin),
            Format::Xzufi => xzufi::parse(bytes, origin),
            Format::Xmeld => xmeld::parse(bytes, origin),
            Format::LawText => law_text::parse(bytes, origin),
            Format::Postgres => Err(Error::Spec(
                "the postgres format reads a database (`url`), not a file".into(),
            )),
            paged => crate::remote::parse_pages(paged, &[(origin.to_string(), bytes.to_vec())]),
        }?;
        if let Some(columns) = &o.coordinates {
            let (batch, notes) = coordinates::add_lon_lat(&parsed.batch, columns)?;
            parsed.batch = batch;
            parsed.notes.extend(notes);
        }
        Ok(parsed)
    }
}

/// A format with default options.
impl Connector for Format {
    fn parse(&self, bytes: &[u8], origin: &str) -> Result<Parsed> {
        Configured {
            format: *self,
            options: &SourceOptions::default(),
        }
        .parse(bytes, origin)
    }
}

impl SourceSpec {
    /// The connector this spec describes.
    pub fn connector(&self) -> Configured<'_> {
        Configured {
            format: self.format,
            options: &self.options,
        }
    }
}

/// Reads and parses the data a spec points at (file, directory, URL or database), and
/// records its provenance.
pub fn load(spec: &SourceSpec) -> Result<LoadedTable> {
    load_incremental(spec, &HttpClient::default(), None)?.ok_or_else(|| {
        Error::Internal("a source without a previous snapshot answered 'not modified'".into())
    })
}

/// Like [`load`], with the provenance of the current snapshot: a remote file whose server
/// answers `304 Not Modified` to its ETag / Last-Modified gives `None` (keep the snapshot).
pub fn load_incremental(
    spec: &SourceSpec,
    http: &HttpClient,
    previous: Option<&Provenance>,
) -> Result<Option<LoadedTable>> {
    let table = spec.table_name()?;
    let (parsed, origin, sha256, validators) = match fetch_and_parse(spec, http, previous)? {
        Fetched::NotModified { origin } => {
            tracing::info!(table = %table, origin = %origin, "source not modified, snapshot kept");
            return Ok(None);
        }
        Fetched::Fresh {
            parsed,
            origin,
            sha256,
            validators,
        } => (parsed, origin, sha256, validators),
    };
    tracing::info!(
        table = %table,
        rows = parsed.batch.num_rows(),
        quarantined = parsed.quarantine.len(),
        "loaded source"
    );
    let provenance = Provenance {
        table,
        origin,
        licence: spec.licence.clone(),
        attribution: spec.attribution.clone(),
        retrieved_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sha256,
        rows_read: parsed.rows_read,
        rows_loaded: parsed.batch.num_rows(),
        rows_quarantined: parsed.quarantine.len(),
        personal: spec.personal,
        notes: parsed.notes,
        validators,
    };
    Ok(Some(LoadedTable {
        batch: parsed.batch,
        quarantine: parsed.quarantine,
        provenance,
    }))
}
