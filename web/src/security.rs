//! Browser-facing defences: security headers on every response and CORS for the APIs.
//!
//! - `Content-Security-Policy`: everything from this origin only (the widget ships its own
//!   script and style; no inline code, no third-party hosts), and `frame-ancestors` from the
//!   configured allow-list — the municipal sites that may frame the widget.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a question typed into
//!   the widget never leaks to another site through a referrer), `Permissions-Policy` switching
//!   off camera, microphone and geolocation.
//! - CORS: only the origins in `[server] allowed_origins` may call the APIs from their pages
//!   (`GET`/`POST`; `content-type`, `accept`, `authorization` and `x-allmende-widget` headers);
//!   no origin listed means same-origin only. Credentials are never allowed: the widget uses no
//!   cookies.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::ServerConfig;

/// The `Content-Security-Policy` value for `frame_ancestors` (CSP source expressions such as
/// `'self'` or `https://www.musterstadt.de`).
pub fn content_security_policy(frame_ancestors: &[String]) -> String {
    let ancestors = if frame_ancestors.is_empty() {
        "'none'".to_string()
    } else {
        frame_ancestors.join(" ")
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {ancestors}"
    )
}

/// Checks the allow-lists (called when the configuration is loaded).
pub fn validate(config: &ServerConfig) -> anyhow::Result<()> {
    HeaderValue::from_str(&content_security_policy(&config.frame_ancestors)).map_err(|_| {
        anyhow::anyhow!("server.frame_ancestors contains characters not allowed in a header")
    })?;
    for origin in &config.allowed_origins {
        if !is_origin(origin) {
            anyhow::bail!(
                "server.allowed_origins: {origin:?} is not an origin like https://www.musterstadt.de"
            );
        }
    }
    Ok(())
}

/// `scheme://host[:port]`, http or https, nothing else (no path, no wildcard).
pub fn is_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    rest.map(|r| r.strip_suffix('/').unwrap_or(r))
        .is_some_and(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
}

/// The layers that add the security headers. Invalid allow-lists are rejected by
/// [`validate`] at start-up; should one slip through, framing is denied.
pub fn header_layers(config: &ServerConfig) -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    let csp = HeaderValue::from_str(&content_security_policy(&config.frame_ancestors))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"));
    [
        SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ),
    ]
}

/// CORS for the configured origins (none: same-origin only).
pub fn cors_layer(config: &ServerConfig) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            HeaderName::from_static(crate::limits::client::WIDGET_HEADER),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, is_origin};

    #[test]
    fn only_plain_origins_are_accepted() {
        for ok in [
            "https://www.musterstadt.de",
            "http://localhost:8080",
            "https://a.example/",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "www.musterstadt.de",
            "https://x.de/path",
            "https://",
            "ftp://x.de",
            "https://x .de",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn frame_ancestors_come_from_the_allow_list() {
        let csp = content_security_policy(&["'self'".into(), "https://www.musterstadt.de".into()]);
        assert!(
            csp.ends_with("frame-ancestors 'self' https://www.musterstadt.de"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"));
        assert!(content_security_policy(&[]).ends_with("frame-ancestors 'none'"));
    }
}
