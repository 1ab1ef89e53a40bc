//! Federation: other member nodes' tables, queried as if they were local.
//!
//! Each `[[query.nodes]]` entry (name, Flight SQL URL, token) becomes a DataFusion catalog of
//! that name: `SELECT … FROM koeln.musterstadt.bevoelkerung` reads the table
//! `musterstadt.bevoelkerung` of node `koeln`, and may be joined with local tables.
//!
//! * [`client`]: the Flight SQL connection to one node (table schemas, queries).
//! * [`catalog`]: the node as a catalog; its tables are looked up on the node (Flight SQL
//!   `GetTables`) when a query names them, so a node that is down fails only the queries that
//!   use it.
//! * [`table`]: a remote table; projections, filters and limits are pushed into the SQL sent to
//!   the node, which [`scan`] shows in `EXPLAIN`.
//! * [`pushdown`]: an optimizer rule that sends a whole aggregate over one remote table
//!   (`GROUP BY`, `count`/`sum`/`avg`…, its filters) to the node, read back through
//!   [`aggregate`]; only the groups cross the network.
//! * [`scan`]: the execution plan node that runs the remote SQL and streams its batches.
//!
//! Privacy is enforced where the data lives: the remote node applies its own policy, so
//! register rows never leave it. Row-level reads of a remote register are refused there;
//! aggregates over it are pushed down whole and answered with the node's small-group
//! suppression. The node runs each query under the weaker of two roles: the one of the token
//! configured here, and the role of the caller on this node ([`OnBehalfOf`], sent as the
//! [`ON_BEHALF_OF`] metadata), so a public caller here stays public there.

pub mod aggregate;
pub mod catalog;
pub mod client;
pub mod pushdown;
pub mod scan;
pub mod table;

use datafusion::catalog::Session;
use serde::Deserialize;

pub use catalog::NodeCatalog;
pub use client::{NodeClient, RemoteError};
pub use pushdown::PushAggregateToNode;

use crate::Role;

/// The Flight SQL metadata key naming the role of the caller a federated query runs for. The
/// receiving node never raises a role with it: it runs the query under the weaker of this and
/// its own role for the token.
pub const ON_BEHALF_OF: &str = "x-allmende-on-behalf-of";

/// The role of the caller one query runs for, kept in that query's session config so remote
/// scans can forward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnBehalfOf(pub Role);

/// The caller's role of the query `session` plans: [`Role::Public`] when none was set, so a
/// session without a caller never reads more than the public may.
pub fn caller_role(session: &dyn Session) -> Role {
    session
        .config()
        .get_extension::<OnBehalfOf>()
        .map(|caller| caller.0)
        .unwrap_or(Role::Public)
}

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
