//! The ingest HTTP client against the recorded server: retries with backoff on 503/429,
//! giving up with a specific reason, no retry on 404, conditional requests with ETags, the
//! body limit, timeouts, refused connections and non-HTTP URLs.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allmende_connectors::Error;
use allmende_connectors::fetch::Fetch;
use allmende_connectors::http::{Conditional, HttpClient, HttpOptions, USER_AGENT, Validators};
use support::recorded_server::{Recorded, RecordedServer};

/// Tiny backoffs so tests are fast; the waits are recorded instead of slept.
fn recording_client(options: HttpOptions) -> (HttpClient, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    let client = HttpClient::new(options).with_sleep(move |d| recorded.lock().unwrap().push(d));
    (client, waits)
}

fn fast() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_secs(5),
        retries: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(1),
        ..HttpOptions::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The reason of an [`Error::Http`] for `url`.
fn http_reason(err: Error, url: &str) -> String {
    match err {
        Error::Http { url: u, reason } => {
            assert_eq!(u, url);
            reason
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let o = HttpOptions::default();
    assert_eq!(o.timeout, Duration::from_secs(30));
    assert_eq!(o.retries, 3);
    assert_eq!(o.backoff, ms(500));
    assert_eq!(o.max_backoff, Duration::from_secs(30));
    assert_eq!(o.max_body_bytes, 512 * 1024 * 1024);
    assert_eq!(
        o.user_agent,
        format!(
            "Allmende/{} (+municipal open data ingest)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn retries_two_503_then_succeeds_with_doubling_backoff() {
    let server = RecordedServer::start();
    server.serve_json("/data.json", r#"{"ok": true}"#);
    server.fail_first("/data.json", 2, 503);
    let (client, waits) = recording_client(fast());
    let body = client.get(&server.url("/data.json")).unwrap();
    assert_eq!(body, br#"{"ok": true}"#);
    assert_eq!(server.requests_to("/data.json").len(), 3);
    assert_eq!(*waits.lock().unwrap(), vec![ms(10), ms(20)]);
    let first = &server.requests()[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.header("User-Agent"), Some(USER_AGENT));
}

#[test]
fn gives_up_after_the_retries_with_the_status_as_reason() {
    let server = RecordedServer::start();
    server.serve_json("/down", "{}");
    server.fail_first("/down", 10, 503);
    let (client, waits) = recording_client(HttpOptions {
        max_backoff: ms(25),
        ..fast()
    });
    let url = server.url("/down");
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert_eq!(reason, "HTTP 503 Service Unavailable after 4 attempts");
    assert_eq!(server.requests_to("/down").len(), 4);
    // 10, 20, then 40 capped at 25.
    assert_eq!(*waits.lock().unwrap(), vec![ms(10), ms(20), ms(25)]);
}

#[test]
fn retry_after_is_honoured_up_to_the_cap() {
    let server = RecordedServer::start();
    server.serve_json("/busy", "[]");
    server.fail_first_with(
        "/busy",
        1,
        Recorded::new(429, "slow down").with_header("Retry-After", "0"),
    );
    server.fail_first_with(
        "/busy",
        1,
        Recorded::new(429, "slow down").with_header("Retry-After", "3600"),
    );
    let (client, waits) = recording_client(HttpOptions {
        max_backoff: ms(50),
        ..fast()
    });
    assert_eq!(client.get(&server.url("/busy")).unwrap(), b"[]");
    assert_eq!(*waits.lock().unwrap(), vec![ms(0), ms(50)]);
    assert_eq!(server.requests_to("/busy").len(), 3);
}

#[test]
fn a_404_is_not_retried() {
    let server = RecordedServer::start();
    let (client, waits) = recording_client(fast());
    let url = server.url("/missing?x=1");
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert_eq!(reason, "HTTP 404 Not Found");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].target, "/missing?x=1");
    assert!(waits.lock().unwrap().is_empty());
}

#[test]
fn matching_etag_is_not_modified_and_validators_are_sent() {
    let server = RecordedServer::start();
    let last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
    server.serve(
        "/catalog.json",
        Recorded::json(r#"{"v": 1}"#)
            .with_header("ETag", "\"v1\"")
            .with_header("Last-Modified", last_modified),
    );
    let (client, _) = recording_client(fast());
    let url = server.url("/catalog.json");

    let Conditional::Fresh { body, validators } = client.get_conditional(&url, None).unwrap()
    else {
        panic!("first request must be fresh");
    };
    assert_eq!(body, br#"{"v": 1}"#);
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(validators.last_modified.as_deref(), Some(last_modified));
    assert_eq!(server.requests()[0].header("If-None-Match"), None);

    // Validators survive being stored (e.g. in provenance) as JSON.
    let stored = serde_json::to_string(&validators).unwrap();
    let validators: Validators = serde_json::from_str(&stored).unwrap();

    let again = client.get_conditional(&url, Some(&validators)).unwrap();
    assert_eq!(again, Conditional::NotModified);
    let second = &server.requests()[1];
    assert_eq!(second.header("If-None-Match"), Some("\"v1\""));
    assert_eq!(second.header("If-Modified-Since"), Some(last_modified));

    let stale = Validators {
        etag: Some("\"v0\"".into()),
        last_modified: None,
    };
    match client.get_conditional(&url, Some(&stale)).unwrap() {
        Conditional::Fresh { body, validators } => {
            assert_eq!(body, br#"{"v": 1}"#);
            assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        }
        Conditional::NotModified => panic!("a different ETag must fetch the body"),
    }
    assert_eq!(server.requests()[2].header("If-Modified-Since"), None);
}

#[test]
fn bodies_over_the_limit_are_refused_without_retry() {
    let server = RecordedServer::start();
    server.serve("/exact", Recorded::new(200, vec![b'a'; 1000]));
    server.serve("/big", Recorded::new(200, vec![b'a'; 5000]));
    server.serve(
        "/big-stream",
        Recorded::new(200, vec![b'b'; 5000]).close_delimited(),
    );
    let (client, waits) = recording_client(HttpOptions {
        max_body_bytes: 1000,
        ..fast()
    });
    assert_eq!(client.get(&server.url("/exact")).unwrap().len(), 1000);

    let url = server.url("/big");
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert_eq!(reason, "body larger than 1000 bytes (Content-Length 5000)");

    let url = server.url("/big-stream");
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert_eq!(reason, "body larger than 1000 bytes");

    assert_eq!(server.requests_to("/big").len(), 1);
    assert_eq!(server.requests_to("/big-stream").len(), 1);
    assert!(waits.lock().unwrap().is_empty());
}

#[test]
fn a_stalled_server_times_out_and_a_retry_can_succeed() {
    let server = RecordedServer::start();
    server.serve_json("/slow", r#"{"late": true}"#);
    server.stall_first("/slow", 1, Duration::from_secs(3));
    let (client, _) = recording_client(HttpOptions {
        timeout: ms(300),
        retries: 0,
        ..fast()
    });
    let url = server.url("/slow");
    let started = Instant::now();
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert_eq!(reason, "timed out after 300 ms (1 attempt)");
    assert!(started.elapsed() < Duration::from_secs(2), "gave up late");

    server.stall_first("/slow", 1, Duration::from_secs(3));
    let (client, waits) = recording_client(HttpOptions {
        timeout: ms(300),
        retries: 1,
        ..fast()
    });
    assert_eq!(client.get(&url).unwrap(), br#"{"late": true}"#);
    assert_eq!(*waits.lock().unwrap(), vec![ms(10)]);
    assert_eq!(server.requests_to("/slow").len(), 3);
}

#[test]
fn a_refused_connection_is_retried_then_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (client, waits) = recording_client(HttpOptions {
        retries: 1,
        ..fast()
    });
    let url = format!("http://127.0.0.1:{port}/x");
    let reason = http_reason(client.get(&url).unwrap_err(), &url);
    assert!(reason.starts_with("connection refused"), "{reason}");
    assert!(reason.ends_with("(2 attempts)"), "{reason}");
    assert_eq!(*waits.lock().unwrap(), vec![ms(10)]);
}

#[test]
fn only_http_and_https_urls_are_fetched() {
    let (client, _) = recording_client(fast());
    for url in [
        "ftp://example.org/x",
        "file:///etc/passwd",
        "example.org/data",
    ] {
        match client.get(url) {
            Err(Error::Spec(message)) => {
                assert!(message.contains("not an http or https URL"), "{message}");
                assert!(message.contains(url), "{message}");
            }
            other => panic!("{url}: expected a spec error, got {other:?}"),
        }
    }
}

#[test]
fn the_client_is_a_fetch() {
    let server = RecordedServer::start();
    server.serve_json("/a", "[1]");
    let client = HttpClient::new(fast());
    let fetch: &dyn Fetch = &client;
    assert_eq!(fetch.get(&server.url("/a")).unwrap(), b"[1]");
    let url = server.url("/b");
    assert_eq!(
        http_reason(fetch.get(&url).unwrap_err(), &url),
        "HTTP 404 Not Found"
    );
}
