//! Time source for the engine. Expiry, blocking timeouts, stream ids and idle times read time from
//! a [`Clock`], so tests can drive time by hand instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in Unix microseconds.
pub trait Clock: Send + Sync {
    /// Current time in microseconds since the Unix epoch.
    fn now_us(&self) -> i64;
    /// Current time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64 {
        self.now_us() / 1000
    }
}

/// The system's real-time clock.
#[derive(Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
pub struct ManualClock {
    us: AtomicI64,
}

impl ManualClock {
    /// A manual clock starting at `ms` milliseconds.
    pub fn new(ms: i64) -> ManualClock {
        ManualClock {
            us: AtomicI64::new(ms * 1000),
        }
    }
    /// Moves time forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.us.fetch_add(ms * 1000, Ordering::SeqCst);
    }
    /// Sets the time in milliseconds.
    pub fn set_ms(&self, ms: i64) {
        self.us.store(ms * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.us.load(Ordering::SeqCst)
    }
}
