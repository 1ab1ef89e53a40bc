//! `POST /api/sql` as the analyst interface: bearer tokens (minted with `allmende token new`)
//! decide the role, the privacy policy answers analysts with suppressed aggregates and public
//! callers not at all, and JSON, CSV, Arrow IPC and Parquet carry the same values.

use crate::common;

use std::collections::BTreeMap;

use allmende_datasets::musterstadt::{self, DEFAULT_SEED, REGISTER_PERSONS};
use allmende_query::Role;
use allmende_web::auth::{AuthConfig, TokenConfig, token_sha256};
use allmende_web::config::Config;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{app_with, data_dir, test_config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Grouped counts over the register: fine enough that some groups are below the minimum size.
const GROUPED: &str = "SELECT stadtbezirk, geschlecht, staatsangehoerigkeit, count(*) AS n \
     FROM musterstadt.melderegister GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

/// A status, the headers and the raw body of one response.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn call(app: axum::Router, req: Request<Body>) -> Answer {
    let response = app.oneshot(req).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

/// `POST /api/sql{query}` with the SQL as JSON and extra headers.
fn sql_request(query: &str, sql: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder =
        Request::post(format!("/api/sql{query}")).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Body::from(json!({ "sql": sql }).to_string()))
        .unwrap()
}

/// A token minted by the real `allmende token new`, and the configuration lines it printed.
fn mint(name: &str, role: &str) -> (String, AuthConfig) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_allmende"))
        .args(["token", "new", "--name", name, "--role", role])
        .env_remove("ALLMENDE_CONFIG")
        .output()
        .expect("allmende runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("alm_"))
        .unwrap_or_else(|| panic!("no token in {stdout}"))
        .to_string();
    let (_, lines) = stdout.split_once("[[auth.tokens]]").expect("config lines");
    #[derive(serde::Deserialize)]
    struct File {
        auth: AuthConfig,
    }
    let file: File = toml::from_str(&format!("[[auth.tokens]]{lines}")).expect("valid TOML");
    assert!(
        !lines.contains(&token),
        "the config holds the hash, not the token"
    );
    (token, file.auth)
}

/// The test configuration with an analyst token from the CLI and a public-role token.
fn config_with_tokens() -> (Config, String, String) {
    let (analyst, mut auth) = mint("Statistikstelle Test", "analyst");
    let public = "alm_public_reader_token".to_string();
    auth.tokens.push(TokenConfig {
        name: "Presse".into(),
        role: Role::Public,
        sha256: token_sha256(&public),
    });
    let mut config = test_config(data_dir());
    config.auth = auth;
    (config, analyst, public)
}

/// The generator's groups of (district, sex, nationality): all of them, and those with at
/// least `min_group_size` persons as rows of strings.
fn register_groups(min: usize) -> (BTreeMap<Vec<String>, usize>, Vec<Vec<String>>) {
    let mut groups: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for p in musterstadt::register(DEFAULT_SEED, REGISTER_PERSONS) {
        *groups
            .entry(vec![p.stadtbezirk, p.geschlecht, p.staatsangehoerigkeit])
            .or_default() += 1;
    }
    let published = groups
        .iter()
        .filter(|(_, n)| **n >= min)
        .map(|(k, n)| {
            let mut row = k.clone();
            row.push(n.to_string());
            row
        })
        .collect();
    (groups, published)
}

/// JSON rows as strings, in the order of `columns`.
fn json_rows(body: &Value) -> Vec<Vec<String>> {
    let columns: Vec<&str> = body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match &row[*c] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Arrow batches as rows of display strings.
fn batch_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    allmende_query::display_rows(batches).unwrap()
}

fn arrow_batches(body: &Bytes) -> (Vec<String>, Vec<RecordBatch>) {
    let reader = arrow::ipc::reader::StreamReader::try_new(body.as_ref(), None)
        .expect("an Arrow IPC stream");
    let names = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    (names, reader.map(|b| b.expect("a batch")).collect())
}

fn parquet_batches(body: &Bytes) -> (Vec<String>, Vec<RecordBatch>) {
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(body.clone())
            .expect("a Parquet file");
    let names = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = builder
        .build()
        .unwrap()
        .map(|b| b.expect("a batch"))
        .collect();
    (names, batches)
}

/// CSV read back with arrow's CSV reader, every column as text (RFC 4180 quoting undone).
fn csv_rows(body: &Bytes) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(body).expect("UTF-8 CSV");
    let header = text.lines().next().expect("a header line");
    let names: Vec<String> = header.split(',').map(str::to_string).collect();
    let schema = Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let batches: Vec<RecordBatch> = arrow::csv::ReaderBuilder::new(schema.into())
        .with_header(true)
        .build(body.as_ref())
        .unwrap()
        .map(|b| b.expect("a CSV batch"))
        .collect();
    (names, batch_rows(&batches))
}

#[tokio::test]
async fn public_callers_cannot_touch_the_register() {
    let (config, _, public) = config_with_tokens();
    let app = app_with(config).await;
    for headers in [vec![], vec![("authorization", format!("Bearer {public}"))]] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for sql in [
            GROUPED,
            "SELECT count(*) FROM musterstadt.melderegister",
            "SELECT vornamen FROM musterstadt.melderegister",
        ] {
            let answer = call(app.clone(), sql_request("", sql, &headers)).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{sql}");
            let body = answer.json();
            assert_eq!(body["error"]["code"], "personal_data", "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("musterstadt.melderegister"),
                "{body}"
            );
        }
        // Open data stays open to them.
        let answer = call(
            app.clone(),
            sql_request(
                "",
                "SELECT count(*) AS n FROM musterstadt.bevoelkerung",
                &headers,
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.json()["rows"][0]["n"].as_i64().unwrap() > 0);
    }
}

#[tokio::test]
async fn an_analyst_token_reads_grouped_counts_with_small_groups_suppressed() {
    let (config, analyst, _) = config_with_tokens();
    let min = config.query.min_group_size;
    let app = app_with(config).await;
    let auth = format!("Bearer {analyst}");
    let answer = call(
        app.clone(),
        sql_request("", GROUPED, &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    let (all, published) = register_groups(min);
    assert_eq!(json_rows(&body), published);
    assert_eq!(body["row_count"], published.len());
    assert_eq!(
        answer.header("x-allmende-row-count"),
        published.len().to_string()
    );
    assert_eq!(answer.header("x-allmende-truncated"), "false");
    // Suppression really acted: the register has groups below the minimum, none came out.
    assert!(all.values().any(|n| *n < min), "{all:?}");
    assert!(published.len() < all.len());
    assert!(
        body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["n"].as_u64().unwrap() >= min as u64)
    );
    // The analyst still gets no rows of persons.
    let answer = call(
        app,
        sql_request(
            "",
            "SELECT vornamen, familienname FROM musterstadt.melderegister",
            &[("authorization", &auth)],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!String::from_utf8_lossy(&answer.body).contains("Mustermann"));
}

#[tokio::test]
async fn unknown_tokens_and_malformed_headers_get_401_with_a_bearer_challenge() {
    let (config, analyst, _) = config_with_tokens();
    let app = app_with(config).await;
    let cases = [
        (format!("Bearer {analyst}x"), "invalid_token"),
        (
            "Bearer alm_00000000000000000000000000000000".to_string(),
            "invalid_token",
        ),
        (
            format!("Bearer {}", token_sha256(&analyst)),
            "invalid_token",
        ),
        (format!("Basic {analyst}"), "invalid_authorization"),
        ("Bearer".to_string(), "invalid_authorization"),
        (
            format!("Bearer {analyst} {analyst}"),
            "invalid_authorization",
        ),
        (analyst.clone(), "invalid_authorization"),
        (String::new(), "invalid_authorization"),
    ];
    for (value, code) in cases {
        let answer = call(
            app.clone(),
            sql_request("", "SELECT 1", &[("authorization", &value)]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{value:?}");
        assert!(
            answer.header("www-authenticate").starts_with("Bearer"),
            "{value:?}: {:?}",
            answer.headers
        );
        assert!(
            answer
                .header("content-type")
                .starts_with("application/json")
        );
        let body = answer.json();
        assert_eq!(body["error"]["code"], code, "{value:?}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        assert!(body["error"]["request_id"].is_string());
        assert!(
            !body.to_string().contains(&analyst),
            "the token is not echoed"
        );
    }
    // The token is refused even for a query that needs no rights: identity first.
    let answer = call(
        app,
        sql_request("", "SELECT 1", &[("authorization", "Bearer wrong")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn json_csv_arrow_and_parquet_carry_the_same_values() {
    let (config, analyst, _) = config_with_tokens();
    let app = app_with(config).await;
    let auth = format!("Bearer {analyst}");
    let json_answer = call(
        app.clone(),
        sql_request("?format=json", GROUPED, &[("authorization", &auth)]),
    )
    .await;
    assert_eq!(json_answer.status, StatusCode::OK);
    assert!(
        json_answer
            .header("content-type")
            .starts_with("application/json")
    );
    let json_body = json_answer.json();
    let expected = json_rows(&json_body);
    let names = ["stadtbezirk", "geschlecht", "staatsangehoerigkeit", "n"];
    assert!(expected.len() > 10, "{expected:?}");

    // Each format once by ?format= and once by Accept.
    for (format, accept) in [
        ("csv", "text/csv"),
        ("arrow", "application/vnd.apache.arrow.stream"),
        ("parquet", "application/vnd.apache.parquet"),
    ] {
        for (query, headers) in [
            (
                format!("?format={format}"),
                vec![("authorization", auth.as_str())],
            ),
            (
                String::new(),
                vec![("authorization", auth.as_str()), ("accept", accept)],
            ),
        ] {
            let answer = call(app.clone(), sql_request(&query, GROUPED, &headers)).await;
            assert_eq!(answer.status, StatusCode::OK, "{format} {query}");
            assert!(
                answer.header("content-type").starts_with(accept),
                "{format}: {}",
                answer.header("content-type")
            );
            assert_eq!(
                answer.header("x-allmende-row-count"),
                expected.len().to_string()
            );
            let (columns, rows) = match format {
                "csv" => csv_rows(&answer.body),
                "arrow" => {
                    let (names, batches) = arrow_batches(&answer.body);
                    (names, batch_rows(&batches))
                }
                _ => {
                    let disposition = answer.header("content-disposition");
                    assert!(
                        disposition.starts_with("attachment; filename=\"allmende-sql-")
                            && disposition.ends_with(".parquet\""),
                        "{disposition}"
                    );
                    let (names, batches) = parquet_batches(&answer.body);
                    (names, batch_rows(&batches))
                }
            };
            assert_eq!(columns, names, "{format}");
            assert_eq!(rows, expected, "{format} {query}");
        }
    }
}

#[tokio::test]
async fn accept_negotiation_and_unknown_formats() {
    let app = app_with(test_config(data_dir())).await;
    let sql = "SELECT id, title FROM musterstadt.leistungen WHERE id = 'ms-leistung-001'";
    for accept in ["application/xml", "image/png, text/html", "text/csv;q=0"] {
        let answer = call(app.clone(), sql_request("", sql, &[("accept", accept)])).await;
        assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
        let body = answer.json();
        assert_eq!(body["error"]["code"], "not_acceptable");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("application/vnd.apache.parquet"),
            "{message}"
        );
    }
    for (accept, content_type) in [
        ("*/*", "application/json"),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/json",
        ),
        ("application/xml, text/csv;q=0.5", "text/csv"),
        (
            "application/vnd.apache.arrow.stream",
            "application/vnd.apache.arrow.stream",
        ),
    ] {
        let answer = call(app.clone(), sql_request("", sql, &[("accept", accept)])).await;
        assert_eq!(answer.status, StatusCode::OK, "{accept}");
        assert!(
            answer.header("content-type").starts_with(content_type),
            "{accept}: {}",
            answer.header("content-type")
        );
    }
    // ?format= overrides an Accept that could not be met.
    let answer = call(
        app.clone(),
        sql_request("?format=csv", sql, &[("accept", "application/xml")]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.starts_with(b"id,title\nms-leistung-001,"));
    for format in ["xml", "JSON", ""] {
        let answer = call(
            app.clone(),
            sql_request(&format!("?format={format}"), sql, &[]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{format:?}");
        assert_eq!(answer.json()["error"]["code"], "invalid_format");
    }
    // CSV cannot hold a list column: 406 with the reason, JSON still can.
    let nested = "SELECT make_array(1, 2) AS xs";
    let answer = call(app.clone(), sql_request("?format=csv", nested, &[])).await;
    assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'xs'")
    );
    let answer = call(app, sql_request("?format=arrow", nested, &[])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(arrow_batches(&answer.body).1[0].num_rows(), 1);
}

#[tokio::test]
async fn large_results_stream_in_chunks_and_truncation_is_reported() {
    let mut config = test_config(data_dir());
    config.query.max_rows = 10_000;
    let app = app_with(config).await;
    let sql = "SELECT value AS v FROM generate_series(1, 12000) ORDER BY v";
    for format in ["csv", "arrow"] {
        let response = app
            .clone()
            .oneshot(sql_request(&format!("?format={format}"), sql, &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{format}");
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(response.headers()["x-allmende-truncated"], "true");
        assert_eq!(response.headers()["x-allmende-row-count"], "10000");
        let mut body = response.into_body();
        let mut frames = 0;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                frames += 1;
                bytes.extend_from_slice(&data);
            }
        }
        // 10 000 rows in chunks of at most 4096 rows: at least three data frames.
        assert!(frames >= 3, "{format}: {frames} frame(s)");
        let bytes = Bytes::from(bytes);
        let values: Vec<i64> = match format {
            "csv" => csv_rows(&bytes)
                .1
                .iter()
                .map(|r| r[0].parse().unwrap())
                .collect(),
            _ => batch_rows(&arrow_batches(&bytes).1)
                .iter()
                .map(|r| r[0].parse().unwrap())
                .collect(),
        };
        assert_eq!(values, (1..=10_000).collect::<Vec<i64>>(), "{format}");
    }
    // Parquet says so in its metadata too.
    let answer = call(app, sql_request("?format=parquet", sql, &[])).await;
    assert_eq!(answer.header("x-allmende-truncated"), "true");
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(answer.body)
            .unwrap();
    let truncated = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "allmende.truncated"))
        .and_then(|k| k.value.clone());
    assert_eq!(truncated.as_deref(), Some("true"));
    assert_eq!(builder.metadata().file_metadata().num_rows(), 10_000);
}

/// A query over its per-query memory pool is the caller's problem (422 with the reason), and
/// the next query on the same server is answered.
#[tokio::test]
async fn a_query_over_the_memory_limit_gets_422_and_the_server_keeps_serving() {
    let mut config = test_config(data_dir());
    config.query.memory_limit_mb = 4;
    let app = app_with(config).await;
    // The hash join's build side (two million keys) cannot spill and needs far more than 4 MiB.
    let join = "SELECT count(*) FROM range(2000000) a JOIN range(2000000) b ON a.value = b.value";
    let refused = call(app.clone(), sql_request("", join, &[])).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.json();
    assert_eq!(body["error"]["code"], "memory_limit", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("4 MiB"),
        "{body}"
    );
    let next = call(app, sql_request("", "SELECT 1 AS eins", &[])).await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(json_rows(&next.json()), [["1"]]);
}
