//! A recorded HTTP/1.1 server for tests of remote connectors (OParl, CKAN, …).
//!
//! It listens on `127.0.0.1:0` in a thread and answers `path[?query]` with recorded responses
//! (status, headers, body). A `{base}` placeholder in recorded bodies becomes
//! [`RecordedServer::base_url`], so `links.next` and list URLs point back at the server. A
//! request whose exact target is not recorded falls back to its path without the query. The
//! first N requests to a path can be scripted to fail with a status ([`RecordedServer::fail_first`])
//! or to stall ([`RecordedServer::stall_first`]). A response with an `ETag` header is answered
//! with `304 Not Modified` when the request's `If-None-Match` matches. Every request is
//! recorded (method, target, headers) for assertions. Each connection is served in its own
//! thread and closed after one response.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// HTTP status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Send no `Content-Length`: the body ends when the connection closes.
    pub close_delimited: bool,
}

impl Recorded {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            close_delimited: false,
        }
    }

    /// `200 OK` with `Content-Type: application/json`.
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200, body).with_header("Content-Type", "application/json")
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends the body without `Content-Length`, ended by closing the connection.
    pub fn close_delimited(mut self) -> Self {
        self.close_delimited = true;
        self
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, …
    pub method: String,
    /// Path and query as sent, e.g. `/papers?page=2`.
    pub target: String,
    /// The request headers in order.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What to do with the next request to a path instead of answering it normally.
#[derive(Debug, Clone)]
enum Script {
    /// Answer with this response.
    Fail(Recorded),
    /// Wait this long, then answer normally.
    Stall(Duration),
}

#[derive(Debug, Default)]
struct State {
    routes: HashMap<String, Recorded>,
    scripts: HashMap<String, VecDeque<Script>>,
    requests: Vec<RecordedRequest>,
}

/// The server; it stops when dropped.
#[derive(Debug)]
pub struct RecordedServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl RecordedServer {
    /// Starts a server with no recorded responses on a free local port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || handle(stream, &state));
                }
            })
        };
        Self {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full URL of a path (starting with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url())
    }

    /// Records the response to `path_and_query`; `{base}` in the body becomes
    /// [`Self::base_url`].
    pub fn serve(&self, path_and_query: &str, mut response: Recorded) {
        if let Ok(text) = std::str::from_utf8(&response.body)
            && text.contains("{base}")
        {
            response.body = text.replace("{base}", &self.base_url()).into_bytes();
        }
        self.state()
            .routes
            .insert(path_and_query.to_string(), response);
    }

    /// Records a `200` JSON response.
    pub fn serve_json(&self, path_and_query: &str, body: &str) {
        self.serve(path_and_query, Recorded::json(body));
    }

    /// Records a `200` JSON response read from a fixture file.
    pub fn serve_file(&self, path_and_query: &str, file: &Path) {
        let body =
            std::fs::read(file).unwrap_or_else(|e| panic!("fixture {}: {e}", file.display()));
        self.serve(path_and_query, Recorded::json(body));
    }

    /// The next `times` requests to `path` (exact target or path) are answered with `status`.
    pub fn fail_first(&self, path: &str, times: usize, status: u16) {
        let reason = format!("scripted failure {status}");
        self.fail_first_with(path, times, Recorded::new(status, reason));
    }

    /// The next `times` requests to `path` are answered with `response`.
    pub fn fail_first_with(&self, path: &str, times: usize, response: Recorded) {
        self.script(path, times, Script::Fail(response));
    }

    /// The next `times` requests to `path` wait `pause` before they are answered.
    pub fn stall_first(&self, path: &str, times: usize, pause: Duration) {
        self.script(path, times, Script::Stall(pause));
    }

    /// All requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The requests whose path (without query) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }

    fn script(&self, path: &str, times: usize, script: Script) {
        let mut state = self.state();
        let queue = state.scripts.entry(path.to_string()).or_default();
        queue.extend(std::iter::repeat_n(script, times));
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for RecordedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Locks the state even when a connection thread panicked while holding it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads one request head: request line and headers (a GET has no body).
fn read_request(stream: &TcpStream) -> Option<RecordedRequest> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Some(RecordedRequest {
        method,
        target,
        headers,
    })
}

/// Serves one connection: records the request, applies a script, answers.
fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    let script = {
        let mut state = lock(state);
        state.requests.push(request.clone());
        let key = if state.scripts.contains_key(&request.target) {
            request.target.clone()
        } else {
            request.path().to_string()
        };
        state.scripts.get_mut(&key).and_then(VecDeque::pop_front)
    };
    match script {
        Some(Script::Fail(response)) => return write_response(&mut stream, &response),
        Some(Script::Stall(pause)) => std::thread::sleep(pause),
        None => {}
    }
    let recorded = {
        let state = lock(state);
        state
            .routes
            .get(&request.target)
            .or_else(|| state.routes.get(request.path()))
            .cloned()
    };
    let response = match recorded {
        None => Recorded::new(404, format!("nothing recorded for {}", request.target)),
        Some(recorded) => match (recorded.header("ETag"), request.header("If-None-Match")) {
            (Some(etag), Some(wanted))
                if wanted.trim() == "*" || wanted.split(',').any(|w| w.trim() == etag) =>
            {
                Recorded::new(304, Vec::new()).with_header("ETag", etag)
            }
            _ => recorded,
        },
    };
    write_response(&mut stream, &response);
}

fn write_response(stream: &mut TcpStream, response: &Recorded) {
    let reason = ureq::http::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !response.close_delimited {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    // The client may have given up (timeouts); a failed write is not the server's problem.
    let _ = stream.write_all(head.as_bytes());
    if response.status != 304 {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
}
