//! `/healthz` (the process is up) and `/readyz` (what it serves: tables, passages, model).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::SharedState;

/// Liveness.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness with a summary of what is loaded.
pub async fn readyz(State(state): State<SharedState>) -> Json<Value> {
    let passages = state.index.num_passages().unwrap_or(0);
    Json(json!({
        "ready": !state.engine.snapshots().is_empty() && passages > 0,
        "tables": state.engine.snapshots().len(),
        "passages": passages,
        "model": state.assistant.model_name(),
    }))
}
