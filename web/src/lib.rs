//! The `allmende` binary's library half: configuration, the ingest pipeline, the axum server
//! and its routes. This is the only crate that knows HTTP, JSON wire shapes and axum.

pub mod api_error;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dense;
pub mod flight;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod output;
pub mod pgwire;
pub mod routes;
pub mod security;
pub mod server;
pub mod state;
