//! Connectors: read open data and register data into Arrow tables and persist them as Parquet
//! snapshots with provenance.
//!
//! This is the only crate that reads data from the outside world; everything downstream reads
//! Arrow. Formats: German CSV ([`csv_de`]), service catalogues in JSON ([`service_json`]).
//! A [`SourceSpec`] names a file, its format, licence and whether it holds personal data;
//! [`load`] parses it, [`SnapshotStore`] writes it atomically. Bad rows never vanish: they
//! are kept in a quarantine with line number and reason.

pub mod csv_de;
pub mod error;
pub mod german;
pub mod html;
pub mod provenance;
pub mod service_json;
pub mod snapshot;
pub mod source;
pub mod table;

pub use error::{Error, Result};
pub use provenance::{Provenance, QuarantinedRow, TableName};
pub use snapshot::{Snapshot, SnapshotStore, WriteOutcome};
pub use source::{Connector, Format, LoadedTable, Parsed, SourceSpec, load};
