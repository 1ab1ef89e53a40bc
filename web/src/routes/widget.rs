//! The chat widget and the pages that show it. All assets are compiled into the binary; nothing
//! is loaded from third parties.
//!
//! - `/widget.js` — the `<allmende-chat>` web component a municipality embeds with one script
//!   tag. Its stylesheet (`widget.css`) is filled into the script when it is first served, so
//!   the widget is one self-contained file that still works under a strict CSP.
//! - `/widget.css` — the same stylesheet on its own (the script links it in browsers without
//!   constructable stylesheets).
//! - `/demo` (+ `/demo.css`) — a municipal demo page that embeds the widget exactly as a
//!   municipality would; `/` — the node's start page, with the widget and a link to the demo.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};

/// The placeholder in `widget.js` that [`script`] replaces with the stylesheet (as a JS string).
const CSS_PLACEHOLDER: &str = "\"__ALLMENDE_WIDGET_CSS__\"";

const WIDGET_JS: &str = include_str!("../../static/widget.js");
const WIDGET_CSS: &str = include_str!("../../static/widget.css");

/// The node's start page (its Content-Security-Policy comes from [`crate::security`], like
/// every response's).
pub async fn index() -> impl IntoResponse {
    Html(include_str!("../../static/index.html"))
}

/// The demo page of the fictitious municipality Musterstadt.
pub async fn demo() -> impl IntoResponse {
    Html(include_str!("../../static/demo.html"))
}

/// The demo page's stylesheet (shared with the start page).
pub async fn demo_style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/demo.css"),
    )
}

/// The widget script, with its stylesheet inlined.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        widget_script(),
    )
}

/// The widget stylesheet.
pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        WIDGET_CSS,
    )
}

/// `widget.js` with [`CSS_PLACEHOLDER`] replaced by `widget.css` as a JSON string literal
/// (valid JavaScript), built once.
pub fn widget_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| inline_css(WIDGET_JS, WIDGET_CSS))
}

fn inline_css(script: &str, css: &str) -> String {
    // A `String` always serialises; `</` is escaped so the text could even sit in a <script>.
    let literal = serde_json::to_string(css)
        .unwrap_or_else(|_| "\"\"".to_string())
        .replace("</", "<\\/");
    script.replacen(CSS_PLACEHOLDER, &literal, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_is_inlined_once_as_a_string() {
        let script = widget_script();
        assert!(WIDGET_JS.contains(CSS_PLACEHOLDER));
        assert!(!script.contains(CSS_PLACEHOLDER));
        assert!(
            script.contains(":host {\\n"),
            "CSS is inlined as an escaped string"
        );
        assert_eq!(
            inline_css(
                "var a = \"__ALLMENDE_WIDGET_CSS__\";",
                "p { content: \"</x>\" }\n"
            ),
            "var a = \"p { content: \\\"<\\/x>\\\" }\\n\";"
        );
    }
}
