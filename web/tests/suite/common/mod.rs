//! Helpers shared by the web crate's HTTP tests: one ingested Musterstadt data dir for the
//! test binary, the real router over it, and request helpers.
#![allow(dead_code)] // not every helper is used in every configuration

use std::path::PathBuf;
use std::sync::OnceLock;

use allmende_web::config::Config;
use allmende_web::routes::router;
use allmende_web::state::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// One ingested data dir per test binary; every test builds its own state over it.
pub fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().to_path_buf();
        ingest_blocking(test_config(&path));
        (tmp, path)
    })
    .1
}

/// Runs `allmende ingest` for `config` on its own thread and runtime (the caller may already be
/// inside a tokio runtime) and fails the test on any source failure.
pub fn ingest_blocking(config: Config) {
    let report = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(allmende_web::ingest::run(&config))
            .expect("ingest")
    })
    .join()
    .expect("ingest thread");
    assert_eq!(report.failures(), 0, "{}", report.render());
}

/// The test configuration with a tiny random-weight GGUF model (real format, real code path)
/// that writes at most `max_tokens` tokens. Keep the directory alive while the app runs.
#[allow(dead_code)] // not every test binary uses every helper
pub fn tiny_model_config(max_tokens: usize) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tiny.gguf");
    allmende_assistant::llm::write_tiny_qwen2_gguf(&path, 7).expect("tiny model");
    let mut config = test_config(data_dir());
    config.model.name = path.display().to_string();
    config.assistant.max_tokens = max_tokens;
    (dir, config)
}

/// Extractive mode over the built-in Musterstadt only (no dependency on shared sample data).
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.model.name = "none".into();
    config.datasets.shared_dir = data_dir.join("no-shared-data");
    // Tests check answers, not speed: real models on two busy cores may take minutes.
    // (web/tests/limits.rs sets its own limit to test the 504.)
    config.limits.request_timeout_seconds = 3600;
    config
}

pub async fn app_with(config: Config) -> axum::Router {
    router(AppState::open(config).await.expect("state"))
}

pub async fn app() -> axum::Router {
    app_with(test_config(data_dir())).await
}

/// Status, content type and body text of a response.
pub async fn send_raw(app: axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let response = app.oneshot(req).await.expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Status and body, parsed as JSON when it is JSON, else as a JSON string.
pub async fn send(app: axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, _, text) = send_raw(app, req).await;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub fn post_json(uri: &str, body: Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Serves `app` on a loopback port with connection info (as `allmende serve` does, so the
/// limits see client addresses). Returns the address; the server stops with the test's runtime.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    addr
}

/// A response read off the wire by [`http`].
#[derive(Debug)]
pub struct WireResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl WireResponse {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh TCP connection (`Connection: close`), for tests that need
/// a real socket (client addresses, the real server). `headers` are extra header lines.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> WireResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let rest = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    WireResponse {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let after = &rest[line_end + 2..];
        match size {
            Some(size) if size > 0 && after.len() >= size => {
                out.extend_from_slice(&after[..size]);
                rest = after[size..]
                    .strip_prefix(b"\r\n")
                    .unwrap_or(&after[size..]);
            }
            _ => break,
        }
    }
    out
}

/// The multilingual-e5-small file in the repository's `data/models`, or `None` with a notice
/// saying which checks were skipped. With `CI=true` a missing file fails the test: CI pulls it.
pub fn encoder_file(skipped: &str) -> Option<PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/models")
        .join(allmende_search::dense::MODEL_FILE_NAME);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing (`allmende models pull multilingual-e5-small-q4`)",
        path.display()
    );
    println!(
        "SKIPPED {skipped}: {} not present (`allmende models pull multilingual-e5-small-q4`)",
        path.display()
    );
    None
}

/// The test configuration over a fresh data dir whose snapshots and index link to the shared
/// ones and whose `models/` holds (a link to) `encoder`, so that the state loads it. Keep the
/// directory alive while the app runs.
pub fn config_with_encoder(encoder: &std::path::Path) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["snapshots", "index"] {
        std::os::unix::fs::symlink(data_dir().join(sub), dir.path().join(sub)).expect("link");
    }
    let mut config = test_config(data_dir());
    config.data_dir = dir.path().to_path_buf();
    std::fs::create_dir_all(config.models_dir()).expect("models dir");
    std::os::unix::fs::symlink(encoder, config.encoder_path()).expect("link");
    (dir, config)
}

/// Whether an external client program that a test drives is installed: runs `probe` (program
/// and arguments) and returns true when it succeeds. When it does not, the test is skipped with
/// `install` as the hint, except under `CI=true`, where every client must be installed and the
/// test fails instead.
pub async fn client_installed(what: &str, probe: &[&str], install: &str) -> bool {
    let outcome = tokio::process::Command::new(probe[0])
        .args(&probe[1..])
        .output()
        .await;
    let why = match outcome {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
        Err(e) => format!("{} is not available: {e}", probe[0]),
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {what} is missing: `{install}`\n{why}"
    );
    println!("SKIPPED: {what} is missing; `{install}` to run this test\n{why}");
    false
}

/// A listener a test serves on a loopback port (Flight SQL, PostgreSQL), stopped gracefully by
/// [`ServedListener::shutdown`], which also checks that it ended without error.
pub struct ServedListener {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// The shutdown signal handed to a served listener.
pub type StopSignal = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl ServedListener {
    /// Binds a free loopback port and runs `serve(listener, stop_signal)` on it.
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, StopSignal) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal: StopSignal = Box::pin(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(serve(listener, signal));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Sends the shutdown signal and checks that the listener stops cleanly within a minute.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let finished = tokio::time::timeout(std::time::Duration::from_secs(60), &mut self.task)
            .await
            .expect("the listener stops after the shutdown signal")
            .expect("listener task");
        finished.expect("the listener ends without error");
    }
}
