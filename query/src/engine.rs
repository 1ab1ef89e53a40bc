//! The SQL engine: one DataFusion [`SessionContext`] over all snapshots, each registered as
//! `<source>.<table>`, plus `allmende.catalog` listing their provenance. Every statement is
//! planned read-only, analyzed, checked and rewritten by the [`PrivacyPolicy`] for the caller's
//! [`Role`], run under a timeout and cut at a maximum number of rows.

use std::sync::Arc;
use std::time::Duration;

use allmende_connectors::{Snapshot, SnapshotStore};
use arrow::array::{BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::{Optimizer, OptimizerRule};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use serde::Deserialize;

use crate::federation::{NodeCatalog, NodeClient, NodeConfig, OnBehalfOf, PushAggregateToNode};
use crate::privacy::{DEFAULT_MIN_GROUP_SIZE, PrivacyPolicy, Role};
use crate::scale_out::{Cluster, ScaleOutConfig};
use crate::{Error, GuardedPlan, Result};

/// The `[query]` section of `allmende.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// Rows returned at most; longer results are cut and flagged `truncated`.
    pub max_rows: usize,
    /// Seconds after which a query is cancelled.
    pub timeout_seconds: u64,
    /// Working memory of one query (hash tables, sort buffers), in MiB. Sorts and
    /// aggregations spill to temporary files beyond it; what cannot spill (a join's build
    /// side) fails the query with [`Error::MemoryLimit`] instead of the server.
    pub memory_limit_mb: usize,
    /// Partitions a query is split into (its parallelism); 0: one per CPU core.
    pub target_partitions: usize,
    /// `[[query.nodes]]`: member nodes whose tables are queried as `<node>.<source>.<table>`
    /// (see [`crate::federation`]).
    pub nodes: Vec<NodeConfig>,
    /// Smallest number of persons behind any published aggregate of a register table; smaller
    /// groups are left out of the result (at least 2; default 5).
    pub min_group_size: usize,
    /// Extra direct identifiers of personal tables, beyond the built-in list: `column` (every
    /// personal table) or `source.table.column`. They may never appear in a query.
    pub identifier_columns: Vec<String>,
    /// The role of callers without an identity (`QueryEngine::sql`): `public` (default,
    /// no register access), `analyst` or `admin` (aggregates only).
    pub default_role: Role,
    /// `[query.scale_out]`: queries over large snapshot tables run on a Ballista cluster
    /// (see [`crate::scale_out`]; needs the `ballista` feature).
    pub scale_out: Option<ScaleOutConfig>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            timeout_seconds: 30,
            memory_limit_mb: 1024,
            target_partitions: 0,
            nodes: Vec::new(),
            min_group_size: DEFAULT_MIN_GROUP_SIZE,
            identifier_columns: Vec::new(),
            default_role: Role::Public,
            scale_out: None,
        }
    }
}

/// A finished query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Result schema.
    pub schema: SchemaRef,
    /// Result rows, at most `max_rows`.
    pub batches: Vec<RecordBatch>,
    /// True when rows beyond `max_rows` were dropped.
    pub truncated: bool,
}

impl QueryResult {
    /// Number of rows returned.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Every row as display strings (Arrow's formatting), in result order.
    pub fn display_rows(&self) -> Result<Vec<Vec<String>>> {
        display_rows(&self.batches)
    }
}

/// Every row of `batches` as display strings (Arrow's formatting), in order: for comparing
/// results across interfaces and formats.
pub fn display_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells = batch
                .columns()
                .iter()
                .map(|c| arrow::util::display::array_value_to_string(c, row))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::Internal(format!("formatting a result cell: {e}")))?;
            rows.push(cells);
        }
    }
    Ok(rows)
}

/// The engine shared by the CLI, the HTTP API and the ingest pipeline.
pub struct QueryEngine {
    ctx: SessionContext,
    policy: PrivacyPolicy,
    config: QueryConfig,
    snapshots: Vec<Snapshot>,
    /// The Ballista cluster of `[query.scale_out]`, if configured.
    cluster: Option<Cluster>,
}

impl QueryEngine {
    /// Registers every snapshot found in `store`.
    pub async fn open(store: &SnapshotStore, config: QueryConfig) -> Result<Self> {
        let snapshots = store.list()?;
        if config.memory_limit_mb == 0 {
            return Err(Error::Config(
                "query.memory_limit_mb must be at least 1".into(),
            ));
        }
        let mut session = SessionConfig::new().with_information_schema(true);
        if config.target_partitions > 0 {
            session = session.with_target_partitions(config.target_partitions);
        }
        let cluster = match &config.scale_out {
            Some(scale_out) => {
                Some(Cluster::connect(scale_out, session_state(session.clone()), &snapshots).await?)
            }
            None => None,
        };
        let ctx = SessionContext::new_with_state(session_state(session));
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| Error::Internal("default catalog missing".into()))?;
        for snap in &snapshots {
            let table = &snap.provenance.table;
            if catalog.schema(&table.source).is_none() {
                catalog.register_schema(&table.source, Arc::new(MemorySchemaProvider::new()))?;
            }
            let path = snap.path.to_string_lossy();
            ctx.register_parquet(
                table.to_string(),
                path.as_ref(),
                ParquetReadOptions::default(),
            )
            .await?;
        }
        catalog.register_schema("allmende", Arc::new(MemorySchemaProvider::new()))?;
        for node in &config.nodes {
            node.validate().map_err(Error::Config)?;
            if snapshots
                .iter()
                .any(|s| s.provenance.table.source == node.name)
            {
                return Err(Error::Config(format!(
                    "query.nodes: `{}` is also the name of a local source; name the node differently",
                    node.name
                )));
            }
            ctx.register_catalog(
                &node.name,
                Arc::new(NodeCatalog::new(NodeClient::new(node.clone()))),
            );
            tracing::info!(node = %node.name, url = %node.url, "member node registered");
        }
        ctx.register_table("allmende.catalog", Arc::new(catalog_table(&snapshots)?))?;
        let policy = PrivacyPolicy::with_settings(
            snapshots
                .iter()
                .filter(|s| s.provenance.personal)
                .map(|s| s.provenance.table.to_string()),
            config.min_group_size,
            &config.identifier_columns,
        )?;
        tracing::info!(tables = snapshots.len(), "query engine ready");
        Ok(Self {
            ctx,
            policy,
            config,
            snapshots,
            cluster,
        })
    }

    /// The snapshots this engine serves.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// How many queries ran on the Ballista cluster of `[query.scale_out]`.
    pub fn cluster_queries(&self) -> u64 {
        self.cluster.as_ref().map_or(0, Cluster::queries)
    }

    /// The privacy policy in force.
    pub fn policy(&self) -> &PrivacyPolicy {
        &self.policy
    }

    /// Plans, checks and runs one read-only statement as `query.default_role` (the role of
    /// callers without an identity; `public` unless configured).
    pub async fn sql(&self, sql: &str) -> Result<QueryResult> {
        self.sql_as(sql, self.config.default_role).await
    }

    /// Plans one read-only statement for `role` and returns the plan that would run: analyzed,
    /// checked by the privacy policy and rewritten to suppress small groups.
    pub async fn plan_as(&self, sql: &str, role: Role) -> Result<GuardedPlan> {
        self.plan_with_params_as(sql, Vec::new(), role).await
    }

    /// [`Self::plan_as`] for a statement with `$1`, `$2`, … placeholders, which take the
    /// values `params` (in order) before the policy sees the plan.
    pub async fn plan_with_params_as(
        &self,
        sql: &str,
        params: Vec<ScalarValue>,
        role: Role,
    ) -> Result<GuardedPlan> {
        let state = self.query_state(role);
        let mut plan = read_only_plan(&state, sql).await?;
        if !params.is_empty() {
            plan = plan.with_param_values(params).map_err(planning_error)?;
        }
        // Check the analyzed plan: views inlined and implicit casts made explicit, so the
        // policy sees every conversion that will run.
        let analyzed = state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {})
            .map_err(planning_error)?;
        self.policy.guard(analyzed, role)
    }

    /// Plans, checks and runs one read-only statement for `role`.
    pub async fn sql_as(&self, sql: &str, role: Role) -> Result<QueryResult> {
        self.sql_with_params_as(sql, Vec::new(), role).await
    }

    /// [`Self::sql_as`] for a statement with `$1`, `$2`, … placeholders and their values.
    pub async fn sql_with_params_as(
        &self,
        sql: &str,
        params: Vec<ScalarValue>,
        role: Role,
    ) -> Result<QueryResult> {
        let guarded = self.plan_with_params_as(sql, params, role).await?;
        let reads_personal = guarded.reads_personal.clone();
        if let Some(table) = &reads_personal {
            tracing::info!(%table, %role, "aggregate query over register data");
        }
        let state = self.run_state(&guarded.plan, role);
        let task_context = self.query_task_context(&state)?;
        let df = DataFrame::new(state, guarded.plan);
        self.run(df, task_context)
            .await
            .map_err(|e| match (e, reads_personal) {
                // DataFusion messages can quote values; none of the register's may leave.
                (Error::Execution(_), Some(table)) => Error::Execution(format!(
                    "the query over {table} failed while running (details are withheld because they could contain personal data)"
                )),
                (Error::Evaluation(_), Some(table)) => Error::Evaluation(format!(
                    "a value computed from {table} could not be evaluated (details are withheld because they could contain personal data)"
                )),
                (e, _) => e,
            })
    }

    /// The session state one query of `role` is planned and run with: the engine's, plus the
    /// caller's role for the scans of member nodes' tables (see [`crate::federation`]).
    pub(crate) fn query_state(&self, role: Role) -> SessionState {
        with_caller(self.ctx.state(), role)
    }

    /// The session state a checked `plan` of `role` runs with: the Ballista cluster's when
    /// the cluster takes it (see [`Cluster::takes`]), this node's otherwise.
    fn run_state(&self, plan: &LogicalPlan, role: Role) -> SessionState {
        match &self.cluster {
            Some(cluster) if cluster.takes(plan) => with_caller(cluster.state(), role),
            _ => self.query_state(role),
        }
    }

    /// A task context with this query's own memory pool of `memory_limit_mb` (sharing the
    /// engine's spill directory and caches), so one heavy query cannot starve the others.
    fn query_task_context(&self, state: &SessionState) -> Result<Arc<TaskContext>> {
        let base = self.ctx.runtime_env();
        let runtime = RuntimeEnvBuilder::from_runtime_env(&base)
            .with_memory_limit(self.config.memory_limit_mb * 1024 * 1024, 1.0)
            .build_arc()?;
        Ok(Arc::new(TaskContext::from(state).with_runtime(runtime)))
    }

    async fn run(&self, df: DataFrame, task_context: Arc<TaskContext>) -> Result<QueryResult> {
        let max_rows = self.config.max_rows;
        let seconds = self.config.timeout_seconds;
        let mb = self.config.memory_limit_mb;
        // Exhausting the query's own memory pool is the query's limit, not a server fault.
        let failed = move |e: DataFusionError| match e.find_root() {
            DataFusionError::ResourcesExhausted(_) => {
                tracing::info!(limit_mb = mb, "query over its memory limit");
                Error::MemoryLimit { mb }
            }
            _ => Error::from(e),
        };
        let run = async move {
            let plan = df.create_physical_plan().await.map_err(failed)?;
            let mut stream = execute_stream(plan, task_context).map_err(failed)?;
            let mut batches = Vec::new();
            let mut rows = 0usize;
            let mut truncated = false;
            let schema = stream.schema();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(failed)?;
                if rows + batch.num_rows() > max_rows {
                    batches.push(batch.slice(0, max_rows - rows));
                    truncated = true;
                    break;
                }
                rows += batch.num_rows();
                batches.push(batch);
            }
            Ok::<_, Error>(QueryResult {
                schema,
                batches,
                truncated,
            })
        };
        tokio::time::timeout(Duration::from_secs(seconds), run)
            .await
            .map_err(|_| Error::Timeout { seconds })?
    }
}

/// `state` for a query of a caller with `role`: the role goes into its config, where the scans
/// of member nodes' tables find it ([`crate::federation::caller_role`]).
fn with_caller(mut state: SessionState, role: Role) -> SessionState {
    state.config_mut().set_extension(Arc::new(OnBehalfOf(role)));
    state
}

/// DataFusion's default session with `config`, whose optimizer first sends aggregates over a
/// member node's table to that node ([`PushAggregateToNode`]), before other rules reshape them.
fn session_state(config: SessionConfig) -> SessionState {
    let mut rules: Vec<Arc<dyn OptimizerRule + Send + Sync>> = vec![Arc::new(PushAggregateToNode)];
    rules.extend(Optimizer::new().rules);
    SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_optimizer_rules(rules)
        .build()
}

/// The logical plan of `sql` in `state`, refused unless it is one read-only query.
pub(crate) async fn read_only_plan(state: &SessionState, sql: &str) -> Result<LogicalPlan> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let plan = state
        .create_logical_plan(sql)
        .await
        .map_err(planning_error)?;
    options.verify_plan(&plan).map_err(planning_error)?;
    Ok(plan)
}

/// Maps a planning failure: writes are [`Error::NotReadOnly`], the rest user errors.
pub(crate) fn planning_error(e: datafusion::error::DataFusionError) -> Error {
    // SQLOptions::verify_plan reports "DDL not supported: …" (and DML/Statement).
    let message = e.find_root().to_string();
    let refused = [
        "DDL not supported",
        "DML not supported",
        "Statement not supported",
    ];
    if refused.iter().any(|r| message.contains(r)) {
        Error::NotReadOnly(message)
    } else {
        Error::from(e)
    }
}

/// `allmende.catalog`: one row per table with its provenance.
fn catalog_table(snapshots: &[Snapshot]) -> Result<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("origin", DataType::Utf8, false),
        Field::new("licence", DataType::Utf8, false),
        Field::new("attribution", DataType::Utf8, false),
        Field::new("retrieved_at", DataType::Utf8, false),
        Field::new("sha256", DataType::Utf8, false),
        Field::new("row_count", DataType::UInt64, false),
        Field::new("rows_quarantined", DataType::UInt64, false),
        Field::new("personal", DataType::Boolean, false),
    ]));
    let p: Vec<_> = snapshots.iter().map(|s| &s.provenance).collect();
    let text = |f: fn(&allmende_connectors::Provenance) -> &str| {
        Arc::new(StringArray::from(
            p.iter().map(|x| f(x)).collect::<Vec<_>>(),
        )) as _
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            text(|x| &x.table.source),
            text(|x| &x.table.table),
            text(|x| &x.origin),
            text(|x| &x.licence),
            text(|x| &x.attribution),
            text(|x| &x.retrieved_at),
            text(|x| &x.sha256),
            Arc::new(UInt64Array::from(
                p.iter().map(|x| x.rows_loaded as u64).collect::<Vec<_>>(),
            )),
            Arc::new(UInt64Array::from(
                p.iter()
                    .map(|x| x.rows_quarantined as u64)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                p.iter().map(|x| x.personal).collect::<Vec<_>>(),
            )),
        ],
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    MemTable::try_new(schema, vec![vec![batch]]).map_err(Error::from)
}
