//! Arrow Flight SQL listener (`[flight]`): the same engine, privacy policy and roles as
//! `POST /api/sql`, for ADBC/JDBC clients.
//!
//! * [`service`]: the Flight SQL methods (statements, prepared statements, `GetSqlInfo`).
//! * [`catalog`]: `GetCatalogs` / `GetDbSchemas` / `GetTables` / `GetTableTypes`.
//! * [`caller`]: the caller's role from the `authorization` metadata of every call, and the
//!   handshake (`Bearer <token>`, or `Basic` with the token as password).
//! * [`ticket`]: tickets and prepared-statement handles (they carry the SQL; no server state).
//! * [`errors`]: failures and their gRPC status codes.
//!
//! The listener is plaintext gRPC (HTTP/2). Like the HTTP server it is meant to sit behind a
//! TLS-terminating proxy, or to listen on a private network only.

pub mod base64;
pub mod caller;
pub mod catalog;
pub mod errors;
pub mod service;
pub mod sql_info;
pub mod ticket;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use arrow_flight::flight_service_server::FlightServiceServer;
use serde::Deserialize;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

pub use errors::FlightSqlError;
pub use service::AllmendeFlightSql;

use crate::state::SharedState;

/// `[flight]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlightConfig {
    /// Listen address of the Flight SQL server; empty: not started.
    pub bind: String,
}

impl FlightConfig {
    /// True when `bind` names an address, i.e. the listener is to be started.
    pub fn enabled(&self) -> bool {
        !self.bind.trim().is_empty()
    }
}

/// Serves Flight SQL from `state` on an already bound `listener` (tests bind port 0) until
/// `shutdown` completes; calls in flight are finished first.
pub async fn serve_flight_on(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    tracing::info!(%address, "serving Arrow Flight SQL on grpc://{address}");
    let service = FlightServiceServer::new(AllmendeFlightSql::new(state));
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
        .context("the Flight SQL listener failed")?;
    tracing::info!("Flight SQL listener shut down");
    Ok(())
}
