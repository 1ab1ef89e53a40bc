//! Scale-out: queries over large snapshot tables run on an Apache DataFusion Ballista cluster.
//!
//! One node's DataFusion uses the cores and memory of one machine. When a member's tables
//! outgrow that (hundreds of millions of rows, joins whose build side does not fit the query's
//! memory pool), `[query.scale_out]` hands those queries to Ballista: a scheduler splits the
//! plan into stages and executors run the tasks, exchanging shuffle files.
//!
//! * `scheduler = "standalone"` starts a scheduler and one executor inside this process (for
//!   trying it out, and for machines with many cores where Ballista's stage scheduling and
//!   spilling shuffle help); `scheduler = "df://host:50050"` uses a cluster started with
//!   `ballista-scheduler` / `ballista-executor`. Executors read the snapshot files by their
//!   path, so on a real cluster the data directory must be shared storage mounted at the same
//!   path on every executor.
//! * Only queries that read snapshot tables alone, with at least `min_bytes` of Parquet in
//!   total, go to the cluster; everything else (small tables, `allmende.catalog`,
//!   `information_schema`, member nodes' tables) stays on this node, where it is faster.
//! * Privacy does not depend on where a query runs: the plan sent to the cluster is the one
//!   the [`crate::PrivacyPolicy`] checked and rewrote (aggregate-only, small-group suppression).
//!
//! Ballista's crates are slow to build, so this is a cargo feature (`allmende-query/ballista`,
//! or `allmende-web/ballista` for the `allmende` binary); without it `[query.scale_out]` is a
//! configuration error that says so.

use datafusion::execution::session_state::SessionState;
use serde::Deserialize;

use crate::{Error, Result};

/// `[query.scale_out]`: when and where queries run on a Ballista cluster.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScaleOutConfig {
    /// `standalone` (a scheduler and an executor in this process) or the scheduler's URL,
    /// `df://host:50050`.
    pub scheduler: String,
    /// Queries whose snapshot tables hold at least this many bytes of Parquet run on the
    /// cluster (0: every query that reads only snapshot tables).
    #[serde(default = "default_min_bytes")]
    pub min_bytes: u64,
    /// Standalone only: tasks the in-process executor runs at once (0: one per core).
    #[serde(default)]
    pub standalone_parallelism: usize,
}

/// 1 GiB of Parquet: below that one node answers faster than a cluster can schedule.
fn default_min_bytes() -> u64 {
    1 << 30
}

/// A connected Ballista cluster.
pub struct Cluster {
    #[cfg(feature = "ballista")]
    ctx: datafusion::prelude::SessionContext,
    min_bytes: u64,
    scheduler: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("scheduler", &self.scheduler)
            .field("min_bytes", &self.min_bytes)
            .finish()
    }
}

impl Cluster {
    /// Starts (standalone) or connects to the cluster of `config`; queries sent there are
    /// planned with `state`'s configuration and optimizer rules.
    pub async fn connect(config: &ScaleOutConfig, state: SessionState) -> Result<Self> {
        #[cfg(not(feature = "ballista"))]
        {
            let _ = state;
            Err(Error::Config(format!(
                "query.scale_out (scheduler `{}`): this build has no Ballista support; build with `--features ballista`",
                config.scheduler
            )))
        }
        #[cfg(feature = "ballista")]
        {
            let ctx = ballista_context(config, state).await?;
            tracing::info!(scheduler = %config.scheduler, min_bytes = config.min_bytes, "Ballista cluster ready");
            Ok(Self {
                ctx,
                min_bytes: config.min_bytes,
                scheduler: config.scheduler.clone(),
            })
        }
    }

    /// Whether a query over `bytes` of snapshot Parquet should run here.
    pub fn takes(&self, bytes: u64) -> bool {
        bytes >= self.min_bytes
    }

    /// The scheduler, as configured.
    pub fn scheduler(&self) -> &str {
        &self.scheduler
    }

    /// A session whose physical plans run on the cluster.
    pub fn state(&self) -> SessionState {
        #[cfg(feature = "ballista")]
        {
            self.ctx.state()
        }
        #[cfg(not(feature = "ballista"))]
        {
            unreachable!("a Cluster exists only in builds with the ballista feature")
        }
    }
}

#[cfg(feature = "ballista")]
async fn ballista_context(
    config: &ScaleOutConfig,
    state: SessionState,
) -> Result<datafusion::prelude::SessionContext> {
    use ballista::prelude::{SessionConfigExt, SessionContextExt};
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    let mut session = state.config().clone().upgrade_for_ballista();
    if config.standalone_parallelism > 0 {
        session = session.with_ballista_standalone_parallelism(config.standalone_parallelism);
    }
    let state = SessionStateBuilder::new_from_existing(state)
        .with_config(session)
        .build();
    let failed = |e: datafusion::error::DataFusionError| {
        Error::Config(format!(
            "query.scale_out: Ballista scheduler `{}` could not be started or reached: {e}",
            config.scheduler
        ))
    };
    match config.scheduler.trim() {
        "standalone" => SessionContext::standalone_with_state(state)
            .await
            .map_err(failed),
        url if url.starts_with("df://") => SessionContext::remote_with_state(url, state)
            .await
            .map_err(failed),
        other => Err(Error::Config(format!(
            "query.scale_out.scheduler `{other}` is neither `standalone` nor a `df://host:port` URL"
        ))),
    }
}
