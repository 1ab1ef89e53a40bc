//! Federation across member nodes: node B runs as its own `allmende serve` process with a Flight
//! SQL listener on a loopback port; node A (this test's engine) registers it as
//! `[[query.nodes]] name = "nordstadt"` and queries its tables as `nordstadt.<source>.<table>`.
//! A join across the two nodes gives the rows of the same join done locally, `EXPLAIN` shows the
//! SQL pushed to B, B's privacy policy still guards its register, and a node that is down fails
//! with an error naming it while local queries go on.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allmende_query::federation::{NodeConfig, RemoteError};
use allmende_query::{Error, Role};
use allmende_web::auth::token_sha256;
use allmende_web::state::AppState;
use axum::http::StatusCode;
use serde_json::json;

use crate::common::{data_dir, post_json, send, test_config};

/// The token node A presents to node B (an analyst there).
const NODE_A_TOKEN: &str = "alm_federation_test_node_a_token";

/// A free loopback port (released again; the process binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Node B: `allmende serve` over the shared test data, killed when dropped.
struct NodeProcess {
    child: Child,
    flight: SocketAddr,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl NodeProcess {
    fn start(data: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let flight: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = dir.path().join("node-b.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {data:?}\n\
                 [server]\nbind = \"127.0.0.1:{http}\"\n\
                 [model]\nname = \"none\"\n\
                 [datasets]\nshared_dir = {none:?}\n\
                 [flight]\nbind = \"{flight}\"\n\
                 [[auth.tokens]]\nname = \"node-a\"\nrole = \"analyst\"\nsha256 = \"{hash}\"\n",
                http = free_port(),
                none = data.join("no-shared-data"),
                hash = token_sha256(NODE_A_TOKEN),
            ),
        )
        .unwrap();
        let log = dir.path().join("node-b.log");
        let child = Command::new(env!("CARGO_BIN_EXE_allmende"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start node B");
        let node = Self {
            child,
            flight,
            log,
            _dir: dir,
        };
        node.wait_until_listening();
        node
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while std::net::TcpStream::connect(self.flight).is_err() {
            assert!(
                Instant::now() < deadline,
                "node B did not open its Flight SQL port; its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn node_config(&self, name: &str) -> NodeConfig {
        NodeConfig {
            name: name.into(),
            url: format!("grpc://{}", self.flight),
            token: NODE_A_TOKEN.into(),
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rows(result: &allmende_query::QueryResult) -> Vec<Vec<String>> {
    result.display_rows().expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_queries_another_nodes_tables_under_its_policy() {
    let data = data_dir();
    let node_b = tokio::task::spawn_blocking({
        let data = data.clone();
        move || NodeProcess::start(&data)
    })
    .await
    .unwrap();
    // A port nothing listens on: a member node that is down.
    let down = NodeConfig {
        name: "geschlossen".into(),
        url: format!("grpc://127.0.0.1:{}", free_port()),
        token: String::new(),
    };
    let mut config = test_config(data);
    config.query.nodes = vec![node_b.node_config("nordstadt"), down];
    config.query.default_role = Role::Analyst;
    let state = AppState::open(config).await.expect("node A");
    let engine = &state.engine;

    // A join across the nodes returns the rows of the same join done locally.
    let across = "SELECT l.stadtbezirk, l.einwohner_insgesamt, r.davon_weiblich \
         FROM musterstadt.bevoelkerung l \
         JOIN nordstadt.musterstadt.bevoelkerung r ON l.stadtbezirk = r.stadtbezirk AND l.jahr = r.jahr \
         WHERE l.jahr = 2025 ORDER BY l.stadtbezirk";
    let local = across.replace("nordstadt.musterstadt", "musterstadt");
    let across_rows = rows(&engine.sql(across).await.expect("cross-node join"));
    assert!(!across_rows.is_empty());
    assert_eq!(across_rows, rows(&engine.sql(&local).await.unwrap()));

    // EXPLAIN shows the part that runs on node B, with the filter and limit pushed into it.
    let explain = engine
        .sql("EXPLAIN SELECT stadtbezirk FROM nordstadt.musterstadt.bevoelkerung WHERE jahr = 2025 LIMIT 3")
        .await
        .expect("explain");
    let plan = rows(&explain).concat().join("\n");
    assert!(plan.contains("RemoteScanExec: node=nordstadt"), "{plan}");
    assert!(
        plan.contains(r#"SELECT "stadtbezirk" FROM "musterstadt"."bevoelkerung" WHERE"#)
            && plan.contains("2025")
            && plan.contains("LIMIT 3"),
        "{plan}"
    );
    let limited = engine
        .sql("SELECT stadtbezirk FROM nordstadt.musterstadt.bevoelkerung WHERE jahr = 2025 LIMIT 3")
        .await
        .unwrap();
    assert_eq!(limited.num_rows(), 3);

    // Node B's policy guards its register: no rows leave it, whatever node A is asked.
    for sql in [
        "SELECT * FROM nordstadt.musterstadt.melderegister",
        "SELECT b.stadtbezirk, r.familienname FROM musterstadt.bevoelkerung b \
         JOIN nordstadt.musterstadt.melderegister r ON b.stadtbezirk = r.stadtbezirk",
    ] {
        match engine.sql(sql).await {
            Err(Error::Remote(RemoteError::Refused { node, message })) => {
                assert_eq!(node, "nordstadt");
                assert!(message.contains("musterstadt.melderegister"), "{message}");
                assert!(!message.contains("Mustermann"), "{message}");
            }
            other => panic!("{sql}: expected node B to refuse, got {other:?}"),
        }
    }

    // A node that is down: a clear error naming it, and local queries go on.
    match engine
        .sql("SELECT * FROM geschlossen.musterstadt.bevoelkerung")
        .await
    {
        Err(error @ Error::Remote(RemoteError::Unreachable { .. })) => {
            let message = error.to_string();
            assert!(
                message.contains("`geschlossen`") && message.contains("unreachable"),
                "{message}"
            );
        }
        other => panic!("expected the down node to be named, got {other:?}"),
    }
    assert_eq!(engine.sql("SELECT 1").await.unwrap().num_rows(), 1);

    // The same through POST /api/sql: 200 for the join, 403 for B's refusal, 502 for the down
    // node — each with the reason.
    let app = allmende_web::routes::router(state.clone());
    let (status, body) = send(app.clone(), post_json("/api/sql", json!({ "sql": across }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["row_count"].as_u64().unwrap() as usize,
        across_rows.len()
    );
    let (status, body) = send(
        app.clone(),
        post_json(
            "/api/sql",
            json!({ "sql": "SELECT * FROM nordstadt.musterstadt.melderegister" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(
        app,
        post_json(
            "/api/sql",
            json!({ "sql": "SELECT * FROM geschlossen.musterstadt.bevoelkerung" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.to_string().contains("geschlossen"), "{body}");
}
