//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4, written by hand).
//!
//! - `allmende_http_requests_total{route,method,status}`: every request, labelled with the
//!   matched route *template* (`/api/chat`, `/v1/models`), or `unmatched` for the 404 fallback.
//!   Raw paths are never used as labels: they could carry personal data and would make the
//!   label set unbounded. Unusual methods are counted as `OTHER` for the same reason.
//! - `allmende_http_request_duration_seconds{route}`: histogram of the time until the response
//!   head is ready (for streamed answers: until the stream starts, not until it ends).
//! - `allmende_chat_answers_total{mode}`: answers by mode (`generated`, `extractive`,
//!   `no_sources`, `refused`), counted where a handler calls [`Metrics::record_answer`].
//! - `allmende_generation_queue_running`, `allmende_generation_queue_waiting`,
//!   `allmende_generation_rejected_total`: the assistant's generation queue, and the same three
//!   as `allmende_retrieval_*` for its retrieval queue
//!   ([`allmende_assistant::answer::GateStats`]), read at scrape time.
//! - `allmende_index_passages`: passages in the search index, read at scrape time.
//! - `allmende_generated_tokens_total` and `allmende_generation_seconds_total`: tokens the model
//!   wrote and the wall time of those answers (retrieval, prompt and generation), counted where
//!   a handler calls [`Metrics::record_generation`]; tokens per second =
//!   `rate(allmende_generated_tokens_total[5m]) / rate(allmende_generation_seconds_total[5m])`.
//! - `allmende_prefix_cache_entries`, `allmende_prefix_cache_bytes`,
//!   `allmende_prefix_cache_hits_total`, `allmende_prefix_cache_misses_total`: prompt prefixes
//!   whose attention state the model keeps (the system prompt is shared by every answer), the
//!   memory they hold, and how often a prompt reused one; read at scrape time; absent without a
//!   model.
//! - `allmende_limit_rejections_total{reason}` (`client_rate`, `widget_rate`, `daily_budget`,
//!   `widget_daily_budget`), `allmende_request_timeouts_total{route}`,
//!   `allmende_limit_tracked_clients`, `allmende_daily_generated_tokens`: the defences of
//!   [`crate::limits`].
//! - `allmende_feedback_total{rating}`: answers rated by citizens (`up`, `down`).
//! - `allmende_embedding_inputs_total`, `allmende_embedding_tokens_total`: texts and tokens
//!   encoded by `POST /v1/embeddings`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allmende_assistant::answer::{AnswerMode, GateStats};
use allmende_assistant::llm::PrefixCacheStats;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::SharedState;

/// Upper bounds of the request-duration histogram buckets, in seconds (`+Inf` is implied).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// Route label for requests no route matched (the 404 fallback).
pub const UNMATCHED: &str = "unmatched";

/// Content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket of [`DURATION_BUCKETS`], plus one for `+Inf`.
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let slot = DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (route, method, status) → count.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → durations.
    durations: BTreeMap<String, Histogram>,
    /// answer mode → count.
    answers: BTreeMap<&'static str, u64>,
    /// limit rejection reason → count.
    rejections: BTreeMap<&'static str, u64>,
    /// route template → requests that timed out.
    timeouts: BTreeMap<String, u64>,
    /// rating → count.
    feedback: BTreeMap<&'static str, u64>,
    generated_tokens: u64,
    generation_seconds: f64,
    embedding_inputs: u64,
    embedding_tokens: u64,
}

/// Values read from the rest of the server at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// The assistant's generation queue.
    pub queue: GateStats,
    /// The assistant's retrieval queue.
    pub retrieval_queue: GateStats,
    /// Passages in the index (`None`: could not be read).
    pub passages: Option<u64>,
    /// The model's prompt-prefix cache (`None`: no model).
    pub prefix_cache: Option<PrefixCacheStats>,
    /// Client addresses the limiter tracks.
    pub tracked_clients: usize,
    /// Tokens generated today (UTC).
    pub tokens_today: u64,
}

/// The server's counters (see the module docs). Cheap to update: one short lock per request.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    started_unix: u64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics; remembers the start time.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            started: Instant::now(),
        }
    }

    /// Unix seconds when the server (these metrics) started.
    pub fn started_unix(&self) -> u64 {
        self.started_unix
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one finished request. `route` must be a route template or [`UNMATCHED`].
    pub fn record_request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let mut inner = self.lock();
        *inner
            .requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        inner
            .durations
            .entry(route.to_string())
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one answer of the chat assistant by its mode.
    pub fn record_answer(&self, mode: &AnswerMode) {
        *self.lock().answers.entry(mode_label(mode)).or_default() += 1;
    }

    /// Counts a request refused by the limits (`reason`: a [`crate::limits::Rejection`] label).
    pub fn record_rejection(&self, reason: &'static str) {
        *self.lock().rejections.entry(reason).or_default() += 1;
    }

    /// Counts a request that ran into the time limit (`route`: its template).
    pub fn record_timeout(&self, route: &str) {
        *self.lock().timeouts.entry(route.to_string()).or_default() += 1;
    }

    /// Counts one feedback by its rating (`up` or `down`).
    pub fn record_feedback(&self, rating: &'static str) {
        *self.lock().feedback.entry(rating).or_default() += 1;
    }

    /// Counts a generated answer: `tokens` written by the model in `elapsed`.
    pub fn record_generation(&self, tokens: u64, elapsed: Duration) {
        let mut inner = self.lock();
        inner.generated_tokens += tokens;
        inner.generation_seconds += elapsed.as_secs_f64();
    }

    /// Counts an embeddings request: `inputs` texts of `tokens` tokens together.
    pub fn record_embeddings(&self, inputs: u64, tokens: u64) {
        let mut inner = self.lock();
        inner.embedding_inputs += inputs;
        inner.embedding_tokens += tokens;
    }

    /// The text exposition of all metrics; `gauges` are read by the caller at scrape time.
    pub fn render(&self, gauges: &Gauges) -> String {
        let Gauges {
            queue,
            retrieval_queue,
            passages,
            prefix_cache,
            tracked_clients,
            tokens_today,
        } = *gauges;
        let inner = self.lock();
        let mut out = String::new();
        header_lines(
            &mut out,
            "allmende_http_requests_total",
            "counter",
            "HTTP requests by route template, method and status.",
        );
        for ((route, method, status), count) in &inner.requests {
            let labels = [
                ("route", route.as_str()),
                ("method", method.as_str()),
                ("status", &status.to_string()),
            ];
            sample(&mut out, "allmende_http_requests_total", &labels, *count);
        }
        header_lines(
            &mut out,
            "allmende_http_request_duration_seconds",
            "histogram",
            "Time until the response head was ready, by route template.",
        );
        for (route, histogram) in &inner.durations {
            let mut cumulative = 0;
            for (i, count) in histogram.buckets.iter().enumerate() {
                cumulative += count;
                let le = DURATION_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let labels = [("route", route.as_str()), ("le", le.as_str())];
                sample(
                    &mut out,
                    "allmende_http_request_duration_seconds_bucket",
                    &labels,
                    cumulative,
                );
            }
            let labels = [("route", route.as_str())];
            sample(
                &mut out,
                "allmende_http_request_duration_seconds_sum",
                &labels,
                histogram.sum,
            );
            sample(
                &mut out,
                "allmende_http_request_duration_seconds_count",
                &labels,
                histogram.count,
            );
        }
        header_lines(
            &mut out,
            "allmende_chat_answers_total",
            "counter",
            "Answers of the chat assistant by mode.",
        );
        for (mode, count) in &inner.answers {
            sample(
                &mut out,
                "allmende_chat_answers_total",
                &[("mode", mode)],
                *count,
            );
        }
        labelled(
            &mut out,
            "allmende_limit_rejections_total",
            "Requests refused by the limits, by reason.",
            "reason",
            inner.rejections.iter().map(|(k, v)| (*k, *v)),
        );
        labelled(
            &mut out,
            "allmende_request_timeouts_total",
            "Requests answered with 504 because they ran over the time limit, by route template.",
            "route",
            inner.timeouts.iter().map(|(k, v)| (k.as_str(), *v)),
        );
        labelled(
            &mut out,
            "allmende_feedback_total",
            "Answers rated by citizens, by rating.",
            "rating",
            inner.feedback.iter().map(|(k, v)| (*k, *v)),
        );
        let counters: [(&str, &str, f64); 4] = [
            (
                "allmende_generated_tokens_total",
                "Tokens written by the language model.",
                inner.generated_tokens as f64,
            ),
            (
                "allmende_generation_seconds_total",
                "Wall time of generated answers (retrieval, prompt and generation).",
                inner.generation_seconds,
            ),
            (
                "allmende_embedding_inputs_total",
                "Texts encoded by /v1/embeddings.",
                inner.embedding_inputs as f64,
            ),
            (
                "allmende_embedding_tokens_total",
                "Tokens encoded by /v1/embeddings.",
                inner.embedding_tokens as f64,
            ),
        ];
        for (name, help, value) in counters {
            header_lines(&mut out, name, "counter", help);
            sample(&mut out, name, &[], value);
        }
        drop(inner);
        let gauges: [(&str, &str, &str, u64); 8] = [
            (
                "allmende_generation_queue_running",
                "gauge",
                "Generations running now.",
                queue.running as u64,
            ),
            (
                "allmende_generation_queue_waiting",
                "gauge",
                "Questions waiting for a free generation slot.",
                queue.waiting as u64,
            ),
            (
                "allmende_generation_rejected_total",
                "counter",
                "Questions turned away because the generation queue was full.",
                queue.rejected,
            ),
            (
                "allmende_retrieval_queue_running",
                "gauge",
                "Retrievals (search and query encoding) running now.",
                retrieval_queue.running as u64,
            ),
            (
                "allmende_retrieval_queue_waiting",
                "gauge",
                "Questions waiting for a free retrieval slot.",
                retrieval_queue.waiting as u64,
            ),
            (
                "allmende_retrieval_rejected_total",
                "counter",
                "Questions turned away because the retrieval queue was full.",
                retrieval_queue.rejected,
            ),
            (
                "allmende_limit_tracked_clients",
                "gauge",
                "Client addresses the rate limiter keeps state for.",
                tracked_clients as u64,
            ),
            (
                "allmende_daily_generated_tokens",
                "gauge",
                "Tokens generated today (UTC), counted against the daily budget.",
                tokens_today,
            ),
        ];
        for (name, kind, help, value) in gauges {
            header_lines(&mut out, name, kind, help);
            sample(&mut out, name, &[], value);
        }
        if let Some(cache) = prefix_cache {
            let cache_metrics = [
                (
                    "allmende_prefix_cache_entries",
                    "gauge",
                    "Prompt prefixes whose attention state the model keeps for reuse.",
                    cache.entries as u64,
                ),
                (
                    "allmende_prefix_cache_bytes",
                    "gauge",
                    "Bytes of attention state the prefix cache holds.",
                    cache.bytes as u64,
                ),
                (
                    "allmende_prefix_cache_hits_total",
                    "counter",
                    "Prompts that reused a cached prefix.",
                    cache.hits,
                ),
                (
                    "allmende_prefix_cache_misses_total",
                    "counter",
                    "Prompts that found no cached prefix.",
                    cache.misses,
                ),
            ];
            for (name, kind, help, value) in cache_metrics {
                header_lines(&mut out, name, kind, help);
                sample(&mut out, name, &[], value);
            }
        }
        if let Some(passages) = passages {
            header_lines(
                &mut out,
                "allmende_index_passages",
                "gauge",
                "Passages in the search index.",
            );
            sample(&mut out, "allmende_index_passages", &[], passages);
        }
        header_lines(
            &mut out,
            "allmende_uptime_seconds",
            "gauge",
            "Seconds since the server started.",
        );
        sample(
            &mut out,
            "allmende_uptime_seconds",
            &[],
            self.started.elapsed().as_secs(),
        );
        out
    }
}

/// The label for an answer mode.
pub fn mode_label(mode: &AnswerMode) -> &'static str {
    match mode {
        AnswerMode::Generated { .. } => "generated",
        AnswerMode::Extractive => "extractive",
        AnswerMode::NoSources => "no_sources",
        AnswerMode::Refused { .. } => "refused",
    }
}

/// Standard methods keep their name; anything else is `OTHER` (bounded label set).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("OTHER", |m| m.as_str())
}

/// Escapes a label value: backslash, double quote and line feed (format 0.0.4).
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A counter with one label, with HELP and TYPE even when it has no samples yet.
fn labelled<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: impl Iterator<Item = (&'a str, u64)>,
) {
    header_lines(out, name, "counter", help);
    for (value, count) in values {
        sample(out, name, &[(label, value)], count);
    }
}

fn header_lines(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Middleware: counts every request by its matched route template (see the module docs).
/// Must be added with `Router::layer` so that it runs after routing has set [`MatchedPath`].
pub async fn track(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.record_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub async fn get_metrics(State(state): State<SharedState>) -> Response {
    let passages = match state.index.num_passages() {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count index passages");
            None
        }
    };
    let gauges = Gauges {
        queue: state.assistant.queue(),
        retrieval_queue: state.assistant.retrieval_queue(),
        passages,
        prefix_cache: state.assistant.llm().map(|llm| llm.prefix_cache_stats()),
        tracked_clients: state.limiter.tracked_clients(),
        tokens_today: state.limiter.tokens_today(),
    };
    let body = state.metrics.render(&gauges);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("/v1/chat/completions"), "/v1/chat/completions");
    }

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let metrics = Metrics::new();
        metrics.record_request("/api/chat", &Method::POST, 200, Duration::from_millis(30));
        metrics.record_request("/api/chat", &Method::POST, 200, Duration::from_secs(2));
        metrics.record_request("/we\"ird", &Method::GET, 404, Duration::from_secs(100));
        metrics.record_answer(&AnswerMode::Extractive);
        let queue = GateStats {
            running: 1,
            waiting: 2,
            rejected: 3,
        };
        metrics.record_rejection("client_rate");
        metrics.record_rejection("client_rate");
        metrics.record_timeout("/api/chat");
        metrics.record_feedback("down");
        metrics.record_generation(40, Duration::from_secs(2));
        metrics.record_embeddings(3, 30);
        let text = metrics.render(&Gauges {
            queue,
            retrieval_queue: GateStats {
                running: 2,
                waiting: 5,
                rejected: 9,
            },
            passages: Some(42),
            prefix_cache: Some(PrefixCacheStats {
                entries: 1,
                bytes: 4096,
                hits: 11,
                misses: 1,
            }),
            tracked_clients: 7,
            tokens_today: 40,
        });
        for line in [
            "# TYPE allmende_http_requests_total counter",
            r#"allmende_http_requests_total{route="/api/chat",method="POST",status="200"} 2"#,
            r#"allmende_http_requests_total{route="/we\"ird",method="GET",status="404"} 1"#,
            "# TYPE allmende_http_request_duration_seconds histogram",
            r#"allmende_http_request_duration_seconds_bucket{route="/api/chat",le="0.025"} 0"#,
            r#"allmende_http_request_duration_seconds_bucket{route="/api/chat",le="0.05"} 1"#,
            r#"allmende_http_request_duration_seconds_bucket{route="/api/chat",le="2.5"} 2"#,
            r#"allmende_http_request_duration_seconds_bucket{route="/api/chat",le="+Inf"} 2"#,
            r#"allmende_http_request_duration_seconds_count{route="/api/chat"} 2"#,
            r#"allmende_http_request_duration_seconds_bucket{route="/we\"ird",le="60"} 0"#,
            r#"allmende_http_request_duration_seconds_bucket{route="/we\"ird",le="+Inf"} 1"#,
            r#"allmende_chat_answers_total{mode="extractive"} 1"#,
            "allmende_generation_queue_running 1",
            "allmende_generation_queue_waiting 2",
            "# TYPE allmende_generation_rejected_total counter",
            "allmende_generation_rejected_total 3",
            "allmende_index_passages 42",
            r#"allmende_limit_rejections_total{reason="client_rate"} 2"#,
            r#"allmende_request_timeouts_total{route="/api/chat"} 1"#,
            r#"allmende_feedback_total{rating="down"} 1"#,
            "allmende_generated_tokens_total 40",
            "allmende_generation_seconds_total 2",
            "allmende_embedding_inputs_total 3",
            "allmende_embedding_tokens_total 30",
            "allmende_prefix_cache_entries 1",
            "allmende_prefix_cache_bytes 4096",
            "# TYPE allmende_prefix_cache_hits_total counter",
            "allmende_prefix_cache_hits_total 11",
            "allmende_prefix_cache_misses_total 1",
            "allmende_retrieval_queue_running 2",
            "allmende_retrieval_queue_waiting 5",
            "allmende_retrieval_rejected_total 9",
            "allmende_limit_tracked_clients 7",
            "allmende_daily_generated_tokens 40",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing line {line:?} in\n{text}"
            );
        }
        // Every sample line is `name[{labels}] value`, every metric has HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').expect(line);
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(
            text.matches("# HELP").count(),
            text.matches("# TYPE").count()
        );
    }

    #[test]
    fn unusual_methods_are_bounded() {
        let method = Method::from_bytes(b"PERSONALDATA").unwrap();
        assert_eq!(method_label(&method), "OTHER");
        assert_eq!(method_label(&Method::GET), "GET");
    }
}
