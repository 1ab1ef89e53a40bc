//! Connectors: read open data and register data into Arrow tables and persist them as Parquet
//! snapshots with provenance.
//!
//! This is the only crate that reads data from the outside world; everything downstream reads
//! Arrow. Formats: German CSV ([`csv_de`]), GENESIS statistics tables ([`genesis`]), JSON and
//! NDJSON ([`json_table`]), Parquet ([`parquet_in`]), XLSX ([`xlsx`]), GeoJSON ([`geojson`],
//! reprojected with [`crs`]), service catalogues in JSON ([`service_json`]). Cells become typed
//! columns in [`typed`]. A [`SourceSpec`] names a file, its format and [`SourceOptions`],
//! licence and whether it holds personal data; [`load`] parses it, [`SnapshotStore`] writes it
//! atomically. Bad rows never vanish: they are kept in a quarantine with line (or record,
//! feature, sheet row) number and reason.

pub mod catalogue;
pub mod coordinates;
pub mod crs;
pub mod csv_de;
pub mod error;
pub mod fetch;
pub mod genesis;
pub mod geojson;
pub mod geometry;
pub mod german;
pub mod html;
pub mod http;
pub mod json_table;
pub mod law_text;
pub mod object_source;
pub mod oparl;
pub mod options;
pub mod parquet_in;
pub mod postgres_register;
pub mod provenance;
pub mod remote;
pub mod service_json;
pub mod snapshot;
pub mod source;
pub mod table;
pub mod throughput;
pub mod typed;
pub mod xlsx;
pub mod xmeld;
pub mod xzufi;

pub use error::{Error, Result};
pub use options::{ColumnType, CoordinateColumns, NestedMode, SourceOptions};
pub use provenance::{Provenance, QuarantinedRow, TableName};
pub use snapshot::{SNAPSHOT_ROW_GROUP_ROWS, Snapshot, SnapshotStore, WriteOutcome};
pub use source::{
    Configured, Connector, Format, LoadedTable, Parsed, SourceSpec, load, load_incremental,
};
