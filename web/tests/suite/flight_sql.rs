//! The Arrow Flight SQL listener (`[flight]`), served on a loopback port exactly as `allmende
//! serve` starts it, and driven by two real clients: arrow-flight's Rust `FlightSqlServiceClient`
//! (always), and the ADBC Flight SQL driver from Python (`flight_sql_client.py`; needs `pip
//! install adbc-driver-flightsql pyarrow`). Without those packages the Python test prints that
//! it skipped — and fails when `CI=true`, where they must be installed;
//! `ALLMENDE_SKIP_PYTHON_CLIENT=1` skips it explicitly.
//!
//! Both compare the rows with what the engine answers `POST /api/sql` for the same SQL and check
//! the privacy policy per role: register rows are refused for everyone, aggregates over the
//! register for the anonymous (public) caller but not for an analyst token.

use std::net::SocketAddr;
use std::sync::Arc;

use allmende_query::Role;
use allmende_web::auth::{TokenConfig, token_sha256};
use allmende_web::flight::serve_flight_on;
use allmende_web::state::{AppState, SharedState};
use arrow::array::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::common::{ServedListener, client_installed, data_dir, test_config};

/// The analyst's token; the configuration holds only its SHA-256.
const ANALYST_TOKEN: &str = "alm_flight_sql_test_analyst_token";

const POPULATION_SQL: &str = "SELECT stadtbezirk, einwohner_insgesamt, davon_weiblich \
     FROM musterstadt.bevoelkerung WHERE jahr = 2025 ORDER BY stadtbezirk";

const AGGREGATE_SQL: &str = "SELECT stadtbezirk, count(*) AS personen \
     FROM musterstadt.melderegister GROUP BY stadtbezirk ORDER BY stadtbezirk";

/// A running Flight SQL server over its own state.
struct FlightServer {
    addr: SocketAddr,
    state: SharedState,
    listener: ServedListener,
}

impl FlightServer {
    /// Opens the state over the shared test data dir, with one analyst token, and serves it.
    async fn start() -> Self {
        let mut config = test_config(data_dir());
        config.auth.tokens.push(TokenConfig {
            name: "flight-test-analyst".into(),
            role: Role::Analyst,
            sha256: token_sha256(ANALYST_TOKEN),
        });
        let state = AppState::open(config).await.expect("state");
        let served = state.clone();
        let listener =
            ServedListener::start(|listener, stop| serve_flight_on(served, listener, stop)).await;
        Self {
            addr: listener.addr,
            state,
            listener,
        }
    }

    /// Stops the listener and checks that it shut down cleanly.
    async fn shutdown(self) {
        self.listener.shutdown().await;
    }

    /// A Rust Flight SQL client, with `bearer` sent on every call.
    async fn client(&self, bearer: Option<&str>) -> FlightSqlServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut client = FlightSqlServiceClient::new(channel);
        if let Some(token) = bearer {
            client.set_header("authorization", format!("Bearer {token}"));
        }
        client
    }

    /// What `POST /api/sql` answers for `sql` as `role`: `{"columns": [names], "rows": [...]}`.
    async fn expected(&self, sql: &str, role: Role) -> Value {
        let result = self.state.engine.sql_as(sql, role).await.expect("engine");
        let json = allmende_web::output::to_json(&result).expect("json");
        let columns: Vec<Value> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        json!({ "sql": sql, "columns": columns, "rows": json["rows"] })
    }
}

/// Runs `sql` through the Flight SQL client (GetFlightInfo, then DoGet on each endpoint).
async fn fetch(
    client: &mut FlightSqlServiceClient<Channel>,
    sql: &str,
) -> Result<Vec<RecordBatch>, FlightError> {
    let info = client.execute(sql.to_string(), None).await?;
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("a ticket");
        let stream = client.do_get(ticket).await?;
        batches.extend(stream.try_collect::<Vec<_>>().await?);
    }
    Ok(batches)
}

/// The batches as `POST /api/sql` rows.
fn rows(batches: &[RecordBatch]) -> Value {
    let result = allmende_query::QueryResult {
        schema: batches[0].schema(),
        batches: batches.to_vec(),
        truncated: false,
    };
    allmende_web::output::to_json(&result).expect("json")["rows"].clone()
}

/// The gRPC status of a call that must fail.
fn refused<T>(result: Result<T, FlightError>, what: &str) -> Status {
    match result {
        Ok(_) => panic!("{what}: expected a refusal, got an answer"),
        Err(FlightError::Tonic(status)) => *status,
        Err(other) => panic!("{what}: expected a gRPC status, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_flight_sql_client_gets_the_same_rows_and_the_same_refusals() {
    let server = FlightServer::start().await;
    let mut anonymous = server.client(None).await;

    let batches = fetch(&mut anonymous, POPULATION_SQL)
        .await
        .expect("population");
    let want = server.expected(POPULATION_SQL, Role::Public).await;
    assert!(!want["rows"].as_array().unwrap().is_empty());
    assert_eq!(rows(&batches), want["rows"], "same rows as /api/sql");

    for sql in [
        "SELECT * FROM musterstadt.melderegister",
        "SELECT familienname FROM musterstadt.melderegister WHERE vornamen = 'Max'",
        AGGREGATE_SQL,
    ] {
        let status = refused(fetch(&mut anonymous, sql).await, sql);
        assert_eq!(status.code(), Code::PermissionDenied, "{sql}: {status}");
        assert!(
            status.message().contains("musterstadt.melderegister"),
            "{sql}: {status}"
        );
        assert!(!status.message().contains("Mustermann"), "{sql}: {status}");
    }
    let status = refused(fetch(&mut anonymous, "SELEC 1").await, "SELEC 1");
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(status.message().contains("SELEC"), "{status}");
    let status = refused(
        fetch(&mut anonymous, "CREATE TABLE x AS SELECT 1").await,
        "DDL",
    );
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");

    let mut analyst = server.client(Some(ANALYST_TOKEN)).await;
    let batches = fetch(&mut analyst, AGGREGATE_SQL).await.expect("aggregate");
    let want = server.expected(AGGREGATE_SQL, Role::Analyst).await;
    assert!(!want["rows"].as_array().unwrap().is_empty());
    assert_eq!(rows(&batches), want["rows"]);
    let status = refused(
        fetch(&mut analyst, "SELECT * FROM musterstadt.melderegister").await,
        "analyst rows",
    );
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");

    // The handshake: HTTP Basic with the token as password, answered with a bearer value.
    let mut via_handshake = server.client(None).await;
    via_handshake
        .handshake("bi-tool", ANALYST_TOKEN)
        .await
        .expect("handshake");
    let batches = fetch(&mut via_handshake, AGGREGATE_SQL)
        .await
        .expect("aggregate after the handshake");
    assert_eq!(rows(&batches), want["rows"]);
    let mut bad_handshake = server.client(None).await;
    assert!(
        bad_handshake
            .handshake("bi-tool", "alm_wrong")
            .await
            .is_err()
    );

    let mut stranger = server.client(Some("alm_unknown")).await;
    let status = refused(fetch(&mut stranger, POPULATION_SQL).await, "unknown token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");
    assert!(
        !status.message().contains("alm_unknown"),
        "the token is not echoed: {status}"
    );

    // The row count and whether the result was cut at query.max_rows (10 000 here) travel in
    // the DoGet headers, as over HTTP.
    for (sql, rows, truncated) in [
        ("SELECT value FROM range(3)", 3, "false"),
        ("SELECT value FROM range(20000)", 10_000, "true"),
    ] {
        let info = anonymous.execute(sql.to_string(), None).await.expect(sql);
        let ticket = info.endpoint[0].ticket.clone().expect("ticket");
        let stream = anonymous.do_get(ticket).await.expect("do_get");
        let header = |name: &str| {
            stream
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("x-allmende-truncated").as_deref(),
            Some(truncated),
            "{sql}"
        );
        assert_eq!(
            header("x-allmende-row-count"),
            Some(rows.to_string()),
            "{sql}"
        );
        let batches: Vec<RecordBatch> = stream.try_collect().await.expect("batches");
        let got: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(got, rows, "{sql}");
    }

    // Prepared statements (what ADBC uses for execute): planned and checked at prepare time.
    let mut prepared = anonymous
        .prepare(POPULATION_SQL.to_string(), None)
        .await
        .expect("prepare");
    let schema = prepared.dataset_schema().expect("schema").clone();
    assert_eq!(
        schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        ["stadtbezirk", "einwohner_insgesamt", "davon_weiblich"]
    );
    let info = prepared.execute().await.expect("execute");
    let ticket = info.endpoint[0].ticket.clone().expect("ticket");
    let batches: Vec<RecordBatch> = anonymous
        .do_get(ticket)
        .await
        .expect("do_get")
        .try_collect()
        .await
        .expect("batches");
    assert_eq!(
        batches[0].schema(),
        Arc::new(schema),
        "announced = streamed schema"
    );
    assert_eq!(
        rows(&batches),
        server.expected(POPULATION_SQL, Role::Public).await["rows"]
    );
    prepared.close().await.expect("close");
    let status = refused(
        anonymous
            .prepare("SELECT * FROM musterstadt.melderegister".to_string(), None)
            .await,
        "prepare register rows",
    );
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");

    server.shutdown().await;
}

/// The ADBC Flight SQL driver from Python against a real listener on a loopback port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adbc_python_client_queries_with_the_privacy_policy() {
    if std::env::var("ALLMENDE_SKIP_PYTHON_CLIENT").is_ok_and(|v| v == "1") {
        eprintln!("ALLMENDE_SKIP_PYTHON_CLIENT=1: skipping the ADBC Flight SQL client test");
        return;
    }
    if !client_installed(
        "the ADBC Flight SQL client",
        &[
            "python3",
            "-c",
            "import adbc_driver_flightsql.dbapi, pyarrow",
        ],
        "python3 -m pip install adbc-driver-flightsql pyarrow",
    )
    .await
    {
        return;
    }
    let server = FlightServer::start().await;
    let expected = json!({
        "analyst_token": ANALYST_TOKEN,
        "population": server.expected(POPULATION_SQL, Role::Public).await,
        "aggregate": server.expected(AGGREGATE_SQL, Role::Analyst).await,
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected.to_string()).expect("write expected");

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/suite/flight_sql_client.py"
    );
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new("python3")
            .arg(script)
            .arg(format!("grpc://{}", server.addr))
            .arg(&expected_path)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finished within 5 minutes")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- flight_sql_client.py stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(
        out.status.success(),
        "flight_sql_client.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    server.shutdown().await;
}
