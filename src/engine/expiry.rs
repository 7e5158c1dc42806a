//! Active expiry: a background thread that reclaims expired keys nobody reads again.
//!
//! Like Redis's cycle it samples only keys that have a TTL (20 per database per round), deletes the
//! expired ones, and repeats while more than a tenth of a sample was expired. The effort adapts as
//! Redis's slow plus fast cycles do: while samples keep finding stale keys the thread works in
//! slices under the engine lock (1 ms, doubling up to 8 ms while the backlog persists; the lock
//! is handed to any waiting command between slices), up to 75% of each 100 ms period; once little is stale it does one round per database
//! per period. When no key anywhere has a TTL the thread sleeps on a condition variable until one
//! does: an idle engine does no work at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};
use rand::Rng;

use super::{Engine, Env, Store};

const SAMPLE: usize = 20;
const PERIOD: Duration = Duration::from_millis(100);
/// How long the thread holds the engine lock at a time; slices double (up to `MAX_SLICE`) while
/// each one ends with many stale keys left, since commands then keep the lock most of the time.
const SLICE: Duration = Duration::from_millis(1);
const MAX_SLICE: Duration = Duration::from_millis(8);
/// Most of a period spent reclaiming while samples keep finding stale keys.
const DUTY: Duration = Duration::from_millis(75);
/// A round that found more than this percentage of its sample expired asks for another.
const ACCEPTABLE_STALE_PCT: usize = 10;

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
        // The databases are looked at only when a key gained a TTL since the last look: the
        // thread sleeps only when none has one, so a first TTL is always a new one.
        if self.idle.load(Ordering::Relaxed)
            && store.access.take_ttl_added()
            && store.dbs.iter().any(|d| d.expires_len() > 0)
        {
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
        let period = Instant::now();
        let mut slice = SLICE;
        loop {
            let mut env = engine.env();
            let more = {
                let mut store = engine.lock();
                let more = cycle(&mut store, &mut env, slice).1;
                // A blocked XREADGROUP whose stream expired is told so now.
                super::blocking::serve_ready(&mut store, &mut env);
                // Expirations are logged as DEL; nobody waits for this reply, a failure stays
                // recorded.
                let _ = crate::persistence::after_command(&mut store, env.now_us);
                // Hand the lock to a waiting command rather than taking it straight back.
                MutexGuard::unlock_fair(store);
                more
            };
            env.wakes.run();
            if !more || period.elapsed() >= DUTY || ctl.stop.load(Ordering::Relaxed) {
                break;
            }
            slice = (slice * 2).min(MAX_SLICE);
        }
    }
}

/// One active-expiry pass over every database, within `budget`. Returns the number of keys
/// reclaimed and whether the last rounds still found many stale keys (more work is wanted).
pub fn cycle(store: &mut Store, env: &mut Env, budget: Duration) -> (usize, bool) {
    let start = Instant::now();
    let mut rng = rand::thread_rng();
    let mut total = 0;
    let mut more = false;
    for db in 0..store.dbs.len() {
        loop {
            let mut sampled = 0;
            let mut found = 0;
            while sampled < SAMPLE {
                let n = store.dbs[db].expires_len();
                if n == 0 {
                    break;
                }
                sampled += 1;
                let i = rng.gen_range(0..n);
                if store.dbs[db]
                    .expire_at_index(i)
                    .is_some_and(|(_, at)| at <= env.now_ms)
                {
                    crate::cmd::ctx::delete_expired_at(store, db, i, env);
                    found += 1;
                }
            }
            total += found;
            let stale = sampled > 0 && found * 100 > sampled * ACCEPTABLE_STALE_PCT;
            if !stale {
                break;
            }
            if start.elapsed() > budget {
                more = true;
                break;
            }
        }
    }
    (total, more)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::types::{StrValue, Value};

    #[test]
    #[ignore = "timing probe: cargo test --release -- --ignored expiry_probe --nocapture"]
    fn expiry_probe() {
        let mut store = Store::new(&EngineOptions::default());
        let n = 1_000_000;
        for i in 0..n {
            let k = format!("key:{i}");
            store.dbs[0].set(k.as_bytes(), Value::Str(StrValue::raw(b"v")));
            store.dbs[0].set_expiry(k.as_bytes(), 1000);
        }
        let mut env = Env::new(2_000_000);
        let t = Instant::now();
        let mut total = 0;
        while !store.dbs[0].is_empty() {
            total += cycle(&mut store, &mut env, Duration::from_millis(25)).0;
        }
        eprintln!("{total} keys in {:?}", t.elapsed());
    }
}
