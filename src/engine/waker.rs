//! How the engine tells a front door that something is ready, without knowing what the front door
//! is: an asyncio future on some loop, a condition variable, a tokio task.
//!
//! Wakers are collected while the engine lock is held and called only after it is released, so a
//! waker may take other locks (the GIL included) without risking a deadlock.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// Something to call when a waiter or a subscriber has news.
pub trait Waker: Send + Sync {
    /// Wakes the waiting side. Called without the engine lock held; may be called more than once.
    fn wake(&self);
}

/// A waker that sets a flag and notifies a condition variable (sync clients, tests).
#[derive(Default)]
pub struct CondvarWaker {
    flag: Mutex<bool>,
    cv: Condvar,
}

impl CondvarWaker {
    /// A new, unsignalled waker.
    pub fn new() -> Arc<CondvarWaker> {
        Arc::new(CondvarWaker::default())
    }

    /// Waits until woken or `timeout` passes; returns true when woken. Clears the flag.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let mut woken = self.flag.lock();
        if !*woken {
            self.cv.wait_for(&mut woken, timeout);
        }
        std::mem::replace(&mut *woken, false)
    }
}

impl Waker for CondvarWaker {
    fn wake(&self) {
        *self.flag.lock() = true;
        self.cv.notify_all();
    }
}

/// Pending wake-ups gathered during one command, run after the engine lock is released.
#[derive(Default)]
pub struct Wakes {
    list: Vec<Arc<dyn Waker>>,
}

impl Wakes {
    /// Adds a waker to call later.
    pub fn push(&mut self, w: Arc<dyn Waker>) {
        self.list.push(w);
    }

    /// True when nothing is to be woken.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Calls every waker (the engine lock must not be held).
    pub fn run(&mut self) {
        for w in self.list.drain(..) {
            w.wake();
        }
    }
}
