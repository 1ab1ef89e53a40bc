//! Building a [`Decoder`] from GGUF tensors (llama.cpp's tensor names: `token_embd`,
//! `blk.N.attn_q`, …, `output_norm`, `output` or tied to `token_embd`).

use std::io::{Read, Seek};

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::Embedding;
use candle_transformers::quantized_nn::RmsNorm;

use super::{Decoder, Layer, Rope, Shape};

/// Reads the weights of a `qwen2` or `llama` GGUF onto `device`. `max_positions` bounds the
/// rotary tables (the context length the caller allows).
pub(crate) fn from_gguf<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    arch: &str,
    max_positions: usize,
    device: &Device,
) -> candle_core::Result<Decoder> {
    let md = |key: &str| {
        content
            .metadata
            .get(&format!("{arch}.{key}"))
            .ok_or_else(|| candle_core::Error::Msg(format!("metadata {arch}.{key} is missing")))
    };
    let heads = md("attention.head_count")?.to_u32()? as usize;
    let kv_heads = md("attention.head_count_kv")?.to_u32()? as usize;
    let hidden = md("embedding_length")?.to_u32()? as usize;
    let blocks = md("block_count")?.to_u32()? as usize;
    let eps = md("attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
    let freq_base = md("rope.freq_base")
        .and_then(|v| v.to_f32())
        .unwrap_or(10_000.0);
    let head_dim = hidden / heads;
    if let Ok(rope_dim) = md("rope.dimension_count").and_then(|v| v.to_u32())
        && rope_dim as usize != head_dim
    {
        candle_core::bail!(
            "partial rotary embeddings ({rope_dim} of {head_dim}) are not supported"
        );
    }

    let tensor = |reader: &mut R, name: &str| content.tensor(reader, name, device);
    let matmul = |reader: &mut R, name: &str| QMatMul::from_qtensor(tensor(reader, name)?);
    let norm = |reader: &mut R, name: &str| RmsNorm::from_qtensor(tensor(reader, name)?, eps);

    let embed_q: QTensor = tensor(reader, "token_embd.weight")?;
    let embed = Embedding::new(embed_q.dequantize(device)?, hidden);
    let output = if content.tensor_infos.contains_key("output.weight") {
        matmul(reader, "output.weight")?
    } else {
        QMatMul::from_qtensor(embed_q)?
    };
    let final_norm = norm(reader, "output_norm.weight")?;

    let mut layers = Vec::with_capacity(blocks);
    for i in 0..blocks {
        let name = |t: &str| format!("blk.{i}.{t}");
        let biases = if content.tensor_infos.contains_key(&name("attn_q.bias")) {
            let mut bias = |t: &str| tensor(reader, &name(t))?.dequantize(device);
            Some([
                bias("attn_q.bias")?,
                bias("attn_k.bias")?,
                bias("attn_v.bias")?,
            ])
        } else {
            None
        };
        layers.push(Layer {
            attn_norm: norm(reader, &name("attn_norm.weight"))?,
            wq: matmul(reader, &name("attn_q.weight"))?,
            wk: matmul(reader, &name("attn_k.weight"))?,
            wv: matmul(reader, &name("attn_v.weight"))?,
            biases,
            wo: matmul(reader, &name("attn_output.weight"))?,
            ffn_norm: norm(reader, &name("ffn_norm.weight"))?,
            gate: matmul(reader, &name("ffn_gate.weight"))?,
            up: matmul(reader, &name("ffn_up.weight"))?,
            down: matmul(reader, &name("ffn_down.weight"))?,
        });
    }
    let (cos, sin) = rope_tables(head_dim, freq_base, max_positions, device)?;
    Ok(Decoder {
        embed,
        layers,
        norm: final_norm,
        output,
        rope: Rope {
            cos,
            sin,
            neox: arch == "qwen2",
        },
        shape: Shape {
            heads,
            kv_heads,
            head_dim,
            hidden,
        },
        max_positions,
        device: device.clone(),
    })
}

/// cos/sin of `position × base^(−2i/d)` for every position and frequency, shape
/// `(positions, head_dim / 2)`.
fn rope_tables(
    head_dim: usize,
    base: f32,
    positions: usize,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let inv_freq: Vec<f32> = (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / base.powf(i as f32 / head_dim as f32))
        .collect();
    let inv_freq = Tensor::new(inv_freq.as_slice(), device)?.reshape((1, head_dim / 2))?;
    let angles = Tensor::arange(0, positions as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((positions, 1))?
        .matmul(&inv_freq)?;
    Ok((angles.cos()?, angles.sin()?))
}
