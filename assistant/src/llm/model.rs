//! [`LocalLlm`]: loading a quantised GGUF model on the CPU and generating chat answers.
//!
//! Generation renders the chat in ChatML and looks up the longest cached prefix of the prompt
//! (the system turn is the same for every answer; see [`super::decoder::PrefixCache`]), prefills
//! the rest in chunks of up to [`PREFILL_CHUNK`] tokens (one forward pass each), then samples
//! one token per forward pass with candle's `LogitsProcessor` (argmax for temperature 0, top-p
//! otherwise) after a repeat penalty over the last 64 generated tokens. The weights are shared
//! and immutable and each call has its own KV cache, so `generate` takes `&self` and several
//! generations can run at once. candle parallelises the matrix products with rayon.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use candle_core::quantized::gguf_file::Content;
use candle_transformers::generation::{LogitsProcessor, Sampling};

use super::decoder::{self, Decoder, KvCache, PrefixCache};

use super::gguf::{self, Meta, model_err};
use super::repack;
use super::stream::TextStream;
use super::tokenizer::GgufTokenizer;
use super::{ChatMessage, FinishReason, Generation, GenerationParams, chat_turns};
use crate::cancel::deadline_passed;
use crate::{Error, Result};

/// Default prefill chunk: prompts longer than this are prefilled in several forward passes,
/// which bounds the size of the attention matrices (see [`LocalLlm::set_prefill_chunk`]).
pub const PREFILL_CHUNK: usize = 512;
/// The repeat penalty looks at this many of the most recently generated tokens.
const REPEAT_LAST_N: usize = 64;
/// Architectures this module can run.
const SUPPORTED: &str = "qwen2, llama";

/// The longest context this runtime allocates rotary tables for.
const MAX_CONTEXT: usize = 131_072;
/// Prompt prefixes shorter than this are not worth caching.
const MIN_CACHED_PREFIX: usize = 16;

/// A quantised chat model loaded from a GGUF file, running on the CPU.
pub struct LocalLlm {
    decoder: Decoder,
    prefixes: PrefixCache,
    tokenizer: GgufTokenizer,
    name: String,
    architecture: String,
    context_length: usize,
    default_system: Option<String>,
    prefill_chunk: usize,
    repacked_tensors: usize,
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accelerator {
    /// The CPU (rayon threads; `RAYON_NUM_THREADS` sets how many).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` cargo feature).
    Cuda(usize),
    /// An Apple GPU by ordinal (needs the `metal` cargo feature).
    Metal(usize),
}

impl Accelerator {
    /// Parses `cpu`, `cuda`, `cuda:1`, `metal`, `metal:0`.
    pub fn parse(text: &str) -> Result<Self> {
        let (kind, ordinal) = match text.split_once(':') {
            Some((k, n)) => (
                k,
                n.parse::<usize>()
                    .map_err(|_| Error::Model(format!("bad device ordinal in '{text}'")))?,
            ),
            None => (text, 0),
        };
        match kind.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(ordinal)),
            "metal" => Ok(Self::Metal(ordinal)),
            _ => Err(Error::Model(format!(
                "unknown device '{text}' (use cpu, cuda, cuda:N, metal or metal:N)"
            ))),
        }
    }

    /// The candle device; errors when this build lacks the back end.
    fn device(self) -> Result<Device> {
        let hint = |feature: &str, e: candle_core::Error| {
            Error::Model(format!(
                "cannot open the {feature} device: {e} (build with `--features {feature}`)"
            ))
        };
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(n) => Device::new_cuda(n).map_err(|e| hint("cuda", e)),
            Self::Metal(n) => Device::new_metal(n).map_err(|e| hint("metal", e)),
        }
    }
}

impl std::fmt::Display for Accelerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Metal(n) => write!(f, "metal:{n}"),
        }
    }
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
    /// Where to run. Default: the CPU.
    pub accelerator: Accelerator,
    /// How many prompt prefixes (e.g. system prompts) keep their attention state between
    /// calls; 0 disables prefix caching. Default 4.
    pub prefix_cache: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            repack: std::env::var_os("ALLMENDE_NO_REPACK").is_none_or(|v| v != "1"),
            accelerator: Accelerator::Cpu,
            prefix_cache: 4,
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
        let device = options.accelerator.device()?;
        let (decoder, repacked_tensors) = load_weights(
            path,
            &architecture,
            context_length,
            content,
            file,
            options.repack,
            &device,
        )?;
        tracing::info!(
            model = %name,
            %architecture,
            context_length,
            device = %options.accelerator,
            load_ms = started.elapsed().as_millis() as u64,
            "loaded GGUF model"
        );
        Ok(Self {
            decoder,
            prefixes: PrefixCache::new(options.prefix_cache),
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

    /// How many prompt prefixes are cached (see [`LoadOptions::prefix_cache`]).
    pub fn cached_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// What the prefix cache holds (entries, bytes) and its hits and misses.
    pub fn prefix_cache_stats(&self) -> super::PrefixCacheStats {
        self.prefixes.stats()
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// Runs a short prefill and one decode step so candle repacks the quantised weights for
    /// its fast kernels (a one-time cost of up to ~1 s on the first matmul of each weight). Call
    /// it once after loading to keep that cost out of the first user's answer.
    pub fn warm_up(&self) -> Result<()> {
        let started = Instant::now();
        let prompt = self
            .tokenizer
            .encode_chatml(&[(super::Role::User, "Hallo")])?;
        let candle_err = |e: candle_core::Error| Error::Model(format!("warm-up failed: {e}"));
        let mut cache = self.decoder.new_cache();
        self.decoder
            .forward(&prompt, &mut cache)
            .map_err(candle_err)?;
        self.decoder
            .forward(&prompt[..1], &mut cache)
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
        &self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let turns = chat_turns(messages, self.default_system.as_deref());
        let prompt = self.tokenizer.encode_chatml(&turns)?;
        // The stable prefix worth caching: the system turn, the same for every answer.
        let stable = match turns.first() {
            Some((super::Role::System, _)) if turns.len() > 1 => {
                self.tokenizer.encode_chatml_turns(&turns[..1])?.len()
            }
            _ => 0,
        };
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
                cached_prompt_tokens: 0,
                finish_reason: FinishReason::Length,
                prompt_ms: 0.0,
                generation_ms: 0.0,
            });
        }

        let candle_err = |e: candle_core::Error| Error::Model(format!("inference failed: {e}"));
        if params.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // A deadline that has passed stops the prefill before its first chunk.
        let past_deadline = || deadline_passed(params.deadline);
        let started = Instant::now();
        let (mut cache, cached_prompt_tokens) =
            match self.prefixes.lookup(&prompt, MIN_CACHED_PREFIX) {
                Some(reuse) => (reuse.cache, reuse.reused),
                None => (self.decoder.new_cache(), 0),
            };
        // Prefill up to the end of the stable prefix first and store it for later calls.
        let stopped_at_deadline = || {
            tracing::warn!("generation stopped at its deadline while reading the prompt");
            Ok(Generation {
                text: String::new(),
                prompt_tokens,
                completion_tokens: 0,
                cached_prompt_tokens,
                finish_reason: FinishReason::Deadline,
                prompt_ms: ms_since(started),
                generation_ms: 0.0,
            })
        };
        if stable >= MIN_CACHED_PREFIX && stable > cached_prompt_tokens && stable < prompt_tokens {
            self.prefill(
                &prompt[cached_prompt_tokens..stable],
                &mut cache,
                params.deadline,
            )
            .map_err(candle_err)?;
            if past_deadline() {
                // An interrupted prefix is not stored: the cache would be incomplete.
                return stopped_at_deadline();
            }
            self.prefixes
                .insert(prompt[..stable].to_vec(), cache.clone());
        }
        let logits = self
            .prefill(&prompt[cache.len()..], &mut cache, params.deadline)
            .map_err(candle_err)?;
        if past_deadline() {
            return stopped_at_deadline();
        }
        let mut logits = logits.ok_or_else(|| Error::Internal("empty prompt".into()))?;
        let prompt_ms = ms_since(started);

        let generation_started = Instant::now();
        let mut stream = TextStream::new(&params.stop);
        let mut generated: Vec<u32> = Vec::new();
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling(params));
        let finish_reason = loop {
            if params.cancel.is_cancelled() {
                tracing::info!(
                    completion_tokens = generated.len(),
                    "generation cancelled: the asker is gone"
                );
                return Err(Error::Cancelled);
            }
            if past_deadline() {
                tracing::warn!(
                    completion_tokens = generated.len(),
                    "generation stopped at its deadline"
                );
                break FinishReason::Deadline;
            }
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
            logits = self
                .decoder
                .forward(&[next], &mut cache)
                .map_err(candle_err)?;
        };
        let text = stream.finish(on_token);
        Ok(Generation {
            text,
            prompt_tokens,
            completion_tokens: generated.len(),
            cached_prompt_tokens,
            finish_reason,
            prompt_ms,
            generation_ms: ms_since(generation_started),
        })
    }
}

impl LocalLlm {
    /// Runs `tokens` through the model in chunks of [`Self::set_prefill_chunk`] tokens,
    /// extending `cache`; returns the logits after the last token (`None` for no tokens).
    /// Stops before the next chunk once `deadline` has passed (the caller checks).
    fn prefill(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        deadline: Option<Instant>,
    ) -> candle_core::Result<Option<candle_core::Tensor>> {
        let mut logits = None;
        for chunk in tokens.chunks(self.prefill_chunk) {
            if deadline_passed(deadline) {
                break;
            }
            logits = Some(self.decoder.forward(chunk, cache)?);
        }
        Ok(logits)
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
    let _ = arch;
    // The rotary tables hold one row per position: cap what a corrupt header could ask for.
    Ok(context.min(MAX_CONTEXT))
}

/// Loads the weights onto `device`, converting slow quantisations to Q8_0 first if `repack`
/// (see [`super::repack`]). Returns the decoder and the number of converted tensors.
fn load_weights(
    path: &Path,
    arch: &str,
    context_length: usize,
    mut content: Content,
    file: File,
    repack: bool,
    device: &Device,
) -> Result<(Decoder, usize)> {
    let err =
        |e: &dyn std::fmt::Display| model_err(path, format!("cannot load the {arch} weights: {e}"));
    let build = |content: &Content, mut reader: &mut dyn ReadSeek| {
        decoder::from_gguf(content, &mut reader, arch, context_length, device).map_err(|e| err(&e))
    };
    if !repack {
        let mut file = file;
        return Ok((build(&content, &mut file)?, 0));
    }
    let started = Instant::now();
    let (mut reader, count) = match repack::plan(&mut content, file).map_err(|e| err(&e))? {
        repack::Plan::Repacked { reader, tensors } => (reader, tensors),
        // Nothing to convert: read the file directly.
        repack::Plan::Unchanged(mut file) => return Ok((build(&content, &mut file)?, 0)),
    };
    let weights = build(&content, &mut reader)?;
    tracing::info!(
        tensors = count,
        ms = started.elapsed().as_millis() as u64,
        "repacked Q4_1/Q5_0/Q5_1 tensors to Q8_0 for candle's fast CPU kernels"
    );
    Ok((weights, count))
}

/// `Read + Seek` as one object type, so files and the repacking reader share one code path.
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}
