//! Load-time repacking of quantised weights that candle has no fast CPU kernel for.
//!
//! candle-core 0.11.1 has SIMD dot products (AVX2/AVX-512, NEON) for Q4_0, Q8_0 and the
//! K-quants, but Q4_1, Q5_0 and Q5_1 fall back to scalar loops (`vec_dot_unopt`), which makes a
//! model whose matrices are mostly Q5_0 (Qwen2.5-0.5B Q4_K_M) many times slower than it needs
//! to be. Every such tensor is therefore converted to Q8_0 while loading:
//!
//! - **Q5_0 → Q8_0 is exact**: both use blocks of 32 weights with one f16 scale `d`, and a Q5_0
//!   weight `d·(q−16)` with `q` in 0..=31 is the Q8_0 weight `d·(q−16)`. The scale bytes are
//!   copied and the 5-bit values unpacked; the dequantised tensor is bit-identical.
//! - **Q4_1 / Q5_1 → Q8_0** (`d·q + m`, an offset that Q8_0 cannot hold) are dequantised and
//!   requantised with candle's own Q8_0 quantiser; the error per weight is about half a Q8_0
//!   step (`max|w|/254` of its block), well below the 4- or 5-bit source's own step.
//!
//! No new GGUF is written and the untouched tensors are not copied: [`RepackReader`] presents
//! the original file followed by a virtual region that holds the converted tensors, converting
//! blocks on the fly when candle reads them, and the tensor infos of the converted tensors are
//! pointed at that region. The extra memory is one chunk of blocks at a time; a file without
//! such tensors is read directly, at no cost.

use std::borrow::Cow;
use std::io::{self, Read, Seek, SeekFrom};

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};

/// Weights per block in Q4_1, Q5_0, Q5_1 and Q8_0.
const BLOCK: usize = 32;
/// Bytes per Q8_0 block: f16 scale and 32 signed bytes.
const Q8_0_BYTES: usize = 34;
/// Blocks converted per step (bounds the temporary buffers to about 1 MB).
const CHUNK_BLOCKS: usize = 16 * 1024;

/// Whether candle 0.11.1 lacks a SIMD CPU kernel for this dtype, so it is worth converting.
pub(crate) fn needs_repack(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// One converted tensor: where its Q8_0 bytes live in the virtual region and where its source
/// blocks are in the file.
#[derive(Debug, Clone)]
struct Region {
    /// Absolute virtual position of the first Q8_0 byte.
    start: u64,
    /// Absolute file position of the first source block.
    source: u64,
    /// Dtype of the source blocks.
    dtype: GgmlDType,
    /// Number of blocks (the same in source and target: both hold 32 weights per block).
    blocks: u64,
}

impl Region {
    fn end(&self) -> u64 {
        self.start + self.blocks * Q8_0_BYTES as u64
    }
}

/// A reader over `inner` (of length `inner_len`) followed by the Q8_0 bytes of the repacked
/// tensors, produced on demand.
pub(crate) struct RepackReader<R> {
    inner: R,
    inner_len: u64,
    regions: Vec<Region>,
    len: u64,
    pos: u64,
}

/// The outcome of [`plan`].
pub(crate) enum Plan<R> {
    /// No tensor needs converting: read the file as it is.
    Unchanged(R),
    /// `tensors` tensor infos now point at Q8_0 data that `reader` serves.
    Repacked {
        reader: RepackReader<R>,
        tensors: usize,
    },
}

/// Rewrites the tensor infos in `content` whose dtype [`needs_repack`] to Q8_0 tensors in a
/// virtual region after the end of `file`, and returns a reader that serves them, together
/// with the number of tensors converted. Leaves `content` alone and hands `file` back when no
/// tensor needs converting.
pub(crate) fn plan<R: Read + Seek>(content: &mut Content, mut file: R) -> io::Result<Plan<R>> {
    let mut names: Vec<&String> = content
        .tensor_infos
        .iter()
        .filter(|(_, info)| needs_repack(info.ggml_dtype))
        .map(|(name, _)| name)
        .collect();
    if names.is_empty() {
        return Ok(Plan::Unchanged(file));
    }
    names.sort();
    let names: Vec<String> = names.into_iter().cloned().collect();
    let inner_len = file.seek(SeekFrom::End(0))?;
    let mut regions = Vec::with_capacity(names.len());
    let mut next = inner_len;
    for name in &names {
        let Some(info) = content.tensor_infos.get_mut(name) else {
            continue;
        };
        let elems = info.shape.elem_count();
        if !elems.is_multiple_of(BLOCK) {
            // Malformed; leave it to candle's own checks and error messages.
            continue;
        }
        let blocks = (elems / BLOCK) as u64;
        let Some(source) = content.tensor_data_offset.checked_add(info.offset) else {
            continue;
        };
        regions.push(Region {
            start: next,
            source,
            dtype: info.ggml_dtype,
            blocks,
        });
        info.ggml_dtype = GgmlDType::Q8_0;
        info.offset = next - content.tensor_data_offset;
        next += blocks * Q8_0_BYTES as u64;
    }
    Ok(Plan::Repacked {
        tensors: regions.len(),
        reader: RepackReader {
            inner: file,
            inner_len,
            regions,
            len: next,
            pos: 0,
        },
    })
}

impl<R: Read + Seek> Read for RepackReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        if self.pos < self.inner_len {
            let n = buf.len().min((self.inner_len - self.pos) as usize);
            self.inner.seek(SeekFrom::Start(self.pos))?;
            let got = self.inner.read(&mut buf[..n])?;
            self.pos += got as u64;
            return Ok(got);
        }
        // Regions are contiguous and sorted by start.
        let idx = self.regions.partition_point(|r| r.end() <= self.pos);
        let Some(region) = self.regions.get(idx).cloned() else {
            return Ok(0);
        };
        let n = buf.len().min((region.end() - self.pos) as usize);
        let q8 = Q8_0_BYTES as u64;
        // The requested bytes, relative to the region's start.
        let (want_start, want_end) = (self.pos - region.start, self.pos - region.start + n as u64);
        let (first, last) = (want_start / q8, want_end.div_ceil(q8));
        let src_size = region.dtype.type_size() as u64;
        // `vec!` of zeros allocates zeroed memory directly (no per-byte loop in the dev profile).
        let mut src = vec![0u8; ((last - first).min(CHUNK_BLOCKS as u64) * src_size) as usize];
        let mut block = first;
        while block < last {
            let count = (last - block).min(CHUNK_BLOCKS as u64);
            let src = &mut src[..(count * src_size) as usize];
            self.inner
                .seek(SeekFrom::Start(region.source + block * src_size))?;
            self.inner.read_exact(src)?;
            let (chunk_start, chunk_end) = (block * q8, (block + count) * q8);
            if chunk_start >= want_start && chunk_end <= want_end {
                // Whole blocks requested (the usual case: candle reads whole tensors).
                let at = (chunk_start - want_start) as usize;
                let dst = &mut buf[at..at + (count * q8) as usize];
                convert_to_q8_0(region.dtype, src, dst).map_err(io::Error::other)?;
            } else {
                let mut out = vec![0u8; (count * q8) as usize];
                convert_to_q8_0(region.dtype, src, &mut out).map_err(io::Error::other)?;
                let (from, to) = (chunk_start.max(want_start), chunk_end.min(want_end));
                buf[(from - want_start) as usize..(to - want_start) as usize].copy_from_slice(
                    &out[(from - chunk_start) as usize..(to - chunk_start) as usize],
                );
            }
            block += count;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for RepackReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

/// Converts whole source blocks of `dtype` to the same number of Q8_0 blocks in `dst`.
pub(crate) fn convert_to_q8_0(
    dtype: GgmlDType,
    src: &[u8],
    dst: &mut [u8],
) -> candle_core::Result<()> {
    let size = dtype.type_size();
    let blocks = src.len() / size;
    if !src.len().is_multiple_of(size) || dst.len() != blocks * Q8_0_BYTES {
        candle_core::bail!(
            "{} bytes of {dtype:?} blocks do not convert to {} bytes of Q8_0 blocks",
            src.len(),
            dst.len()
        );
    }
    match dtype {
        GgmlDType::Q5_0 => {
            for (b, o) in src.chunks_exact(size).zip(dst.chunks_exact_mut(Q8_0_BYTES)) {
                q5_0_block_to_q8_0(b, o);
            }
            Ok(())
        }
        GgmlDType::Q4_1 | GgmlDType::Q5_1 => {
            // Dequantise and requantise with candle's own kernels (identical to
            // `QTensor::quantize(&qtensor.dequantize(..), Q8_0)`).
            let storage = QStorage::from_data(Cow::Borrowed(src), &Device::Cpu, dtype)?;
            let values: Tensor =
                QTensor::new(storage, (blocks * BLOCK,))?.dequantize(&Device::Cpu)?;
            let q8 = QTensor::quantize(&values, GgmlDType::Q8_0)?;
            dst.copy_from_slice(&q8.data()?);
            Ok(())
        }
        other => candle_core::bail!("no Q8_0 conversion for {other:?}"),
    }
}

/// For each byte of Q5_0 high bits, eight bytes (as a little-endian u64) that turn the low
/// nibbles of eight weights into `q − 16` as i8: with the high bit set, `q − 16` is the low
/// nibble itself; without it, the nibble minus 16, i.e. the nibble with the top four bits set.
const HIGH_BITS: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut bit = 0;
        while bit < 8 {
            if byte & (1 << bit) == 0 {
                table[byte] |= 0xF0 << (8 * bit);
            }
            bit += 1;
        }
        byte += 1;
    }
    table
};
const LOW_NIBBLES: u64 = 0x0F0F_0F0F_0F0F_0F0F;

/// One Q5_0 block (f16 `d`, 4 bytes of high bits, 16 bytes of low nibbles) as a Q8_0 block
/// (f16 `d`, 32 × i8) with the same values `d·(q−16)`. Weight `j < 16` takes the low nibble of
/// `qs[j]` and bit `j` of the high bits, weight `j + 16` the high nibble and bit `j + 16`. Works
/// on eight weights at a time (this crate is not optimised in the dev profile).
fn q5_0_block_to_q8_0(b: &[u8], out: &mut [u8]) {
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let (qs0, qs1) = (word(6), word(14));
    let q = [
        (qs0 & LOW_NIBBLES) | HIGH_BITS[b[2] as usize],
        (qs1 & LOW_NIBBLES) | HIGH_BITS[b[3] as usize],
        ((qs0 >> 4) & LOW_NIBBLES) | HIGH_BITS[b[4] as usize],
        ((qs1 >> 4) & LOW_NIBBLES) | HIGH_BITS[b[5] as usize],
    ];
    out[0..2].copy_from_slice(&b[0..2]);
    for (o, w) in out[2..].chunks_exact_mut(8).zip(q) {
        o.copy_from_slice(&w.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let unit = (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                // Blocks with different ranges and offsets, some all-zero.
                let block = i / BLOCK;
                if block % 7 == 3 {
                    0.0
                } else {
                    unit * (1.0 + block as f32 % 5.0) + (block % 3) as f32 * 0.3
                }
            })
            .collect()
    }

    fn convert(t: &QTensor) -> QTensor {
        let src = t.data().unwrap();
        let mut out = vec![0u8; src.len() / t.dtype().type_size() * Q8_0_BYTES];
        convert_to_q8_0(t.dtype(), &src, &mut out).unwrap();
        let storage = QStorage::from_data(Cow::Owned(out), &Device::Cpu, GgmlDType::Q8_0).unwrap();
        QTensor::new(storage, t.shape().clone()).unwrap()
    }

    fn dequant(t: &QTensor) -> Vec<f32> {
        t.dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn q5_0_to_q8_0_is_exact() {
        let x = Tensor::from_vec(values(64 * 32, 1), (64, 32), &Device::Cpu).unwrap();
        let q5 = QTensor::quantize(&x, GgmlDType::Q5_0).unwrap();
        let q8 = convert(&q5);
        assert_eq!(q8.dtype(), GgmlDType::Q8_0);
        assert_eq!(dequant(&q8), dequant(&q5));
    }

    #[test]
    fn q5_0_unpacking_matches_the_reference_formula_for_all_bit_patterns() {
        for seed in 0u32..64 {
            let mut b = [0u8; 22];
            for (i, v) in b.iter_mut().enumerate() {
                *v = (seed.wrapping_mul(0x9E37_79B9).rotate_left(i as u32 * 3) >> 7) as u8;
            }
            let mut out = [0u8; Q8_0_BYTES];
            q5_0_block_to_q8_0(&b, &mut out);
            assert_eq!(out[..2], b[..2]);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            for j in 0..16 {
                let h0 = (((qh >> j) << 4) & 0x10) as u8;
                let h1 = ((qh >> (j + 12)) & 0x10) as u8;
                assert_eq!(
                    out[2 + j] as i8 as i32,
                    ((b[6 + j] & 0x0F) | h0) as i32 - 16
                );
                assert_eq!(out[18 + j] as i8 as i32, ((b[6 + j] >> 4) | h1) as i32 - 16);
            }
        }
    }

    #[test]
    fn q4_1_and_q5_1_requantise_closely() {
        let x = Tensor::from_vec(values(64 * 32, 2), (64, 32), &Device::Cpu).unwrap();
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q5_1] {
            let src = QTensor::quantize(&x, dtype).unwrap();
            let q8 = convert(&src);
            let reference =
                QTensor::quantize(&src.dequantize(&Device::Cpu).unwrap(), GgmlDType::Q8_0).unwrap();
            assert_eq!(q8.data().unwrap(), reference.data().unwrap(), "{dtype:?}");
            let (a, b) = (dequant(&src), dequant(&q8));
            for (block, (a, b)) in a.chunks(BLOCK).zip(b.chunks(BLOCK)).enumerate() {
                let amax = a.iter().fold(0f32, |m, v| m.max(v.abs()));
                let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
                // Q8_0 rounding (half a step, amax/254) plus the f16 rounding of the step
                // (relative 2^-11, times up to 127 steps).
                let step = amax / 127.0;
                assert!(
                    diff <= step * (0.5 + 127.0 / 2048.0) + 1e-6,
                    "{dtype:?} block {block}: {diff} (step {step})"
                );
            }
        }
    }

    #[test]
    fn reader_serves_original_bytes_and_converted_regions_in_any_pieces() {
        use std::io::Cursor;
        let x = Tensor::from_vec(values(40 * 32, 3), (40, 32), &Device::Cpu).unwrap();
        let q5 = QTensor::quantize(&x, GgmlDType::Q5_0).unwrap();
        let q41 = QTensor::quantize(&x, GgmlDType::Q4_1).unwrap();
        let q8 = QTensor::quantize(&x, GgmlDType::Q8_0).unwrap();
        let mut file = Cursor::new(Vec::new());
        candle_core::quantized::gguf_file::write(
            &mut file,
            &[],
            &[("a", &q5), ("b", &q8), ("c", &q41)],
        )
        .unwrap();
        let original = file.get_ref().clone();
        file.set_position(0);
        let mut content = Content::read(&mut file).unwrap();
        let Plan::Repacked {
            mut reader,
            tensors,
        } = plan(&mut content, file).unwrap()
        else {
            panic!("nothing planned")
        };
        assert_eq!(tensors, 2);
        for name in ["a", "b", "c"] {
            assert_eq!(content.tensor_infos[name].ggml_dtype, GgmlDType::Q8_0);
        }
        let a = content.tensor(&mut reader, "a", &Device::Cpu).unwrap();
        assert_eq!(a.data().unwrap(), convert(&q5).data().unwrap());
        let c = content.tensor(&mut reader, "c", &Device::Cpu).unwrap();
        assert_eq!(c.data().unwrap(), convert(&q41).data().unwrap());
        let b = content.tensor(&mut reader, "b", &Device::Cpu).unwrap();
        assert_eq!(b.data().unwrap(), q8.data().unwrap());

        // The whole virtual file, read in odd-sized pieces, is the original followed by the
        // converted tensors (sorted by name).
        let mut expected = original;
        expected.extend_from_slice(&convert(&q5).data().unwrap());
        expected.extend_from_slice(&convert(&q41).data().unwrap());
        assert_eq!(
            reader.seek(SeekFrom::End(0)).unwrap(),
            expected.len() as u64
        );
        reader.seek(SeekFrom::Start(0)).unwrap();
        let mut got = Vec::new();
        let mut piece = [0u8; 53];
        loop {
            let n = reader.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
        }
        assert_eq!(got, expected);
    }
}
