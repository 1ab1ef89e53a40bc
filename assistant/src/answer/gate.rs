//! The bounded queues in front of the assistant's two expensive stages, retrieval (BM25 and
//! the e5 query encoding: ~0.1–0.3 s of CPU) and generation (seconds): at most `slots` run at
//! once, at most `max_waiting` more wait for a slot, and everyone beyond that is turned away at
//! once with [`Error::Busy`] and an estimate of when to retry (the web layer answers 429 with
//! `Retry-After`). A CPU server cannot make answers faster by running more of them at a time;
//! it can only make every citizen wait longer and hold more memory, so both queues are bounded
//! and honest about it.
//!
//! Waiting is bounded in time as well as in places: a request that has not got a slot after
//! `max_wait` gives up with [`Error::Busy`] (429), never sitting in the queue until the web
//! layer's time limit turns it into a 504. The wait estimate learns from the running requests
//! as well as from the finished ones: when the one holding the slot has already run longer than
//! the average, that longer time is assumed, so a server slowed down (by load, by a busy host)
//! starts refusing at once instead of after the slow answers finish.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Which stage a [`Gate`] guards (named in [`Error::Busy`] and in the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Finding the passages (BM25, query encoding, dense search).
    Retrieval,
    /// Running the language model.
    Generation,
}

impl Stage {
    /// The lower-case name used in metrics and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Retrieval => "retrieval",
            Stage::Generation => "generation",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Occupancy of a queue, for `/metrics` and `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GateStats {
    /// Requests holding a slot now.
    pub running: usize,
    /// Requests waiting for a slot.
    pub waiting: usize,
    /// Requests turned away since start.
    pub rejected: u64,
}

#[derive(Default)]
struct State {
    /// When each running request took its slot (at most `slots` entries; its length is the
    /// number running).
    running_since: Vec<Instant>,
    /// Requests waiting for a slot.
    waiting: usize,
    /// Requests turned away since start.
    rejected: u64,
    /// Exponential moving average of how long a request holds its slot, in ms.
    average_ms: f64,
}

impl State {
    fn running(&self) -> usize {
        self.running_since.len()
    }
}

/// A bounded queue (see the module docs).
pub struct Gate {
    stage: Stage,
    slots: usize,
    max_waiting: usize,
    /// Longest a newcomer is queued for: one expected to wait longer is refused at once, and
    /// one still waiting after it gives up (a request that would outlive its time limit while
    /// waiting is better told to retry). `None`: unbounded.
    max_wait: Option<Duration>,
    state: Mutex<State>,
    freed: Condvar,
}

/// A held slot; dropping it frees the slot and wakes one waiting request.
pub struct Permit<'a> {
    gate: &'a Gate,
    started: Instant,
}

impl Stage {
    /// Assumed time a request holds a slot before the first one has been measured.
    fn initial_estimate_ms(self) -> f64 {
        match self {
            Stage::Retrieval => 300.0,
            Stage::Generation => 15_000.0,
        }
    }
}

impl Gate {
    /// A queue for `stage` with `slots` concurrent requests (at least 1) and `max_waiting`
    /// waiting requests.
    pub fn new(stage: Stage, slots: usize, max_waiting: usize) -> Self {
        Self {
            stage,
            slots: slots.max(1),
            max_waiting,
            max_wait: None,
            state: Mutex::new(State {
                average_ms: stage.initial_estimate_ms(),
                ..State::default()
            }),
            freed: Condvar::new(),
        }
    }

    /// Refuses newcomers whose expected wait (everyone ahead × the average time a request
    /// holds its slot, shared over the slots) exceeds `max_wait`.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Replaces the assumed time per request before the first one is measured.
    #[cfg(test)]
    fn with_initial_estimate(self, estimate: Duration) -> Self {
        self.lock().average_ms = estimate.as_secs_f64() * 1000.0;
        self
    }

    /// The stage this queue guards.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Waits for a slot (blocking), or fails with [`Error::Busy`] at once when the waiting
    /// room is full.
    pub fn acquire(&self) -> Result<Permit<'_>> {
        self.acquire_by(None)
    }

    /// [`Self::acquire`], giving up with [`Error::Busy`] at `deadline` too (the request's own
    /// time limit) when that comes before `max_wait`.
    pub fn acquire_by(&self, deadline: Option<Instant>) -> Result<Permit<'_>> {
        let mut state = self.lock();
        if state.running() >= self.slots {
            if self.is_full(&state) {
                return Err(self.refuse(&mut state));
            }
            state.waiting += 1;
            let by_max_wait = self
                .max_wait
                .and_then(|wait| Instant::now().checked_add(wait));
            let give_up_at = match (by_max_wait, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            while state.running() >= self.slots {
                let Some(give_up_at) = give_up_at else {
                    state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
                    continue;
                };
                let left = give_up_at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    state.waiting -= 1;
                    return Err(self.refuse(&mut state));
                }
                state = self
                    .freed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            state.waiting -= 1;
        }
        let started = Instant::now();
        state.running_since.push(started);
        Ok(Permit {
            gate: self,
            started,
        })
    }

    /// Fails with [`Error::Busy`] when a request arriving now would be turned away, without
    /// taking a slot: lets a later stage refuse before an earlier one spends work on a request
    /// that cannot be served. (Advisory: the queue may change before the real `acquire`.)
    pub fn admit(&self) -> Result<()> {
        let mut state = self.lock();
        if state.running() >= self.slots && self.is_full(&state) {
            return Err(self.refuse(&mut state));
        }
        Ok(())
    }

    /// With every slot taken: whether a newcomer must be turned away (waiting room full, or
    /// the expected wait too long).
    fn is_full(&self, state: &State) -> bool {
        state.waiting >= self.max_waiting
            || self
                .max_wait
                .is_some_and(|wait| self.expected_wait_ms(state) > wait.as_secs_f64() * 1000.0)
    }

    /// Everyone ahead, plus the running requests, shared over the slots, times the expected
    /// time a request holds its slot ([`Self::expected_hold_ms`]).
    fn expected_wait_ms(&self, state: &State) -> f64 {
        (state.waiting + state.running()) as f64 / self.slots as f64 * Self::expected_hold_ms(state)
    }

    /// How long a request is expected to hold its slot: the average of the finished ones, or
    /// longer when a running one has already held its slot longer than that.
    fn expected_hold_ms(state: &State) -> f64 {
        let longest_running_ms = state
            .running_since
            .iter()
            .map(|since| since.elapsed().as_secs_f64() * 1000.0)
            .fold(0.0, f64::max);
        state.average_ms.max(longest_running_ms)
    }

    /// Counts a refusal and estimates when to retry: everyone ahead, plus the running
    /// requests, shared over the slots.
    fn refuse(&self, state: &mut State) -> Error {
        state.rejected += 1;
        let waiting = state.waiting;
        let retry_after_secs = (self.expected_wait_ms(state) / 1000.0).ceil().max(1.0) as u64;
        Error::Busy {
            stage: self.stage,
            waiting,
            retry_after_secs,
        }
    }

    /// Current occupancy.
    pub fn stats(&self) -> GateStats {
        let state = self.lock();
        GateStats {
            running: state.running(),
            waiting: state.waiting,
            rejected: state.rejected,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, started: Instant) {
        let held = started.elapsed();
        let mut state = self.lock();
        if let Some(i) = state.running_since.iter().position(|s| *s == started) {
            state.running_since.swap_remove(i);
        }
        state.average_ms = 0.8 * state.average_ms + 0.2 * held.as_secs_f64() * 1000.0;
        drop(state);
        self.freed.notify_one();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate.release(self.started);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Asks `gate` for a slot on another thread, giving up `deadline_in` after starting (if
    /// set); returns the outcome and how long it waited.
    fn wait_on_another_thread(
        gate: &Arc<Gate>,
        deadline_in: Option<Duration>,
    ) -> (Result<()>, Duration) {
        let gate = gate.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let deadline = deadline_in.map(|after| started + after);
            let outcome = gate.acquire_by(deadline).map(|_| ());
            (outcome, started.elapsed())
        })
        .join()
        .unwrap()
    }

    #[test]
    fn full_waiting_room_is_refused_with_a_retry_estimate() {
        let gate = Gate::new(Stage::Generation, 1, 0);
        assert!(gate.admit().is_ok(), "an empty queue admits");
        let held = gate.acquire().unwrap();
        assert!(
            gate.admit().is_err(),
            "a full queue refuses before any work"
        );
        match gate.acquire() {
            Err(Error::Busy {
                stage,
                waiting,
                retry_after_secs,
            }) => {
                assert_eq!(stage, Stage::Generation);
                assert_eq!(waiting, 0);
                assert!(retry_after_secs >= 1);
            }
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        assert_eq!(gate.stats().rejected, 2);
        drop(held);
        assert!(gate.acquire().is_ok(), "the slot is free again");
    }

    #[test]
    fn a_newcomer_who_would_wait_too_long_is_refused_at_once() {
        // Initial estimate 15 s per generation; one running: a newcomer would wait 15 s.
        let gate = Gate::new(Stage::Generation, 1, 100).with_max_wait(Duration::from_secs(10));
        let _held = gate.acquire().unwrap();
        match gate.acquire() {
            Err(Error::Busy {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 15),
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        let patient = Gate::new(Stage::Generation, 1, 100).with_max_wait(Duration::from_secs(20));
        let _held = patient.acquire().unwrap();
        assert!(patient.admit().is_ok(), "15 s expected wait is within 20 s");
    }

    #[test]
    fn a_waiter_gives_up_with_busy_after_the_longest_wait() {
        // Expected to wait 10 ms, but the slot is held for good: the waiter must give up at
        // the 150 ms bound with Busy (a 429), not wait on into the web layer's time limit.
        let gate = Arc::new(
            Gate::new(Stage::Generation, 1, 4)
                .with_max_wait(Duration::from_millis(150))
                .with_initial_estimate(Duration::from_millis(10)),
        );
        let _held = gate.acquire().unwrap();
        let (outcome, waited) = wait_on_another_thread(&gate, None);
        assert!(
            matches!(outcome, Err(Error::Busy { .. })),
            "got {outcome:?}"
        );
        assert!(
            waited >= Duration::from_millis(150),
            "gave up after {waited:?}"
        );
        assert_eq!(gate.stats().waiting, 0);
        assert_eq!(gate.stats().rejected, 1);
    }

    #[test]
    fn a_waiter_gives_up_at_its_own_deadline_before_the_longest_wait() {
        let gate =
            Arc::new(Gate::new(Stage::Generation, 1, 4).with_max_wait(Duration::from_secs(60)));
        let _held = gate.acquire().unwrap();
        let (outcome, waited) = wait_on_another_thread(&gate, Some(Duration::from_millis(100)));
        assert!(
            matches!(outcome, Err(Error::Busy { .. })),
            "got {outcome:?}"
        );
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(30),
            "gave up after {waited:?}"
        );
        assert_eq!(gate.stats().waiting, 0);
    }

    #[test]
    fn a_slow_running_request_raises_the_expected_wait_before_it_finishes() {
        let gate = Gate::new(Stage::Generation, 1, 4)
            .with_max_wait(Duration::from_millis(100))
            .with_initial_estimate(Duration::from_millis(10));
        let held = gate.acquire().unwrap();
        assert!(gate.admit().is_ok(), "10 ms expected: admitted");
        std::thread::sleep(Duration::from_millis(150));
        match gate.admit() {
            Err(Error::Busy {
                retry_after_secs, ..
            }) => assert!(retry_after_secs >= 1),
            other => panic!("the running request took 150 ms > 100 ms: {other:?}"),
        }
        drop(held);
        assert!(gate.admit().is_ok(), "a free slot admits");
        assert!(gate.lock().running_since.is_empty());
    }

    #[test]
    fn waiters_run_one_after_another_and_never_exceed_the_slots() {
        let gate = Arc::new(Gate::new(Stage::Retrieval, 2, 16));
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
