//! [`LocalLlm`]: loading a quantised GGUF model on the CPU and generating chat answers.
//!
//! Generation renders the chat in ChatML, prefills the prompt in chunks of up to
//! [`PREFILL_CHUNK`] tokens (one forward pass each; the KV cache carries over between chunks),
//! then samples one token per forward pass with candle's `LogitsProcessor` (argmax for
//! temperature 0, top-p otherwise) after a repeat penalty over the last 64 generated tokens.
//! Every call starts with a fresh KV cache (`index_pos = 0` resets it); prompt caching across
//! calls is a later optimisation. candle parallelises the matrix products with rayon.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file::Content;
use candle_core::{DType, Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use super::gguf::{self, Meta, model_err};
use super::repack;
use super::stream::TextStream;
use super::tokenizer::GgufTokenizer;
use super::{ChatMessage, FinishReason, Generation, GenerationParams, chat_turns};
use crate::{Error, Result};

/// Default prefill chunk: prompts longer than this are prefilled in several forward passes,
/// which bounds the size of the attention matrices (see [`LocalLlm::set_prefill_chunk`]).
pub const PREFILL_CHUNK: usize = 512;
/// The repeat penalty looks at this many of the most recently generated tokens.
const REPEAT_LAST_N: usize = 64;
/// Architectures this module can run.
const SUPPORTED: &str = "qwen2, llama";

/// The model weights of one supported architecture.
enum Weights {
    Qwen2(quantized_qwen2::ModelWeights),
    Llama(quantized_llama::ModelWeights),
}

impl Weights {
    /// Logits of the last position, shape `(vocab,)`, as f32.
    fn forward(&mut self, ids: &[u32], index_pos: usize) -> candle_core::Result<Tensor> {
        let input = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
        let logits = match self {
            Weights::Qwen2(m) => m.forward(&input, index_pos)?,
            Weights::Llama(m) => m.forward(&input, index_pos)?,
        };
        logits.squeeze(0)?.to_dtype(DType::F32)
    }
}

/// A quantised chat model loaded from a GGUF file, running on the CPU.
pub struct LocalLlm {
    weights: Weights,
    tokenizer: GgufTokenizer,
    name: String,
    architecture: String,
    context_length: usize,
    default_system: Option<String>,
    prefill_chunk: usize,
    repacked_tensors: usize,
}

/// Options for [`LocalLlm::load_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Convert tensors whose quantisation has no SIMD CPU kernel in candle 0.11.1 (Q4_1, Q5_0,
    /// Q5_1: scalar dot products, several times slower) to Q8_0 while loading. Q5_0 converts
    /// exactly (same outputs, ~1.5× the memory of those tensors); Q4_1 and Q5_1 are requantised
    /// (error about 1/254 of each 32-weight block's largest weight). Files without such
    /// tensors load unchanged. Default: on, unless `ALLMENDE_NO_REPACK=1` is set.
    pub repack: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            repack: std::env::var_os("ALLMENDE_NO_REPACK").is_none_or(|v| v != "1"),
        }
    }
}

impl std::fmt::Debug for LocalLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLlm")
            .field("name", &self.name)
            .field("architecture", &self.architecture)
            .field("context_length", &self.context_length)
            .finish_non_exhaustive()
    }
}

impl LocalLlm {
    /// Loads a GGUF model onto the CPU: checks the file and `general.architecture`, validates
    /// the hyperparameters, builds the tokenizer from the metadata and loads the weights.
    ///
    /// Does not verify a checksum; use [`crate::models::verify`] for files from a registry.
    ///
    /// Uses [`LoadOptions::default`]: tensors without a fast CPU kernel in candle (Q4_1, Q5_0,
    /// Q5_1) are converted to Q8_0 unless the environment variable `ALLMENDE_NO_REPACK` is `1`.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// [`Self::load`] with explicit [`LoadOptions`].
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Self> {
        let started = Instant::now();
        let (file, content) = gguf::open(path)?;
        let meta = Meta::new(path, &content);
        let architecture = meta.str("general.architecture")?.to_string();
        if architecture != "qwen2" && architecture != "llama" {
            return Err(model_err(
                path,
                format!("unsupported model architecture '{architecture}' (supported: {SUPPORTED})"),
            ));
        }
        let context_length = check_hyperparameters(&meta, &architecture)?;
        let tokenizer = GgufTokenizer::from_meta(&meta)?;
        let vocab_rows = content
            .tensor_infos
            .get("token_embd.weight")
            .map(|t| t.shape.dims().first().copied().unwrap_or(0))
            .ok_or_else(|| model_err(path, "tensor token_embd.weight is missing"))?;
        if tokenizer.vocab_size() > vocab_rows {
            return Err(model_err(
                path,
                format!(
                    "the tokenizer has {} tokens but the embedding only {vocab_rows} rows",
                    tokenizer.vocab_size()
                ),
            ));
        }
        let name = meta
            .str_opt("general.name")
            .map(str::to_string)
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let default_system = meta
            .str_opt("tokenizer.chat_template")
            .and_then(super::default_system_from_template);
        let (weights, repacked_tensors) =
            load_weights(path, &architecture, content, file, options.repack)?;
        tracing::info!(
            model = %name,
            %architecture,
            context_length,
            load_ms = started.elapsed().as_millis() as u64,
            "loaded GGUF model"
        );
        Ok(Self {
            weights,
            tokenizer,
            name,
            architecture,
            context_length,
            default_system,
            prefill_chunk: PREFILL_CHUNK,
            repacked_tensors,
        })
    }

    /// How many tensors were converted to Q8_0 while loading (see [`LoadOptions::repack`]).
    pub fn repacked_tensors(&self) -> usize {
        self.repacked_tensors
    }

    /// `general.name` from the GGUF metadata, or the file stem.
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// `general.architecture` (`qwen2` or `llama`).
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Maximum number of tokens (prompt plus answer) per call.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// The system prompt the model's own chat template inserts when a chat has none.
    pub fn default_system_prompt(&self) -> Option<&str> {
        self.default_system.as_deref()
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// Runs a short prefill and one decode step so candle repacks the quantised weights for
    /// its fast kernels (a one-time cost of up to ~1 s on the first matmul of each weight). Call
    /// it once after loading to keep that cost out of the first user's answer.
    pub fn warm_up(&mut self) -> Result<()> {
        let started = Instant::now();
        let prompt = self
            .tokenizer
            .encode_chatml(&[(super::Role::User, "Hallo")])?;
        let candle_err = |e: candle_core::Error| Error::Model(format!("warm-up failed: {e}"));
        self.weights.forward(&prompt, 0).map_err(candle_err)?;
        self.weights
            .forward(&prompt[..1], prompt.len())
            .map_err(candle_err)?;
        tracing::debug!(ms = ms_since(started), "model warmed up");
        Ok(())
    }

    /// Sets how many prompt tokens go through one prefill forward pass (at least 1; default
    /// [`PREFILL_CHUNK`]). Smaller chunks use less memory for long prompts.
    pub fn set_prefill_chunk(&mut self, tokens: usize) {
        self.prefill_chunk = tokens.max(1);
    }

    /// Number of tokens of `text` (control-token strings count as one token each).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenizer.encode(text)?.len())
    }

    /// Generates an answer to a chat (see the module docs). `on_token` receives each new piece
    /// of text as soon as it is valid UTF-8 and cannot be part of a stop string; the pieces
    /// concatenate to [`Generation::text`].
    ///
    /// Stops ([`FinishReason::Stop`]) at an end-of-sequence id (the GGUF eos id, `<|im_end|>`,
    /// `<|endoftext|>`) or any other control token, or before a stop string; after
    /// `max_tokens` tokens with [`FinishReason::Length`].
    ///
    /// Errors if the prompt plus `max_tokens` exceeds [`Self::context_length`].
    pub fn generate(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let turns = chat_turns(messages, self.default_system.as_deref());
        let prompt = self.tokenizer.encode_chatml(&turns)?;
        let prompt_tokens = prompt.len();
        if prompt_tokens + params.max_tokens > self.context_length {
            return Err(Error::Model(format!(
                "the prompt has {prompt_tokens} tokens; with max_tokens {} that exceeds the \
                 context length of {} ({} tokens); shorten the prompt or lower max_tokens",
                params.max_tokens, self.name, self.context_length
            )));
        }
        if params.max_tokens == 0 {
            return Ok(Generation {
                text: String::new(),
                prompt_tokens,
                completion_tokens: 0,
                finish_reason: FinishReason::Length,
                prompt_ms: 0.0,
                generation_ms: 0.0,
            });
        }

        let candle_err = |e: candle_core::Error| Error::Model(format!("inference failed: {e}"));
        let started = Instant::now();
        let mut logits = None;
        for (i, chunk) in prompt.chunks(self.prefill_chunk).enumerate() {
            let index_pos = i * self.prefill_chunk;
            logits = Some(self.weights.forward(chunk, index_pos).map_err(candle_err)?);
        }
        let mut logits = logits.ok_or_else(|| Error::Internal("empty prompt".into()))?;
        let prompt_ms = ms_since(started);

        let generation_started = Instant::now();
        let mut stream = TextStream::new(&params.stop);
        let mut generated: Vec<u32> = Vec::new();
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling(params));
        let finish_reason = loop {
            if params.repeat_penalty != 1.0 && !generated.is_empty() {
                let recent = &generated[generated.len().saturating_sub(REPEAT_LAST_N)..];
                logits = candle_transformers::utils::apply_repeat_penalty(
                    &logits,
                    params.repeat_penalty,
                    recent,
                )
                .map_err(candle_err)?;
            }
            let next = sampler.sample(&logits).map_err(candle_err)?;
            // End of sequence, or another control token such as <|im_start|>: the model is
            // leaving its turn, and control tokens are never part of an answer.
            if self.tokenizer.eos_ids().contains(&next) || self.tokenizer.is_control(next) {
                break FinishReason::Stop;
            }
            generated.push(next);
            if stream.push(self.tokenizer.token_bytes(next), on_token) {
                break FinishReason::Stop;
            }
            if generated.len() >= params.max_tokens {
                break FinishReason::Length;
            }
            let index_pos = prompt_tokens + generated.len() - 1;
            logits = self
                .weights
                .forward(&[next], index_pos)
                .map_err(candle_err)?;
        };
        let text = stream.finish(on_token);
        Ok(Generation {
            text,
            prompt_tokens,
            completion_tokens: generated.len(),
            finish_reason,
            prompt_ms,
            generation_ms: ms_since(generation_started),
        })
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn sampling(params: &GenerationParams) -> Sampling {
    if params.temperature < 1e-7 {
        return Sampling::ArgMax;
    }
    match params.top_p {
        Some(p) if p > 0.0 && p < 1.0 => Sampling::TopP {
            p,
            temperature: params.temperature,
        },
        _ => Sampling::All {
            temperature: params.temperature,
        },
    }
}

/// Validates the hyperparameters the candle model constructors divide by or index with, so a
/// corrupted file errors here instead of panicking there. Returns the usable context length.
fn check_hyperparameters(meta: &Meta<'_>, arch: &str) -> Result<usize> {
    let key = |k: &str| format!("{arch}.{k}");
    let heads = meta.positive(&key("attention.head_count"))?;
    let kv_heads = meta.positive(&key("attention.head_count_kv"))?;
    let hidden = meta.positive(&key("embedding_length"))?;
    meta.positive(&key("block_count"))?;
    let context = meta.positive(&key("context_length"))?;
    let head_dim = hidden / heads;
    if hidden % heads != 0 || heads % kv_heads != 0 || head_dim % 2 != 0 {
        return Err(model_err(
            meta.path,
            format!(
                "inconsistent attention shape: embedding {hidden}, {heads} heads, \
                 {kv_heads} kv heads"
            ),
        ));
    }
    Ok(match arch {
        // candle's quantized_llama precomputes RoPE tables for MAX_SEQ_LEN positions only.
        "llama" => context.min(quantized_llama::MAX_SEQ_LEN),
        _ => context,
    })
}

/// Loads the weights onto the CPU, converting slow quantisations to Q8_0 first if `repack`
/// (see [`super::repack`]). Returns the weights and the number of converted tensors.
fn load_weights(
    path: &Path,
    arch: &str,
    mut content: Content,
    file: File,
    repack: bool,
) -> Result<(Weights, usize)> {
    let err =
        |e: &dyn std::fmt::Display| model_err(path, format!("cannot load the {arch} weights: {e}"));
    if !repack {
        let mut file = file;
        return Ok((
            build_weights(arch, content, &mut file).map_err(|e| err(&e))?,
            0,
        ));
    }
    let started = Instant::now();
    let (mut reader, count) = match repack::plan(&mut content, file).map_err(|e| err(&e))? {
        repack::Plan::Repacked { reader, tensors } => (reader, tensors),
        // Nothing to convert: read the file directly.
        repack::Plan::Unchanged(mut file) => {
            return Ok((
                build_weights(arch, content, &mut file).map_err(|e| err(&e))?,
                0,
            ));
        }
    };
    let weights = build_weights(arch, content, &mut reader).map_err(|e| err(&e))?;
    tracing::info!(
        tensors = count,
        ms = started.elapsed().as_millis() as u64,
        "repacked Q4_1/Q5_0/Q5_1 tensors to Q8_0 for candle's fast CPU kernels"
    );
    Ok((weights, count))
}

fn build_weights<R: Read + Seek>(
    arch: &str,
    content: Content,
    reader: &mut R,
) -> candle_core::Result<Weights> {
    let device = Device::Cpu;
    match arch {
        "qwen2" => {
            quantized_qwen2::ModelWeights::from_gguf(content, reader, &device).map(Weights::Qwen2)
        }
        _ => quantized_llama::ModelWeights::from_gguf(content, reader, &device).map(Weights::Llama),
    }
}
