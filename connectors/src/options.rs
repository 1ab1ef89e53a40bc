//! Per-source options (the `options` table of a `[[sources]]` entry): column type overrides,
//! the sheet and header row of a workbook, where the records of a JSON document live, how
//! nested objects are stored, the coordinate reference system of a GeoJSON file, and which
//! columns of a table hold projected coordinates, and where an `s3://` source's object store
//! is (`s3_*`, see [`crate::object_source`]).
//!
//! ```toml
//! [[sources]]
//! source = "koeln"
//! table = "wahllokale"
//! format = "csv"
//! path = "{shared}/koeln/wahllokale.csv"
//! # licence, attribution, ...
//! [sources.options]
//! columns = { rollstuhlgerecht = "bool" }
//! coordinates = { x = "koorx", y = "koory", crs = "EPSG:3857" }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The Arrow type a column is declared as (`columns = { plz = "text" }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Utf8.
    Text,
    /// Int64 (German thousands groups allowed).
    Int,
    /// Float64 (decimal comma or point, decided per column).
    Float,
    /// Date32 (`dd.mm.yyyy` or `yyyy-mm-dd`).
    Date,
    /// Boolean (`true`/`false`, `ja`/`nein`, `1`/`0`).
    Bool,
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ColumnType::Text => "text",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Date => "date",
            ColumnType::Bool => "bool",
        })
    }
}

/// How nested JSON objects become columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NestedMode {
    /// `{"geo": {"lat": 1}}` becomes a column `geo_lat` (arrays stay JSON text).
    #[default]
    Flatten,
    /// Nested objects and arrays are kept as JSON text in one column.
    Json,
}

/// Two columns of a table that hold projected coordinates; `lon` and `lat` (WGS84) are added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinateColumns {
    /// Column with easting / x (after SQL-friendly renaming, e.g. `koorx`).
    pub x: String,
    /// Column with northing / y.
    pub y: String,
    /// Their reference system, e.g. `EPSG:25832`, `EPSG:25833`, `EPSG:3857`, `EPSG:4326`.
    pub crs: String,
}

/// Options of one source; every field is optional and most apply to some formats only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOptions {
    /// Declared column types by (SQL-friendly) column name; other columns are inferred. A cell
    /// that does not fit its declared type sends its row to quarantine.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnType>,
    /// XLSX: the sheet to read (default: the first).
    #[serde(default)]
    pub sheet: Option<String>,
    /// XLSX and GENESIS: 1-based row number of the (last) header row, when detection guesses
    /// wrong. GENESIS takes every non-title row above the data as header rows.
    #[serde(default)]
    pub header_row: Option<usize>,
    /// GENESIS: names for the leading label columns (their header cells are usually empty).
    #[serde(default)]
    pub label_columns: Vec<String>,
    /// JSON: a JSON pointer to the array of records, e.g. `/data` (default: the document itself
    /// when it is an array, else its only array member).
    #[serde(default)]
    pub records: Option<String>,
    /// JSON, NDJSON, GeoJSON properties: how nested objects are stored.
    #[serde(default)]
    pub nested: NestedMode,
    /// GeoJSON: the coordinate reference system when the file has no `crs` member (or to
    /// override it), e.g. `EPSG:25832`.
    #[serde(default)]
    pub crs: Option<String>,
    /// Any tabular format: projected coordinate columns to convert into `lon`/`lat` (WGS84).
    #[serde(default)]
    pub coordinates: Option<CoordinateColumns>,
    /// PostgreSQL: the one read-only `SELECT` that reads the register. CKAN: the search query
    /// (`q`) of `package_search`.
    #[serde(default)]
    pub query: Option<String>,
    /// Paged remote sources (OParl lists, CKAN, DCAT Hydra): stop with an error after this
    /// many pages (default 1000), so a misbehaving server cannot keep an ingest running.
    #[serde(default)]
    pub max_pages: Option<usize>,
    /// CKAN: datasets per `package_search` page (default 100).
    #[serde(default)]
    pub page_size: Option<usize>,
    /// OParl: only objects modified since this RFC 3339 time (`modified_since`).
    #[serde(default)]
    pub modified_since: Option<String>,
    /// `s3://` sources: the URL of the member's own S3-compatible store (MinIO, Ceph RGW), e.g.
    /// `https://minio.kommune.example:9000`. Required: there is no default endpoint, so an
    /// `s3://` source never reaches AWS (`*.amazonaws.com` endpoints are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// `s3://` sources: the region name requests are signed for (default `us-east-1`). This
    /// is only the name MinIO and most Ceph setups expect in the signature, not a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    /// `s3://` sources: the NAME of the environment variable that holds the access key ID
    /// (e.g. `MINIO_ACCESS_KEY`), so that no credential is ever written into a config file.
    /// Give both this and `s3_secret_key_env`, or neither: then requests are sent unsigned,
    /// for public buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_access_key_env: Option<String>,
    /// `s3://` sources: the NAME of the environment variable that holds the secret access
    /// key (see `s3_access_key_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_secret_key_env: Option<String>,
    /// `s3://` sources: allow an `http://` endpoint (default false), e.g. a local MinIO
    /// without TLS; credentials and data then travel unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_allow_http: Option<bool>,
    /// `s3://` sources: path-style requests, `{endpoint}/{bucket}/{key}` (default true, what
    /// MinIO and Ceph expect); `false` sends virtual-hosted-style requests to
    /// `{bucket}.{endpoint host}/{key}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_path_style: Option<bool>,
}
