//! Approximate nearest-neighbour search: an HNSW graph (hierarchical navigable small world,
//! Malkov & Yashunin) over the unit vectors of a [`DenseIndex`], scored by dot product (the
//! cosine similarity of unit vectors).
//!
//! Every row of the index is a node. Node levels are drawn from a geometric distribution
//! (`⌊−ln U · 1/ln m⌋`) with a SplitMix64 generator seeded from [`HnswParams::seed`], and rows
//! are inserted in row order, so the same vectors and parameters always give the same graph.
//! A node keeps at most `m` neighbours on the upper layers and `2m` on layer 0, chosen with the
//! "diversity" heuristic of the paper (a candidate is kept only if it is closer to the node than
//! to every neighbour kept before it). Searches descend greedily to layer 0 and then explore it
//! with a candidate list of `ef_search` entries; `k ≥ n` scores every row exactly instead.
//!
//! The graph refers to rows, not copies of the vectors: [`Hnsw::search`] takes the
//! [`DenseIndex`] it was built from and checks that its size and dimension still match.
//!
//! File layout (little-endian), written next to the vectors (see [`graph_path`]):
//! `b"AHN1"`, u32 format version, u32 dim, u64 count, u64 fingerprint of the vectors'
//! ids and first components, u32 m, u32 ef_construction, u32 ef_search, u64 seed, u32 entry
//! node (`u32::MAX`: none), u32 top level, count × u8 node level, count × (u16 n, n × u32
//! layer-0 neighbours), then for every node and each of its levels 1..=level (u16 n, n × u32
//! neighbours), and finally the u64 FNV-1a hash of everything before it. It is written to a
//! temporary sibling, synced and renamed into place.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::store::{DenseIndex, dot, fnv1a, write_atomically};
use super::{DenseError, Result};

const MAGIC: &[u8; 4] = b"AHN1";
const FORMAT_VERSION: u32 = 1;
/// Highest node level drawn (a level above 16 would need more than 16^16 nodes).
const MAX_LEVEL: usize = 16;
const NO_ENTRY: u32 = u32::MAX;

/// Build and search parameters of an [`Hnsw`] graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HnswParams {
    /// Neighbours per node on the upper layers (twice as many on layer 0). 16 is the usual
    /// choice for 384-d text embeddings; larger values raise recall, memory and build time.
    pub m: usize,
    /// Candidate list length while inserting. Larger gives a better graph, built more slowly.
    pub ef_construction: usize,
    /// Candidate list length while searching (at least `k` is used). The recall/latency knob.
    pub ef_search: usize,
    /// Seed of the level generator; the graph is a pure function of vectors and parameters.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 100,
            ef_search: 64,
            seed: 0x0A11_4E4D_E5EA_2C40,
        }
    }
}

impl HnswParams {
    /// The parameters with `m` clamped to 2..=128 and the list lengths to at least 1.
    fn sanitized(self) -> Self {
        Self {
            m: self.m.clamp(2, 128),
            ef_construction: self.ef_construction.max(1),
            ef_search: self.ef_search.max(1),
            seed: self.seed,
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood): a tiny, fast, seedable generator; enough for level
/// draws and synthetic data, not for anything secret.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n.max(1)
    }
}

/// A node with its similarity to the current query; ordered by score, ties broken towards the
/// lower row (which compares as greater, i.e. better).
#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f32,
    node: u32,
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scored {}

/// A set of visited nodes that is cheap to clear (only the touched words are reset).
struct Visited {
    bits: Vec<u64>,
    touched: Vec<usize>,
}

impl Visited {
    fn new(n: usize) -> Self {
        Self {
            bits: vec![0; n.div_ceil(64)],
            touched: Vec::new(),
        }
    }

    /// Marks `node`; `true` if it was not marked before.
    fn insert(&mut self, node: u32) -> bool {
        let (word, bit) = (node as usize / 64, 1u64 << (node % 64));
        let w = &mut self.bits[word];
        if *w & bit != 0 {
            return false;
        }
        if *w == 0 {
            self.touched.push(word);
        }
        *w |= bit;
        true
    }

    fn clear(&mut self) {
        for word in self.touched.drain(..) {
            self.bits[word] = 0;
        }
    }
}

/// An HNSW graph over the rows of a [`DenseIndex`] (see the module docs).
#[derive(Clone, PartialEq)]
pub struct Hnsw {
    params: HnswParams,
    dim: usize,
    fingerprint: u64,
    entry: Option<u32>,
    top_level: usize,
    levels: Vec<u8>,
    /// Layer-0 neighbours: `2m` slots per node, the first `layer0_len[node]` used.
    layer0: Vec<u32>,
    layer0_len: Vec<u16>,
    /// `upper[node][l - 1]`: the neighbours of `node` on layer `l ≥ 1`.
    upper: Vec<Vec<Vec<u32>>>,
}

impl fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hnsw")
            .field("nodes", &self.len())
            .field("dim", &self.dim)
            .field("top_level", &self.top_level)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// The path of the graph file belonging to the vectors file `vectors_path`: the same name
/// with `.hnsw` appended (`passages.adv` → `passages.adv.hnsw`).
pub fn graph_path(vectors_path: &Path) -> PathBuf {
    let mut name = vectors_path.file_name().unwrap_or_default().to_os_string();
    name.push(".hnsw");
    vectors_path.with_file_name(name)
}

/// Identifies the vectors a graph was built over: dimension, count, every id and the first
/// component of every row. Cheap (no pass over all floats) and catches a graph file that was
/// left beside different vectors.
fn fingerprint(index: &DenseIndex) -> u64 {
    let mut bytes = Vec::with_capacity(16 + index.len() * 24);
    bytes.extend_from_slice(&(index.dim as u64).to_le_bytes());
    bytes.extend_from_slice(&(index.len() as u64).to_le_bytes());
    for (row, id) in index.ids.iter().enumerate() {
        bytes.extend_from_slice(id.as_bytes());
        bytes.push(0);
        if index.dim > 0 {
            bytes.extend_from_slice(&index.vectors[row * index.dim].to_le_bytes());
        }
    }
    fnv1a(&bytes)
}

impl Hnsw {
    /// Builds the graph over every row of `index` (`params` are clamped to sane ranges: `m`
    /// 2..=128, list lengths ≥ 1). Vectors should be L2-normalised.
    pub fn build(index: &DenseIndex, params: HnswParams) -> Self {
        let params = params.sanitized();
        let n = index.len();
        let mut graph = Self {
            params,
            dim: index.dim,
            fingerprint: fingerprint(index),
            entry: None,
            top_level: 0,
            levels: vec![0; n],
            layer0: vec![0; n * 2 * params.m],
            layer0_len: vec![0; n],
            upper: vec![Vec::new(); n],
        };
        let mut rng = SplitMix64::new(params.seed);
        let level_scale = 1.0 / (params.m as f64).ln();
        let mut visited = Visited::new(n);
        for node in 0..n {
            let level = ((-rng.next_f64().ln() * level_scale) as usize).min(MAX_LEVEL);
            graph.insert(index, node as u32, level, &mut visited);
            if (node + 1) % 100_000 == 0 {
                tracing::debug!(inserted = node + 1, of = n, "building hnsw graph");
            }
        }
        graph
    }

    /// Number of nodes (rows of the index it was built over).
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// `true` for a graph over an empty index.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The parameters the graph was built with (and searches with by default).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    fn max_links(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.params.m
        } else {
            self.params.m
        }
    }

    fn links(&self, node: u32, level: usize) -> &[u32] {
        let node = node as usize;
        if level == 0 {
            let start = node * 2 * self.params.m;
            &self.layer0[start..start + self.layer0_len[node] as usize]
        } else {
            &self.upper[node][level - 1]
        }
    }

    fn set_links(&mut self, node: u32, level: usize, links: &[Scored]) {
        let node = node as usize;
        if level == 0 {
            let slots = 2 * self.params.m;
            let start = node * slots;
            // Unused slots are zero, so equal graphs compare equal after a save/load.
            for (i, slot) in self.layer0[start..start + slots].iter_mut().enumerate() {
                *slot = links.get(i).map_or(0, |s| s.node);
            }
            self.layer0_len[node] = links.len() as u16;
        } else {
            self.upper[node][level - 1] = links.iter().map(|s| s.node).collect();
        }
    }

    fn insert(&mut self, index: &DenseIndex, node: u32, level: usize, visited: &mut Visited) {
        self.levels[node as usize] = level as u8;
        self.upper[node as usize] = vec![Vec::new(); level];
        let Some(entry) = self.entry else {
            self.entry = Some(node);
            self.top_level = level;
            return;
        };
        let query = index.vector(node as usize);
        let mut nearest = vec![Scored {
            score: dot(query, index.vector(entry as usize)),
            node: entry,
        }];
        for layer in (level + 1..=self.top_level).rev() {
            nearest = vec![self.greedy(index, query, nearest[0], layer)];
        }
        for layer in (0..=level.min(self.top_level)).rev() {
            let found = self.search_layer(
                index,
                query,
                &nearest,
                self.params.ef_construction,
                layer,
                visited,
            );
            let chosen = select_diverse(index, &found, self.params.m);
            self.set_links(node, layer, &chosen);
            for neighbour in &chosen {
                self.link_back(index, neighbour.node, node, layer);
            }
            nearest = found;
        }
        if level > self.top_level {
            self.top_level = level;
            self.entry = Some(node);
        }
    }

    /// Adds `node` to the neighbours of `from` on `layer`, pruning with the diversity heuristic
    /// when the list is full.
    fn link_back(&mut self, index: &DenseIndex, from: u32, node: u32, layer: usize) {
        let max = self.max_links(layer);
        let current = self.links(from, layer);
        if current.len() < max {
            let mut links: Vec<Scored> = current
                .iter()
                .map(|&n| Scored {
                    score: 0.0,
                    node: n,
                })
                .collect();
            links.push(Scored { score: 0.0, node });
            self.set_links(from, layer, &links);
            return;
        }
        let base = index.vector(from as usize);
        let mut candidates: Vec<Scored> = current
            .iter()
            .chain(std::iter::once(&node))
            .map(|&n| Scored {
                score: dot(base, index.vector(n as usize)),
                node: n,
            })
            .collect();
        candidates.sort_by(|a, b| b.cmp(a));
        let chosen = select_diverse(index, &candidates, max);
        self.set_links(from, layer, &chosen);
    }

    /// Greedy walk on `layer` towards `query`, starting at `start`.
    fn greedy(&self, index: &DenseIndex, query: &[f32], start: Scored, layer: usize) -> Scored {
        let mut best = start;
        loop {
            let mut improved = false;
            for &n in self.links(best.node, layer) {
                let candidate = Scored {
                    score: dot(query, index.vector(n as usize)),
                    node: n,
                };
                if candidate > best {
                    best = candidate;
                    improved = true;
                }
            }
            if !improved {
                return best;
            }
        }
    }

    /// Best-first search of `layer` from `entries` with a result list of `ef`; best first.
    fn search_layer(
        &self,
        index: &DenseIndex,
        query: &[f32],
        entries: &[Scored],
        ef: usize,
        layer: usize,
        visited: &mut Visited,
    ) -> Vec<Scored> {
        visited.clear();
        let mut candidates: BinaryHeap<Scored> = BinaryHeap::new();
        let mut results: BinaryHeap<Reverse<Scored>> = BinaryHeap::new();
        for &entry in entries {
            if visited.insert(entry.node) {
                candidates.push(entry);
                results.push(Reverse(entry));
                if results.len() > ef {
                    results.pop();
                }
            }
        }
        while let Some(current) = candidates.pop() {
            if let Some(Reverse(worst)) = results.peek()
                && results.len() >= ef
                && current < *worst
            {
                break;
            }
            for &n in self.links(current.node, layer) {
                if !visited.insert(n) {
                    continue;
                }
                let candidate = Scored {
                    score: dot(query, index.vector(n as usize)),
                    node: n,
                };
                let admit = results.len() < ef
                    || results
                        .peek()
                        .is_some_and(|Reverse(worst)| candidate > *worst);
                if admit {
                    candidates.push(candidate);
                    results.push(Reverse(candidate));
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
        results.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }

    fn check_matches(&self, index: &DenseIndex, query: &[f32]) -> Result<()> {
        if query.len() != index.dim {
            return Err(DenseError::Store(format!(
                "query vector has {} dimensions, the index {}",
                query.len(),
                index.dim
            )));
        }
        if index.len() != self.len() || index.dim != self.dim {
            return Err(DenseError::Store(format!(
                "the hnsw graph was built over {} vectors of {} dimensions, the index has {} of \
                 {}; rebuild the graph",
                self.len(),
                self.dim,
                index.len(),
                index.dim
            )));
        }
        Ok(())
    }

    /// The (approximately) `k` rows of `index` with the highest dot product with `query`, as
    /// `(row, score)`, best first, searching with [`HnswParams::ef_search`].
    pub fn search(&self, index: &DenseIndex, query: &[f32], k: usize) -> Result<Vec<(usize, f32)>> {
        self.search_with_ef(index, query, k, self.params.ef_search)
    }

    /// As [`Hnsw::search`] with an explicit candidate list length (`max(ef, k)` is used).
    /// `k ≥ n` returns every row, scored exactly. Fails if `index` is not the one the graph was
    /// built over (size or dimension differ) or `query` has the wrong dimension.
    pub fn search_with_ef(
        &self,
        index: &DenseIndex,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> Result<Vec<(usize, f32)>> {
        self.check_matches(index, query)?;
        let Some(entry) = self.entry else {
            return Ok(Vec::new());
        };
        if k == 0 {
            return Ok(Vec::new());
        }
        if k >= self.len() {
            let mut all: Vec<Scored> = (0..self.len())
                .map(|row| Scored {
                    score: dot(query, index.vector(row)),
                    node: row as u32,
                })
                .collect();
            all.sort_by(|a, b| b.cmp(a));
            return Ok(all
                .into_iter()
                .map(|s| (s.node as usize, s.score))
                .collect());
        }
        let mut nearest = Scored {
            score: dot(query, index.vector(entry as usize)),
            node: entry,
        };
        for layer in (1..=self.top_level).rev() {
            nearest = self.greedy(index, query, nearest, layer);
        }
        let mut visited = Visited::new(self.len());
        let found = self.search_layer(index, query, &[nearest], ef.max(k), 0, &mut visited);
        Ok(found
            .into_iter()
            .filter(|s| !s.score.is_nan())
            .take(k)
            .map(|s| (s.node as usize, s.score))
            .collect())
    }

    /// The file image (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let edges: usize = self.layer0_len.iter().map(|&n| n as usize).sum();
        let mut out = Vec::with_capacity(64 + self.len() * 3 + edges * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        for value in [
            self.params.m,
            self.params.ef_construction,
            self.params.ef_search,
        ] {
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        out.extend_from_slice(&self.params.seed.to_le_bytes());
        out.extend_from_slice(&self.entry.unwrap_or(NO_ENTRY).to_le_bytes());
        out.extend_from_slice(&(self.top_level as u32).to_le_bytes());
        out.extend_from_slice(&self.levels);
        let put_list = |out: &mut Vec<u8>, list: &[u32]| {
            out.extend_from_slice(&(list.len() as u16).to_le_bytes());
            for n in list {
                out.extend_from_slice(&n.to_le_bytes());
            }
        };
        for node in 0..self.len() as u32 {
            put_list(&mut out, self.links(node, 0));
        }
        for node in 0..self.len() as u32 {
            for layer in 1..=self.levels[node as usize] as usize {
                put_list(&mut out, self.links(node, layer));
            }
        }
        let hash = fnv1a(&out);
        out.extend_from_slice(&hash.to_le_bytes());
        out
    }

    /// Parses a file image written for `index`, checking magic, version, checksum, every length
    /// and node number, and that it was built over these vectors.
    pub fn from_bytes(bytes: &[u8], index: &DenseIndex) -> Result<Self> {
        let bad = |why: &str| DenseError::Store(format!("hnsw graph: {why}; rebuild the graph"));
        if bytes.len() < 64 || &bytes[..4] != MAGIC {
            return Err(bad("not an hnsw graph file (bad magic or too short)"));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().map_err(|_| bad("short checksum"))?);
        if fnv1a(body) != stored {
            return Err(bad("checksum mismatch (file corrupt or truncated)"));
        }
        let mut reader = Reader { body, pos: 4 };
        let version = reader.u32()?;
        if version != FORMAT_VERSION {
            return Err(bad(&format!(
                "format version {version}, this build reads {FORMAT_VERSION}"
            )));
        }
        let dim = reader.u32()? as usize;
        let count = usize::try_from(reader.u64()?).map_err(|_| bad("count too large"))?;
        let fingerprint = reader.u64()?;
        if dim != index.dim || count != index.len() || fingerprint != self::fingerprint(index) {
            return Err(bad(&format!(
                "built over other vectors ({count} of {dim} dimensions; the index has {} of {})",
                index.len(),
                index.dim
            )));
        }
        let params = HnswParams {
            m: reader.u32()? as usize,
            ef_construction: reader.u32()? as usize,
            ef_search: reader.u32()? as usize,
            seed: reader.u64()?,
        };
        if params != params.sanitized() {
            return Err(bad("parameters out of range"));
        }
        let entry = match reader.u32()? {
            NO_ENTRY => None,
            node if (node as usize) < count => Some(node),
            _ => return Err(bad("entry node out of range")),
        };
        let top_level = reader.u32()? as usize;
        let levels = reader.take(count)?.to_vec();
        let consistent = match entry {
            None => count == 0 && top_level == 0,
            Some(e) => levels[e as usize] as usize == top_level,
        };
        if !consistent || levels.iter().any(|&l| l as usize > top_level) {
            return Err(bad("inconsistent node levels"));
        }
        let mut graph = Self {
            params,
            dim,
            fingerprint,
            entry,
            top_level,
            levels,
            layer0: vec![0; count * 2 * params.m],
            layer0_len: vec![0; count],
            upper: vec![Vec::new(); count],
        };
        for node in 0..count {
            let list = reader.list(count, 2 * params.m)?;
            let start = node * 2 * params.m;
            graph.layer0[start..start + list.len()].copy_from_slice(&list);
            graph.layer0_len[node] = list.len() as u16;
        }
        for node in 0..count {
            let level = graph.levels[node] as usize;
            graph.upper[node] = (0..level)
                .map(|_| reader.list(count, params.m))
                .collect::<Result<_>>()?;
        }
        if reader.pos != body.len() {
            return Err(bad("trailing bytes after the graph"));
        }
        Ok(graph)
    }

    /// Writes the graph to `path` atomically (temporary sibling, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_bytes())
    }

    /// Reads a graph written by [`Hnsw::save`] for `index`.
    pub fn load(path: &Path, index: &DenseIndex) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| DenseError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_bytes(&bytes, index).map_err(|e| match e {
            DenseError::Store(msg) => DenseError::Store(format!("{}: {msg}", path.display())),
            other => other,
        })
    }
}

/// The diversity heuristic (HNSW paper, algorithm 4, without extension): walk `candidates`
/// (best first by similarity to the base node) and keep one unless it is more similar to an
/// already kept neighbour than to the base; at most `max`.
fn select_diverse(index: &DenseIndex, candidates: &[Scored], max: usize) -> Vec<Scored> {
    let mut kept: Vec<Scored> = Vec::with_capacity(max);
    for &candidate in candidates {
        if kept.len() >= max {
            break;
        }
        let vector = index.vector(candidate.node as usize);
        let diverse = kept
            .iter()
            .all(|k| dot(vector, index.vector(k.node as usize)) <= candidate.score);
        if diverse {
            kept.push(candidate);
        }
    }
    kept
}

/// Bounds-checked little-endian reader over a graph file body.
struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.body.len());
        let Some(end) = end else {
            return Err(DenseError::Store(
                "hnsw graph: file is truncated; rebuild the graph".into(),
            ));
        };
        let slice = &self.body[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A neighbour list of at most `max` nodes, each below `count`.
    fn list(&mut self, count: usize, max: usize) -> Result<Vec<u32>> {
        let n = self.u16()? as usize;
        if n > max {
            return Err(DenseError::Store(format!(
                "hnsw graph: a neighbour list has {n} entries, at most {max} are allowed; \
                 rebuild the graph"
            )));
        }
        let raw = self.take(n * 4)?;
        let list: Vec<u32> = raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if list.iter().any(|&node| node as usize >= count) {
            return Err(DenseError::Store(
                "hnsw graph: neighbour out of range; rebuild the graph".into(),
            ));
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_index(n: usize, dim: usize, seed: u64) -> DenseIndex {
        let mut rng = SplitMix64::new(seed);
        let mut index = DenseIndex::new(dim);
        for i in 0..n {
            let mut v: Vec<f32> = (0..dim).map(|_| rng.next_f64() as f32 - 0.5).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            index.push(format!("d{i}#0"), &v).unwrap();
        }
        index
    }

    #[test]
    fn splitmix_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!(x > 0.0 && x < 1.0);
            assert!(a.below(5) < 5);
            b.below(5);
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    #[test]
    fn small_graph_finds_exact_neighbours_and_is_deterministic() {
        let index = random_index(500, 16, 3);
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            ef_search: 64,
            ..HnswParams::default()
        };
        let graph = Hnsw::build(&index, params);
        assert_eq!(graph, Hnsw::build(&index, params), "same input, same graph");
        let mut agree = 0;
        for q in 0..50 {
            let query = index.vector(q * 7).to_vec();
            let exact: Vec<String> = index
                .search_exact(&query, 5)
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let approx = graph.search(&index, &query, 5).unwrap();
            assert_eq!(approx[0].0, q * 7, "a stored vector finds itself");
            assert!((approx[0].1 - 1.0).abs() < 1e-5);
            assert!(approx.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
            agree += approx
                .iter()
                .filter(|(row, _)| exact.contains(&index.ids[*row]))
                .count();
        }
        assert!(agree >= 245, "recall@5 on a small graph: {agree}/250");
    }

    #[test]
    fn empty_index_k_zero_and_k_above_n() {
        let empty = DenseIndex::new(4);
        let graph = Hnsw::build(&empty, HnswParams::default());
        assert!(graph.is_empty());
        assert!(
            graph
                .search(&empty, &[1.0, 0.0, 0.0, 0.0], 3)
                .unwrap()
                .is_empty()
        );
        let bytes = graph.to_bytes();
        assert_eq!(Hnsw::from_bytes(&bytes, &empty).unwrap(), graph);

        let index = random_index(30, 4, 9);
        let graph = Hnsw::build(&index, HnswParams::default());
        let query = index.vector(3).to_vec();
        assert!(graph.search(&index, &query, 0).unwrap().is_empty());
        let all = graph.search(&index, &query, 100).unwrap();
        assert_eq!(all.len(), 30, "k > n returns every row once");
        let mut rows: Vec<usize> = all.iter().map(|(r, _)| *r).collect();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!(rows.len(), 30);
        assert_eq!(all[0].0, 3);
        assert!(
            graph.search(&index, &[1.0, 0.0], 3).is_err(),
            "wrong query dim"
        );
        assert!(
            graph.search(&random_index(31, 4, 9), &query, 3).is_err(),
            "other index"
        );
    }

    #[test]
    fn corrupt_or_foreign_files_are_errors() {
        let index = random_index(200, 8, 5);
        let graph = Hnsw::build(&index, HnswParams::default());
        let bytes = graph.to_bytes();
        assert_eq!(Hnsw::from_bytes(&bytes, &index).unwrap(), graph);
        for cut in [0, 3, 10, 59, bytes.len() / 2, bytes.len() - 1] {
            let err = Hnsw::from_bytes(&bytes[..cut], &index).unwrap_err();
            assert!(matches!(err, DenseError::Store(_)), "cut at {cut}: {err}");
        }
        for flip in [5, 20, 70, bytes.len() / 2, bytes.len() - 9] {
            let mut corrupt = bytes.clone();
            corrupt[flip] ^= 0x40;
            let err = Hnsw::from_bytes(&corrupt, &index).unwrap_err().to_string();
            assert!(err.contains("hnsw graph"), "flip at {flip}: {err}");
        }
        let other = random_index(200, 8, 6);
        let err = Hnsw::from_bytes(&bytes, &other).unwrap_err().to_string();
        assert!(err.contains("other vectors"), "{err}");
    }

    #[test]
    fn graph_path_is_a_sibling() {
        assert_eq!(
            graph_path(Path::new("/data/dense/passages.adv")),
            Path::new("/data/dense/passages.adv.hnsw")
        );
    }
}
