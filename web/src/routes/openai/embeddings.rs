//! `POST /v1/embeddings`: OpenAI-compatible sentence vectors from multilingual-e5-small
//! (384 dimensions, unit length, so the dot product of two vectors is their cosine similarity).
//!
//! Body: `{"model": "multilingual-e5-small", "input": "text" | ["text", …], "encoding_format":
//! "float" (default) | "base64", "dimensions": 384 (optional), "user": "…" (accepted, ignored),
//! "input_type": "passage" (default) | "query"}`. `input_type` is an Allmende extension:
//! e5 encodes texts to be found (`passage: …`) and search questions (`query: …`) differently;
//! compare query vectors against passage vectors. Unknown fields are rejected.
//!
//! Response: `{"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
//! "model", "usage": {"prompt_tokens", "total_tokens"}}`; with `base64` each embedding is the
//! base64 of its little-endian f32 values (what the official clients request by default).
//! `usage` counts the tokens fed to the encoder (with the e5 prefix and `<s>`/`</s>`).
//!
//! Limits: at most [`MAX_INPUTS`] texts, each non-empty, at most [`MAX_INPUT_CHARS`]
//! characters (413) and [`MAX_INPUT_TOKENS`] tokens (413); token arrays are not accepted (400).
//! Without the encoder file the endpoint answers 503. Encoding runs on the blocking pool.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::wire::OpenAiError;
use crate::state::SharedState;

/// The model id of the embeddings.
pub const EMBEDDING_MODEL_ID: &str = "multilingual-e5-small";
/// Texts per request at most.
pub const MAX_INPUTS: usize = 64;
/// Characters per text at most.
pub const MAX_INPUT_CHARS: usize = 8_000;
/// Tokens per text at most (the encoder's positions, prefix and `<s>`/`</s>` included).
pub const MAX_INPUT_TOKENS: usize = 512;
/// Vector dimension.
pub const DIMENSIONS: usize = 384;

/// Model names accepted in requests.
const MODEL_ALIASES: [&str; 2] = [EMBEDDING_MODEL_ID, "intfloat/multilingual-e5-small"];

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingRequest {
    /// `multilingual-e5-small`.
    pub model: String,
    /// One text or several.
    pub input: Value,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Must be 384 when given.
    #[serde(default)]
    pub dimensions: Option<u64>,
    /// Accepted, ignored (never stored or logged).
    #[serde(default)]
    pub user: Option<String>,
    /// `passage` (default) or `query`.
    #[serde(default)]
    pub input_type: Option<String>,
}

/// How texts are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// `passage: …`: texts to be found.
    Passage,
    /// `query: …`: search questions.
    Query,
}

impl InputType {
    fn prefix(self) -> &'static str {
        match self {
            Self::Passage => "passage: ",
            Self::Query => "query: ",
        }
    }
}

/// A checked request.
#[derive(Debug)]
struct Checked {
    texts: Vec<String>,
    base64: bool,
    input_type: InputType,
}

fn invalid(code: &'static str, message: impl Into<String>) -> OpenAiError {
    OpenAiError {
        code,
        ..OpenAiError::invalid(message)
    }
}

fn too_large(code: &'static str, message: impl Into<String>) -> OpenAiError {
    OpenAiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        ..invalid(code, message)
    }
}

impl EmbeddingRequest {
    fn check(self) -> Result<Checked, OpenAiError> {
        if !MODEL_ALIASES.contains(&self.model.as_str()) {
            return Err(invalid(
                "model_not_found",
                format!(
                    "unknown embedding model '{}' (this server embeds with '{EMBEDDING_MODEL_ID}')",
                    self.model
                ),
            ));
        }
        let base64 = match self.encoding_format.as_deref() {
            None | Some("float") => false,
            Some("base64") => true,
            Some(other) => {
                return Err(invalid(
                    "invalid_encoding_format",
                    format!("encoding_format must be 'float' or 'base64', not '{other}'"),
                ));
            }
        };
        if let Some(d) = self.dimensions.filter(|d| *d != DIMENSIONS as u64) {
            return Err(invalid(
                "invalid_dimensions",
                format!("{EMBEDDING_MODEL_ID} has {DIMENSIONS} dimensions; {d} is not available"),
            ));
        }
        let input_type = match self.input_type.as_deref() {
            None | Some("passage") => InputType::Passage,
            Some("query") => InputType::Query,
            Some(other) => {
                return Err(invalid(
                    "invalid_input_type",
                    format!("input_type must be 'passage' or 'query', not '{other}'"),
                ));
            }
        };
        let texts = texts(self.input)?;
        Ok(Checked {
            texts,
            base64,
            input_type,
        })
    }
}

/// The texts of `input`: a string or a non-empty array of strings, each non-empty and short
/// enough.
fn texts(input: Value) -> Result<Vec<String>, OpenAiError> {
    let texts = match input {
        Value::String(s) => vec![s],
        Value::Array(items) if items.is_empty() => {
            return Err(invalid("empty_input", "input must not be an empty array"));
        }
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                Value::Number(_) | Value::Array(_) => Err(invalid(
                    "token_input_unsupported",
                    "token arrays are not supported: send the texts as strings",
                )),
                _ => Err(invalid(
                    "invalid_input",
                    "input must be a string or an array of strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "invalid_input",
                "input must be a string or an array of strings",
            ));
        }
    };
    if texts.len() > MAX_INPUTS {
        return Err(too_large(
            "too_many_inputs",
            format!("{} inputs; at most {MAX_INPUTS} per request", texts.len()),
        ));
    }
    for (i, text) in texts.iter().enumerate() {
        if text.trim().is_empty() {
            return Err(invalid("empty_input", format!("input[{i}] is empty")));
        }
        let chars = text.chars().count();
        if chars > MAX_INPUT_CHARS {
            return Err(too_large(
                "input_too_long",
                format!("input[{i}] has {chars} characters; at most {MAX_INPUT_CHARS}"),
            ));
        }
    }
    Ok(texts)
}

/// Base64 (standard alphabet, padded) of the little-endian bytes of `values`.
pub fn base64_f32(values: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(state): State<SharedState>,
    axum::extract::Extension(super::RequestId(id)): axum::extract::Extension<super::RequestId>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, OpenAiError> {
    let Json(body) = body?;
    let request: EmbeddingRequest = serde_json::from_value(body).map_err(|e| {
        invalid(
            "invalid_request",
            format!("invalid embeddings request: {e}"),
        )
    })?;
    let checked = request.check()?;
    let Some(encoder) = state.encoder.clone() else {
        return Err(OpenAiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "server_error",
            code: "model_unavailable",
            message: format!(
                "the embedding model {EMBEDDING_MODEL_ID} is not installed on this server \
                 (the operator can install it with `allmende models pull multilingual-e5-small-q4`)"
            ),
            retry_after: None,
        });
    };
    let prefix = checked.input_type.prefix();
    let texts = checked.texts;
    let worker_id = id.clone();
    // Tokenising long inputs is CPU work too: all of it runs on the blocking pool.
    let (vectors, tokens) = tokio::task::spawn_blocking(move || {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| {
                encoder
                    .tokenizer()
                    .encode(&format!("{prefix}{t}"), usize::MAX)
            })
            .collect();
        if let Some((i, n)) = ids
            .iter()
            .map(Vec::len)
            .enumerate()
            .find(|(_, n)| *n > MAX_INPUT_TOKENS)
        {
            return Err(too_large(
                "input_too_long",
                format!("input[{i}] has {n} tokens; at most {MAX_INPUT_TOKENS}"),
            ));
        }
        let tokens: usize = ids.iter().map(Vec::len).sum();
        let vectors = encoder
            .encode_ids(&ids)
            .map_err(|e| OpenAiError::internal(e, &worker_id))?;
        Ok((vectors, tokens))
    })
    .await
    .map_err(|e| OpenAiError::internal(e, &id))??;
    state
        .metrics
        .record_embeddings(vectors.len() as u64, tokens as u64);
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if checked.base64 {
                json!(base64_f32(v))
            } else {
                json!(v)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": EMBEDDING_MODEL_ID,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value) -> Result<Checked, OpenAiError> {
        serde_json::from_value::<EmbeddingRequest>(body)
            .map_err(|e| invalid("invalid_request", e.to_string()))?
            .check()
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        // 1.0f32 = 00 00 80 3f → "AACAPw==".
        assert_eq!(base64_f32(&[1.0]), "AACAPw==");
        // Two values (8 bytes) end with one '='.
        assert_eq!(base64_f32(&[1.0, -2.0]), "AACAPwAAAMA=");
        assert_eq!(base64_f32(&[]), "");
    }

    #[test]
    fn inputs_are_checked_with_reasons() {
        let ok = check(json!({"model": "multilingual-e5-small", "input": ["a", "b"], "input_type": "query", "encoding_format": "base64"})).unwrap();
        assert_eq!(ok.texts.len(), 2);
        assert!(ok.base64);
        assert_eq!(ok.input_type, InputType::Query);
        let one = check(
            json!({"model": "intfloat/multilingual-e5-small", "input": "x", "dimensions": 384}),
        )
        .unwrap();
        assert_eq!(one.input_type, InputType::Passage);
        for (body, status, code) in [
            (
                json!({"model": "text-embedding-3-small", "input": "x"}),
                400,
                "model_not_found",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": []}),
                400,
                "empty_input",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": ["a", " "]}),
                400,
                "empty_input",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": [1, 2]}),
                400,
                "token_input_unsupported",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": {"a": 1}}),
                400,
                "invalid_input",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": "x", "encoding_format": "hex"}),
                400,
                "invalid_encoding_format",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": "x", "dimensions": 256}),
                400,
                "invalid_dimensions",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": "x", "input_type": "document"}),
                400,
                "invalid_input_type",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": "x".repeat(MAX_INPUT_CHARS + 1)}),
                413,
                "input_too_long",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": vec!["x"; MAX_INPUTS + 1]}),
                413,
                "too_many_inputs",
            ),
            (
                json!({"model": "multilingual-e5-small", "input": "x", "colour": 1}),
                400,
                "invalid_request",
            ),
        ] {
            let e = check(body.clone()).unwrap_err();
            assert_eq!(e.status.as_u16(), status, "{body}: {}", e.message);
            assert_eq!(e.code, code, "{body}: {}", e.message);
        }
    }
}
