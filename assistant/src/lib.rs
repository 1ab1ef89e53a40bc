//! Retrieval-augmented answers for citizens.
//!
//! Flow: question → [`allmende_search`] passages → either a local candle LLM ([`llm`]) prompted
//! with the numbered passages, or — when no model is configured — an extractive answer built
//! from the best passages ([`answer`]). Every answer carries numbered citations (title, URL,
//! licence). [`models`] pulls, verifies and lists GGUF weights.

pub mod answer;
pub mod bench;
pub mod cancel;
pub mod error;
pub mod facts;
pub mod llm;
pub mod models;
pub mod pii;

pub use error::{Error, Result};
