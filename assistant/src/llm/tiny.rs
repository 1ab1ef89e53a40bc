//! Test support: a tiny random-weight Qwen2 model written in real GGUF format.
//!
//! The file has the same metadata keys, tensor names, ggml dtypes (a mix of Q5_0 and Q8_0
//! matrices like the Q4_K_M files, F32 norms and biases) and tokenizer metadata as a real
//! Qwen2.5 GGUF, so [`super::LocalLlm::load`] and
//! generation run through exactly the code a real model uses, in milliseconds.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::tokenizer::byte_level_symbols;
use crate::{Error, Result};

const HIDDEN: usize = 64;
const BLOCKS: usize = 2;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const FFN: usize = 128;
const CONTEXT: u32 = 4096;
const HEAD_DIM: usize = HIDDEN / HEADS;

/// Words whose left-to-right merge chains make up the tiny vocabulary (byte-level spelling:
/// `Ġ` is a space). Gives a few dozen multi-byte tokens, including the chat roles.
const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "Hallo",
    "ĠWelt",
    "Ġder",
    "Ġdie",
    "Ġund",
    "Ġist",
    "Ġein",
    "Ġthe",
    "Ġand",
    "er",
    "en",
    "ch",
    "ĊĊ",
    "ĠParis",
];

/// The special tokens, appended after the merges like in Qwen2's vocabulary.
const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A ChatML chat template (stored as metadata; generation renders ChatML in Rust).
const CHAT_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + \
    '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt \
    %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Writes a tiny random-weight Qwen2 model in GGUF format to `path`.
///
/// Hyperparameters: embedding 64, 2 blocks, 4 heads, 2 KV heads, feed-forward 128, context 4096,
/// RoPE base 1e6. Vocabulary: the 256 byte-level symbols, the results of a few dozen merges and
/// `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` (control tokens; eos = `<|im_end|>`, bos =
/// `<|endoftext|>`), with `tokenizer.ggml.pre = "qwen2"` and a ChatML `tokenizer.chat_template`.
///
/// Weights come from a SplitMix64 generator seeded with `seed` (same seed, same file) and are
/// quantised to Q5_0 (`attn_q`, `attn_k`, `ffn_gate`, `ffn_up`) or Q8_0 (the other matrices and
/// the embeddings), so loading exercises the Q5_0 → Q8_0 repacking of real Q4_K_M files. The output rows of the special tokens are zero, so greedy decoding of
/// this random model practically never ends early — tests of `max_tokens` and stop strings stay
/// deterministic.
pub fn write_tiny_qwen2_gguf(path: &Path, seed: u64) -> Result<()> {
    let model_err = |e: candle_core::Error| Error::Model(format!("writing tiny GGUF: {e}"));
    let (tokens, merges) = vocabulary();
    let vocab = tokens.len();
    let mut rng = SplitMix64(seed);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: String, shape: &[usize], values: Vec<f32>, dtype: GgmlDType| {
        let t = Tensor::from_vec(values, shape, &Device::Cpu)?;
        tensors.push((name, QTensor::quantize(&t, dtype)?));
        Ok::<(), candle_core::Error>(())
    };
    let q = GgmlDType::Q8_0;
    let q5 = GgmlDType::Q5_0;
    let f = GgmlDType::F32;
    add(
        "token_embd.weight".into(),
        &[vocab, HIDDEN],
        rng.uniform(vocab * HIDDEN, 1.0),
        q,
    )
    .map_err(model_err)?;
    let mut output = rng.uniform(vocab * HIDDEN, 0.5);
    output[(vocab - SPECIALS.len()) * HIDDEN..].fill(0.0);
    add("output.weight".into(), &[vocab, HIDDEN], output, q).map_err(model_err)?;
    add("output_norm.weight".into(), &[HIDDEN], vec![1.0; HIDDEN], f).map_err(model_err)?;
    let kv = KV_HEADS * HEAD_DIM;
    for b in 0..BLOCKS {
        let p = |n: &str| format!("blk.{b}.{n}");
        let s_in = 1.0 / (HIDDEN as f32).sqrt();
        let s_ffn = 1.0 / (FFN as f32).sqrt();
        let layer: [(String, Vec<usize>, Vec<f32>, GgmlDType); 12] = [
            (p("attn_norm.weight"), vec![HIDDEN], vec![1.0; HIDDEN], f),
            (
                p("attn_q.weight"),
                vec![HIDDEN, HIDDEN],
                rng.uniform(HIDDEN * HIDDEN, s_in),
                q5,
            ),
            (
                p("attn_k.weight"),
                vec![kv, HIDDEN],
                rng.uniform(kv * HIDDEN, s_in),
                q5,
            ),
            (
                p("attn_v.weight"),
                vec![kv, HIDDEN],
                rng.uniform(kv * HIDDEN, s_in),
                q,
            ),
            (p("attn_q.bias"), vec![HIDDEN], rng.uniform(HIDDEN, 0.1), f),
            (p("attn_k.bias"), vec![kv], rng.uniform(kv, 0.1), f),
            (p("attn_v.bias"), vec![kv], rng.uniform(kv, 0.1), f),
            (
                p("attn_output.weight"),
                vec![HIDDEN, HIDDEN],
                rng.uniform(HIDDEN * HIDDEN, s_in),
                q,
            ),
            (p("ffn_norm.weight"), vec![HIDDEN], vec![1.0; HIDDEN], f),
            (
                p("ffn_gate.weight"),
                vec![FFN, HIDDEN],
                rng.uniform(FFN * HIDDEN, s_in),
                q5,
            ),
            (
                p("ffn_up.weight"),
                vec![FFN, HIDDEN],
                rng.uniform(FFN * HIDDEN, s_in),
                q5,
            ),
            (
                p("ffn_down.weight"),
                vec![HIDDEN, FFN],
                rng.uniform(HIDDEN * FFN, s_ffn),
                q,
            ),
        ];
        for (name, shape, values, dtype) in layer {
            add(name, &shape, values, dtype).map_err(model_err)?;
        }
    }

    let token_types: Vec<Value> = (0..vocab)
        .map(|i| Value::I32(if i >= vocab - SPECIALS.len() { 3 } else { 1 }))
        .collect();
    let id = |t: &str| tokens.iter().position(|x| x == t).unwrap_or(0) as u32;
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("qwen2".into())),
        ("general.name", Value::String("tiny-qwen2-test".into())),
        ("general.file_type", Value::U32(7)),
        ("qwen2.block_count", Value::U32(BLOCKS as u32)),
        ("qwen2.context_length", Value::U32(CONTEXT)),
        ("qwen2.embedding_length", Value::U32(HIDDEN as u32)),
        ("qwen2.feed_forward_length", Value::U32(FFN as u32)),
        ("qwen2.attention.head_count", Value::U32(HEADS as u32)),
        ("qwen2.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("qwen2.rope.freq_base", Value::F32(1_000_000.0)),
        ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        ("tokenizer.ggml.token_type", Value::Array(token_types)),
        ("tokenizer.ggml.merges", strings(&merges)),
        ("tokenizer.ggml.eos_token_id", Value::U32(id("<|im_end|>"))),
        (
            "tokenizer.ggml.padding_token_id",
            Value::U32(id("<|endoftext|>")),
        ),
        (
            "tokenizer.ggml.bos_token_id",
            Value::U32(id("<|endoftext|>")),
        ),
        ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
        (
            "tokenizer.chat_template",
            Value::String(CHAT_TEMPLATE.into()),
        ),
    ];

    let io_err = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_err)?);
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(&mut out, &meta_refs, &tensor_refs).map_err(model_err)?;
    out.into_inner()
        .map_err(|e| io_err(e.into_error()))?
        .sync_all()
        .map_err(io_err)?;
    Ok(())
}

/// Tokens (byte symbols, merge results, specials) and merges ("left right", by rank).
fn vocabulary() -> (Vec<String>, Vec<String>) {
    let mut tokens = byte_level_symbols();
    let mut merges = Vec::new();
    for word in WORDS {
        let chars: Vec<char> = word.chars().collect();
        let mut left = chars[0].to_string();
        for c in &chars[1..] {
            let merged = format!("{left}{c}");
            if !tokens.contains(&merged) {
                merges.push(format!("{left} {c}"));
                tokens.push(merged.clone());
            }
            left = merged;
        }
    }
    tokens.extend(SPECIALS.iter().map(|s| s.to_string()));
    (tokens, merges)
}

/// SplitMix64: a tiny, well-mixed deterministic generator (no extra dependency needed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `n` values uniform in `[-scale, scale)`.
    fn uniform(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
                (unit * 2.0 - 1.0) * scale
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_consistent() {
        let (tokens, merges) = vocabulary();
        assert!(
            merges.len() >= 30,
            "a few dozen merges, got {}",
            merges.len()
        );
        assert_eq!(tokens.len(), 256 + merges.len() + SPECIALS.len());
        let unique: std::collections::HashSet<_> = tokens.iter().collect();
        assert_eq!(unique.len(), tokens.len());
        for m in &merges {
            let (a, b) = m.split_once(' ').unwrap();
            assert!(tokens.contains(&a.to_string()) && tokens.contains(&format!("{a}{b}")));
        }
    }

    #[test]
    fn generator_is_deterministic_and_bounded() {
        let a = SplitMix64(7).uniform(1000, 0.5);
        assert_eq!(a, SplitMix64(7).uniform(1000, 0.5));
        assert!(a.iter().all(|v| (-0.5..0.5).contains(v)));
        assert_ne!(a, SplitMix64(8).uniform(1000, 0.5));
    }
}
