//! Token buckets keyed by client or widget, bounded in memory.
//!
//! Each key holds up to `burst` tokens, refilled at `per_minute / 60` tokens per second; a
//! request takes one token or is told how long to wait for the next. A bucket that has refilled
//! completely is indistinguishable from a fresh one, so it can be forgotten: full buckets are
//! swept once a minute, and whenever a new key would exceed `max_keys`. Should all tracked keys
//! be active at that moment, the least recently seen are forgotten (they start afresh — lenient
//! for them, but memory stays bounded).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often full buckets are swept even when there is room.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Inner<K> {
    buckets: HashMap<K, Bucket>,
    last_sweep: Option<Instant>,
}

/// Rate limits for many keys (see the module docs).
#[derive(Debug)]
pub struct TokenBuckets<K> {
    per_second: f64,
    burst: f64,
    max_keys: usize,
    inner: Mutex<Inner<K>>,
}

impl<K: Hash + Eq + Clone> TokenBuckets<K> {
    /// `per_minute` sustained, `burst` at once (at least 1), at most `max_keys` keys tracked.
    pub fn new(per_minute: u32, burst: u32, max_keys: usize) -> Self {
        Self {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            max_keys: max_keys.max(1),
            inner: Mutex::new(Inner {
                buckets: HashMap::new(),
                last_sweep: None,
            }),
        }
    }

    /// Takes a token for `key` at `now`, or returns how long until one is available.
    pub fn try_take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let due = inner
            .last_sweep
            .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY);
        if due || (!inner.buckets.contains_key(key) && inner.buckets.len() >= self.max_keys) {
            self.sweep(&mut inner, now);
        }
        let (per_second, burst) = (self.per_second, self.burst);
        let bucket = inner.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .buckets
            .len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn sweep(&self, inner: &mut Inner<K>, now: Instant) {
        inner.last_sweep = Some(now);
        let (per_second, burst) = (self.per_second, self.burst);
        inner.buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second < burst
        });
        if inner.buckets.len() >= self.max_keys {
            // Everybody is active: forget the least recently seen tenth (at least one).
            let mut seen: Vec<(Instant, K)> = inner
                .buckets
                .iter()
                .map(|(k, b)| (b.updated, k.clone()))
                .collect();
            seen.sort_by_key(|(t, _)| *t);
            let excess = inner.buckets.len() + 1 - self.max_keys;
            let drop = excess.max(self.max_keys / 10).min(seen.len());
            for (_, key) in seen.into_iter().take(drop) {
                inner.buckets.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_after_the_burst_waits_for_the_refill() {
        let buckets = TokenBuckets::new(60, 3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            buckets.try_take(&"a", t0).unwrap();
        }
        let wait = buckets.try_take(&"a", t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another key is not affected.
        buckets.try_take(&"b", t0).unwrap();
        // One second later one token is back, not more.
        let t1 = t0 + Duration::from_secs(1);
        buckets.try_take(&"a", t1).unwrap();
        assert!(buckets.try_take(&"a", t1).is_err());
    }

    #[test]
    fn memory_stays_bounded_and_idle_buckets_go_first() {
        let buckets = TokenBuckets::new(60, 2, 100);
        let t0 = Instant::now();
        // An active client that has used its burst.
        buckets.try_take(&u32::MAX, t0).unwrap();
        buckets.try_take(&u32::MAX, t0).unwrap();
        for i in 0..10_000u32 {
            buckets.try_take(&i, t0 + Duration::from_secs(5)).unwrap();
            assert!(buckets.len() <= 100, "{} keys", buckets.len());
        }
        // Every one-off client refills within 2 s: a sweep after that forgets them all.
        let later = t0 + Duration::from_secs(120);
        buckets.try_take(&u32::MAX, later).unwrap();
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn a_drained_bucket_survives_a_sweep() {
        let buckets = TokenBuckets::new(1, 2, 100);
        let t0 = Instant::now();
        buckets.try_take(&"a", t0).unwrap();
        buckets.try_take(&"a", t0).unwrap();
        // 61 s later a sweep is due; "a" has refilled one token of two and must be kept.
        let t1 = t0 + Duration::from_secs(61);
        buckets.try_take(&"b", t1).unwrap();
        assert_eq!(buckets.len(), 2);
        buckets.try_take(&"a", t1).unwrap();
        assert!(
            buckets.try_take(&"a", t1).is_err(),
            "a fresh bucket would allow two"
        );
    }
}
