//! Attention state: the per-generation [`KvCache`] and the shared [`PrefixCache`].
//!
//! Every answer starts with the same system prompt, so the keys and values of its tokens are
//! the same every time. [`PrefixCache`] keeps the caches of a few recently used prefixes
//! (least recently used evicted); a new generation starts from a copy of the longest stored
//! prefix of its prompt and only prefills the rest. Tensors are reference-counted and never
//! modified in place (appending concatenates into a new tensor), so a copy costs nothing until
//! it diverges, and concurrent generations never see each other's state.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::Tensor;

/// Keys and values of every layer for the positions processed so far.
#[derive(Clone)]
pub(crate) struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    pub(super) fn new(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
            len: 0,
        }
    }

    /// Number of positions cached.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends this step's keys and values (shape `(batch, kv_heads, seq, head_dim)`) to layer
    /// `index` and returns the full keys and values to attend over.
    pub(super) fn append(
        &mut self,
        index: usize,
        k: Tensor,
        v: Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let slot = &mut self.layers[index];
        let (k, v) = match slot.take() {
            Some((ck, cv)) => (Tensor::cat(&[&ck, &k], 2)?, Tensor::cat(&[&cv, &v], 2)?),
            None => (k, v),
        };
        *slot = Some((k.clone(), v.clone()));
        Ok((k, v))
    }

    /// Records that `tokens` more positions were appended to every layer.
    pub(super) fn advance(&mut self, tokens: usize) {
        self.len += tokens;
    }

    /// Bytes held by the cached tensors.
    pub(crate) fn bytes(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes())
            .sum()
    }
}

/// A stored prefix: its token ids and the cache after processing them.
struct Entry {
    tokens: Vec<u32>,
    cache: KvCache,
}

/// The caches of recently used prompt prefixes (see the module docs).
pub(crate) struct PrefixCache {
    /// Most recently used last.
    entries: Mutex<Vec<Entry>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What the prefix cache holds and how often it helped, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrefixCacheStats {
    /// Stored prefixes (at most the configured capacity).
    pub entries: usize,
    /// Bytes of attention state they hold (bounded by capacity × context length).
    pub bytes: usize,
    /// Lookups that reused a stored prefix.
    pub hits: u64,
    /// Lookups that found none.
    pub misses: u64,
}

/// What a lookup found: a cache covering `reused` tokens of the prompt.
pub(crate) struct Reuse {
    pub(crate) cache: KvCache,
    pub(crate) reused: usize,
}

impl PrefixCache {
    /// Keeps at most `capacity` prefixes (0 disables the cache).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The stored prefix that is the longest prefix of `prompt`, leaving at least one prompt
    /// token to run (its logits start the answer). `None` when nothing of length ≥ `min` fits.
    pub(crate) fn lookup(&self, prompt: &[u32], min: usize) -> Option<Reuse> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let best = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.tokens.len() >= min.max(1) && e.tokens.len() < prompt.len())
            .filter(|(_, e)| prompt.starts_with(&e.tokens))
            .max_by_key(|(_, e)| e.tokens.len())
            .map(|(i, _)| i);
        let Some(best) = best else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        let entry = entries.remove(best);
        let reuse = Reuse {
            cache: entry.cache.clone(),
            reused: entry.tokens.len(),
        };
        entries.push(entry);
        Some(reuse)
    }

    /// Whether exactly this prefix is stored.
    #[cfg(test)]
    pub(crate) fn contains(&self, prefix: &[u32]) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().any(|e| e.tokens == prefix)
    }

    /// Stores the cache of `prefix` (which must hold exactly `prefix.len()` positions).
    pub(crate) fn insert(&self, prefix: Vec<u32>, cache: KvCache) {
        if self.capacity == 0 || cache.len() != prefix.len() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.tokens != prefix);
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        tracing::debug!(
            tokens = prefix.len(),
            bytes = cache.bytes(),
            "stored a prompt prefix cache"
        );
        entries.push(Entry {
            tokens: prefix,
            cache,
        });
    }

    /// Number of stored prefixes.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Entries, bytes held, hits and misses.
    pub(crate) fn stats(&self) -> PrefixCacheStats {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        PrefixCacheStats {
            entries: entries.len(),
            bytes: entries.iter().map(|e| e.cache.bytes()).sum(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn cache_of(len: usize) -> KvCache {
        let mut c = KvCache::new(2);
        for layer in 0..2 {
            let k = Tensor::zeros((1, 2, len, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
            c.append(layer, k.clone(), k).unwrap();
        }
        c.advance(len);
        c
    }

    #[test]
    fn lookup_takes_the_longest_stored_prefix_and_leaves_a_token_to_run() {
        let p = PrefixCache::new(3);
        p.insert(vec![1, 2], cache_of(2));
        p.insert(vec![1, 2, 3, 4], cache_of(4));
        p.insert(vec![9, 9, 9], cache_of(3));
        assert_eq!(p.lookup(&[1, 2, 3, 4, 5], 1).unwrap().reused, 4);
        // The whole prompt is stored: fall back to the shorter prefix so a token is left.
        assert_eq!(p.lookup(&[1, 2, 3, 4], 1).unwrap().reused, 2);
        assert!(p.lookup(&[7, 8, 9], 1).is_none());
        assert!(
            p.lookup(&[1, 2, 3], 3).is_none(),
            "shorter than the minimum"
        );
        let stats = p.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (2, 2, 3));
        // 2 layers × (k + v) × (1·2·len·4) f32 for lengths 2 + 4 + 3.
        assert_eq!(stats.bytes, 2 * 2 * 8 * (2 + 4 + 3) * 4);
    }

    #[test]
    fn least_recently_used_prefix_is_evicted() {
        let p = PrefixCache::new(2);
        p.insert(vec![1], cache_of(1));
        p.insert(vec![2], cache_of(1));
        assert!(p.lookup(&[1, 5], 1).is_some()); // 1 is now the most recent
        p.insert(vec![3], cache_of(1));
        assert_eq!(p.len(), 2);
        assert!(p.contains(&[1]) && p.contains(&[3]) && !p.contains(&[2]));
    }

    #[test]
    fn a_cache_of_the_wrong_length_is_not_stored() {
        let p = PrefixCache::new(2);
        p.insert(vec![1, 2, 3], cache_of(2));
        assert_eq!(p.len(), 0);
        let off = PrefixCache::new(0);
        off.insert(vec![1], cache_of(1));
        assert_eq!(off.len(), 0);
    }
}
