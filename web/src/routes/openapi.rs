//! `GET /openapi.json`: the OpenAPI 3.0.3 description of every route, written by hand next to
//! the handlers (the request and response shapes are documented in each handler's module).
//! `web/tests/openapi.rs` checks that the document and the router list the same routes and
//! runs schemathesis against a live server with it.

use axum::Json;
use serde_json::{Value, json};

/// `GET /openapi.json`.
pub async fn get_openapi() -> Json<Value> {
    Json(document())
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn content(media_type: &str, schema: Value) -> Value {
    json!({ media_type: { "schema": schema } })
}

fn json_response(description: &str, body: Value) -> Value {
    json!({ "description": description, "content": content("application/json", body) })
}

/// A JSON error response in the API's shape (or OpenAI's under `/v1/`).
fn error(description: &str, openai: bool) -> Value {
    json_response(
        description,
        schema(if openai { "OpenAiError" } else { "Error" }),
    )
}

/// A 429 with `Retry-After`.
fn too_many(openai: bool) -> Value {
    let mut response = error(
        "Too many requests: rate limit, full generation queue or spent daily token budget; \
         retry after the seconds in Retry-After.",
        openai,
    );
    response["headers"] = json!({
        "Retry-After": {
            "description": "Seconds after which a retry may succeed.",
            "schema": { "type": "integer", "minimum": 1 },
        }
    });
    response
}

fn text_response(description: &str, media_type: &str) -> Value {
    json!({ "description": description, "content": content(media_type, json!({ "type": "string" })) })
}

/// Errors every limited JSON endpoint may answer with.
fn common_errors(openai: bool) -> Value {
    json!({
        "400": error("Invalid request; the message says what is wrong.", openai),
        "413": error("Body or text too long.", openai),
        "429": too_many(openai),
        "500": error("Internal error (details only in the server log, with the request id).", openai),
        "504": error("The answer took longer than the configured time limit.", openai),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn operation(summary: &str, tag: &str, responses: Value) -> Value {
    json!({ "summary": summary, "tags": [tag], "responses": responses })
}

fn with_body(mut op: Value, body: Value) -> Value {
    op["requestBody"] = json!({ "required": true, "content": body });
    op
}

fn paths() -> Value {
    let page = |summary: &str, media_type: &str| json!({ "get": operation(summary, "widget", json!({ "200": text_response(summary, media_type) })) });
    json!({
        "/": page("Demo page with the chat widget.", "text/html"),
        "/demo": page("Demo page embedding the widget the way a municipal site would.", "text/html"),
        "/demo.css": page("The demo page's stylesheet.", "text/css"),
        "/widget.js": page("The widget script.", "text/javascript"),
        "/widget.css": page("The widget stylesheet.", "text/css"),
        "/healthz": { "get": operation("Liveness: the process is up.", "operations",
            json!({ "200": text_response("Always `ok`.", "text/plain") })) },
        "/readyz": { "get": operation("Readiness: what the server serves.", "operations",
            json!({ "200": json_response("Loaded tables, passages and model.", schema("Ready")) })) },
        "/metrics": { "get": operation("Prometheus metrics (text exposition format 0.0.4).", "operations",
            json!({ "200": text_response("Counters, histograms and gauges.", "text/plain") })) },
        "/openapi.json": { "get": operation("This document.", "operations",
            json!({ "200": json_response("OpenAPI 3.0.3.", json!({ "type": "object" })) })) },
        "/api/chat": { "post": with_body(
            operation(
                "Ask the citizen assistant. With `stream: true` or `Accept: text/event-stream` the answer \
                 comes as Server-Sent Events: `token` events with `{\"text\"}`, then one `done` event with \
                 the ChatAnswer, or one `error` event with an Error.",
                "chat",
                merge(json!({
                    "200": {
                        "description": "The answer with its numbered sources.",
                        "content": {
                            "application/json": { "schema": schema("ChatAnswer") },
                            "text/event-stream": { "schema": { "type": "string" } },
                        },
                    },
                    "415": error("Content-Type is not application/json.", false),
                    "422": error("The JSON does not match ChatRequest.", false),
                }), common_errors(false)),
            ),
            content("application/json", schema("ChatRequest")),
        ) },
        "/api/feedback": { "post": with_body(
            operation(
                "Rate an answer (stored without personal data: one JSON line per rating).",
                "chat",
                json!({
                    "204": { "description": "Recorded." },
                    "400": error("Unknown rating or reason, answer_id not a UUID, unknown field or invalid JSON.", false),
                    "413": error("Body too long.", false),
                    "415": error("Content-Type is not application/json.", false),
                    "429": too_many(false),
                    "500": error("The rating could not be stored.", false),
                    "504": error("Over the time limit.", false),
                }),
            ),
            content("application/json", schema("FeedbackRequest")),
        ) },
        "/api/search": { "get": {
            "summary": "Full-text search over the indexed documents.",
            "tags": ["data"],
            "parameters": [
                { "name": "q", "in": "query", "required": true, "description": "Search text.",
                  "schema": { "type": "string" } },
                { "name": "limit", "in": "query", "description": "Hits (1–50, default 10).",
                  "schema": { "type": "integer", "minimum": 1, "maximum": 50 } },
                { "name": "source", "in": "query", "description": "Only this source, e.g. musterstadt.leistungen.",
                  "schema": { "type": "string" } },
            ],
            "responses": {
                "200": json_response("Ranked hits.", schema("SearchResult")),
                "400": error("Missing or empty q, limit out of range, query too long.", false),
                "500": error("Internal error.", false),
            },
        } },
        "/api/sql": { "post": {
            "summary": "Read-only SQL over the open-data tables; with an analyst or admin bearer token also \
                 over register tables, through aggregates over groups of at least query.min_group_size persons. \
                 Without a token the query runs as query.default_role. The result format comes from \
                 ?format=, else from Accept (*/* → JSON). CSV and Arrow are streamed.",
            "tags": ["data"],
            "security": [{}, { "bearer": [] }],
            "parameters": [
                { "name": "format", "in": "query",
                  "description": "json (default), csv, arrow (Arrow IPC stream) or parquet; overrides Accept.",
                  "schema": { "type": "string", "enum": ["json", "csv", "arrow", "parquet"] } },
            ],
            "requestBody": { "required": true, "content": {
                "application/json": { "schema": schema("SqlRequest") },
                "text/plain": { "schema": { "type": "string" } },
            } },
            "responses": {
                "200": {
                    "description": "The result. x-allmende-row-count and x-allmende-truncated say how many \
                         rows came and whether rows beyond query.max_rows were dropped.",
                    "headers": {
                        "x-allmende-row-count": { "description": "Rows in the result.",
                            "schema": { "type": "integer", "minimum": 0 } },
                        "x-allmende-truncated": { "description": "true when rows were cut at query.max_rows.",
                            "schema": { "type": "string", "enum": ["true", "false"] } },
                        "Content-Disposition": { "description": "Parquet only: attachment with a file name.",
                            "schema": { "type": "string" } },
                    },
                    "content": {
                        "application/json": { "schema": schema("SqlResult") },
                        "text/csv": { "schema": { "type": "string" } },
                        "application/vnd.apache.arrow.stream": { "schema": { "type": "string", "format": "binary" } },
                        "application/vnd.apache.parquet": { "schema": { "type": "string", "format": "binary" } },
                    },
                },
                "400": error("Invalid, empty or not read-only SQL; unknown format.", false),
                "401": {
                    "description": "Malformed Authorization header or unknown bearer token.",
                    "headers": { "WWW-Authenticate": { "description": "Bearer challenge (RFC 6750).",
                        "schema": { "type": "string" } } },
                    "content": content("application/json", schema("Error")),
                },
                "403": error("The query would read register rows, or the caller's role may not read the register.", false),
                "406": error("Accept names no supported type, or the result has columns CSV cannot hold.", false),
                "408": error("The query ran over the time limit.", false),
                "413": error("Body too long.", false),
                "422": error("The query needed more working memory than query.memory_limit_mb.", false),
                "500": error("Internal error.", false),
                "502": error("A member node the query reads from is down or failed (named in the message).", false),
            },
        } },
        "/v1/models": { "get": operation("Served models (OpenAI-compatible).", "openai",
            json!({ "200": json_response("The chat model, and the embedding model when installed.", schema("ModelList")) })) },
        "/v1/chat/completions": { "post": with_body(
            operation(
                "OpenAI-compatible chat completion, answered by the grounded citizen assistant from the \
                 last user message. With `stream: true`: `data: {chat.completion.chunk}` events, then \
                 `data: [DONE]`.",
                "openai",
                merge(json!({
                    "200": {
                        "description": "The completion (with extra fields `citations` and `mode`).",
                        "content": {
                            "application/json": { "schema": schema("ChatCompletion") },
                            "text/event-stream": { "schema": { "type": "string" } },
                        },
                    },
                }), common_errors(true)),
            ),
            content("application/json", schema("ChatCompletionRequest")),
        ) },
        "/v1/embeddings": { "post": with_body(
            operation(
                "OpenAI-compatible embeddings with multilingual-e5-small (384 dimensions, unit length).",
                "openai",
                merge(json!({
                    "200": json_response("One vector per input, in input order.", schema("EmbeddingList")),
                    "503": error("The embedding model is not installed on this server.", true),
                }), common_errors(true)),
            ),
            content("application/json", schema("EmbeddingRequest")),
        ) },
    })
}

fn schemas() -> Value {
    let nullable_string = json!({ "type": "string", "nullable": true });
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string", "description": "Stable machine-readable code, e.g. rate_limited." },
                    "message": { "type": "string", "description": "Safe to show to the caller." },
                    "request_id": nullable_string,
                },
            } },
        },
        "OpenAiError": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "properties": {
                    "message": { "type": "string" },
                    "type": { "type": "string", "enum": ["invalid_request_error", "rate_limit_error", "server_error"] },
                    "param": nullable_string,
                    "code": { "type": "string" },
                },
            } },
        },
        "ChatRequest": {
            "type": "object",
            "required": ["message"],
            "additionalProperties": false,
            "properties": {
                "message": { "type": "string", "description": "The question (at most [assistant] max_question_chars characters)." },
                "stream": { "type": "boolean", "default": false },
                "language": { "type": "string", "nullable": true, "description": "Answer language code (de, en, fr, tr, uk, …); detected when absent." },
                "style": { "type": "string", "enum": ["standard", "leichte_sprache"], "default": "standard" },
            },
        },
        "Citation": {
            "type": "object",
            "required": ["number", "title", "url", "licence", "doc_id", "passage_id"],
            "properties": {
                "number": { "type": "integer", "minimum": 1 },
                "title": { "type": "string" },
                "url": { "type": "string" },
                "licence": { "type": "string" },
                "attribution": nullable_string,
                "doc_id": { "type": "string" },
                "passage_id": { "type": "string" },
                "sql": { "type": "string", "description": "For a number from an open-data table: the query." },
                "table": { "type": "string" },
            },
        },
        "AnswerMode": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": { "type": "string", "enum": ["generated", "extractive", "no_sources", "refused"] },
                "model": { "type": "string" },
                "reason": { "type": "string" },
            },
        },
        "ChatAnswer": {
            "type": "object",
            "required": ["answer", "citations", "mode", "language", "request_id"],
            "properties": {
                "answer": { "type": "string", "description": "Text with [n] markers." },
                "citations": { "type": "array", "items": schema("Citation") },
                "mode": schema("AnswerMode"),
                "language": { "type": "string" },
                "request_id": { "type": "string", "description": "Also the answer_id for /api/feedback." },
                "offices": {
                    "type": "array",
                    "description": "Offices providing the cited services (at most 3), for appointment cards.",
                    "items": schema("Office"),
                },
            },
        },
        "Office": {
            "type": "object",
            "required": ["id", "name", "address", "opening_hours"],
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string" },
                "address": { "type": "string" },
                "opening_hours": { "type": "string" },
                "appointment_url": { "type": "string", "nullable": true },
                "phone": { "type": "string", "nullable": true },
            },
        },
        "FeedbackRequest": {
            "type": "object",
            "required": ["answer_id", "rating"],
            "additionalProperties": false,
            "properties": {
                "answer_id": { "type": "string", "format": "uuid", "description": "The request_id of the rated answer." },
                "rating": { "type": "string", "enum": ["up", "down"] },
                "reason": { "type": "string", "nullable": true, "enum": ["wrong", "unclear", "outdated", "not_helpful", "other", null] },
            },
        },
        "SearchResult": {
            "type": "object",
            "required": ["query", "hits"],
            "properties": {
                "query": { "type": "string" },
                "hits": { "type": "array", "items": {
                    "type": "object",
                    "required": ["doc_id", "title", "url", "snippet", "snippet_html", "score", "licence", "source"],
                    "properties": {
                        "doc_id": { "type": "string" },
                        "title": { "type": "string" },
                        "url": { "type": "string" },
                        "kind": nullable_string,
                        "snippet": { "type": "string" },
                        "snippet_html": { "type": "string", "description": "Snippet with <b> around matches; everything else escaped." },
                        "score": { "type": "number" },
                        "licence": { "type": "string" },
                        "attribution": nullable_string,
                        "source": { "type": "string" },
                    },
                } },
            },
        },
        "SqlRequest": {
            "type": "object",
            "required": ["sql"],
            "additionalProperties": false,
            "properties": { "sql": { "type": "string" } },
        },
        "SqlResult": {
            "type": "object",
            "required": ["columns", "rows", "row_count", "truncated"],
            "properties": {
                "columns": { "type": "array", "items": {
                    "type": "object",
                    "required": ["name", "type"],
                    "properties": { "name": { "type": "string" }, "type": { "type": "string" } },
                } },
                "rows": { "type": "array", "items": { "type": "object" } },
                "row_count": { "type": "integer", "minimum": 0 },
                "truncated": { "type": "boolean" },
            },
        },
        "Ready": {
            "type": "object",
            "required": ["ready", "tables", "passages"],
            "properties": {
                "ready": { "type": "boolean" },
                "tables": { "type": "integer", "minimum": 0 },
                "passages": { "type": "integer", "minimum": 0 },
                "model": nullable_string,
            },
        },
        "ModelList": {
            "type": "object",
            "required": ["object", "data"],
            "properties": {
                "object": { "type": "string", "enum": ["list"] },
                "data": { "type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["id", "object", "created", "owned_by"],
                    "properties": {
                        "id": { "type": "string" },
                        "object": { "type": "string", "enum": ["model"] },
                        "created": { "type": "integer" },
                        "owned_by": { "type": "string" },
                    },
                } },
            },
        },
        "ChatCompletionRequest": {
            "type": "object",
            "required": ["messages"],
            "description": "Other OpenAI fields are accepted and ignored; the assistant's configured generation settings apply.",
            "properties": {
                "model": { "type": "string", "nullable": true },
                "messages": { "type": "array", "items": {
                    "type": "object",
                    "required": ["role"],
                    "properties": {
                        "role": { "type": "string", "description": "Only the last `user` message is answered." },
                        "content": {
                            "nullable": true,
                            "oneOf": [
                                { "type": "string" },
                                { "type": "array", "items": { "type": "object" } },
                            ],
                        },
                    },
                } },
                "stream": { "type": "boolean", "nullable": true },
                "max_tokens": { "type": "integer", "minimum": 0, "nullable": true },
                "max_completion_tokens": { "type": "integer", "minimum": 0, "nullable": true },
                "temperature": { "type": "number", "nullable": true },
                "top_p": { "type": "number", "nullable": true },
                "stop": {
                    "nullable": true,
                    "oneOf": [
                        { "type": "string" },
                        { "type": "array", "items": { "type": "string" } },
                    ],
                },
                "seed": { "type": "integer", "nullable": true },
            },
        },
        "ChatCompletion": {
            "type": "object",
            "required": ["id", "object", "created", "model", "choices", "usage"],
            "properties": {
                "id": { "type": "string" },
                "object": { "type": "string", "enum": ["chat.completion"] },
                "created": { "type": "integer" },
                "model": { "type": "string" },
                "choices": { "type": "array", "items": {
                    "type": "object",
                    "required": ["index", "message", "finish_reason"],
                    "properties": {
                        "index": { "type": "integer" },
                        "message": {
                            "type": "object",
                            "required": ["role", "content"],
                            "properties": {
                                "role": { "type": "string", "enum": ["assistant"] },
                                "content": { "type": "string" },
                            },
                        },
                        "finish_reason": { "type": "string" },
                    },
                } },
                "usage": schema("Usage"),
                "citations": { "type": "array", "items": schema("Citation") },
                "mode": schema("AnswerMode"),
            },
        },
        "Usage": {
            "type": "object",
            "required": ["prompt_tokens", "total_tokens"],
            "properties": {
                "prompt_tokens": { "type": "integer", "minimum": 0 },
                "completion_tokens": { "type": "integer", "minimum": 0 },
                "total_tokens": { "type": "integer", "minimum": 0 },
            },
        },
        "EmbeddingRequest": {
            "type": "object",
            "required": ["model", "input"],
            "additionalProperties": false,
            "properties": {
                "model": { "type": "string", "enum": ["multilingual-e5-small", "intfloat/multilingual-e5-small"] },
                "input": {
                    "oneOf": [
                        { "type": "string", "minLength": 1, "maxLength": 8000 },
                        { "type": "array", "minItems": 1, "maxItems": 64,
                          "items": { "type": "string", "minLength": 1, "maxLength": 8000 } },
                    ],
                },
                "encoding_format": { "type": "string", "enum": ["float", "base64"], "default": "float" },
                "dimensions": { "type": "integer", "enum": [384] },
                "user": { "type": "string", "description": "Accepted and ignored." },
                "input_type": {
                    "type": "string", "enum": ["passage", "query"], "default": "passage",
                    "description": "Allmende extension: encode as a passage to be found (default) or as a search query.",
                },
            },
        },
        "EmbeddingList": {
            "type": "object",
            "required": ["object", "data", "model", "usage"],
            "properties": {
                "object": { "type": "string", "enum": ["list"] },
                "data": { "type": "array", "items": {
                    "type": "object",
                    "required": ["object", "index", "embedding"],
                    "properties": {
                        "object": { "type": "string", "enum": ["embedding"] },
                        "index": { "type": "integer", "minimum": 0 },
                        "embedding": {
                            "description": "384 floats, or their little-endian f32 bytes in base64.",
                            "oneOf": [
                                { "type": "array", "items": { "type": "number" }, "minItems": 384, "maxItems": 384 },
                                { "type": "string" },
                            ],
                        },
                    },
                } },
                "model": { "type": "string" },
                "usage": schema("Usage"),
            },
        },
    })
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Allmende",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Open municipal data and a citizen chat assistant. Every error is JSON: \
                `{\"error\": {\"code\", \"message\", \"request_id\"}}`, under /v1/ in OpenAI's shape \
                `{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`; every response carries \
                `x-request-id`. The limited endpoints (chat, completions, embeddings, feedback) answer \
                429 with Retry-After when a rate limit or the daily token budget is reached.",
            "license": { "name": "EUPL-1.2" },
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `allmende token new`, configured in [[auth.tokens]].",
            } },
        },
    })
}
