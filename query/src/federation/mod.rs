//! Federation: other member nodes' tables, queried as if they were local.
//!
//! Each `[[query.nodes]]` entry (name, Flight SQL URL, token) becomes a DataFusion catalog of
//! that name: `SELECT … FROM koeln.musterstadt.bevoelkerung` reads the table
//! `musterstadt.bevoelkerung` of node `koeln`, and may be joined with local tables.
//!
//! * [`client`]: the Flight SQL connection to one node (schema lookups, queries).
//! * [`catalog`]: the node as a catalog; its tables are looked up on the node when a query
//!   names them, so a node that is down fails only the queries that use it.
//! * [`table`]: a remote table; projections, filters and limits are pushed into the SQL sent to
//!   the node, which [`scan`] shows in `EXPLAIN`.
//! * [`scan`]: the execution plan node that runs the remote SQL and streams its batches.
//!
//! Privacy is enforced where the data lives: the remote node applies its own policy to the
//! role of the token configured here, so register rows never leave it. Only row-level scans
//! are sent, which the remote policy refuses for register tables; aggregates over a remote
//! register are therefore refused too (aggregate pushdown is future work).

pub mod catalog;
pub mod client;
pub mod scan;
pub mod table;

use serde::Deserialize;

pub use catalog::NodeCatalog;
pub use client::{NodeClient, RemoteError};

/// One `[[query.nodes]]` entry: a member node whose tables this node may query.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The catalog name its tables appear under (`<name>.<source>.<table>`): lower-case
    /// letters, digits and `_`, not `datafusion` or `allmende`.
    pub name: String,
    /// Its Flight SQL endpoint, e.g. `grpc://10.0.0.12:50051` (or `http://…`).
    pub url: String,
    /// The bearer token this node presents there; its role on that node decides what may be
    /// read. Empty: anonymous (the remote's default role).
    #[serde(default)]
    pub token: String,
}

impl NodeConfig {
    /// Checks the name and URL.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !["datafusion", "allmende"].contains(&self.name.as_str());
        if !name_ok {
            return Err(format!(
                "query.nodes: `{}` is not a valid node name (lower-case letters, digits and _, not datafusion/allmende)",
                self.name
            ));
        }
        client::endpoint_uri(&self.url)
            .map(|_| ())
            .map_err(|e| format!("query.nodes `{}`: {e}", self.name))
    }
}
