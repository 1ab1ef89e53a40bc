//! The bounded generation queue: at most `slots` generations run at once, at most
//! `max_waiting` more wait for a slot, and everyone beyond that is turned away at once with
//! [`Error::Busy`] and an estimate of when to retry (the web layer answers 429 with
//! `Retry-After`). A CPU server cannot make answers faster by running more of them at a time;
//! it can only make every citizen wait longer, so the queue is bounded and honest about it.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Occupancy of the queue, for `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GateStats {
    /// Generations running now.
    pub running: usize,
    /// Requests waiting for a slot.
    pub waiting: usize,
    /// Requests turned away since start.
    pub rejected: u64,
}

#[derive(Default)]
struct State {
    stats: GateStats,
    /// Exponential moving average of how long a generation holds its slot, in ms.
    average_ms: f64,
}

/// The queue (see the module docs).
pub struct GenerationGate {
    slots: usize,
    max_waiting: usize,
    state: Mutex<State>,
    freed: Condvar,
}

/// A held slot; dropping it frees the slot and wakes one waiting request.
pub struct Permit<'a> {
    gate: &'a GenerationGate,
    started: Instant,
}

/// Assumed generation time before the first one has been measured.
const INITIAL_ESTIMATE_MS: f64 = 15_000.0;

impl GenerationGate {
    /// A queue with `slots` concurrent generations (at least 1) and `max_waiting` waiting
    /// requests.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Self {
            slots: slots.max(1),
            max_waiting,
            state: Mutex::new(State {
                average_ms: INITIAL_ESTIMATE_MS,
                ..State::default()
            }),
            freed: Condvar::new(),
        }
    }

    /// Waits for a slot (blocking), or fails with [`Error::Busy`] at once when the waiting
    /// room is full.
    pub fn acquire(&self) -> Result<Permit<'_>> {
        let mut state = self.lock();
        if state.stats.running >= self.slots {
            if state.stats.waiting >= self.max_waiting {
                state.stats.rejected += 1;
                let waiting = state.stats.waiting;
                // Everyone ahead, plus the running generations, shared over the slots.
                let ahead = (waiting + state.stats.running) as f64 / self.slots as f64;
                let retry_after_secs = ((ahead * state.average_ms) / 1000.0).ceil().max(1.0) as u64;
                return Err(Error::Busy {
                    waiting,
                    retry_after_secs,
                });
            }
            state.stats.waiting += 1;
            while state.stats.running >= self.slots {
                state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            state.stats.waiting -= 1;
        }
        state.stats.running += 1;
        Ok(Permit {
            gate: self,
            started: Instant::now(),
        })
    }

    /// Current occupancy.
    pub fn stats(&self) -> GateStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, held: Duration) {
        let mut state = self.lock();
        state.stats.running -= 1;
        state.average_ms = 0.8 * state.average_ms + 0.2 * held.as_secs_f64() * 1000.0;
        drop(state);
        self.freed.notify_one();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate.release(self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn full_waiting_room_is_refused_with_a_retry_estimate() {
        let gate = GenerationGate::new(1, 0);
        let held = gate.acquire().unwrap();
        match gate.acquire() {
            Err(Error::Busy {
                waiting,
                retry_after_secs,
            }) => {
                assert_eq!(waiting, 0);
                assert!(retry_after_secs >= 1);
            }
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        assert_eq!(gate.stats().rejected, 1);
        drop(held);
        assert!(gate.acquire().is_ok(), "the slot is free again");
    }

    #[test]
    fn waiters_run_one_after_another_and_never_exceed_the_slots() {
        let gate = Arc::new(GenerationGate::new(2, 16));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    let _permit = gate.acquire().unwrap();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(gate.stats(), GateStats::default());
    }
}
