//! Fetching remote sources over HTTP(S): a blocking client on ureq for ingest.
//!
//! [`HttpClient`] sends `GET` requests with a fixed user agent and a global timeout, retries
//! connection errors, timeouts, `429` and `5xx` with exponential backoff (honouring a
//! `Retry-After` header), never retries other `4xx`, caps the body size and supports
//! conditional requests ([`HttpClient::get_conditional`]: `If-None-Match` /
//! `If-Modified-Since`, `304` → [`Conditional::NotModified`]). Every failure is a
//! [`crate::Error::Http`] whose reason says what happened ("HTTP 503 Service Unavailable after
//! 4 attempts", "timed out after 30 s", "body larger than … bytes", "connection refused …").
//! Only `http` and `https` URLs are accepted. It implements [`crate::fetch::Fetch`], the seam
//! the protocol walkers (OParl, CKAN, DCAT) fetch through.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The user agent every request carries.
pub const USER_AGENT: &str = concat!(
    "Allmende/",
    env!("CARGO_PKG_VERSION"),
    " (+municipal open data ingest)"
);

/// Settings of an [`HttpClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Time limit of one attempt, from connecting to the last byte of the body (default 30 s).
    pub timeout: Duration,
    /// Retries after the first attempt for connection errors, timeouts, 429 and 5xx
    /// (default 3, so at most 4 attempts).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further retry (default 500 ms).
    pub backoff: Duration,
    /// The longest wait between two attempts, also for a `Retry-After` header (default 30 s).
    pub max_backoff: Duration,
    /// Largest accepted body in bytes, after decompression (default 512 MiB).
    pub max_body_bytes: u64,
    /// The `User-Agent` header (default [`USER_AGENT`]).
    pub user_agent: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_body_bytes: 512 * 1024 * 1024,
            user_agent: USER_AGENT.to_string(),
        }
    }
}

/// The cache validators of a response, stored (e.g. in provenance) to ask next time whether
/// the resource changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` header, sent back as `If-None-Match`.
    #[serde(default)]
    pub etag: Option<String>,
    /// The `Last-Modified` header, sent back as `If-Modified-Since`.
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl Validators {
    /// True when there is nothing to send back.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The answer to a conditional request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    /// `304 Not Modified`: the copy fetched with the previous validators is still current.
    NotModified,
    /// The resource, with the validators to send next time.
    Fresh {
        /// The body.
        body: Vec<u8>,
        /// `ETag` and `Last-Modified` of this response.
        validators: Validators,
    },
}

/// How the client waits between attempts; replaceable so tests need not sleep.
type Sleep = Arc<dyn Fn(Duration) + Send + Sync>;

/// A blocking HTTP(S) client for ingest: timeouts, retries with backoff, a body size limit
/// and conditional requests. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    options: HttpOptions,
    sleep: Sleep,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new(HttpOptions::default())
    }
}

/// What one attempt ended with.
enum Attempt {
    /// A final answer.
    Done(Conditional),
    /// A failure; `retry` says whether another attempt may help, `wait` is a server's
    /// `Retry-After`.
    Failed {
        reason: String,
        retry: bool,
        status: bool,
        wait: Option<Duration>,
    },
}

impl HttpClient {
    /// A client with the given options.
    pub fn new(options: HttpOptions) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .user_agent(options.user_agent.as_str())
            .build()
            .into();
        Self {
            agent,
            options,
            sleep: Arc::new(std::thread::sleep),
        }
    }

    /// Replaces how the client waits between attempts (the default is
    /// [`std::thread::sleep`]); tests use it to record the backoff without waiting.
    pub fn with_sleep(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Arc::new(sleep);
        self
    }

    /// The options this client was built with.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The body of `url` (`2xx`), after retries; anything else is an [`Error::Http`].
    pub fn get(&self, url: &str) -> Result<Vec<u8>> {
        match self.get_conditional(url, None)? {
            Conditional::Fresh { body, .. } => Ok(body),
            Conditional::NotModified => Err(Error::Http {
                url: url.to_string(),
                reason: "HTTP 304 Not Modified to an unconditional request".into(),
            }),
        }
    }

    /// Fetches `url`, sending `If-None-Match` / `If-Modified-Since` from `previous`; a `304`
    /// answer is [`Conditional::NotModified`], a `2xx` the body with its new validators.
    pub fn get_conditional(&self, url: &str, previous: Option<&Validators>) -> Result<Conditional> {
        check_scheme(url)?;
        let attempts = self.options.retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            let (reason, status, wait) = match self.attempt(url, previous) {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Failed {
                    reason,
                    retry: false,
                    ..
                } => {
                    return Err(Error::Http {
                        url: url.to_string(),
                        reason,
                    });
                }
                Attempt::Failed {
                    reason,
                    status,
                    wait,
                    ..
                } => (reason, status, wait),
            };
            if attempt >= attempts {
                let plural = if attempts == 1 { "" } else { "s" };
                let reason = if status {
                    format!("{reason} after {attempts} attempt{plural}")
                } else {
                    format!("{reason} ({attempts} attempt{plural})")
                };
                return Err(Error::Http {
                    url: url.to_string(),
                    reason,
                });
            }
            let delay = match wait {
                Some(wait) => wait.min(self.options.max_backoff),
                None => backoff_delay(self.options.backoff, self.options.max_backoff, attempt - 1),
            };
            tracing::warn!(
                url = %url,
                attempt,
                attempts,
                delay_ms = delay.as_millis() as u64,
                reason = %reason,
                "HTTP request failed, retrying"
            );
            (self.sleep)(delay);
            attempt += 1;
        }
    }

    /// One request and its body.
    fn attempt(&self, url: &str, previous: Option<&Validators>) -> Attempt {
        let mut request = self.agent.get(url);
        if let Some(previous) = previous {
            if let Some(etag) = &previous.etag {
                request = request.header("If-None-Match", etag.as_str());
            }
            if let Some(date) = &previous.last_modified {
                request = request.header("If-Modified-Since", date.as_str());
            }
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status();
        let code = status.as_u16();
        if code == 304 {
            return Attempt::Done(Conditional::NotModified);
        }
        if !status.is_success() {
            let reason = match status.canonical_reason() {
                Some(text) => format!("HTTP {code} {text}"),
                None => format!("HTTP {code}"),
            };
            let retry = code == 429 || status.is_server_error();
            let wait = if retry {
                header(&response, "retry-after").and_then(|v| retry_after(&v))
            } else {
                None
            };
            return Attempt::Failed {
                reason,
                retry,
                status: true,
                wait,
            };
        }
        let limit = self.options.max_body_bytes;
        if let Some(length) =
            header(&response, "content-length").and_then(|v| v.parse::<u64>().ok())
            && length > limit
        {
            return Attempt::Failed {
                reason: format!("body larger than {limit} bytes (Content-Length {length})"),
                retry: false,
                status: false,
                wait: None,
            };
        }
        let validators = Validators {
            etag: header(&response, "etag"),
            last_modified: header(&response, "last-modified"),
        };
        let mut body = response.into_body();
        match body.with_config().limit(limit).read_to_vec() {
            Ok(body) => Attempt::Done(Conditional::Fresh { body, validators }),
            Err(e) => self.transport_failure(&e),
        }
    }

    /// Classifies a ureq error: a specific reason and whether to retry.
    fn transport_failure(&self, e: &ureq::Error) -> Attempt {
        use std::io::ErrorKind;
        let timed_out = || format!("timed out after {}", human(self.options.timeout));
        let (reason, retry) = match e {
            ureq::Error::Timeout(_) => (timed_out(), true),
            ureq::Error::Io(io) => match io.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => (timed_out(), true),
                ErrorKind::ConnectionRefused => (format!("connection refused ({io})"), true),
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => (format!("connection lost ({io})"), true),
                _ => (format!("i/o error ({io})"), true),
            },
            ureq::Error::HostNotFound => ("host not found".to_string(), true),
            ureq::Error::ConnectionFailed => ("connection failed".to_string(), true),
            ureq::Error::Protocol(p) => (format!("HTTP protocol error ({p})"), true),
            ureq::Error::BodyExceedsLimit(_) => (
                format!("body larger than {} bytes", self.options.max_body_bytes),
                false,
            ),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => (format!("invalid URL ({e})"), false),
            ureq::Error::TooManyRedirects => ("too many redirects".to_string(), false),
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
                (format!("TLS error ({e})"), false)
            }
            other => (other.to_string(), false),
        };
        Attempt::Failed {
            reason,
            retry,
            status: false,
            wait: None,
        }
    }
}

impl crate::fetch::Fetch for HttpClient {
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        HttpClient::get(self, url)
    }
}

/// Accepts `http://` and `https://` URLs only.
fn check_scheme(url: &str) -> Result<()> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => Ok(()),
        _ => Err(Error::Spec(format!(
            "'{url}' is not an http or https URL (only those can be fetched)"
        ))),
    }
}

/// A response header as text.
fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The wait a `Retry-After` header asks for: delay seconds or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = date.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// `initial × 2^retry`, at most `cap`.
fn backoff_delay(initial: Duration, cap: Duration, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// `30 s` for whole seconds, `250 ms` otherwise.
fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let ms = Duration::from_millis;
        let cap = Duration::from_secs(30);
        let delays: Vec<Duration> = (0..4).map(|r| backoff_delay(ms(500), cap, r)).collect();
        assert_eq!(delays, vec![ms(500), ms(1000), ms(2000), ms(4000)]);
        assert_eq!(backoff_delay(ms(500), cap, 10), cap);
        assert_eq!(backoff_delay(ms(500), cap, 40), cap);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn schemes_and_durations() {
        assert!(check_scheme("https://example.org/x").is_ok());
        assert!(check_scheme("HTTP://example.org/x").is_ok());
        let err = check_scheme("file:///etc/passwd").unwrap_err().to_string();
        assert!(err.contains("not an http or https URL"), "{err}");
        assert!(check_scheme("example.org").is_err());
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert!(USER_AGENT.starts_with("Allmende/"));
        assert!(USER_AGENT.ends_with(" (+municipal open data ingest)"));
    }
}
