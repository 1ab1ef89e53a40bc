//! The defences of `[limits]` through the real router: per-address rate limits (over a real
//! socket, with the address from the connection, and from `X-Forwarded-For` behind a trusted
//! proxy), per-widget limits, the daily token budget with the tiny real-format model, the time
//! limit, and their counts in `/metrics`.

use crate::common;

use std::net::SocketAddr;

use allmende_web::config::Config;
use allmende_web::routes::router;
use allmende_web::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{app_with, data_dir, http, send_raw, serve, test_config};
use serde_json::{Value, json};

const QUESTION: &str = "Wie melde ich meinen Wohnsitz um?";

fn limited_config(per_minute: u32, burst: u32) -> Config {
    let mut config = test_config(data_dir());
    config.limits.ip_requests_per_minute = per_minute;
    config.limits.ip_burst = burst;
    config
}

/// A JSON POST as if from `client` (the connection info a real server would attach).
fn post_from(client: &str, uri: &str, body: &Value) -> Request<Body> {
    let mut request = common::post_json(uri, body.clone());
    let addr: SocketAddr = format!("{client}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

fn chat() -> Value {
    json!({ "message": QUESTION })
}

#[tokio::test]
async fn the_request_after_the_burst_gets_429_with_retry_after_and_others_are_unaffected() {
    let app = app_with(limited_config(1, 3)).await;
    for i in 0..3 {
        let (status, _, body) =
            send_raw(app.clone(), post_from("198.51.100.7", "/api/chat", &chat())).await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body}");
    }
    let response =
        tower::ServiceExt::oneshot(app.clone(), post_from("198.51.100.7", "/api/chat", &chat()))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One request per minute: the next token comes within a minute.
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let (_, _, body) = send_raw(app.clone(), post_from("198.51.100.7", "/api/chat", &chat())).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["request_id"].is_string(), "{body}");
    // The OpenAI endpoints share the address's bucket and answer in OpenAI's shape.
    let (status, _, body) = send_raw(
        app.clone(),
        post_from(
            "198.51.100.7",
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": QUESTION}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    // Another address, and the same household's neighbour on IPv6 /64 vs another /64.
    let (status, _, body) =
        send_raw(app.clone(), post_from("203.0.113.9", "/api/chat", &chat())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Unlimited endpoints stay reachable for the limited address.
    let (status, _, _) = send_raw(
        app.clone(),
        Request::get("/api/search?q=Wohnsitz")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, metrics) =
        send_raw(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"allmende_limit_rejections_total{reason="client_rate"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "allmende_limit_tracked_clients 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn ipv6_clients_share_their_64_network() {
    let app = app_with(limited_config(1, 1)).await;
    let feedback = json!({"answer_id": uuid::Uuid::new_v4().to_string(), "rating": "up"});
    let (status, _, _) = send_raw(
        app.clone(),
        post_from("[2001:db8:1:2::1]", "/api/feedback", &feedback),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send_raw(
        app.clone(),
        post_from("[2001:db8:1:2::99]", "/api/feedback", &feedback),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = send_raw(
        app,
        post_from("[2001:db8:1:3::1]", "/api/feedback", &feedback),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// Posts a rating over a real socket with the given `X-Forwarded-For`.
async fn feedback_via(
    addr: std::net::SocketAddr,
    forwarded_for: &str,
    feedback: &str,
) -> common::WireResponse {
    http(
        addr,
        "POST",
        "/api/feedback",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", forwarded_for),
        ],
        feedback,
    )
    .await
}

/// Over a real socket: the address comes from the connection; `X-Forwarded-For` is ignored
/// unless the peer is a trusted proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_limits_by_connection_and_trusts_only_configured_proxies() {
    let feedback = json!({"answer_id": uuid::Uuid::new_v4().to_string(), "rating": "down", "reason": "unclear"}).to_string();
    // Untrusted: a forged X-Forwarded-For does not give a fresh bucket.
    let addr = serve(app_with(limited_config(1, 2)).await).await;
    for forged in ["1.1.1.1", "2.2.2.2"] {
        let r = feedback_via(addr, forged, &feedback).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let r = feedback_via(addr, "3.3.3.3", &feedback).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    // Behind a trusted proxy (here: loopback) every forwarded client has its own bucket.
    let mut config = limited_config(1, 2);
    config.limits.trusted_proxies = vec!["127.0.0.0/8".into()];
    let addr = serve(app_with(config).await).await;
    for _ in 0..2 {
        let r = feedback_via(addr, "1.1.1.1", &feedback).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let r = feedback_via(addr, "1.1.1.1", &feedback).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let r = feedback_via(addr, "2.2.2.2", &feedback).await;
    assert_eq!(r.status, 204, "{}", r.body);
}

#[tokio::test]
async fn a_widget_shares_one_limit_across_addresses() {
    let mut config = limited_config(0, 1);
    config.limits.widget_requests_per_minute = 1;
    config.limits.widget_burst = 2;
    config.limits.widgets = vec![allmende_web::limits::WidgetConfig {
        id: "rathaus".into(),
        origins: vec!["https://www.musterstadt.de".into()],
        daily_tokens: 0,
    }];
    let app = app_with(config).await;
    let with_widget = |client: &str, by_origin: bool| {
        let mut r = post_from(client, "/api/chat", &chat());
        if by_origin {
            r.headers_mut().insert(
                header::ORIGIN,
                "https://www.musterstadt.de".parse().unwrap(),
            );
        } else {
            r.headers_mut()
                .insert("x-allmende-widget", "rathaus".parse().unwrap());
        }
        r
    };
    let (status, _, body) = send_raw(app.clone(), with_widget("192.0.2.1", false)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send_raw(app.clone(), with_widget("192.0.2.2", true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send_raw(app.clone(), with_widget("192.0.2.3", false)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("widget"), "{body}");
    // Without the widget (or with an id that is not configured) only the address counts.
    let mut unknown = post_from("192.0.2.3", "/api/chat", &chat());
    unknown
        .headers_mut()
        .insert("x-allmende-widget", "erfunden".parse().unwrap());
    let (status, _, body) = send_raw(app, unknown).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_spent_daily_budget_refuses_generation_until_midnight() {
    let (_model_dir, mut config) = common::tiny_model_config(8);
    config.limits.daily_tokens = 1;
    let app = app_with(config).await;
    let completion =
        json!({"messages": [{"role": "user", "content": "Personalausweis beantragen"}]});
    let (status, _, body) = send_raw(
        app.clone(),
        post_from("192.0.2.10", "/v1/chat/completions", &completion),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = tower::ServiceExt::oneshot(
        app.clone(),
        post_from("192.0.2.11", "/v1/chat/completions", &completion),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "until midnight UTC: {retry}");
    let (status, _, body) =
        send_raw(app.clone(), post_from("192.0.2.12", "/api/chat", &chat())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "daily_budget_exhausted", "{body}");
    // Feedback and search do not generate and stay open.
    let feedback = json!({"answer_id": uuid::Uuid::new_v4().to_string(), "rating": "up"});
    let (status, _, _) = send_raw(
        app.clone(),
        post_from("192.0.2.12", "/api/feedback", &feedback),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, metrics) =
        send_raw(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{metrics}"))
    };
    assert!(value("allmende_generated_tokens_total") >= 1.0, "{metrics}");
    assert!(value("allmende_daily_generated_tokens") >= 1.0, "{metrics}");
    assert!(
        value("allmende_generation_seconds_total") > 0.0,
        "{metrics}"
    );
    assert_eq!(
        value(r#"allmende_limit_rejections_total{reason="daily_budget"}"#),
        2.0
    );
    assert!(value("allmende_prefix_cache_entries") >= 0.0);
}

/// A handler that never finishes runs into the time limit: 504 with a JSON reason (OpenAI's
/// shape under `/v1/`), counted in `/metrics`.
#[tokio::test]
async fn a_request_over_the_time_limit_gets_504() {
    let mut config = test_config(data_dir());
    config.limits.request_timeout_seconds = 1;
    let state = AppState::open(config).await.unwrap();
    let never = || async { std::future::pending::<&'static str>().await };
    let slow: Router = Router::new()
        .route("/slow", axum::routing::post(never))
        .route("/v1/slow", axum::routing::post(never))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            allmende_web::limits::guard_requests,
        ))
        .with_state(state.clone());
    let (status, _, body) = send_raw(slow.clone(), common::post_json("/slow", json!({}))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    let (status, _, body) = send_raw(slow, common::post_json("/v1/slow", json!({}))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "server_error", "{body}");
    let (_, _, metrics) = send_raw(
        router(state),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"allmende_request_timeouts_total{route="/slow"} 1"#),
        "{metrics}"
    );
}
