//! Per-key access metadata for eviction and OBJECT IDLETIME / FREQ.
//!
//! Every key carries one `u32`, read as Redis reads its 24-bit object `lru` field: under an LFU
//! `maxmemory-policy` it holds a logarithmic access counter (low 8 bits) and the minute it was last
//! decremented (high 16 bits); otherwise the second the key was last accessed. Switching policy at
//! run time reinterprets the existing values, as in Redis, until keys are touched again.
//!
//! The clock and the policy's parameters are shared by all databases of an engine through one
//! [`AccessClock`], which the dispatcher advances once per command.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Counter a new key starts with under LFU (so new keys are not evicted at once).
pub const LFU_INIT_VAL: u32 = 5;

/// The engine's access clock and LFU parameters.
#[derive(Debug)]
pub struct AccessClock {
    now_s: AtomicU32,
    lfu: AtomicBool,
    log_factor: AtomicU32,
    decay_time: AtomicU32,
    rng: AtomicU64,
    /// Set when a key gains a TTL where it had none (see [`AccessClock::take_ttl_added`]).
    ttl_added: AtomicBool,
}

impl Default for AccessClock {
    fn default() -> Self {
        AccessClock {
            now_s: AtomicU32::new(0),
            lfu: AtomicBool::new(false),
            log_factor: AtomicU32::new(10),
            decay_time: AtomicU32::new(1),
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            ttl_added: AtomicBool::new(false),
        }
    }
}

impl AccessClock {
    /// Notes that a key of one of the store's databases gained a TTL.
    #[inline]
    pub fn note_ttl_added(&self) {
        self.ttl_added.store(true, Ordering::Relaxed);
    }

    /// Whether a key gained a TTL since the last call: the after-command check that wakes an
    /// idle expiry thread looks at the databases only then.
    #[inline]
    pub fn take_ttl_added(&self) -> bool {
        self.ttl_added.load(Ordering::Relaxed) && self.ttl_added.swap(false, Ordering::Relaxed)
    }

    /// Advances the clock to `now_ms` (Unix ms).
    #[inline]
    pub fn set_now(&self, now_ms: i64) {
        self.now_s
            .store((now_ms.max(0) / 1000) as u32, Ordering::Relaxed);
    }

    /// Current clock, Unix seconds.
    #[inline]
    pub fn now_s(&self) -> u32 {
        self.now_s.load(Ordering::Relaxed)
    }

    /// True under an LFU policy.
    #[inline]
    pub fn is_lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// Applies `maxmemory-policy`, `lfu-log-factor` and `lfu-decay-time`.
    pub fn configure(&self, lfu: bool, log_factor: u32, decay_time: u32) {
        self.lfu.store(lfu, Ordering::Relaxed);
        self.log_factor.store(log_factor, Ordering::Relaxed);
        self.decay_time.store(decay_time, Ordering::Relaxed);
    }

    fn minutes(&self) -> u32 {
        (self.now_s() / 60) & 0xFFFF
    }

    /// Metadata for a key created now.
    #[inline]
    pub fn fresh(&self) -> u32 {
        if self.is_lfu() {
            (self.minutes() << 8) | LFU_INIT_VAL
        } else {
            self.now_s()
        }
    }

    /// Updates `meta` for an access now.
    #[inline]
    pub fn touch(&self, meta: &mut u32) {
        if self.is_lfu() {
            let counter = self.increment(self.decayed(*meta));
            *meta = (self.minutes() << 8) | counter;
        } else {
            *meta = self.now_s();
        }
    }

    /// The LFU counter of `meta` after the decay owed since its last update (OBJECT FREQ).
    pub fn decayed(&self, meta: u32) -> u32 {
        let counter = meta & 0xFF;
        let decay = self.decay_time.load(Ordering::Relaxed);
        if decay == 0 {
            return counter;
        }
        let last = meta >> 8;
        let now = self.minutes();
        let elapsed = if now >= last {
            now - last
        } else {
            0x10000 - last + now
        };
        counter.saturating_sub(elapsed / decay)
    }

    /// A logarithmic increment: the higher the counter, the less likely it grows.
    fn increment(&self, counter: u32) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * self.log_factor.load(Ordering::Relaxed) as f64 + 1.0);
        if self.random_unit() < p {
            counter + 1
        } else {
            counter
        }
    }

    fn random_unit(&self) -> f64 {
        // xorshift64*: cheap, and only the eviction heuristics depend on it.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Seconds since `meta`'s last access under LRU (OBJECT IDLETIME).
    pub fn idle_s(&self, meta: u32) -> u64 {
        self.now_s().saturating_sub(meta) as u64
    }

    /// Eviction score of `meta`: higher means a better candidate.
    pub fn evict_score(&self, meta: u32) -> u64 {
        if self.is_lfu() {
            255 - self.decayed(meta) as u64
        } else {
            self.idle_s(meta)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_tracks_seconds() {
        let c = AccessClock::default();
        c.set_now(10_000);
        let mut m = c.fresh();
        c.set_now(15_500);
        assert_eq!(c.idle_s(m), 5);
        c.touch(&mut m);
        assert_eq!(c.idle_s(m), 0);
    }

    #[test]
    fn lfu_counts_logarithmically_and_decays() {
        let c = AccessClock::default();
        c.configure(true, 10, 1);
        c.set_now(600_000);
        let mut m = c.fresh();
        assert_eq!(c.decayed(m), LFU_INIT_VAL);
        for _ in 0..1000 {
            c.touch(&mut m);
        }
        let hot = c.decayed(m);
        assert!(hot > 10 && hot < 40, "{hot}");
        // Three minutes later the counter lost three.
        c.set_now(600_000 + 180_000);
        assert_eq!(c.decayed(m), hot - 3);
        assert!(c.evict_score(m) < 255 - 5);
    }
}
