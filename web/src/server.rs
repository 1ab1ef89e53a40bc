//! `allmende serve`: bind, serve the router (and, with `[flight] bind` / `[pgwire] bind`, the
//! Arrow Flight SQL and PostgreSQL listeners beside it), shut down gracefully on Ctrl-C /
//! SIGTERM.

use anyhow::Context;

use crate::config::Config;
use crate::routes::router;
use crate::state::AppState;

/// Serves until a shutdown signal arrives.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.server.bind.clone();
    let state = AppState::open(config).await?;
    let listener = bind_listener(&bind, "the HTTP server").await?;
    tracing::info!(address = %listener.local_addr()?, "serving; open http://{}/ for the widget", listener.local_addr()?);
    // One signal stops every listener; each finishes the calls in flight.
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let stopped = |stop: &tokio::sync::broadcast::Sender<()>| {
        let mut rx = stop.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    // The SQL listeners beside HTTP (Flight SQL, PostgreSQL), each on its own task.
    let mut side_listeners = Vec::new();
    if state.config.flight.enabled() {
        let (bind, state, shutdown) = (
            state.config.flight.bind.clone(),
            state.clone(),
            stopped(&stop),
        );
        side_listeners.push(tokio::spawn(async move {
            let listener = bind_listener(&bind, "the Flight SQL listener").await?;
            crate::flight::serve_flight_on(state, listener, shutdown).await
        }));
    }
    if state.config.pgwire.enabled() {
        let (bind, state, shutdown) = (
            state.config.pgwire.bind.clone(),
            state.clone(),
            stopped(&stop),
        );
        side_listeners.push(tokio::spawn(async move {
            let listener = bind_listener(&bind, "the PostgreSQL listener").await?;
            crate::pgwire::serve_pgwire_on(state, listener, shutdown).await
        }));
    }
    let http_shutdown = stopped(&stop);
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(());
    });
    // Connection info gives the limits the client's address (see `crate::limits`).
    let http = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(http_shutdown);
    // Any listener failing (e.g. its port is taken) ends the server.
    let side = futures::future::try_join_all(
        side_listeners
            .into_iter()
            .map(|task| async { task.await.context("a SQL listener panicked")? }),
    );
    let result =
        tokio::try_join!(async { http.await.context("the HTTP server failed") }, side).map(|_| ());
    signal.abort();
    result?;
    tracing::info!("shut down");
    Ok(())
}

/// Binds `bind` for `what` (named in the error, e.g. when the port is taken).
async fn bind_listener(bind: &str, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let bind = bind.trim();
    tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {what} to {bind}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
