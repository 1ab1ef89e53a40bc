//! Shared test fixtures. Each test crate uses only part of them, hence `dead_code` is allowed.
#![allow(dead_code)]

pub mod parse_invariants;
pub mod recorded_server;
