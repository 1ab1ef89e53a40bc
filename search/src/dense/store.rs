//! Passage vectors with exact (brute-force) dot-product search, saved as one binary file.
//!
//! File layout (little-endian): `b"ADV1"`, u32 dim, u64 count, count × (u32 id length, id
//! bytes), count × dim f32, then the u64 FNV-1a hash of everything before it. Files are written
//! to a temporary sibling and renamed into place, so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{DenseError, Result};

const MAGIC: &[u8; 4] = b"ADV1";

/// Vectors (row-major, `dim` floats each) and the id of each row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DenseIndex {
    pub ids: Vec<String>,
    pub dim: usize,
    pub vectors: Vec<f32>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl DenseIndex {
    /// An empty index for vectors of `dim` floats.
    pub fn new(dim: usize) -> Self {
        Self {
            ids: Vec::new(),
            dim,
            vectors: Vec::new(),
        }
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` if the index holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends one vector (which should be L2-normalised for cosine scores).
    pub fn push(&mut self, id: impl Into<String>, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim {
            return Err(DenseError::Store(format!(
                "vector has {} dimensions, the index {}",
                vector.len(),
                self.dim
            )));
        }
        self.ids.push(id.into());
        self.vectors.extend_from_slice(vector);
        Ok(())
    }

    /// The vector of row `i`.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The `k` rows with the highest dot product with `query`, best first (ties: lower row
    /// first). Fails if `query` has the wrong dimension.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(String, f32)>> {
        if query.len() != self.dim {
            return Err(DenseError::Store(format!(
                "query vector has {} dimensions, the index {}",
                query.len(),
                self.dim
            )));
        }
        if k == 0 || self.dim == 0 {
            return Ok(Vec::new());
        }
        let mut scored: Vec<(usize, f32)> = self
            .vectors
            .chunks_exact(self.dim)
            .map(|row| row.iter().zip(query).map(|(a, b)| a * b).sum::<f32>())
            .enumerate()
            .filter(|(_, s)| !s.is_nan())
            .collect();
        let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, order);
            scored.truncate(k);
        }
        scored.sort_by(order);
        Ok(scored
            .into_iter()
            .map(|(i, s)| (self.ids[i].clone(), s))
            .collect())
    }

    /// The file image (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let id_bytes: usize = self.ids.iter().map(|id| 4 + id.len()).sum();
        let mut out = Vec::with_capacity(24 + id_bytes + self.vectors.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.ids.len() as u64).to_le_bytes());
        for id in &self.ids {
            out.extend_from_slice(&(id.len() as u32).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        for v in &self.vectors {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let hash = fnv1a(&out);
        out.extend_from_slice(&hash.to_le_bytes());
        out
    }

    /// Parses a file image, checking magic, lengths and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| DenseError::Store(format!("{why}; rebuild the dense index"));
        if bytes.len() < 24 || &bytes[..4] != MAGIC {
            return Err(bad("not a dense index file (bad magic or too short)"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| bad("short checksum"))?);
        if fnv1a(body) != stored {
            return Err(bad("checksum mismatch (file corrupt or truncated)"));
        }
        let mut pos = 4;
        let mut take = |n: usize| -> Result<&[u8]> {
            let end = pos + n;
            if end > body.len() {
                return Err(bad("file is truncated"));
            }
            let s = &body[pos..end];
            pos = end;
            Ok(s)
        };
        let dim = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad("dim"))?) as usize;
        let count = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad("count"))?);
        let count = usize::try_from(count).map_err(|_| bad("count too large"))?;
        let mut ids = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad("id"))?) as usize;
            let id = std::str::from_utf8(take(len)?).map_err(|_| bad("id is not UTF-8"))?;
            ids.push(id.to_string());
        }
        let n_floats = count
            .checked_mul(dim)
            .ok_or_else(|| bad("count × dim overflows"))?;
        let raw = take(n_floats.checked_mul(4).ok_or_else(|| bad("too large"))?)?;
        let vectors = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if pos != body.len() {
            return Err(bad("trailing bytes after the vectors"));
        }
        Ok(Self { ids, dim, vectors })
    }

    /// Writes the index to `path` atomically (temporary sibling file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path: PathBuf = path.into();
            move |source| DenseError::Io { path, source }
        };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&self.to_bytes()).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io(path))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Reads an index written by [`DenseIndex::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| DenseError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            DenseError::Store(msg) => DenseError::Store(format!("{}: {msg}", path.display())),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DenseIndex {
        let mut index = DenseIndex::new(3);
        index.push("a#0", &[1.0, 0.0, 0.0]).unwrap();
        index.push("b#0", &[0.0, 1.0, 0.0]).unwrap();
        index.push("c#0", &[0.6, 0.8, 0.0]).unwrap();
        index.push("d#0", &[0.0, 0.0, 1.0]).unwrap();
        index
    }

    #[test]
    fn exact_top_k_best_first() {
        let mut index = sample();
        let hits = index.search(&[0.8, 0.6, 0.0], 2).unwrap();
        let ids: Vec<&str> = hits.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["c#0", "a#0"]);
        assert!((hits[0].1 - 0.96).abs() < 1e-6);
        assert_eq!(index.search(&[0.0, 0.0, 1.0], 10).unwrap().len(), 4);
        assert!(index.search(&[1.0, 0.0, 0.0], 0).unwrap().is_empty());
        assert!(index.search(&[1.0, 0.0], 1).is_err());
        assert!(index.push("e", &[1.0]).is_err());
        // Ties keep insertion order.
        let ties = index.search(&[0.0, 0.0, 0.0], 4).unwrap();
        let ids: Vec<&str> = ties.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a#0", "b#0", "c#0", "d#0"]);
    }

    #[test]
    fn save_load_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dense.bin");
        let index = sample();
        index.save(&path).unwrap();
        assert_eq!(DenseIndex::load(&path).unwrap(), index);
        // Overwrite in place works and leaves no temporary file behind.
        DenseIndex::new(3).save(&path).unwrap();
        assert!(DenseIndex::load(&path).unwrap().is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let mut bytes = index.to_bytes();
        bytes[30] ^= 1;
        let err = DenseIndex::from_bytes(&bytes).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        let bytes = index.to_bytes();
        assert!(DenseIndex::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(DenseIndex::from_bytes(b"nope").is_err());
        let err = DenseIndex::load(&dir.path().join("missing.bin")).unwrap_err();
        assert!(matches!(err, DenseError::Io { .. }));
    }
}
