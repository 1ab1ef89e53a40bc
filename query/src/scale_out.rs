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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use allmende_connectors::Snapshot;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use serde::Deserialize;

use crate::privacy::qualified_name;
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

/// A connected Ballista cluster, and which queries it takes.
pub struct Cluster {
    #[cfg(feature = "ballista")]
    ctx: datafusion::prelude::SessionContext,
    min_bytes: u64,
    scheduler: String,
    /// Parquet bytes of each snapshot table, `source.table`.
    table_bytes: HashMap<String, u64>,
    /// Queries it has taken so far.
    queries: AtomicU64,
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
    /// Starts (standalone) or connects to the cluster of `config` for queries over
    /// `snapshots`; queries sent there are planned with `state`'s configuration and optimizer
    /// rules.
    pub async fn connect(
        config: &ScaleOutConfig,
        state: SessionState,
        snapshots: &[Snapshot],
    ) -> Result<Self> {
        #[cfg(not(feature = "ballista"))]
        {
            let _ = (state, snapshots);
            Err(Error::Config(format!(
                "query.scale_out (scheduler `{}`): this build has no Ballista support; build with `--features ballista`",
                config.scheduler
            )))
        }
        #[cfg(feature = "ballista")]
        {
            let ctx = ballista_context(config, state).await?;
            tracing::info!(scheduler = %config.scheduler, min_bytes = config.min_bytes, "Ballista cluster ready");
            let table_bytes = snapshots
                .iter()
                .map(|s| {
                    let bytes = std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0);
                    (s.provenance.table.to_string(), bytes)
                })
                .collect();
            Ok(Self {
                ctx,
                min_bytes: config.min_bytes,
                scheduler: config.scheduler.clone(),
                table_bytes,
                queries: AtomicU64::new(0),
            })
        }
    }

    /// Whether the checked `plan` runs here: it reads only snapshot tables, with at least
    /// `min_bytes` of Parquet among them. Counts and logs the queries it takes.
    pub fn takes(&self, plan: &LogicalPlan) -> bool {
        match self.snapshot_bytes_read(plan) {
            Some(bytes) if bytes >= self.min_bytes => {
                tracing::info!(
                    bytes,
                    scheduler = %self.scheduler,
                    "query runs on the Ballista cluster"
                );
                self.queries.fetch_add(1, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// How many queries it has taken.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// The Parquet bytes of the snapshot tables `plan` reads; `None` when it reads anything
    /// else (the catalog, `information_schema`, a member node's table).
    fn snapshot_bytes_read(&self, plan: &LogicalPlan) -> Option<u64> {
        let mut total = Some(0u64);
        // The closure never fails, so neither does the walk.
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                match self.table_bytes.get(&qualified_name(&scan.table_name)) {
                    // Member nodes' tables never match: their names keep the node.
                    Some(bytes) => total = total.map(|t| t + bytes),
                    None => {
                        total = None;
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        total
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
