//! Active expiry: a background thread that reclaims expired keys nobody reads again.
//!
//! Like Redis's cycle it samples only keys that have a TTL (20 per database per round), deletes the
//! expired ones, and repeats while more than a quarter of a sample was expired, within a time
//! budget. When no key anywhere has a TTL the thread sleeps on a condition variable until one does:
//! an idle engine does no work at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rand::Rng;

use super::{Engine, Env, Store};

const SAMPLE: usize = 20;
const PERIOD: Duration = Duration::from_millis(100);
const BUDGET: Duration = Duration::from_millis(25);

/// Coordination between command execution and the expiry thread.
#[derive(Default)]
pub struct ExpiryControl {
    /// True while the thread sleeps because no key has a TTL.
    idle: AtomicBool,
    /// Set when the engine is dropped.
    stop: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl ExpiryControl {
    /// Wakes an idle expiry thread if a key now has a TTL. Cheap when the thread is busy.
    pub fn note_ttls(&self, store: &Store) {
        if self.idle.load(Ordering::Relaxed) && store.dbs.iter().any(|d| d.expires_len() > 0) {
            let _g = self.lock.lock();
            self.idle.store(false, Ordering::Relaxed);
            self.cv.notify_all();
        }
    }

    fn shutdown(&self) {
        let _g = self.lock.lock();
        self.stop.store(true, Ordering::Relaxed);
        self.cv.notify_all();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.expiry.shutdown();
    }
}

/// Starts the expiry thread for `engine`; it ends when the engine is dropped.
pub fn spawn(engine: &Arc<Engine>) {
    let weak: Weak<Engine> = Arc::downgrade(engine);
    let ctl = engine.expiry.clone();
    let _ = std::thread::Builder::new()
        .name("burner-expiry".into())
        .spawn(move || run(weak, ctl));
}

fn run(weak: Weak<Engine>, ctl: Arc<ExpiryControl>) {
    loop {
        // Announce the intent to sleep before looking, so a TTL set in between is not missed:
        // `note_ttls` runs under the engine lock and clears `idle` (with a notification).
        ctl.idle.store(true, Ordering::Relaxed);
        // Hold a strong reference only while working, never while sleeping.
        let has_ttls = match weak.upgrade() {
            Some(engine) => engine.lock().dbs.iter().any(|d| d.expires_len() > 0),
            None => return,
        };
        {
            let mut g = ctl.lock.lock();
            if ctl.stop.load(Ordering::Relaxed) {
                return;
            }
            if has_ttls {
                ctl.idle.store(false, Ordering::Relaxed);
                ctl.cv.wait_for(&mut g, PERIOD);
            } else {
                while ctl.idle.load(Ordering::Relaxed) && !ctl.stop.load(Ordering::Relaxed) {
                    ctl.cv.wait(&mut g);
                }
                continue;
            }
            if ctl.stop.load(Ordering::Relaxed) {
                return;
            }
        }
        let Some(engine) = weak.upgrade() else { return };
        let mut env = engine.env();
        {
            let mut store = engine.lock();
            cycle(&mut store, &mut env, BUDGET);
            // A blocked XREADGROUP whose stream expired is told so now.
            super::blocking::serve_ready(&mut store, &mut env);
            // Expirations are logged as DEL; nobody waits for this reply, a failure stays recorded.
            let _ = crate::persistence::after_command(&mut store, env.now_us);
        }
        env.wakes.run();
    }
}

/// One active-expiry cycle over every database. Returns the number of keys reclaimed.
pub fn cycle(store: &mut Store, env: &mut Env, budget: Duration) -> usize {
    let start = Instant::now();
    let mut rng = rand::thread_rng();
    let mut total = 0;
    for db in 0..store.dbs.len() {
        loop {
            let n = store.dbs[db].expires_len();
            if n == 0 {
                break;
            }
            let mut expired = Vec::new();
            let sample = SAMPLE.min(n);
            for _ in 0..sample {
                let i = rng.gen_range(0..store.dbs[db].expires_len());
                if let Some((k, at)) = store.dbs[db].expire_at_index(i) {
                    if at <= env.now_ms {
                        expired.push(k.to_vec());
                    }
                }
            }
            expired.sort();
            expired.dedup();
            let found = expired.len();
            for k in expired {
                crate::cmd::ctx::delete_expired(store, db, &k, env);
            }
            total += found;
            if found * 4 <= sample || start.elapsed() > budget {
                break;
            }
        }
    }
    total
}
