//! Browser defences through the real router: the CSP with the configured `frame-ancestors`,
//! the other security headers on pages, APIs and errors alike, and CORS answering only the
//! allow-listed origins.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app_with, data_dir, test_config};
use tower::ServiceExt;

const MUNICIPAL_SITE: &str = "https://www.musterstadt.de";

async fn app() -> axum::Router {
    let mut config = test_config(data_dir());
    config.server.allowed_origins = vec![MUNICIPAL_SITE.into()];
    config.server.frame_ancestors = vec!["'self'".into(), MUNICIPAL_SITE.into()];
    app_with(config).await
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    for uri in ["/", "/widget.js", "/healthz", "/no-such-page"] {
        let response = app()
            .await
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains(&format!("frame-ancestors 'self' {MUNICIPAL_SITE}")),
            "{uri}: {csp}"
        );
        assert!(csp.contains("script-src 'self'"), "{uri}: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{uri}");
    }
}

async fn preflight(origin: &str) -> axum::response::Response {
    app()
        .await
        .oneshot(
            Request::options("/api/chat")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "content-type,x-allmende-widget",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_answers_the_allow_listed_origin_only() {
    let allowed = preflight(MUNICIPAL_SITE).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        MUNICIPAL_SITE
    );
    assert!(
        allowed
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none(),
        "no cookies, no credentials"
    );
    let allowed_headers = allowed.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("x-allmende-widget"),
        "the widget may name itself: {allowed_headers}"
    );

    let other = preflight("https://evil.example").await;
    assert!(
        other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none(),
        "{:?}",
        other.headers()
    );
}

#[test]
fn malformed_allow_lists_are_rejected_at_start_up() {
    let mut config = test_config(data_dir());
    config.server.allowed_origins = vec!["*".into()];
    let err = allmende_web::security::validate(&config.server).unwrap_err();
    assert!(err.to_string().contains("allowed_origins"), "{err}");
    config.server.allowed_origins = vec!["https://www.musterstadt.de/buergerservice".into()];
    assert!(allmende_web::security::validate(&config.server).is_err());
    config.server.allowed_origins = vec![MUNICIPAL_SITE.into()];
    config.server.frame_ancestors = vec!["https://a.de\nX-Injected: 1".into()];
    assert!(allmende_web::security::validate(&config.server).is_err());
}
