//! Scale-out on Ballista (`--features ballista`): a standalone cluster (scheduler and executor
//! in this process) runs TPC-H Q1 — the text of `benches/tpch_queries/q01.sql` — over a
//! TPC-H-shaped `lineitem` snapshot and gives the rows this node gives; register queries sent
//! there are checked and suppressed by the privacy policy exactly as locally; tables that are
//! not snapshots stay on this node.
#![cfg(feature = "ballista")]

use allmende_connectors::{Format, SnapshotStore, SourceSpec, load};
use allmende_datasets::musterstadt;
use allmende_query::{Error, QueryConfig, QueryEngine, Role, ScaleOutConfig};
use datafusion::prelude::SessionContext;

/// 60,000 line items (TPC-H scale 0.01) with Q1's columns in their TPC-H types: decimal
/// quantities and prices, flags, ship dates from 1992-01-02 over 2,526 days. Deterministic.
const LINEITEM: &str = "SELECT \
       CAST(q AS DECIMAL(15,2)) AS l_quantity, \
       CAST(q * (900 + (v * 104729) % 110000 / 100.0) AS DECIMAL(15,2)) AS l_extendedprice, \
       CAST((v * 31) % 11 / 100.0 AS DECIMAL(15,2)) AS l_discount, \
       CAST((v * 17) % 9 / 100.0 AS DECIMAL(15,2)) AS l_tax, \
       CASE WHEN d < 9298 THEN (CASE WHEN v % 2 = 0 THEN 'R' ELSE 'A' END) ELSE 'N' END AS l_returnflag, \
       CASE WHEN d > 9298 THEN 'O' ELSE 'F' END AS l_linestatus, \
       arrow_cast(d, 'Date32') AS l_shipdate \
     FROM (SELECT value AS v, 1 + (value * 7919) % 50 AS q, \
                  CAST(8036 + (value * 2654435761) % 2526 AS INT) AS d \
           FROM generate_series(1, 60000))";

async fn store() -> (tempfile::TempDir, SnapshotStore) {
    let dir = tempfile::tempdir().unwrap();
    let lineitem = dir.path().join("lineitem.parquet");
    let writer = SessionContext::new();
    writer
        .sql(&format!(
            "COPY ({LINEITEM}) TO '{}' STORED AS PARQUET",
            lineitem.display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let files = musterstadt::write_to(&dir.path().join("musterstadt"), 1).unwrap();
    let store = SnapshotStore::new(dir.path().join("snapshots"));
    for (source, table, format, path, personal) in [
        ("tpch", "lineitem", Format::Parquet, lineitem, false),
        (
            "musterstadt",
            "melderegister",
            Format::Csv,
            files.register,
            true,
        ),
    ] {
        let spec = SourceSpec {
            personal,
            ..SourceSpec::open_data(source, table, format, path, "CC0-1.0", "test")
        };
        store.write(&load(&spec).unwrap()).unwrap();
    }
    (dir, store)
}

fn analyst(scale_out: Option<ScaleOutConfig>) -> QueryConfig {
    QueryConfig {
        default_role: Role::Analyst,
        scale_out,
        ..QueryConfig::default()
    }
}

/// TPC-H Q1 as the benchmark runs it: `lineitem` is `tpch.lineitem` here.
fn q1() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/tpch_queries/q01.sql"
    ))
    .unwrap();
    let sql: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    sql.replace("    lineitem\n", "    tpch.lineitem\n")
        .trim()
        .trim_end_matches(';')
        .to_string()
}

async fn rows(engine: &QueryEngine, sql: &str) -> Vec<Vec<String>> {
    engine
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .display_rows()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_q1_and_register_aggregates_run_on_a_standalone_cluster() {
    let (_dir, store) = store().await;
    let local = QueryEngine::open(&store, analyst(None)).await.unwrap();
    let cluster = QueryEngine::open(
        &store,
        analyst(Some(ScaleOutConfig {
            scheduler: "standalone".into(),
            min_bytes: 0,
            standalone_parallelism: 2,
        })),
    )
    .await
    .expect("a standalone Ballista cluster");

    // TPC-H Q1: the same groups and the same exact (decimal) sums as on this node.
    let q1 = q1();
    assert!(q1.contains("FROM\n    tpch.lineitem"), "{q1}");
    let expected = rows(&local, &q1).await;
    assert_eq!(expected.len(), 4, "R/F, A/F, N/F and N/O: {expected:?}");
    assert_eq!(rows(&cluster, &q1).await, expected);
    assert_eq!(cluster.cluster_queries(), 1);
    // EXPLAIN shows the stages the scheduler made, with the shuffle between them.
    let plan = rows(&cluster, &format!("EXPLAIN {q1}"))
        .await
        .concat()
        .join("\n");
    assert!(
        plan.contains("distributed_plan") && plan.contains("ShuffleWriterExec"),
        "{plan}"
    );
    assert_eq!(cluster.cluster_queries(), 2);

    // The register: the policy's checked, suppressed plan is what the cluster runs.
    let by_district =
        "SELECT stadtbezirk, count(*) AS n FROM musterstadt.melderegister GROUP BY 1 ORDER BY 1";
    assert_eq!(
        rows(&cluster, by_district).await,
        rows(&local, by_district).await
    );
    let fine = "SELECT stadtbezirk, geschlecht, staatsangehoerigkeit, count(*) AS n \
                FROM musterstadt.melderegister GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    let published = rows(&cluster, fine).await;
    assert_eq!(published, rows(&local, fine).await);
    assert!(published.iter().all(|r| r[3].parse::<u64>().unwrap() >= 5));
    assert_eq!(cluster.cluster_queries(), 4);
    assert!(matches!(
        cluster
            .sql("SELECT familienname FROM musterstadt.melderegister")
            .await,
        Err(Error::PersonalData { .. })
    ));
    assert!(matches!(
        cluster
            .sql_as(
                "SELECT count(*) FROM musterstadt.melderegister",
                Role::Public
            )
            .await,
        Err(Error::PersonalData { .. })
    ));

    // What is not a snapshot stays here.
    let tables = rows(&cluster, "SELECT count(*) FROM allmende.catalog").await;
    assert_eq!(tables, vec![vec!["2".to_string()]]);
    assert_eq!(cluster.cluster_queries(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_tables_stay_on_this_node_and_bad_schedulers_are_named() {
    let (_dir, store) = store().await;
    let engine = QueryEngine::open(
        &store,
        analyst(Some(ScaleOutConfig {
            scheduler: "standalone".into(),
            min_bytes: 1 << 40,
            standalone_parallelism: 1,
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        rows(&engine, "SELECT count(*) FROM tpch.lineitem").await,
        vec![vec!["60000".to_string()]]
    );
    assert_eq!(engine.cluster_queries(), 0);

    let error = QueryEngine::open(
        &store,
        analyst(Some(ScaleOutConfig {
            scheduler: "spark://somewhere".into(),
            min_bytes: 0,
            standalone_parallelism: 0,
        })),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(&error, Error::Config(m) if m.contains("spark://somewhere")),
        "{error}"
    );
}
