//! Office cards in `/api/chat` answers: the offices responsible for the cited Musterstadt
//! services, read from the open-data offices table — in the JSON answer and in the streamed
//! `done` event alike, and an empty list when the answer cites no service.

use crate::common;

use common::{app, post_json, send, send_raw};
use serde_json::{Value, json};

/// The `done` event's data from an SSE body.
fn done_event(body: &str) -> Value {
    let block = body
        .split("\n\n")
        .find(|b| b.lines().any(|l| l == "event: done"))
        .unwrap_or_else(|| panic!("no done event: {body}"));
    let data = block
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("data line");
    serde_json::from_str(data).expect("done data is JSON")
}

fn check_buergerbuero(answer: &Value) {
    let offices = answer["offices"].as_array().expect("offices array");
    let office = &offices[0];
    assert_eq!(office["name"], "Bürgerbüro Mitte", "{answer}");
    assert_eq!(office["address"], "Rathausplatz 1, 12345 Musterstadt");
    assert_eq!(
        office["opening_hours"],
        "Mo, Di, Do 8–12 Uhr und 14–18 Uhr; Mi geschlossen; Fr 8–12 Uhr; Sa 9–12 Uhr"
    );
    assert_eq!(
        office["appointment_url"],
        "https://www.musterstadt.example/termin/buergerbuero-mitte"
    );
    assert_eq!(office["phone"], "+49 1234 567-100");
    assert!(offices.len() <= 3, "{answer}");
    let ids: Vec<&str> = offices.iter().filter_map(|o| o["id"].as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "each office once: {ids:?}");
}

#[tokio::test]
async fn a_cited_service_brings_its_office_card() {
    let (status, body) = send(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wie melde ich meinen Wohnsitz um?" }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["citations"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/leistungen/wohnsitz-ummelden"),
        "{body}"
    );
    check_buergerbuero(&body);
}

#[tokio::test]
async fn the_streamed_done_event_carries_the_office_cards_too() {
    let (status, _, body) = send_raw(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wie melde ich meinen Wohnsitz um?", "stream": true }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    check_buergerbuero(&done_event(&body));
}

#[tokio::test]
async fn answers_without_a_cited_service_have_no_cards() {
    // Refused (a question about a person): no sources, so no offices — but the field is there.
    let (status, body) = send(
        app().await,
        post_json(
            "/api/chat",
            json!({ "message": "Wo wohnt Max Mustermann?" }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["offices"], json!([]), "{body}");
}
