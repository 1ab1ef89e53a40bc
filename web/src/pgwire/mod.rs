//! PostgreSQL wire-protocol listener (`[pgwire]`): the same engine, privacy policy, limits and
//! `[auth]` tokens as `POST /api/sql` and Flight SQL, for `psql` and PostgreSQL drivers.
//!
//! * [`login`]: the startup phase. User `anonymous` connects without a password and runs as
//!   `query.default_role`; any other user name must give an Allmende token as its password.
//! * [`handler`]: the simple-query protocol (what `psql` speaks): one or more read-only
//!   statements per message, transaction and `SET` commands accepted as no-ops.
//! * [`extended`]: the extended-query protocol of drivers (Parse/Bind/Describe/Execute):
//!   prepared statements with `$n` parameters in text or binary, results in text or binary.
//! * [`encode`]: Arrow results as PostgreSQL rows (text, or binary where asked).
//! * [`errors`]: engine errors as SQLSTATE codes, server-side details never sent.
//!
//! Like the Flight SQL listener this one is plaintext (TLS requests are declined, clients fall
//! back): put it behind a TLS proxy or on a private network, since the password carries a
//! token.

pub mod encode;
pub mod errors;
pub mod extended;
pub mod handler;
pub mod login;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pgwire::api::PgWireServerHandlers;
use pgwire::api::auth::StartupHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::state::SharedState;

/// How long open sessions may finish their statement after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// `[pgwire]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgWireConfig {
    /// Listen address of the PostgreSQL wire-protocol server; empty: not started.
    pub bind: String,
}

impl PgWireConfig {
    /// True when `bind` names an address, i.e. the listener is to be started.
    pub fn enabled(&self) -> bool {
        !self.bind.trim().is_empty()
    }
}

/// The handlers of every connection: login, simple and extended queries over one shared state.
struct Handlers {
    login: Arc<login::TokenLogin>,
    queries: Arc<handler::SqlHandler>,
    prepared: Arc<extended::ExtendedHandler>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.queries.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.prepared.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.login.clone()
    }
}

/// Serves the PostgreSQL protocol on an already bound `listener` (tests bind port 0) until
/// `shutdown` completes; sessions then get [`SHUTDOWN_GRACE`] to finish their statement.
pub async fn serve_pgwire_on(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving the PostgreSQL protocol on postgres://{address}");
    let handlers = Arc::new(Handlers {
        login: Arc::new(login::TokenLogin::new(state.clone())),
        queries: Arc::new(handler::SqlHandler::new(state.clone())),
        prepared: Arc::new(extended::ExtendedHandler::new(state)),
    });
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: keep serving the others.
                        tracing::warn!(%error, "pgwire: accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let handlers = handlers.clone();
                sessions.spawn(async move {
                    if let Err(error) = pgwire::tokio::process_socket(socket, None, handlers).await {
                        tracing::debug!(%peer, %error, "pgwire: session ended with an error");
                    }
                });
            }
            // Reap finished sessions so the set does not grow with every connection.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    let open = sessions.len();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(open, "pgwire: closing idle sessions at shutdown");
        sessions.shutdown().await;
    }
    tracing::info!("PostgreSQL listener shut down");
    Ok(())
}
