//! One logical database: the keyspace plus the expiry table.
//!
//! Keys live in an insertion-ordered index map so that RANDOMKEY, eviction sampling and SCAN work by
//! position. Keys are [`Bytes`] (inline up to 23 bytes), each entry carries the value and a 32-bit
//! access stamp for LRU/LFU eviction: 72 bytes per key plus the hash index, with no allocation of
//! its own for short keys and short string values. Expiry times live in a second map holding only the keys that have a TTL (Redis's
//! `expires` dict), so the active expiry cycle never looks at keys without one.
//!
//! SCAN walks positions from the highest to the lowest: removal moves the last entry into the hole
//! (`swap_remove`), which only ever moves an entry from an already visited position to an unvisited
//! one, so every key present for a whole scan is returned at least once, as Redis guarantees.

use std::sync::Arc;

use indexmap::IndexMap;

use super::access::AccessClock;
use super::cow::{DbCow, Op};
use crate::types::{Bytes, Value};

type Hasher = foldhash::fast::RandomState;

/// A value with its access metadata (see `engine::access`).
#[derive(Debug, Clone)]
pub struct Entry {
    value: Value,
    meta: u32,
}

/// A database.
pub struct Db {
    keys: IndexMap<Bytes, Entry, Hasher>,
    expires: IndexMap<Bytes, i64, Hasher>,
    access: Arc<AccessClock>,
    /// A background save running over this database (see `cow.rs`): told before each mutation.
    pub cow: Option<Box<DbCow>>,
}

impl Default for Db {
    fn default() -> Self {
        Db::new(Arc::default())
    }
}

#[inline]
fn reserve_one<V>(m: &mut IndexMap<Bytes, V, Hasher>) {
    crate::types::reserve_gently(m.len(), m.capacity(), |n| m.reserve_exact(n));
}

impl Db {
    /// An empty database on the engine's access clock.
    pub fn new(access: Arc<AccessClock>) -> Db {
        Db {
            keys: IndexMap::default(),
            expires: IndexMap::default(),
            access,
            cow: None,
        }
    }

    /// Number of keys, expired-but-not-yet-reclaimed ones included (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// True when `key` has an expiry time at or before `now_ms`.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self.expires.get(key) {
            Some(&at) => at <= now_ms,
            None => false,
        }
    }

    /// Removes `key` if it is expired; returns true when it was removed.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        if self.is_expired(key, now_ms) {
            self.remove(key);
            true
        } else {
            false
        }
    }

    /// The value under `key`, ignoring expiry (callers run `expire_if_needed` first). Does not
    /// count as an access.
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.keys.get(key).map(|e| &e.value)
    }

    /// The value under `key`, mutable, ignoring expiry. Does not count as an access.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.before(Op::Touch(key));
        self.keys.get_mut(key).map(|e| &mut e.value)
    }

    /// The value under `key`, recording an access (LRU/LFU), ignoring expiry.
    #[inline]
    pub fn get_touch(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.before(Op::Touch(key));
        let e = self.keys.get_mut(key)?;
        self.access.touch(&mut e.meta);
        Some(&mut e.value)
    }

    /// The value under `key` for reading, recording an access (LRU/LFU), ignoring expiry. (Not a
    /// mutation of the data: a running background save need not be told.)
    #[inline]
    pub fn get_touch_ref(&mut self, key: &[u8]) -> Option<&Value> {
        let e = self.keys.get_mut(key)?;
        self.access.touch(&mut e.meta);
        Some(&e.value)
    }

    /// The access metadata of `key` (see `engine::access`).
    pub fn meta(&self, key: &[u8]) -> Option<u32> {
        self.keys.get(key).map(|e| e.meta)
    }

    /// The engine's access clock.
    pub fn access(&self) -> &AccessClock {
        &self.access
    }

    /// True when `key` is present (ignoring expiry).
    pub fn contains(&self, key: &[u8]) -> bool {
        self.keys.contains_key(key)
    }

    /// Stores `value` under `key` and clears any TTL (SET semantics).
    pub fn set(&mut self, key: &[u8], value: Value) {
        self.before(Op::Touch(key));
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        self.set_keep_ttl(key, value);
    }

    /// Stores `value` under `key`, keeping an existing TTL. An overwritten key keeps its LFU
    /// counter (as in Redis) and counts as accessed now under LRU.
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value) {
        self.before(Op::Touch(key));
        if let Some(slot) = self.keys.get_mut(key) {
            slot.value = value;
            if !self.access.is_lfu() {
                slot.meta = self.access.fresh();
            }
        } else {
            self.insert_new(key, value);
        }
    }

    fn insert_new(&mut self, key: &[u8], value: Value) -> &mut Value {
        reserve_one(&mut self.keys);
        let meta = self.access.fresh();
        let (i, _) = self
            .keys
            .insert_full(Bytes::new(key), Entry { value, meta });
        &mut self.keys[i].value
    }

    /// The value under `key`, inserting `make()` first when absent.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> Value) -> &mut Value {
        self.before(Op::Touch(key));
        match self.keys.get_index_of(key) {
            Some(i) => {
                let e = &mut self.keys[i];
                self.access.touch(&mut e.meta);
                &mut e.value
            }
            None => self.insert_new(key, make()),
        }
    }

    /// Removes `key` and its TTL; returns the value.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        self.before(Op::Remove(key));
        let e = self.keys.swap_remove(key)?;
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(e.value)
    }

    /// Removes `key` and its TTL, returning the value with its TTL and access metadata (RENAME,
    /// MOVE: the value travels whole).
    pub fn take(&mut self, key: &[u8]) -> Option<(Value, Option<i64>, u32)> {
        self.before(Op::Remove(key));
        let e = self.keys.swap_remove(key)?;
        let ttl = if self.expires.is_empty() {
            None
        } else {
            self.expires.swap_remove(key)
        };
        Some((e.value, ttl, e.meta))
    }

    /// Removes the key at position `i` of the TTL table (and its value); returns the key.
    pub fn remove_by_expiry_index(&mut self, i: usize) -> Option<Bytes> {
        if self.cow.is_some() {
            if let Some(key) = self.expires.get_index(i).map(|(k, _)| k.clone()) {
                self.before(Op::Remove(&key));
            }
        }
        let (key, _) = self.expires.swap_remove_index(i)?;
        self.keys.swap_remove(&*key);
        Some(key)
    }

    /// The absolute expiry time of `key` in Unix ms.
    pub fn expiry(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Sets the absolute expiry of an existing key.
    pub fn set_expiry(&mut self, key: &[u8], at_ms: i64) {
        self.before(Op::Touch(key));
        if let Some(slot) = self.expires.get_mut(key) {
            *slot = at_ms;
        } else if self.keys.contains_key(key) {
            reserve_one(&mut self.expires);
            self.expires.insert(Bytes::new(key), at_ms);
            self.access.note_ttl_added();
        }
    }

    /// Removes the TTL of `key`; returns true when it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.before(Op::Touch(key));
        !self.expires.is_empty() && self.expires.swap_remove(key).is_some()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.before(Op::Clear);
        self.keys = IndexMap::default();
        self.expires = IndexMap::default();
    }

    /// Iterates keys and values (expired ones included).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Value)> {
        self.keys.iter().map(|(k, e)| (&**k, &e.value))
    }

    /// Iterates keys with their expiry time.
    pub fn iter_expires(&self) -> impl Iterator<Item = (&[u8], i64)> {
        self.expires.iter().map(|(k, v)| (&**k, *v))
    }

    /// Tells a running background save about a mutation before it happens (see `cow.rs`).
    #[inline]
    fn before(&mut self, op: Op<'_>) {
        if let Some(mut c) = self.cow.take() {
            c.before(self, op);
            self.cow = Some(c);
        }
    }

    /// Moves every key out into a database of its own, leaving this one empty (on the same
    /// access clock).
    pub fn detach(&mut self) -> Db {
        let empty = Db::new(self.access.clone());
        std::mem::replace(self, empty)
    }

    /// The position of `key`.
    pub fn index_of(&self, key: &[u8]) -> Option<usize> {
        self.keys.get_index_of(key)
    }

    /// The key and value at position `i`.
    pub fn entry_at(&self, i: usize) -> Option<(&[u8], &Value)> {
        self.keys.get_index(i).map(|(k, e)| (&**k, &e.value))
    }

    /// The key at position `i`.
    pub fn key_at(&self, i: usize) -> Option<&[u8]> {
        self.keys.get_index(i).map(|(k, _)| &**k)
    }

    /// The key at position `i` with its access metadata (eviction sampling).
    pub fn meta_at(&self, i: usize) -> Option<(&[u8], u32)> {
        self.keys.get_index(i).map(|(k, e)| (&**k, e.meta))
    }

    /// The key with a TTL at position `i` of the expiry table, and its time.
    pub fn expire_at_index(&self, i: usize) -> Option<(&[u8], i64)> {
        self.expires.get_index(i).map(|(k, v)| (&**k, *v))
    }

    /// Bytes the keyspace's own tables hold (entries and hash indexes, spare capacity included),
    /// not counting what values own on the heap.
    pub fn table_bytes(&self) -> usize {
        let idx = std::mem::size_of::<usize>() + 1;
        self.keys.capacity() * (std::mem::size_of::<(u64, Bytes, Entry)>() + idx)
            + self.expires.capacity() * (std::mem::size_of::<(u64, Bytes, i64)>() + idx)
    }

    /// One SCAN step: visits up to `count` positions starting below `cursor` (0 = start) and
    /// returns the next cursor (0 = done). See the module docs for why positions go downwards.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &Value)) -> u64 {
        scan_positions(self.keys.len(), cursor, count, |i| {
            let (k, e) = self.keys.get_index(i).expect("position in range");
            visit(k, &e.value)
        })
    }
}

/// Walks positions of an indexed collection downwards for a SCAN-style cursor.
///
/// Cursor 0 starts at the top; a returned cursor `c > 0` means "continue at position `c - 1`".
/// Usable by any collection whose removals are `swap_remove` (HSCAN, SSCAN, ZSCAN).
pub fn scan_positions(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    let mut next = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let mut visited = 0;
    while next > 0 && visited < count.max(1) {
        next -= 1;
        visit(next);
        visited += 1;
    }
    next as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrValue;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::raw(v.as_bytes()))
    }

    #[test]
    fn scan_returns_every_surviving_key_despite_deletes() {
        let mut db = Db::default();
        for i in 0..100 {
            db.set(format!("k{i}").as_bytes(), s("v"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let mut batch = vec![];
            cursor = db.scan(cursor, 7, |k, _| batch.push(k.to_vec()));
            seen.extend(batch);
            // Delete a few keys (never the ones we check below) between calls.
            round += 1;
            db.remove(format!("k{}", 90 + round % 10).as_bytes());
            if cursor == 0 {
                break;
            }
        }
        for i in 0..90 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
    }

    #[test]
    fn expiry_is_tracked_separately() {
        let mut db = Db::default();
        db.set(b"a", s("1"));
        db.set(b"b", s("2"));
        db.set_expiry(b"a", 100);
        assert_eq!(db.expires_len(), 1);
        assert!(!db.expire_if_needed(b"a", 99));
        assert!(db.expire_if_needed(b"a", 100));
        assert_eq!(db.len(), 1);
        assert_eq!(db.expires_len(), 0);
        db.set_expiry(b"missing", 5);
        assert_eq!(db.expires_len(), 0);
    }
}
