//! Passage vectors with dot-product search, saved as one binary file (plus an HNSW graph file
//! beside it for large indexes).
//!
//! Search method: [`SearchPolicy::method_for`] is the one place that decides. Indexes with
//! fewer than [`SearchPolicy::exact_below`] vectors (default [`EXACT_BELOW`] = 20 000) are
//! searched exactly (brute force: every row scored);
//! larger ones through an [`Hnsw`] graph, built on first use (or by
//! [`DenseIndex::prepare_search`]) and saved beside the vectors by [`DenseIndex::save`].
//! [`DenseIndex::search_exact`] is always exact (ground truth for recall measurements).
//!
//! File layout (little-endian): `b"ADV1"`, u32 dim, u64 count, count × (u32 id length, id
//! bytes), count × dim f32, then the u64 FNV-1a hash of everything before it. Files are written
//! to a temporary sibling and renamed into place, so a reader never sees half a file. The graph
//! file is described in [`super::ann`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use super::ann::{Hnsw, HnswParams, graph_path};
use super::{DenseError, Result};

const MAGIC: &[u8; 4] = b"ADV1";

/// Indexes with at least this many vectors are searched through an HNSW graph by default.
pub const EXACT_BELOW: usize = 20_000;

/// How a search is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SearchMethod {
    /// Every row scored (exact top-k).
    Exact,
    /// Approximate, through an [`Hnsw`] graph.
    Hnsw,
}

/// When a [`DenseIndex`] switches from exact search to HNSW, and with which graph parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchPolicy {
    /// Indexes with fewer vectors than this are searched exactly.
    pub exact_below: usize,
    /// Parameters of the graph built for larger indexes.
    pub hnsw: HnswParams,
}

impl Default for SearchPolicy {
    fn default() -> Self {
        Self {
            exact_below: EXACT_BELOW,
            hnsw: HnswParams::default(),
        }
    }
}

impl SearchPolicy {
    /// The method for an index of `len` vectors: exact below `exact_below`, HNSW from there.
    pub fn method_for(&self, len: usize) -> SearchMethod {
        if len < self.exact_below {
            SearchMethod::Exact
        } else {
            SearchMethod::Hnsw
        }
    }
}

/// Vectors (row-major, `dim` floats each) and the id of each row.
#[derive(Debug, Clone, Default)]
pub struct DenseIndex {
    pub ids: Vec<String>,
    pub dim: usize,
    pub vectors: Vec<f32>,
    policy: SearchPolicy,
    /// The HNSW graph over the current rows, once built or loaded; cleared by every change.
    graph: OnceLock<Hnsw>,
}

/// Two indexes are equal when they hold the same ids and vectors (policy and graph aside).
impl PartialEq for DenseIndex {
    fn eq(&self, other: &Self) -> bool {
        self.dim == other.dim && self.ids == other.ids && self.vectors == other.vectors
    }
}

/// 64-bit FNV-1a (checksums of the index files).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it. Every
/// search method scores with this function, so their scores are comparable bit for bit.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// Writes `bytes` to `path` atomically: temporary sibling file, fsync, rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |path: &Path| {
        let path: PathBuf = path.into();
        move |source| DenseError::Io { path, source }
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl DenseIndex {
    /// An empty index for vectors of `dim` floats.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ..Self::default()
        }
    }

    /// The same vectors with another search policy (drops a graph built under the old one).
    pub fn with_policy(mut self, policy: SearchPolicy) -> Self {
        self.policy = policy;
        self.graph = OnceLock::new();
        self
    }

    /// The search policy.
    pub fn policy(&self) -> SearchPolicy {
        self.policy
    }

    /// How [`DenseIndex::search`] searches this index now (see [`SearchPolicy::method_for`]).
    pub fn method(&self) -> SearchMethod {
        self.policy.method_for(self.len())
    }

    /// The HNSW graph over the current rows, built now if needed (single-threaded; see
    /// search/README.md for measured build times).
    pub fn graph(&self) -> &Hnsw {
        self.graph.get_or_init(|| {
            let started = Instant::now();
            let graph = Hnsw::build(self, self.policy.hnsw);
            tracing::info!(
                vectors = self.len(),
                seconds = started.elapsed().as_secs_f64(),
                "built the hnsw graph of a dense index"
            );
            graph
        })
    }

    /// Does the one-time work of the current search method now (builds the HNSW graph when
    /// the index is large enough for it), so that the first query is not slow. Returns the
    /// method.
    pub fn prepare_search(&self) -> SearchMethod {
        let method = self.method();
        if method == SearchMethod::Hnsw {
            self.graph();
        }
        method
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
        self.graph = OnceLock::new();
        Ok(())
    }

    /// The vector of row `i`.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The `k` rows with the highest dot product with `query` as `(id, score)`, best first,
    /// exactly or approximately as [`DenseIndex::method`] says (an HNSW graph is built on
    /// first use). Fails if `query` has the wrong dimension.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(String, f32)>> {
        match self.method() {
            SearchMethod::Exact => self.search_exact(query, k),
            SearchMethod::Hnsw => Ok(self
                .graph()
                .search(self, query, k)?
                .into_iter()
                .map(|(row, score)| (self.ids[row].clone(), score))
                .collect()),
        }
    }

    /// The exact `k` rows with the highest dot product with `query`, best first (ties: lower
    /// row first), scoring every row. Fails if `query` has the wrong dimension.
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<(String, f32)>> {
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
            .map(|row| dot(row, query))
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
        Ok(Self {
            ids,
            dim,
            vectors,
            ..Self::default()
        })
    }

    /// Writes the index to `path` atomically (temporary sibling file, fsync, rename). If the
    /// index is searched through HNSW, its graph is written beside it ([`graph_path`]; built
    /// first if needed); otherwise a graph file left there earlier is removed.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_bytes())?;
        let graph_file = graph_path(path);
        match self.method() {
            SearchMethod::Hnsw => self.graph().save(&graph_file),
            SearchMethod::Exact => match std::fs::remove_file(&graph_file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DenseError::Io {
                    path: graph_file,
                    source: e,
                }),
                _ => Ok(()),
            },
        }
    }

    /// Reads an index written by [`DenseIndex::save`], with the default [`SearchPolicy`]. If
    /// that policy says HNSW and a graph file is beside it, the graph is loaded (a corrupt or
    /// mismatching one is an error); without one it is built on first search.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with_policy(path, SearchPolicy::default())
    }

    /// As [`DenseIndex::load`], with the given search policy.
    pub fn load_with_policy(path: &Path, policy: SearchPolicy) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| DenseError::Io {
            path: path.into(),
            source,
        })?;
        let index = Self::from_bytes(&bytes)
            .map_err(|e| match e {
                DenseError::Store(msg) => DenseError::Store(format!("{}: {msg}", path.display())),
                other => other,
            })?
            .with_policy(policy);
        let graph_file = graph_path(path);
        if index.method() == SearchMethod::Hnsw && graph_file.exists() {
            let graph = Hnsw::load(&graph_file, &index)?;
            let _ = index.graph.set(graph);
        }
        Ok(index)
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

    #[test]
    fn dot_matches_the_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.25 - 2.0).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.125).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    /// 300 unit vectors around 30 directions in 12 dimensions.
    fn clustered(n: usize) -> DenseIndex {
        let mut rng = crate::dense::ann::SplitMix64::new(11);
        let centers: Vec<Vec<f32>> = (0..30)
            .map(|_| (0..12).map(|_| rng.next_f64() as f32 - 0.5).collect())
            .collect();
        let mut index = DenseIndex::new(12);
        for i in 0..n {
            let mut v: Vec<f32> = centers[i % 30]
                .iter()
                .map(|c| c + 0.2 * (rng.next_f64() as f32 - 0.5))
                .collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            index.push(format!("p{i}"), &v).unwrap();
        }
        index
    }

    #[test]
    fn the_policy_picks_the_method_by_size() {
        let policy = SearchPolicy::default();
        assert_eq!(policy.method_for(0), SearchMethod::Exact);
        assert_eq!(policy.method_for(EXACT_BELOW - 1), SearchMethod::Exact);
        assert_eq!(policy.method_for(EXACT_BELOW), SearchMethod::Hnsw);
        assert_eq!(sample().method(), SearchMethod::Exact);

        let small = SearchPolicy {
            exact_below: 100,
            ..SearchPolicy::default()
        };
        let mut index = clustered(99).with_policy(small);
        assert_eq!(index.prepare_search(), SearchMethod::Exact);
        let first = index.vector(0).to_vec();
        index.push("p99", &first).unwrap();
        assert_eq!(index.prepare_search(), SearchMethod::Hnsw);
        let query = index.vector(42).to_vec();
        let approx = index.search(&query, 10).unwrap();
        let exact = index.search_exact(&query, 10).unwrap();
        assert_eq!(approx[0].0, "p42");
        let overlap = approx.iter().filter(|hit| exact.contains(hit)).count();
        assert!(overlap >= 9, "{approx:?} vs {exact:?}");
    }

    #[test]
    fn large_indexes_save_and_load_their_graph() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passages.adv");
        let graph_file = graph_path(&path);
        let policy = SearchPolicy {
            exact_below: 100,
            ..SearchPolicy::default()
        };
        let index = clustered(300).with_policy(policy);
        index.save(&path).unwrap();
        assert!(graph_file.exists());
        let graph = Hnsw::load(&graph_file, &index).unwrap();
        assert_eq!(&graph, index.graph());
        // Loaded with the default policy (exact below 20 000) the graph is not used, and the
        // next save removes it.
        let loaded = DenseIndex::load(&path).unwrap();
        assert_eq!(loaded, index);
        assert_eq!(loaded.method(), SearchMethod::Exact);
        let with_graph = DenseIndex::load_with_policy(&path, policy).unwrap();
        assert_eq!(with_graph.graph(), index.graph());
        let mut bytes = std::fs::read(&graph_file).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&graph_file, &bytes).unwrap();
        let err = DenseIndex::load_with_policy(&path, policy).unwrap_err();
        assert!(
            matches!(&err, DenseError::Store(msg) if msg.contains("checksum")),
            "{err}"
        );
        loaded.save(&path).unwrap();
        assert!(!graph_file.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
