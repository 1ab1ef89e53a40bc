//! The transformer decoder: quantised Qwen2 and Llama weights from GGUF, run with candle ops.
//!
//! This follows candle-transformers' `quantized_qwen2` and `quantized_llama` (same GGUF tensor
//! names, same kernels: `QMatMul`, `rms_norm`, `rope`/`rope_i`, `softmax_last_dim`) with one
//! structural change: the weights are immutable and the attention state lives in a separate
//! [`KvCache`]. One loaded model can therefore serve several generations at once (each with its
//! own cache), and a cache can be cloned and truncated to reuse a shared prompt prefix
//! ([`PrefixCache`]).
//!
//! The two families differ only in details read from the metadata: Qwen2 has q/k/v biases and
//! NEOX-style rotary embeddings (pairs `i`, `i + d/2`); Llama GGUFs have no biases and
//! interleaved rotary embeddings (pairs `2i`, `2i + 1`).

mod cache;
mod load;

pub(crate) use load::from_gguf;

pub use cache::PrefixCacheStats;
pub(crate) use cache::{KvCache, PrefixCache};

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::{Embedding, Module};
use candle_transformers::quantized_nn::RmsNorm;

use candle_core::quantized::QMatMul;

/// One transformer block.
struct Layer {
    attn_norm: RmsNorm,
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    /// q/k/v biases (Qwen2 only).
    biases: Option<[Tensor; 3]>,
    wo: QMatMul,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
}

/// Rotary position embedding tables, one row per position.
struct Rope {
    cos: Tensor,
    sin: Tensor,
    /// NEOX layout (Qwen2) rather than interleaved (Llama).
    neox: bool,
}

impl Rope {
    fn apply(&self, x: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        let (_b, _h, seq_len, _d) = x.dims4()?;
        let cos = self.cos.narrow(0, position, seq_len)?;
        let sin = self.sin.narrow(0, position, seq_len)?;
        let x = x.contiguous()?;
        if self.neox {
            candle_nn::rotary_emb::rope(&x, &cos, &sin)
        } else {
            candle_nn::rotary_emb::rope_i(&x, &cos, &sin)
        }
    }
}

/// Attention shape of the model.
#[derive(Debug, Clone, Copy)]
struct Shape {
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    hidden: usize,
}

/// A loaded decoder. Immutable: all per-generation state is in a [`KvCache`].
pub(crate) struct Decoder {
    embed: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    rope: Rope,
    shape: Shape,
    /// Positions the rotary tables cover (the usable context).
    max_positions: usize,
    device: Device,
}

impl Decoder {
    /// An empty cache for this model.
    pub(crate) fn new_cache(&self) -> KvCache {
        KvCache::new(self.layers.len())
    }

    /// Runs `ids` through the model after the positions already in `cache`, appends their keys
    /// and values to it, and returns the logits of the last position as a CPU f32 tensor of
    /// shape `(vocab,)`.
    pub(crate) fn forward(&self, ids: &[u32], cache: &mut KvCache) -> candle_core::Result<Tensor> {
        let position = cache.len();
        let seq_len = ids.len();
        if seq_len == 0 {
            candle_core::bail!("forward needs at least one token");
        }
        if position + seq_len > self.max_positions {
            candle_core::bail!(
                "{} positions exceed the model's {} supported positions",
                position + seq_len,
                self.max_positions
            );
        }
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let mask = (seq_len > 1)
            .then(|| causal_mask(seq_len, position, &self.device))
            .transpose()?;
        let mut x = self.embed.forward(&input)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let residual = &x;
            let h = layer.attn_norm.forward(&x)?;
            let h = self.attention(layer, &h, mask.as_ref(), position, cache, i)?;
            let x1 = (h + residual)?;
            let h = layer.ffn_norm.forward(&x1)?;
            let h = layer.down.forward(
                &(candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?,
            )?;
            x = (h + x1)?;
        }
        cache.advance(seq_len);
        let x = self.norm.forward(&x)?;
        let last = x.i((.., seq_len - 1, ..))?;
        let logits = self.output.forward(&last)?;
        logits
            .squeeze(0)?
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        mask: Option<&Tensor>,
        position: usize,
        cache: &mut KvCache,
        index: usize,
    ) -> candle_core::Result<Tensor> {
        let Shape {
            heads,
            kv_heads,
            head_dim,
            hidden,
        } = self.shape;
        let (b, seq_len, _) = x.dims3()?;
        let mut q = layer.wq.forward(x)?;
        let mut k = layer.wk.forward(x)?;
        let mut v = layer.wv.forward(x)?;
        if let Some([bq, bk, bv]) = &layer.biases {
            q = q.broadcast_add(bq)?;
            k = k.broadcast_add(bk)?;
            v = v.broadcast_add(bv)?;
        }
        let split = |t: Tensor, n: usize| {
            t.reshape((b, seq_len, n, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = self.rope.apply(&split(q, heads)?, position)?;
        let k = self.rope.apply(&split(k, kv_heads)?, position)?;
        let v = split(v, kv_heads)?;
        let (k, v) = cache.append(index, k, v)?;

        // Grouped-query attention without copying keys and values: the `n_rep` query heads
        // that share a key/value head are stacked along the sequence axis, so one matmul per
        // key/value head serves them all (candle's `repeat_kv` would copy the whole cache
        // `n_rep` times per layer and token).
        let n_rep = heads / kv_heads;
        let total = k.dim(2)?;
        let q = q.reshape((b, kv_heads, n_rep * seq_len, head_dim))?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let scores = match mask {
            Some(mask) => scores
                .reshape((b, kv_heads, n_rep, seq_len, total))?
                .broadcast_add(mask)?
                .reshape((b, kv_heads, n_rep * seq_len, total))?,
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = weights.matmul(&v)?;
        let y = y
            .reshape((b, heads, seq_len, head_dim))?
            .transpose(1, 2)?
            .reshape((b, seq_len, hidden))?;
        layer.wo.forward(&y)
    }
}

/// Additive causal mask `(seq_len, position + seq_len)`: 0 where a query may attend, −∞ for
/// later positions.
fn causal_mask(seq_len: usize, position: usize, device: &Device) -> candle_core::Result<Tensor> {
    let total = position + seq_len;
    let values: Vec<f32> = (0..seq_len)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > position + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(values, (seq_len, total), device)
}
