//! The chat widget: a demo page at `/` and the self-contained `widget.js` / `widget.css` it
//! embeds. All assets are compiled into the binary; nothing is loaded from third parties.

use axum::http::header;
use axum::response::{Html, IntoResponse};

/// The demo page (its Content-Security-Policy comes from [`crate::security`], like every
/// response's).
pub async fn index() -> impl IntoResponse {
    Html(include_str!("../../static/index.html"))
}

/// The widget script.
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/widget.js"),
    )
}

/// The widget stylesheet.
pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/widget.css"),
    )
}
