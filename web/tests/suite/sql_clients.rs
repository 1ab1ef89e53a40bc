//! One node, three real SQL clients: `psql` (Debian postgresql-client) over the PostgreSQL
//! protocol, the ADBC Flight SQL driver (Python, via `flight_sql_client.py rows`) and `curl`
//! against `POST /api/sql`. They must give the same answer to the same query, and `psql`
//! sessions must meet the same privacy policy, roles and limits as the other interfaces.
//!
//! Each client is a real program run as a subprocess against listeners on loopback ports, as
//! `allmende serve` starts them. Missing clients skip the tests locally and fail them under
//! `CI=true` (`.ci/run` installs them).

use std::net::SocketAddr;
use std::process::Output;

use allmende_query::Role;
use allmende_web::auth::{TokenConfig, token_sha256};
use allmende_web::config::Config;
use allmende_web::routes::router;
use allmende_web::state::AppState;
use serde_json::Value;
use tokio::process::Command;

use crate::common::{ServedListener, client_installed, data_dir, serve, test_config};
use allmende_web::flight::serve_flight_on;
use allmende_web::pgwire::serve_pgwire_on;

/// The analyst's token; the configuration holds only its SHA-256.
const ANALYST_TOKEN: &str = "alm_sql_clients_test_analyst_token";

/// psql's field separator in unaligned mode: a character no value here contains.
const SEPARATOR: &str = "\u{1f}";

/// A node with its HTTP, Flight SQL and PostgreSQL listeners on loopback ports.
struct Node {
    http: SocketAddr,
    flight: ServedListener,
    pg: ServedListener,
}

impl Node {
    /// The test configuration with one analyst token, adjusted by `configure`.
    async fn start(configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(data_dir());
        config.auth.tokens.push(TokenConfig {
            name: "sql-clients-test-analyst".into(),
            role: Role::Analyst,
            sha256: token_sha256(ANALYST_TOKEN),
        });
        configure(&mut config);
        let state = AppState::open(config).await.expect("state");
        let http = serve(router(state.clone())).await;
        let served = state.clone();
        let flight =
            ServedListener::start(|listener, stop| serve_flight_on(served, listener, stop)).await;
        let pg =
            ServedListener::start(|listener, stop| serve_pgwire_on(state, listener, stop)).await;
        Self { http, flight, pg }
    }

    /// Runs `psql -c sql` as `user` (with `token` as its password), never prompting.
    async fn psql(&self, user: &str, token: Option<&str>, sql: &str) -> Output {
        let conninfo = format!(
            "host={} port={} user={user} dbname=allmende connect_timeout=10",
            self.pg.addr.ip(),
            self.pg.addr.port()
        );
        let mut command = Command::new("psql");
        command
            .arg(conninfo)
            .args(["-X", "-w", "-A", "-F", SEPARATOR, "-P", "footer=off"])
            .args([
                "-P",
                "null=NULL",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                "VERBOSITY=verbose",
            ])
            .args(["-c", sql])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICEFILE")
            .kill_on_drop(true);
        if let Some(token) = token {
            command.env("PGPASSWORD", token);
        }
        run(command).await
    }

    /// psql's answer to `sql`, which must succeed.
    async fn psql_answer(&self, sql: &str, token: Option<&str>) -> Answer {
        let user = if token.is_some() {
            "statistik"
        } else {
            "anonymous"
        };
        let out = self.psql(user, token, sql).await;
        assert!(
            out.status.success(),
            "psql failed for {sql}: {}",
            text(&out)
        );
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        let mut lines = stdout.lines();
        let columns = lines
            .next()
            .expect("a header line")
            .split(SEPARATOR)
            .map(str::to_string)
            .collect();
        let rows = lines
            .map(|line| line.split(SEPARATOR).map(canonical).collect())
            .collect();
        Answer { columns, rows }
    }

    /// The ADBC Flight SQL driver's answer to `sql`.
    async fn adbc_answer(&self, sql: &str, token: Option<&str>) -> Answer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/suite/flight_sql_client.py"
        );
        let mut command = Command::new("python3");
        command
            .args([script, "rows", &format!("grpc://{}", self.flight.addr), sql])
            .args(token)
            .kill_on_drop(true);
        let out = run(command).await;
        assert!(
            out.status.success(),
            "ADBC failed for {sql}: {}",
            text(&out)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON from the ADBC script");
        json_answer(&json)
    }

    /// psycopg's results for `cases` (see `pg_driver_client.py`), one JSON value per case,
    /// logged in with `token` (anonymous without).
    async fn psycopg(&self, token: Option<&str>, cases: &Value) -> Vec<Value> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/suite/pg_driver_client.py"
        );
        let conninfo = format!(
            "host={} port={} dbname=allmende user={}",
            self.pg.addr.ip(),
            self.pg.addr.port(),
            token.map_or("anonymous".to_string(), |t| format!(
                "statistik password={t}"
            ))
        );
        let mut child = Command::new("python3")
            .args([script, &conninfo])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let mut stdin = child.stdin.take().expect("stdin");
        tokio::io::AsyncWriteExt::write_all(&mut stdin, cases.to_string().as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let out = tokio::time::timeout(
            std::time::Duration::from_secs(300),
            child.wait_with_output(),
        )
        .await
        .expect("psycopg finished within 5 minutes")
        .expect("psycopg ran");
        assert!(out.status.success(), "psycopg failed: {}", text(&out));
        serde_json::from_slice(&out.stdout).expect("JSON from the psycopg script")
    }

    /// curl's answer from `POST /api/sql` (JSON rows are objects keyed by column name).
    async fn curl_answer(&self, sql: &str, token: Option<&str>) -> Answer {
        let mut command = Command::new("curl");
        command
            .args(["-sS", "--fail-with-body", "--max-time", "120"])
            .args(["-H", "content-type: application/json"])
            .args([
                "--data-binary",
                &serde_json::json!({ "sql": sql }).to_string(),
            ])
            .arg(format!("http://{}/api/sql", self.http))
            .kill_on_drop(true);
        if let Some(token) = token {
            command.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        let out = run(command).await;
        assert!(
            out.status.success(),
            "curl failed for {sql}: {}",
            text(&out)
        );
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON from /api/sql");
        let columns: Vec<String> = json["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("a name").to_string())
            .collect();
        let rows = json["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|name| json_cell(row.get(name).unwrap_or(&Value::Null)))
                    .collect()
            })
            .collect();
        Answer { columns, rows }
    }

    /// Stops the PostgreSQL listener and checks that it shut down cleanly.
    async fn shutdown_pg(self) {
        self.pg.shutdown().await;
    }
}

/// A result as the clients show it: column names, and each cell as canonical text.
#[derive(Debug, PartialEq)]
struct Answer {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// One spelling per value: numbers by their value (so `17`, `17.0` and JSON `17` agree, and
/// floats to 12 significant digits), NULL as `NULL`, text as it is.
fn canonical(cell: &str) -> String {
    match cell.parse::<f64>() {
        Ok(number) if number.is_finite() => format!("{number:.11e}"),
        _ => cell.to_string(),
    }
}

fn json_cell(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::String(text) => canonical(text),
        other => canonical(&other.to_string()),
    }
}

/// A psycopg result (`{"columns", "rows"}`) as an [`Answer`]; panics on its error.
fn driver_answer(value: &Value) -> Answer {
    assert!(
        value.get("error").is_none(),
        "psycopg got an error: {value}"
    );
    json_answer(value)
}

/// `{"columns": [...], "rows": [[...], ...]}` (what the Python clients print) as an [`Answer`].
fn json_answer(value: &Value) -> Answer {
    Answer {
        columns: strings(&value["columns"]),
        rows: value["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                row.as_array()
                    .expect("a row")
                    .iter()
                    .map(json_cell)
                    .collect()
            })
            .collect(),
    }
}

/// The SQLSTATE of a psycopg error result; panics when the case succeeded.
fn driver_error(value: &Value) -> (String, String) {
    let error = value
        .get("error")
        .unwrap_or_else(|| panic!("expected an error, got {value}"));
    (
        error["sqlstate"].as_str().unwrap_or_default().to_string(),
        error["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

async fn run(mut command: Command) -> Output {
    tokio::time::timeout(std::time::Duration::from_secs(300), command.output())
        .await
        .expect("the client finished within 5 minutes")
        .expect("the client runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn psql_installed() -> bool {
    client_installed(
        "psql",
        &["psql", "--version"],
        "apt-get install postgresql-client",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_adbc_and_curl_give_the_same_answers() {
    let installed = psql_installed().await
        && client_installed("curl", &["curl", "--version"], "apt-get install curl").await
        && client_installed(
            "the ADBC Flight SQL client",
            &[
                "python3",
                "-c",
                "import adbc_driver_flightsql.dbapi, pyarrow",
            ],
            "python3 -m pip install adbc-driver-flightsql pyarrow",
        )
        .await;
    if !installed {
        return;
    }
    let node = Node::start(|_| {}).await;
    let queries = [
        // Open data: text and integers.
        (
            "SELECT stadtbezirk, einwohner_insgesamt, davon_weiblich \
             FROM musterstadt.bevoelkerung WHERE jahr = 2025 ORDER BY stadtbezirk",
            None,
        ),
        // Floats from an aggregate, and a NULL.
        (
            "SELECT stadtbezirk, avg(einwohner_insgesamt) AS mittel, \
             CAST(NULL AS VARCHAR) AS leer FROM musterstadt.bevoelkerung \
             GROUP BY stadtbezirk ORDER BY stadtbezirk",
            None,
        ),
        // The register, aggregated, with an analyst token on every client.
        (
            "SELECT stadtbezirk, count(*) AS personen FROM musterstadt.melderegister \
             GROUP BY stadtbezirk ORDER BY stadtbezirk",
            Some(ANALYST_TOKEN),
        ),
    ];
    for (sql, token) in queries {
        let psql = node.psql_answer(sql, token).await;
        let adbc = node.adbc_answer(sql, token).await;
        let curl = node.curl_answer(sql, token).await;
        assert!(!psql.rows.is_empty(), "{sql}: the comparison needs rows");
        assert_eq!(psql, adbc, "psql and ADBC differ for {sql}");
        assert_eq!(psql, curl, "psql and curl differ for {sql}");
        println!(
            "same answer from psql, ADBC and curl: {} rows for {sql}",
            psql.rows.len()
        );
    }
    node.shutdown_pg().await;
}

/// psql's stderr for `sql`, which must fail with SQLSTATE `code`.
async fn psql_refusal(
    node: &Node,
    user: &str,
    token: Option<&str>,
    sql: &str,
    code: &str,
) -> String {
    let out = node.psql(user, token, sql).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{sql}: expected a refusal, got {}",
        text(&out)
    );
    assert!(
        stderr.contains(&format!("ERROR:  {code}:")),
        "{sql}: expected {code}: {stderr}"
    );
    assert!(
        !stderr.contains("Mustermann"),
        "no register values in errors: {stderr}"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_sessions_follow_the_privacy_policy_roles_and_limits() {
    if !psql_installed().await {
        return;
    }
    let node = Node::start(|config| config.query.max_rows = 2).await;

    // Register rows and identifiers: refused for everyone (42501), with the reason.
    for (user, token) in [("anonymous", None), ("statistik", Some(ANALYST_TOKEN))] {
        for sql in [
            "SELECT * FROM musterstadt.melderegister",
            "SELECT familienname, count(*) FROM musterstadt.melderegister GROUP BY familienname",
            "SELECT (SELECT max(familienname) FROM musterstadt.melderegister) AS x",
        ] {
            let stderr = psql_refusal(&node, user, token, sql, "42501").await;
            assert!(stderr.contains("musterstadt.melderegister"), "{stderr}");
        }
    }
    // The public role may not even aggregate the register; an analyst may.
    let aggregate = "SELECT count(*) AS personen FROM musterstadt.melderegister";
    let stderr = psql_refusal(&node, "anonymous", None, aggregate, "42501").await;
    assert!(stderr.contains("public"), "{stderr}");
    let analyst = node.psql("statistik", Some(ANALYST_TOKEN), aggregate).await;
    assert!(analyst.status.success(), "{}", text(&analyst));

    // Writes and bad SQL get their own codes and the engine's reason.
    psql_refusal(
        &node,
        "anonymous",
        None,
        "CREATE TABLE x AS SELECT 1",
        "25006",
    )
    .await;
    let stderr = psql_refusal(&node, "anonymous", None, "SELEC 1", "42000").await;
    assert!(stderr.contains("SELEC"), "{stderr}");

    // A wrong token ends the login with FATAL and does not echo the token.
    let out = node
        .psql("statistik", Some("alm_not_a_configured_token"), "SELECT 1")
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("FATAL") && stderr.contains("login refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("alm_not_a_configured_token"), "{stderr}");

    // Truncation (query.max_rows = 2 here) is announced, not silent.
    let out = node
        .psql(
            "anonymous",
            None,
            "SELECT stadtbezirk FROM musterstadt.bevoelkerung",
        )
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout.lines().count(),
        1 + 2,
        "header and two rows: {stdout}"
    );
    assert!(
        stderr.contains("WARNING") && stderr.contains("cut off after 2 rows"),
        "{stderr}"
    );

    // A script: transaction commands are accepted, every statement answers (psql ≥ 15 prints
    // each result), and the statement after an error does not run.
    let out = node
        .psql(
            "anonymous",
            None,
            "BEGIN; SELECT 1 AS eins; SELECT 'zwei' AS zwei; COMMIT",
        )
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for expected in ["eins", "1", "zwei"] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "{expected} in {stdout}"
        );
    }
    let out = node
        .psql(
            "anonymous",
            None,
            "SELECT * FROM musterstadt.melderegister; SELECT 'danach' AS danach",
        )
        .await;
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("danach"));

    node.shutdown_pg().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_driver_runs_prepared_statements_with_parameters() {
    let installed = psql_installed().await
        && client_installed(
            "psycopg",
            &["python3", "-c", "import psycopg"],
            "python3 -m pip install 'psycopg[binary]'",
        )
        .await;
    if !installed {
        return;
    }
    let node = Node::start(|_| {}).await;
    let open = "SELECT stadtbezirk, einwohner_insgesamt, davon_weiblich FROM musterstadt.bevoelkerung \
                WHERE jahr = %s AND stadtbezirk <> %s ORDER BY stadtbezirk";
    let open_literal = open
        .replacen("%s", "2025", 1)
        .replacen("%s", "'Altstadt'", 1);
    let register = "SELECT stadtbezirk, count(*) AS personen FROM musterstadt.melderegister \
                    WHERE zuzugsdatum >= %s GROUP BY stadtbezirk ORDER BY stadtbezirk";
    let register_literal = register.replace("%s", "DATE '2000-01-01'");
    let date = serde_json::json!({ "date": "2000-01-01" });
    let cases = serde_json::json!([
        // Text parameters and text results; then a named prepared statement with binary
        // parameters (%b) and binary results.
        { "sql": open, "params": [2025, "Altstadt"] },
        { "sql": open.replace("%s", "%b"), "params": [2025, "Altstadt"], "binary": true, "prepare": true },
        // The register, aggregated for the analyst, with a date parameter.
        { "sql": register, "params": [date] },
        { "sql": register, "params": [date], "binary": true },
        // The policy sees the value: an identifier in a parameter is still an identifier.
        { "sql": "SELECT count(*) FROM musterstadt.melderegister WHERE familienname = %s", "params": ["Mustermann"] },
        // numeric goes as text; binary numeric is refused with a reason.
        { "sql": "SELECT CAST(%s AS DECIMAL(10,2)) AS betrag", "params": ["12.5"] },
        { "sql": "SELECT CAST(%s AS DECIMAL(10,2)) AS betrag", "params": ["12.5"], "binary": true },
        // A write cannot be prepared.
        { "sql": "DROP TABLE musterstadt.bevoelkerung", "params": [] },
    ]);
    let answers = node.psycopg(Some(ANALYST_TOKEN), &cases).await;
    assert_eq!(answers.len(), 8, "{answers:?}");

    let expected_open = node.psql_answer(&open_literal, None).await;
    assert!(!expected_open.rows.is_empty());
    assert_eq!(driver_answer(&answers[0]), expected_open);
    assert_eq!(driver_answer(&answers[1]), expected_open);
    let expected_register = node
        .psql_answer(&register_literal, Some(ANALYST_TOKEN))
        .await;
    assert!(!expected_register.rows.is_empty());
    assert_eq!(driver_answer(&answers[2]), expected_register);
    assert_eq!(driver_answer(&answers[3]), expected_register);
    let (code, message) = driver_error(&answers[4]);
    assert_eq!(code, "42501", "{message}");
    assert!(
        message.contains("familienname") && !message.contains("Mustermann"),
        "{message}"
    );
    assert_eq!(
        answers[5]["rows"],
        serde_json::json!([["12.50"]]),
        "numeric text as PostgreSQL writes it"
    );
    let (code, message) = driver_error(&answers[6]);
    assert_eq!(code, "0A000", "{message}");
    assert!(
        message.contains("betrag") && message.contains("text"),
        "{message}"
    );
    assert_eq!(driver_error(&answers[7]).0, "25006");

    // An anonymous (public) session gets no register aggregate, prepared or not.
    let public = node
        .psycopg(
            None,
            &serde_json::json!([{ "sql": register, "params": [date] }]),
        )
        .await;
    assert_eq!(driver_error(&public[0]).0, "42501");
    node.shutdown_pg().await;
}
