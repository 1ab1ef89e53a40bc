//! The web crate's HTTP tests, in one test binary: one link of DataFusion, Tantivy and candle
//! instead of one per file, and one ingested Musterstadt data dir ([`common::data_dir`]) for
//! all of them. Each module is one area; run one with `cargo test -p allmende-web --test suite
//! <module>::`.

mod common;

mod browser;
mod chat_offices;
mod federation;
mod feedback;
mod flight_sql;
mod hybrid_assistant;
mod integration;
mod kill_during_ingest;
mod limits;
mod openai_client;
mod openapi;
mod real_models;
mod search_eval;
mod security_headers;
mod shared_ingest;
mod sql_api;
mod sql_clients;
mod streaming;
