//! Benchmarks live here: criterion benches per stage and side-by-side harnesses against peers
//! (llama.cpp for inference, DuckDB for SQL).
//!
//! Nothing is measured here yet: the inference benchmark (`allmende bench inference`) and the
//! TPC-H comparison with DuckDB are planned in the Assistant and Query issues. This crate exists
//! so that the workspace layout is fixed from the start.
