//! The engine over real snapshots of the generated Musterstadt: SQL answers, row limits,
//! read-only planning and the privacy gate.

use allmende_connectors::{Format, SnapshotStore, SourceSpec, load};
use allmende_query::{Error, QueryConfig, QueryEngine, Role, Violation};
use arrow::array::{Array, Int64Array, StringArray};

async fn engine(config: QueryConfig) -> (tempfile::TempDir, QueryEngine) {
    let dir = tempfile::tempdir().unwrap();
    let files = allmende_datasets::musterstadt::write_to(&dir.path().join("src"), 1).unwrap();
    let store = SnapshotStore::new(dir.path().join("snapshots"));
    for (table, format, path, personal) in [
        ("bevoelkerung", Format::Csv, files.population, false),
        ("melderegister", Format::Csv, files.register, true),
        (
            "leistungen",
            Format::MusterstadtServices,
            files.services,
            false,
        ),
    ] {
        let spec = SourceSpec {
            personal,
            ..SourceSpec::open_data("musterstadt", table, format, path, "CC0-1.0", "test")
        };
        store.write(&load(&spec).unwrap()).unwrap();
    }
    let engine = QueryEngine::open(&store, config).await.unwrap();
    (dir, engine)
}

#[tokio::test]
async fn aggregates_over_open_data() {
    let (_dir, engine) = engine(QueryConfig::default()).await;
    let result = engine
        .sql("SELECT sum(einwohner_insgesamt) AS total FROM musterstadt.bevoelkerung WHERE jahr = 2025")
        .await
        .unwrap();
    let total = result.batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    let expected: u32 = allmende_datasets::musterstadt::population(1)
        .iter()
        .filter(|r| r.year == 2025)
        .map(|r| r.total)
        .sum();
    assert_eq!(total, i64::from(expected));
}

#[tokio::test]
async fn prepared_statements_take_typed_parameters_under_the_same_policy() {
    use datafusion::common::ScalarValue;
    let (_dir, engine) = engine(QueryConfig {
        default_role: Role::Analyst,
        ..QueryConfig::default()
    })
    .await;
    let sql = "SELECT stadtbezirk, einwohner_insgesamt FROM musterstadt.bevoelkerung \
               WHERE jahr = $1 AND stadtbezirk <> $2 ORDER BY stadtbezirk";
    let shape = engine.prepare(sql).await.unwrap();
    assert_eq!(shape.parameters.len(), 2);
    assert_eq!(shape.parameters[0], Some(arrow::datatypes::DataType::Int64));
    assert!(shape.parameters[1].is_some());
    let names: Vec<_> = shape
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["stadtbezirk", "einwohner_insgesamt"]);

    let with_values = engine
        .sql_with_params_as(
            sql,
            vec![
                ScalarValue::Int64(Some(2025)),
                ScalarValue::from("Altstadt"),
            ],
            Role::Analyst,
        )
        .await
        .unwrap();
    let written_out = engine
        .sql(
            "SELECT stadtbezirk, einwohner_insgesamt FROM musterstadt.bevoelkerung \
              WHERE jahr = 2025 AND stadtbezirk <> 'Altstadt' ORDER BY stadtbezirk",
        )
        .await
        .unwrap();
    assert!(with_values.num_rows() > 0);
    assert_eq!(
        with_values.display_rows().unwrap(),
        written_out.display_rows().unwrap()
    );

    // The policy sees the values: an identifier stays an identifier, a public caller stays out.
    let by_name = "SELECT count(*) FROM musterstadt.melderegister WHERE familienname = $1";
    engine
        .prepare(by_name)
        .await
        .expect("planning alone reads nothing");
    assert!(matches!(
        engine
            .sql_with_params_as(
                by_name,
                vec![ScalarValue::from("Mustermann")],
                Role::Analyst
            )
            .await,
        Err(Error::PersonalData {
            reason: Violation::Identifier { .. },
            ..
        })
    ));
    assert!(matches!(
        engine
            .sql_with_params_as(
                "SELECT count(*) FROM musterstadt.melderegister WHERE stadtbezirk = $1",
                vec![ScalarValue::from("Altstadt")],
                Role::Public
            )
            .await,
        Err(Error::PersonalData { .. })
    ));
    // Writes cannot be prepared; a missing value is the caller's error.
    assert!(matches!(
        engine.prepare("DROP TABLE musterstadt.bevoelkerung").await,
        Err(Error::NotReadOnly(_))
    ));
    let missing = engine
        .sql_with_params_as(sql, vec![ScalarValue::Int64(Some(2025))], Role::Analyst)
        .await
        .unwrap_err();
    assert!(missing.is_user_error(), "{missing}");
}

#[tokio::test]
async fn catalog_lists_provenance_and_the_personal_flag() {
    let (_dir, engine) = engine(QueryConfig::default()).await;
    let result = engine
        .sql("SELECT table_name, personal, row_count FROM allmende.catalog ORDER BY table_name")
        .await
        .unwrap();
    let b = &result.batches[0];
    let names = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(
        (0..names.len()).map(|i| names.value(i)).collect::<Vec<_>>(),
        ["bevoelkerung", "leistungen", "melderegister"]
    );
    assert!(engine.policy().is_personal("musterstadt.melderegister"));
    assert!(!engine.policy().is_personal("musterstadt.bevoelkerung"));
}

#[tokio::test]
async fn row_limit_truncates_and_says_so() {
    let (_dir, engine) = engine(QueryConfig {
        max_rows: 10,
        ..QueryConfig::default()
    })
    .await;
    let result = engine
        .sql("SELECT * FROM musterstadt.bevoelkerung")
        .await
        .unwrap();
    assert_eq!(result.num_rows(), 10);
    assert!(result.truncated);
    let small = engine
        .sql("SELECT * FROM musterstadt.bevoelkerung LIMIT 3")
        .await
        .unwrap();
    assert!(!small.truncated && small.num_rows() == 3);
}

#[tokio::test]
async fn personal_tables_are_refused_in_every_position_for_the_public_role() {
    let (_dir, engine) = engine(QueryConfig::default()).await;
    for sql in [
        "SELECT * FROM musterstadt.melderegister",
        "SELECT stadtbezirk, count(*) FROM musterstadt.melderegister GROUP BY stadtbezirk",
        "SELECT (SELECT max(familienname) FROM musterstadt.melderegister)",
        "SELECT * FROM musterstadt.bevoelkerung WHERE EXISTS (SELECT 1 FROM musterstadt.melderegister)",
        "EXPLAIN SELECT * FROM musterstadt.melderegister",
        "SELECT * FROM musterstadt.bevoelkerung b, musterstadt.melderegister m WHERE b.stadtbezirk = m.stadtbezirk",
    ] {
        match engine.sql(sql).await {
            Err(Error::PersonalData { table, reason }) => {
                assert_eq!(table, "musterstadt.melderegister", "{sql}");
                // The default role (no identity) is public: no register access at all.
                assert_eq!(
                    reason,
                    Violation::RoleForbids { role: Role::Public },
                    "{sql}"
                );
            }
            other => panic!("{sql}: expected PersonalData, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn writes_and_bad_sql_are_user_errors() {
    let (_dir, engine) = engine(QueryConfig::default()).await;
    for sql in [
        "DROP TABLE musterstadt.bevoelkerung",
        "INSERT INTO musterstadt.bevoelkerung VALUES (1)",
        "SET x = 1",
    ] {
        let err = engine.sql(sql).await.unwrap_err();
        assert!(err.is_user_error(), "{sql}: {err}");
    }
    let err = engine.sql("SELECT * FROM nirgendwo").await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidSql(_)) && err.to_string().contains("nirgendwo"),
        "{err}"
    );
    // A value the query computes that cannot be (division by zero, a cast that does not fit)
    // is the caller's mistake with the kernel's reason, not a server fault.
    for (sql, reason) in [
        ("SELECT 1 / 0", "Divide by zero"),
        ("SELECT CAST('abc' AS INT)", "abc"),
        (
            "SELECT CAST(stadtbezirk AS BIGINT) FROM musterstadt.bevoelkerung",
            "Altstadt",
        ),
    ] {
        let err = engine.sql(sql).await.unwrap_err();
        assert!(
            matches!(err, Error::Evaluation(_)) && err.is_user_error(),
            "{sql}: {err:?}"
        );
        assert!(err.to_string().contains(reason), "{sql}: {err}");
    }
}

#[tokio::test]
async fn runaway_query_is_cancelled() {
    let (_dir, engine) = engine(QueryConfig {
        timeout_seconds: 1,
        max_rows: 10,
        ..QueryConfig::default()
    })
    .await;
    // Summing 10^12 generated values takes far longer than the one-second limit.
    let sql = "SELECT sum(value) FROM range(1000000000000)";
    match engine.sql(sql).await {
        Err(Error::Timeout { seconds }) => assert_eq!(seconds, 1),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The engine keeps serving.
    assert_eq!(engine.sql("SELECT 1").await.unwrap().num_rows(), 1);
}

#[tokio::test]
async fn a_query_over_its_memory_limit_is_cancelled_and_others_still_run() {
    let (_dir, tight) = engine(QueryConfig {
        memory_limit_mb: 4,
        ..QueryConfig::default()
    })
    .await;
    // A hash join must hold its build side (two million keys, ~16 MiB and more) in memory and
    // cannot spill: over a 4 MiB pool the query fails with the limit, not the server.
    let sql = "SELECT count(*) FROM range(2000000) a JOIN range(2000000) b ON a.value = b.value";
    match tight.sql(sql).await {
        Err(error @ Error::MemoryLimit { mb: 4 }) => {
            assert!(error.is_user_error());
            assert!(error.to_string().contains("4 MiB"), "{error}");
        }
        other => panic!("expected the memory limit, got {other:?}"),
    }
    // The pool is per query: the next one starts with all of it.
    let small = "SELECT count(*) FROM range(1000) a JOIN range(1000) b ON a.value = b.value";
    assert_eq!(
        tight.sql(small).await.unwrap().display_rows().unwrap(),
        [["1000"]]
    );
    // The same join fits under the default limit, so it is the limit that refused it.
    let (_dir, roomy) = engine(QueryConfig::default()).await;
    assert_eq!(
        roomy.sql(sql).await.unwrap().display_rows().unwrap(),
        [["2000000"]]
    );
}

/// Without the `ballista` feature, `[query.scale_out]` is refused with the way to get it.
#[cfg(not(feature = "ballista"))]
#[tokio::test]
async fn scale_out_without_the_ballista_feature_is_a_clear_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = allmende_connectors::SnapshotStore::new(dir.path());
    let config = allmende_query::QueryConfig {
        scale_out: Some(allmende_query::ScaleOutConfig {
            scheduler: "standalone".into(),
            min_bytes: 0,
            standalone_parallelism: 0,
        }),
        ..allmende_query::QueryConfig::default()
    };
    match allmende_query::QueryEngine::open(&store, config).await {
        Err(allmende_query::Error::Config(message)) => {
            assert!(message.contains("--features ballista"), "{message}")
        }
        other => panic!("expected a configuration error, got {:?}", other.err()),
    }
}
