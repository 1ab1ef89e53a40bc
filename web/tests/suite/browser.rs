//! The chat widget in a real browser: starts the real server on a free port and runs
//! `tests/browser/widget.test.mjs` (Playwright driving Debian's headless Chromium, with axe-core
//! for WCAG 2.1 A/AA) against its `/demo` page — keyboard operation, streaming, citations,
//! office cards, feedback, language switch, reflow. See the script's header for every check.
//!
//! Twice: with the tiny random-weight GGUF model (the answer must arrive token by token) and in
//! extractive mode (the answer must cite the page on moving house and show its office).
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$CHROMIUM`) and `npm ci` in
//! `web/tests/browser`. Without them the tests print why and pass — unless `CI=true`, where a
//! missing piece fails them.

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use allmende_web::config::Config;
use allmende_web::routes::router;
use allmende_web::state::AppState;

/// The browser test's directory (package.json, node_modules, the script).
fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What is missing to run the browser, if anything.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("node (apt-get install nodejs)".to_string());
    }
    if !chromium().exists() {
        missing.push(format!(
            "Chromium at {} (apt-get install chromium)",
            chromium().display()
        ));
    }
    for package in ["playwright-core", "@axe-core/playwright"] {
        if !browser_dir().join("node_modules").join(package).exists() {
            missing.push(format!("{package} (npm ci in web/tests/browser)"));
        }
    }
    missing
}

/// True when the browser can run; otherwise prints a skip notice, or fails on CI.
fn browser_available(test: &str) -> bool {
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{test}: browser test needs {}", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: not skipping)");
    }
    eprintln!("SKIPPED {message}");
    false
}

/// Serves the real router for `config` on a free local port; returns its base URL.
async fn start_server(config: Config) -> String {
    let state = AppState::open(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    format!("http://{address}")
}

/// Runs the widget script against `url` in `mode` and fails with its output unless it passes.
async fn run_widget_script(url: String, mode: &'static str) {
    let script = browser_dir().join("widget.test.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .arg(&url)
            .args(["--mode", mode])
            .current_dir(browser_dir())
            .output()
            .expect("run node")
    })
    .await
    .expect("node thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "widget browser test ({mode}) failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("widget browser test passed ({mode})")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_streams_a_generated_answer_accessibly() {
    if !browser_available("widget_streams_a_generated_answer_accessibly") {
        return;
    }
    let (_model_dir, config) = common::tiny_model_config(16);
    let url = start_server(config).await;
    run_widget_script(url, "generated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_shows_cited_sources_and_the_office_card() {
    if !browser_available("widget_shows_cited_sources_and_the_office_card") {
        return;
    }
    let url = start_server(common::test_config(common::data_dir())).await;
    run_widget_script(url, "extractive").await;
}
