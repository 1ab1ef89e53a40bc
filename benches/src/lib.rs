//! Benchmarks against peers.
//!
//! Inference: `allmende bench inference` (implemented in `allmende-assistant::bench`) measures
//! pp/tg tok/s, time to first token and peak memory like llama-bench; the script
//! `benches/llama_cpp_side_by_side.py` runs llama.cpp (llama-cpp-python) on the same GGUF in the
//! same run and prints the ratios. The SQL comparison with DuckDB (TPC-H) is planned in the Query
//! issue; criterion benches per stage will live in this crate.
