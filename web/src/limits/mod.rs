//! Defences against overuse, configured in `[limits]` ([`LimitsConfig`]):
//!
//! - **Request rates** on the limited endpoints (`POST /api/chat`, `/v1/chat/completions`,
//!   `/v1/embeddings`, `/api/feedback`): a token bucket per client address (IPv6 by /64) and one
//!   per configured widget ([`client`], [`buckets`]). The address is the socket peer's;
//!   `X-Forwarded-For` counts only when the peer is a trusted proxy. When the router is served
//!   without connection info (tests calling it in-process) the per-address limit is skipped.
//! - **Daily budget of generated tokens** ([`budget`]), server-wide and per widget, checked on
//!   the chat endpoints before a request runs; when spent: 429 until midnight UTC.
//! - **Time limit** for non-streaming requests: 504 when the response is not ready in
//!   `request_timeout_seconds` (a stream's length is bounded by the assistant's `max_tokens`).
//!   The generation itself cannot be interrupted and finishes in the background.
//!
//! Every refusal is a JSON error (OpenAI's shape under `/v1/`) with `Retry-After`, and is
//! counted in `/metrics` (`allmende_limit_rejections_total{reason}`).

pub mod buckets;
pub mod budget;
pub mod client;
pub mod config;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use config::{LimitsConfig, WidgetConfig};

use crate::api_error::ApiError;
use crate::clock::unix_now;
use crate::routes::RequestId;
use crate::state::SharedState;
use buckets::TokenBuckets;
use budget::{DailyBudget, Spent};
use client::IpNet;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The client address sent too many requests; retry after the seconds given.
    ClientRate(u64),
    /// All users of one widget together sent too many requests.
    WidgetRate(u64),
    /// The server's daily token budget is spent (seconds until midnight UTC).
    DailyBudget(u64),
    /// The widget's daily token budget is spent (seconds until midnight UTC).
    WidgetBudget(u64),
}

impl Rejection {
    /// The `reason` label in `/metrics`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ClientRate(_) => "client_rate",
            Self::WidgetRate(_) => "widget_rate",
            Self::DailyBudget(_) => "daily_budget",
            Self::WidgetBudget(_) => "widget_daily_budget",
        }
    }

    /// The 429 answer, with `Retry-After`.
    pub fn to_api_error(self) -> ApiError {
        let (code, message, seconds) = match self {
            Self::ClientRate(s) => (
                "rate_limited",
                format!(
                    "Zu viele Anfragen von Ihrem Anschluss. Bitte warten Sie {s} Sekunden (too many requests from your address; retry after {s} s)."
                ),
                s,
            ),
            Self::WidgetRate(s) => (
                "rate_limited",
                format!(
                    "Der Assistent auf dieser Seite ist gerade stark gefragt. Bitte warten Sie {s} Sekunden (too many requests for this widget)."
                ),
                s,
            ),
            Self::DailyBudget(s) => (
                "daily_budget_exhausted",
                "Das heutige Kontingent des Assistenten ist aufgebraucht; ab Mitternacht (UTC) antwortet er wieder (today's budget of generated tokens is spent).".to_string(),
                s,
            ),
            Self::WidgetBudget(s) => (
                "daily_budget_exhausted",
                "Das heutige Kontingent des Assistenten auf dieser Seite ist aufgebraucht; ab Mitternacht (UTC) antwortet er wieder (this widget's budget of generated tokens is spent).".to_string(),
                s,
            ),
        };
        ApiError {
            code,
            ..ApiError::busy(message, seconds)
        }
    }
}

/// What the limiter knows about an admitted request; handlers find it in the request extensions
/// and charge what they generate with [`Limiter::charge`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The configured widget the request came from.
    pub widget: Option<String>,
}

/// The limiter state (bounded in memory; see [`buckets`]).
#[derive(Debug)]
pub struct Limiter {
    config: LimitsConfig,
    trusted: Vec<IpNet>,
    clients: Option<TokenBuckets<IpAddr>>,
    widgets: Option<TokenBuckets<String>>,
    budget: DailyBudget,
}

impl Limiter {
    /// A limiter for a validated `[limits]` section.
    pub fn new(config: LimitsConfig) -> Self {
        let clients = (config.ip_requests_per_minute > 0).then(|| {
            TokenBuckets::new(
                config.ip_requests_per_minute,
                config.ip_burst,
                config.max_tracked_clients,
            )
        });
        let widgets =
            (config.widget_requests_per_minute > 0 && !config.widgets.is_empty()).then(|| {
                TokenBuckets::new(
                    config.widget_requests_per_minute,
                    config.widget_burst,
                    config.widgets.len(),
                )
            });
        let budget = DailyBudget::new(
            config.daily_tokens,
            config
                .widgets
                .iter()
                .map(|w| (w.id.clone(), w.daily_tokens)),
        );
        Self {
            trusted: config.trusted_nets(),
            clients,
            widgets,
            budget,
            config,
        }
    }

    /// The time limit for non-streaming requests.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.config.request_timeout_seconds)
    }

    /// When an answer started now must be ready so that its response beats the time limit: the
    /// limit less a tenth of it (at most 10 s) for looking up office cards and sending.
    pub fn answer_deadline(&self) -> std::time::Instant {
        let limit = self.request_timeout();
        let margin = (limit / 10).min(Duration::from_secs(10));
        std::time::Instant::now() + (limit - margin)
    }

    /// Client addresses tracked now.
    pub fn tracked_clients(&self) -> usize {
        self.clients.as_ref().map_or(0, TokenBuckets::len)
    }

    /// Tokens generated today (UTC).
    pub fn tokens_today(&self) -> u64 {
        self.budget.spent(unix_now())
    }

    /// Admits or refuses a request from socket peer `peer` (`None`: unknown) with `headers`;
    /// `check_budget` for the endpoints that generate text.
    pub fn admit(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        check_budget: bool,
        now: Instant,
        unix: u64,
    ) -> Result<Admitted, Rejection> {
        let widget = client::widget_of(headers, &self.config.widgets);
        if check_budget {
            self.budget
                .check(widget, unix)
                .map_err(|(spent, s)| match spent {
                    Spent::Server => Rejection::DailyBudget(s),
                    Spent::Widget => Rejection::WidgetBudget(s),
                })?;
        }
        if let (Some(buckets), Some(ip)) = (
            &self.clients,
            client::client_ip(peer, headers, &self.trusted),
        ) {
            buckets
                .try_take(&client::bucket_key(ip), now)
                .map_err(|wait| Rejection::ClientRate(ceil_secs(wait)))?;
        }
        if let (Some(buckets), Some(id)) = (&self.widgets, widget) {
            buckets
                .try_take(&id.to_string(), now)
                .map_err(|wait| Rejection::WidgetRate(ceil_secs(wait)))?;
        }
        Ok(Admitted {
            widget: widget.map(str::to_string),
        })
    }

    /// Charges `tokens` generated for a request admitted as `admitted` (`None`: not limited).
    pub fn charge(&self, admitted: Option<&Admitted>, tokens: u64) {
        let widget = admitted.and_then(|a| a.widget.as_deref());
        self.budget.charge(widget, tokens, unix_now());
    }
}

/// Accounts for an answer: when the model wrote text for it, counts the tokens of `raw` (the
/// pieces the assistant passed to `on_token`: the text as generated), charges them to the daily
/// budgets of `admitted` and records them with `elapsed` in the metrics. Returns the tokens
/// counted. Handlers of generating endpoints call this after each answer (streamed or not).
///
/// The model ran when the answer is `Generated`, or when a generated answer was withheld (a
/// refusal whose text differs from what was streamed); refusals before generation, extractive
/// and no-source answers pass their whole text to `on_token` and cost no generation.
pub fn account_generation(
    state: &SharedState,
    admitted: Option<&Admitted>,
    answer: &allmende_assistant::answer::Answer,
    raw: &str,
    elapsed: Duration,
) -> u64 {
    use allmende_assistant::answer::AnswerMode;
    let Some(llm) = state.assistant.llm() else {
        return 0;
    };
    let generated = match answer.mode {
        AnswerMode::Generated { .. } => true,
        AnswerMode::Refused { .. } => raw != answer.text,
        AnswerMode::Extractive | AnswerMode::NoSources => false,
    };
    if !generated {
        return 0;
    }
    let tokens = llm.count_tokens(raw).unwrap_or(0) as u64;
    state.limiter.charge(admitted, tokens);
    state.metrics.record_generation(tokens, elapsed);
    tokens
}

fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Middleware for the endpoints that generate text: rate limits, the daily budget, the time
/// limit.
pub async fn guard_generation(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    guard(state, req, next, true).await
}

/// Middleware for the other limited endpoints: rate limits and the time limit.
pub async fn guard_requests(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    guard(state, req, next, false).await
}

async fn guard(state: SharedState, mut req: Request, next: Next, check_budget: bool) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let openai = req.uri().path().starts_with("/v1/");
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let admitted = state.limiter.admit(
        peer,
        req.headers(),
        check_budget,
        Instant::now(),
        unix_now(),
    );
    match admitted {
        Ok(admitted) => {
            req.extensions_mut().insert(admitted);
        }
        Err(rejection) => {
            state.metrics.record_rejection(rejection.label());
            tracing::info!(
                request_id = %request_id,
                reason = rejection.label(),
                "request refused by the limits"
            );
            return error_response(rejection.to_api_error(), &request_id, openai);
        }
    }
    match tokio::time::timeout(state.limiter.request_timeout(), next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.record_timeout(&route);
            tracing::warn!(request_id = %request_id, route = %route, "request timed out");
            let error = ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "Die Antwort hat zu lange gedauert. Bitte versuchen Sie es später erneut (the request took too long).",
            );
            error_response(error, &request_id, openai)
        }
    }
}

/// `error` as a response: OpenAI's error shape under `/v1/`, else the API's.
fn error_response(error: ApiError, request_id: &str, openai: bool) -> Response {
    let error = error.with_request_id(request_id);
    if openai {
        crate::routes::openai::OpenAiError::from_api(error).into_response()
    } else {
        error.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limiter(text: &str) -> Limiter {
        let config: LimitsConfig = toml::from_str(text).unwrap();
        config.validate().unwrap();
        Limiter::new(config)
    }

    #[test]
    fn widgets_share_one_bucket_and_spend_their_own_budget() {
        let limiter = limiter(
            "ip_requests_per_minute = 0\nwidget_requests_per_minute = 60\nwidget_burst = 2\n\
             [[widgets]]\nid = \"a\"\ndaily_tokens = 5\n[[widgets]]\nid = \"b\"",
        );
        let mut a = HeaderMap::new();
        a.insert(client::WIDGET_HEADER, HeaderValue::from_static("a"));
        let mut b = HeaderMap::new();
        b.insert(client::WIDGET_HEADER, HeaderValue::from_static("b"));
        let (now, unix) = (Instant::now(), 1_796_040_000);
        let admitted = limiter.admit(None, &a, true, now, unix).unwrap();
        assert_eq!(admitted.widget.as_deref(), Some("a"));
        limiter.admit(None, &a, true, now, unix).unwrap();
        assert_eq!(
            limiter.admit(None, &a, true, now, unix),
            Err(Rejection::WidgetRate(1))
        );
        limiter.admit(None, &b, true, now, unix).unwrap();
        // Requests without a widget are not limited per widget.
        limiter
            .admit(None, &HeaderMap::new(), true, now, unix)
            .unwrap();
        limiter.budget.charge(Some("a"), 5, unix);
        let later = now + Duration::from_secs(10);
        assert_eq!(
            limiter.admit(None, &a, true, later, unix),
            Err(Rejection::WidgetBudget(12 * 3600))
        );
        // Feedback (no budget check) still passes.
        limiter.admit(None, &a, false, later, unix).unwrap();
    }

    #[test]
    fn rejections_are_429_with_retry_after() {
        let error = Rejection::DailyBudget(3600).to_api_error();
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.code, "daily_budget_exhausted");
        let response = error.into_response();
        assert_eq!(response.headers()["retry-after"], "3600");
    }
}
