//! The vertical slice through HTTP: ingest Musterstadt into a temporary data dir, build the real
//! router, and drive it with requests — checking the content of results, not just status codes.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, app_with, data_dir, post_json, send, test_config};
use serde_json::{Value, json};

async fn sql(query: &str) -> (StatusCode, Value) {
    send(app().await, post_json("/api/sql", json!({ "sql": query }))).await
}

#[tokio::test]
async fn sql_answers_with_the_generated_population_table() {
    let (status, body) = sql(
        "SELECT stadtbezirk, einwohner_insgesamt, davon_weiblich + davon_maennlich AS summe \
         FROM musterstadt.bevoelkerung WHERE jahr = 2025 ORDER BY stadtbezirk",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["rows"].as_array().unwrap();
    let expected: Vec<_> =
        allmende_datasets::musterstadt::population(allmende_datasets::musterstadt::DEFAULT_SEED)
            .into_iter()
            .filter(|r| r.year == 2025)
            .collect();
    assert_eq!(rows.len(), expected.len());
    for row in rows {
        let district = row["stadtbezirk"].as_str().unwrap();
        let want = expected
            .iter()
            .find(|r| r.district == district)
            .expect("known district");
        assert_eq!(row["einwohner_insgesamt"], json!(want.total));
        assert_eq!(row["summe"], json!(want.total), "female + male = total");
    }
    assert_eq!(body["columns"][1]["type"], "Int64");
    assert_eq!(body["truncated"], false);
}

#[tokio::test]
async fn sql_csv_via_accept_header() {
    let req = Request::post("/api/sql")
        .header(header::ACCEPT, "text/csv")
        .body(Body::from(
            "SELECT id, title FROM musterstadt.leistungen WHERE id = 'ms-leistung-001'",
        ))
        .unwrap();
    let (status, body) = send(app().await, req).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(text.starts_with("id,title\nms-leistung-001,"), "{text}");
}

#[tokio::test]
async fn register_rows_are_refused_however_asked() {
    let attempts = [
        "SELECT * FROM musterstadt.melderegister",
        "SELECT familienname FROM musterstadt.melderegister WHERE vornamen = 'Max'",
        "SELECT count(*) FROM musterstadt.melderegister",
        "SELECT * FROM (SELECT * FROM musterstadt.melderegister) t",
        "WITH r AS (SELECT * FROM musterstadt.melderegister) SELECT strasse FROM r",
        "SELECT l.title FROM musterstadt.leistungen l WHERE l.id IN (SELECT personen_id FROM musterstadt.melderegister)",
        "SELECT b.jahr FROM musterstadt.bevoelkerung b JOIN musterstadt.melderegister m ON m.stadtbezirk = b.stadtbezirk",
        "SELECT 1 UNION ALL SELECT length(familienname) FROM musterstadt.melderegister",
    ];
    for q in attempts {
        let (status, body) = sql(q).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{q}: {body}");
        assert_eq!(body["error"]["code"], "personal_data", "{q}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("musterstadt.melderegister")
        );
        assert!(!body.to_string().contains("Mustermann"));
    }
}

#[tokio::test]
async fn bad_sql_gets_the_parser_message_and_writes_are_refused() {
    let (status, body) = sql("SELEC 1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_sql");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("SELEC"),
        "{body}"
    );
    assert!(body["error"]["request_id"].is_string());

    let (status, body) = sql("SELECT nope FROM musterstadt.bevoelkerung").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("nope"),
        "{body}"
    );

    let (status, body) = sql("CREATE TABLE x AS SELECT 1").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_read_only"))
    );

    let (status, _) = send(app().await, post_json("/api/sql", json!({ "sql": "  " }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_ranks_the_id_card_service_first() {
    let req = Request::get("/api/search?q=Personalausweis%20beantragen&limit=5")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(app().await, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert!(hits.len() >= 2);
    assert_eq!(hits[0]["title"], "Personalausweis beantragen");
    assert!(
        hits[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/leistungen/personalausweis-beantragen")
    );
    assert!(hits[0]["snippet_html"].as_str().unwrap().contains("<mark>"));
    assert_eq!(hits[0]["licence"], "CC0-1.0");
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {scores:?}"
    );

    let (status, body) = send(
        app().await,
        Request::get("/api/search").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("missing_query"))
    );
    let long = "a".repeat(1500);
    let (status, body) = send(
        app().await,
        Request::get(format!("/api/search?q={long}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query_too_long"))
    );
}

#[tokio::test]
async fn chat_answers_the_moving_question_with_a_citation() {
    let (status, body) = send(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wie melde ich meinen Wohnsitz um?" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mode"]["kind"], "extractive");
    let citations = body["citations"].as_array().unwrap();
    assert!(!citations.is_empty());
    assert!(
        citations[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/leistungen/wohnsitz-ummelden"),
        "{body}"
    );
    let answer = body["answer"].as_str().unwrap();
    assert!(
        answer.contains("[1]") && answer.to_lowercase().contains("umzug"),
        "{answer}"
    );
    // Every marker in the text has a citation.
    for n in 1..=9 {
        if answer.contains(&format!("[{n}]")) {
            assert!(
                citations.iter().any(|c| c["number"] == json!(n)),
                "[{n}] without citation"
            );
        }
    }
}

#[tokio::test]
async fn chat_rejects_bad_messages_with_reasons() {
    let (status, body) = send(
        app().await,
        post_json("/api/chat", json!({ "message": "   " })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("empty_message"))
    );
    let long = "Wohnsitz ".repeat(300);
    let (status, body) = send(
        app().await,
        post_json("/api/chat", json!({ "message": long })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("message_too_long"))
    );
    let huge = "x".repeat(100_000);
    let (status, body) = send(
        app().await,
        post_json("/api/chat", json!({ "message": huge })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let req = Request::post("/api/chat")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{oops"))
        .unwrap();
    let (status, body) = send(app().await, req).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
}

#[tokio::test]
async fn unknown_routes_get_json_404() {
    let (status, body) = send(
        app().await,
        Request::get("/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("/nope"));
}

#[tokio::test]
async fn widget_page_is_self_contained() {
    let app = app().await;
    let (status, page) = send(app.clone(), Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_string();
    assert!(page.contains("<script src=\"/widget.js\">") && page.contains("KI-Assistent"));
    let (_, script) = send(app, Request::get("/widget.js").body(Body::empty()).unwrap()).await;
    let script = script.as_str().unwrap().to_string();
    assert!(script.contains("/api/chat") && !script.contains("innerHTML"));
    for asset in [&page, &script] {
        assert!(
            !asset.contains("http://") && !asset.contains("https://"),
            "no third-party origins in assets"
        );
    }
}

#[tokio::test]
async fn register_data_never_reaches_the_index() {
    let persons = allmende_datasets::musterstadt::register(
        allmende_datasets::musterstadt::DEFAULT_SEED,
        2000,
    );
    let index = allmende_web::ingest::open_index(&data_dir().join("index")).unwrap();
    let opts = allmende_search::SearchOptions {
        limit: 50,
        one_hit_per_document: false,
        ..Default::default()
    };
    for person in persons
        .iter()
        .step_by(97)
        .chain(persons.iter().filter(|p| p.familienname == "Mustermann"))
    {
        let full_name = format!("{} {}", person.vornamen, person.familienname);
        let address = format!("{} {}", person.strasse, person.hausnummer);
        for hit in index.search(&full_name, &opts).unwrap() {
            assert!(!hit.source.contains("melderegister"));
            assert!(
                !hit.text.contains(&full_name),
                "{full_name} found in {}",
                hit.doc_id
            );
            assert!(!hit.text.contains(&address) || !hit.text.contains(&person.familienname));
        }
    }
}

#[tokio::test]
async fn readyz_reports_tables_and_passages() {
    let (status, body) = send(
        app().await,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ready"], true);
    assert_eq!(body["tables"], 4);
    assert!(body["passages"].as_u64().unwrap() > 50);
}

#[tokio::test]
async fn chat_with_a_real_gguf_model_is_generated_and_cited() {
    let (_model_dir, config) = common::tiny_model_config(8);
    let (status, body) = send(
        app_with(config).await,
        post_json(
            "/api/chat",
            json!({ "message": "Personalausweis beantragen" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mode"]["kind"], "generated");
    let citations = body["citations"].as_array().unwrap();
    assert!(!citations.is_empty(), "{body}");
    assert!(
        citations[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.musterstadt.example/")
    );
}

#[test]
fn second_ingest_keeps_unchanged_snapshots() {
    let dir = data_dir();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt
        .block_on(allmende_web::ingest::run(&test_config(dir)))
        .unwrap();
    assert!(
        report.sources.iter().all(|s| matches!(
            s.outcome,
            Ok((_, _, _, allmende_connectors::WriteOutcome::Unchanged))
        )),
        "{}",
        report.render()
    );
}

#[test]
fn bench_inference_reports_pp_and_tg_for_a_real_format_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    allmende_assistant::llm::write_tiny_qwen2_gguf(&model, 3).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_allmende"))
        .args([
            "--model",
            model.to_str().unwrap(),
            "bench",
            "inference",
            "-p",
            "32",
            "-n",
            "4",
            "-r",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let text = report.to_string();
    assert!(
        text.contains("pp32") || text.contains("\"prompt_tokens\":32"),
        "{text}"
    );
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_allmende"))
        .args([
            "--model",
            dir.path().join("nope.gguf").to_str().unwrap(),
            "bench",
            "inference",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.gguf"));
}

#[tokio::test]
async fn questions_about_persons_are_refused_with_the_lawful_route() {
    for question in [
        "Wo wohnt Max Mustermann?",
        "Wer wohnt in der Lindenallee 12?",
        "Where does Erika Mustermann live?",
    ] {
        let (status, body) = send(
            app().await,
            post_json("/api/chat", json!({ "message": question })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["mode"]["kind"], "refused", "{question}");
        let answer = body["answer"].as_str().unwrap();
        assert!(answer.contains("Melderegisterauskunft"), "{answer}");
        assert!(
            !answer.contains("Lindenallee 12,") && !answer.contains("12345"),
            "{answer}"
        );
    }
}
