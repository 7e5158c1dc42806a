//! `maxmemory`: eviction under Redis's policies, and the OOM refusal when nothing can be evicted.
//!
//! Before each top-level command (when a limit is set) the dispatcher calls [`perform`], which
//! deletes keys while the library's allocated bytes (see `crate::alloc`) exceed the limit. As in
//! Redis, victims are chosen by sampling: `maxmemory-samples` random keys per database (from the
//! keyspace for `allkeys-*`, from the TTL table for `volatile-*`) feed a small pool of the best
//! candidates seen so far (longest idle for LRU, lowest decayed counter for LFU, nearest deadline
//! for `volatile-ttl`), and the best candidate that still exists is evicted. Random policies pick
//! one random key per step, visiting databases in turn. `volatile-*` never evicts a key without a
//! TTL; `noeviction` evicts nothing, and commands that may grow memory are then refused.
//!
//! An evicted key is deleted like an expired one: logged as DEL, counted (`evicted_keys`),
//! announced (`evicted` keyspace event), and signalled to WATCH and blocked clients.

use rand::Rng;

use super::{Env, Store};
use crate::types::Bytes;

/// Candidates kept between eviction steps (Redis's eviction pool size).
const POOL_SIZE: usize = 16;

/// A `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Refuse writes that may grow memory.
    #[default]
    NoEviction,
    /// Least recently used, any key.
    AllKeysLru,
    /// Least frequently used, any key.
    AllKeysLfu,
    /// Any key at random.
    AllKeysRandom,
    /// Least recently used among keys with a TTL.
    VolatileLru,
    /// Least frequently used among keys with a TTL.
    VolatileLfu,
    /// A key with a TTL at random.
    VolatileRandom,
    /// The key with the nearest deadline.
    VolatileTtl,
}

impl Policy {
    /// Parses a policy name (as CONFIG SET has canonicalised it).
    pub fn parse(name: &str) -> Option<Policy> {
        Some(match name {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => return None,
        })
    }

    /// True for the LFU policies (the per-key stamp is then a frequency counter).
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

struct Candidate {
    score: u64,
    db: usize,
    key: Bytes,
}

/// Eviction settings and state.
#[derive(Default)]
pub struct Eviction {
    /// `maxmemory` in bytes (0 = no limit).
    pub maxmemory: usize,
    /// `maxmemory-policy`.
    pub policy: Policy,
    /// `maxmemory-samples`.
    pub samples: usize,
    /// Best candidates seen so far, ascending by score.
    pool: Vec<Candidate>,
    /// Next database a random policy looks at.
    next_db: usize,
}

impl Eviction {
    /// Applies new settings (the pool is dropped: its scores may mean something else now).
    pub fn configure(&mut self, maxmemory: usize, policy: Policy, samples: usize) {
        self.maxmemory = maxmemory;
        if policy != self.policy {
            self.pool.clear();
        }
        self.policy = policy;
        self.samples = samples.max(1);
    }

    fn offer(&mut self, c: Candidate) {
        if self.pool.len() == POOL_SIZE && self.pool[0].score >= c.score {
            return;
        }
        if self
            .pool
            .iter()
            .any(|p| p.db == c.db && p.key.as_slice() == c.key.as_slice())
        {
            return;
        }
        let at = self.pool.partition_point(|p| p.score < c.score);
        self.pool.insert(at, c);
        if self.pool.len() > POOL_SIZE {
            self.pool.remove(0);
        }
    }
}

/// The memory `maxmemory` is compared with.
pub fn used_memory() -> usize {
    crate::alloc::allocated()
}

/// Evicts keys while memory is over the limit. Returns false when memory is still over it and
/// nothing more can be evicted (the caller refuses commands that may grow memory).
pub fn perform(store: &mut Store, env: &mut Env) -> bool {
    let limit = store.evict.maxmemory;
    if limit == 0 || used_memory() <= limit {
        return true;
    }
    if store.evict.policy == Policy::NoEviction {
        return false;
    }
    while used_memory() > limit {
        let Some((db, key)) = pick(store) else {
            return false;
        };
        evict_key(store, env, db, &key);
    }
    true
}

fn pick(store: &mut Store) -> Option<(usize, Bytes)> {
    let policy = store.evict.policy;
    let volatile = policy.volatile();
    let table_len = |store: &Store, db: usize| {
        if volatile {
            store.dbs[db].expires_len()
        } else {
            store.dbs[db].len()
        }
    };
    let mut rng = rand::thread_rng();
    if policy.random() {
        let n = store.dbs.len();
        for step in 0..n {
            let db = (store.evict.next_db + step) % n;
            let len = table_len(store, db);
            if len == 0 {
                continue;
            }
            store.evict.next_db = (db + 1) % n;
            let i = rng.gen_range(0..len);
            let d = &store.dbs[db];
            let key = if volatile {
                d.expire_at_index(i).map(|(k, _)| k)
            } else {
                d.key_at(i)
            };
            return key.map(|k| (db, Bytes::new(k)));
        }
        return None;
    }
    loop {
        let mut sampled_any = false;
        for db in 0..store.dbs.len() {
            let len = table_len(store, db);
            if len == 0 {
                continue;
            }
            sampled_any = true;
            for _ in 0..store.evict.samples.min(len) {
                let i = rng.gen_range(0..len);
                let d = &store.dbs[db];
                let (key, score) = if volatile {
                    let (k, at) = d.expire_at_index(i).expect("in range");
                    let score = if policy == Policy::VolatileTtl {
                        u64::MAX - at.max(0) as u64
                    } else {
                        d.access().evict_score(d.meta(k).unwrap_or(0))
                    };
                    (k, score)
                } else {
                    let (k, meta) = d.meta_at(i).expect("in range");
                    (k, d.access().evict_score(meta))
                };
                let c = Candidate {
                    score,
                    db,
                    key: Bytes::new(key),
                };
                store.evict.offer(c);
            }
        }
        if !sampled_any {
            store.evict.pool.clear();
            return None;
        }
        // The best candidate that still qualifies; stale ones (deleted, or no TTL any more for
        // a volatile policy) are dropped.
        while let Some(c) = store.evict.pool.pop() {
            let d = &store.dbs[c.db];
            let ok = if volatile {
                d.expiry(&c.key).is_some()
            } else {
                d.contains(&c.key)
            };
            if ok {
                return Some((c.db, c.key));
            }
        }
    }
}

fn evict_key(store: &mut Store, env: &mut Env, db: usize, key: &[u8]) {
    if store.dbs[db].remove(key).is_none() {
        return;
    }
    store.stats.evicted_keys += 1;
    let class = crate::commands::pubsub::EV_EVICTED;
    crate::cmd::ctx::announce_removal(store, db, key, env, class, "evicted");
}

/// Reads the eviction parameters from the CONFIG table into the store (after CONFIG SET or at
/// engine creation).
pub fn reload(store: &mut Store) {
    let get = |name: &str| {
        store
            .config
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let maxmemory = get("maxmemory")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0) as usize;
    let policy = get("maxmemory-policy")
        .and_then(|v| Policy::parse(&v))
        .unwrap_or_default();
    let samples = get("maxmemory-samples")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let log_factor = get("lfu-log-factor")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let decay = get("lfu-decay-time")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    store.evict.configure(maxmemory, policy, samples);
    store.access.configure(policy.is_lfu(), log_factor, decay);
}
