//! Cancelling an answer whose asker is gone: the web layer holds a [`CancelOnDrop`] for as long
//! as the request lives (a client that disconnects or runs past the time limit drops it), and
//! the assistant checks the [`CancelToken`] before it takes a queue slot and between generated
//! tokens, so abandoned questions stop holding the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Whether `deadline` (an answer's, see [`crate::answer::AnswerRequest::deadline`]) has passed;
/// `None` never does.
pub fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// A shared "stop" flag; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everyone holding a clone to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Self::cancel`] was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that cancels this token when dropped (keep it in the request's future).
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// Two tokens are equal when they are the same flag.
impl PartialEq for CancelToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Cancels its token when dropped (after a finished answer that is harmless: nothing is
/// left to stop).
#[derive(Debug)]
pub struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_guard_cancels_every_clone() {
        let token = CancelToken::new();
        let seen_by_worker = token.clone();
        let guard = token.cancel_on_drop();
        assert!(!seen_by_worker.is_cancelled());
        drop(guard);
        assert!(seen_by_worker.is_cancelled());
        assert_ne!(token, CancelToken::new());
        assert_eq!(token, seen_by_worker);
    }
}
