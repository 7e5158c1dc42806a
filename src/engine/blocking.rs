//! Clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK, ...).
//!
//! Waiters are only *signalled*; the woken client re-runs its own command and takes what it needs
//! itself. That is what makes cancellation lose nothing: a waiter cancelled between its wake-up and
//! its retry never took anything. Order is kept per key: waiters queue in the order they blocked,
//! a write signals the first unsignalled waiter of that key, a waiter that finds nothing goes back
//! to waiting in its old place, and one that was served passes the signal to the next waiter while
//! the key still exists. A write to key A never wakes a waiter on key B.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::Mutex;

use super::waker::{Waker, Wakes};

/// One blocked client.
pub struct Waiter {
    /// Unique id (for removal).
    pub id: u64,
    /// The database the keys belong to.
    pub db: usize,
    /// The keys waited on.
    pub keys: Vec<Vec<u8>>,
    /// Set when a key became ready; cleared when a retry found nothing.
    signaled: AtomicBool,
    /// Who to wake; set when the front door starts waiting.
    waker: Mutex<Option<Arc<dyn Waker>>>,
}

impl Waiter {
    /// True when a key was signalled since the last retry.
    pub fn is_signaled(&self) -> bool {
        self.signaled.load(Ordering::Acquire)
    }

    /// Clears the signal (the retry found nothing).
    pub fn clear_signal(&self) {
        self.signaled.store(false, Ordering::Release);
    }

    /// True when this waiter waits on `key` of `db`.
    pub fn waits_on(&self, db: usize, key: &[u8]) -> bool {
        self.db == db && self.keys.iter().any(|k| k.as_slice() == key)
    }

    /// Installs the waker to call on the next signal.
    pub fn set_waker(&self, w: Arc<dyn Waker>) {
        *self.waker.lock() = Some(w);
    }
}

impl Waker for Waiter {
    fn wake(&self) {
        let w = self.waker.lock().clone();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// All waiters of one engine, by (db, key).
#[derive(Default)]
pub struct Blocking {
    by_key: HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>,
    next_id: u64,
}

impl Blocking {
    /// Registers a waiter on `keys` of `db`.
    pub fn register(&mut self, db: usize, keys: Vec<Vec<u8>>) -> Arc<Waiter> {
        self.next_id += 1;
        let w = Arc::new(Waiter {
            id: self.next_id,
            db,
            keys,
            signaled: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        for k in &w.keys {
            self.by_key
                .entry((db, k.clone()))
                .or_default()
                .push_back(w.clone());
        }
        w
    }

    /// Removes a waiter from every key queue.
    pub fn unregister(&mut self, w: &Waiter) {
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|x| x.id != w.id);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
    }

    /// True when somebody waits on `key`.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        !self.by_key.is_empty() && self.by_key.contains_key(&(db, key.to_vec()))
    }

    /// Signals the first unsignalled waiter on `key`, queueing its wake-up.
    pub fn signal(&mut self, db: usize, key: &[u8], wakes: &mut Wakes) {
        if self.by_key.is_empty() {
            return;
        }
        if let Some(q) = self.by_key.get(&(db, key.to_vec())) {
            if let Some(w) = q.iter().find(|w| !w.is_signaled()) {
                w.signaled.store(true, Ordering::Release);
                wakes.push(w.clone());
            }
        }
    }

    /// Signals every unsignalled waiter on `key`. For writes that do not consume what they add
    /// (XADD): each reader of a stream may want the new entry, and a reader that finds nothing
    /// (another group's consumer got there first) keeps its signal to itself, so passing the
    /// signal along after each served retry would strand the readers queued behind it.
    pub fn signal_all(&mut self, db: usize, key: &[u8], wakes: &mut Wakes) {
        if self.by_key.is_empty() {
            return;
        }
        if let Some(q) = self.by_key.get(&(db, key.to_vec())) {
            for w in q.iter().filter(|w| !w.is_signaled()) {
                w.signaled.store(true, Ordering::Release);
                wakes.push(w.clone());
            }
        }
    }

    /// Number of blocked clients (INFO's `blocked_clients`).
    pub fn count(&self) -> usize {
        let mut ids: Vec<u64> = self.by_key.values().flatten().map(|w| w.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_go_to_waiters_in_order_and_per_key() {
        let mut b = Blocking::default();
        let w1 = b.register(0, vec![b"a".to_vec()]);
        let w2 = b.register(0, vec![b"a".to_vec()]);
        let w3 = b.register(0, vec![b"b".to_vec()]);
        let mut wakes = Wakes::default();
        b.signal(0, b"a", &mut wakes);
        assert!(w1.is_signaled() && !w2.is_signaled() && !w3.is_signaled());
        b.signal(0, b"a", &mut wakes);
        assert!(w2.is_signaled() && !w3.is_signaled());
        b.signal(1, b"b", &mut wakes); // other db: nothing
        assert!(!w3.is_signaled());
        let w4 = b.register(0, vec![b"b".to_vec()]);
        b.signal_all(0, b"b", &mut wakes);
        assert!(w3.is_signaled() && w4.is_signaled());
        b.unregister(&w4);
        b.unregister(&w1);
        b.unregister(&w2);
        assert!(!b.has_waiters(0, b"a"));
        assert_eq!(b.count(), 1);
    }
}
