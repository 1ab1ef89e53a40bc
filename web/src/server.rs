//! `allmende serve`: bind, serve the router, shut down gracefully on Ctrl-C / SIGTERM.

use anyhow::Context;

use crate::config::Config;
use crate::routes::router;
use crate::state::AppState;

/// Serves until a shutdown signal arrives.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.server.bind.clone();
    let state = AppState::open(config).await?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving; open http://{}/ for the widget", listener.local_addr()?);
    // Connection info gives the limits the client's address (see `crate::limits`).
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("shut down");
    Ok(())
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
