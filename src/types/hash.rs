//! Hash values.
//!
//! Fields live in an insertion-ordered index map, so HSCAN cursors are positions and HRANDFIELD
//! picks in O(1). While the hash is small enough for Redis's listpack encoding, removals shift the
//! entries so the order stays the insertion order, exactly as a listpack's does (HGETALL on a
//! small hash then matches Redis's order). Once past Redis's limits the hash is "hashtable"
//! encoded for good, as in Redis, and removals `swap_remove`, which keeps the downward SCAN
//! guarantee (see `engine::db`).

use indexmap::IndexMap;

use super::bytes::Bytes;
use rand::Rng;

type Hasher = foldhash::fast::RandomState;

/// Redis 7.2's `hash-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 512;
/// Redis 7.2's `hash-max-listpack-value` default.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// A hash: field -> value, in insertion order.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    map: IndexMap<Bytes, Bytes, Hasher>,
    /// True once the hash went past the listpack limits (Redis never converts back).
    hashtable: bool,
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> HashValue {
        HashValue::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(|v| &**v)
    }

    /// True when `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.map.contains_key(field)
    }

    /// Sets `field` to `value`; returns true when the field is new. An existing field keeps its
    /// position.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if field.len() > MAX_LISTPACK_VALUE || value.len() > MAX_LISTPACK_VALUE {
            self.hashtable = true;
        }
        let new = match self.map.get_mut(field) {
            Some(slot) => {
                *slot = value.into();
                false
            }
            None => {
                super::reserve_gently(self.map.len(), self.map.capacity(), |n| {
                    self.map.reserve_exact(n)
                });
                self.map.insert(field.into(), value.into());
                true
            }
        };
        if self.map.len() > MAX_LISTPACK_ENTRIES {
            self.hashtable = true;
        }
        new
    }

    /// Marks the hash as hashtable-encoded when any of `items` is longer than a listpack allows.
    /// Redis checks every argument of HSET/HSETNX before it writes anything, so a long value
    /// converts the hash even when the command then changes nothing.
    pub fn check_lengths<'b>(&mut self, items: impl IntoIterator<Item = &'b [u8]>) {
        if items.into_iter().any(|b| b.len() > MAX_LISTPACK_VALUE) {
            self.hashtable = true;
        }
    }

    /// Removes `field`; returns true when it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.hashtable {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }

    /// Iterates fields and values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The field and value at position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.map.get_index(i).map(|(k, v)| (&**k, &**v))
    }

    /// A uniformly random position (the hash must not be empty).
    pub fn random_index(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.map.len().max(1))
    }

    /// True when HSCAN must return everything in one call (Redis does that for listpacks).
    pub fn scans_whole(&self) -> bool {
        !self.hashtable
    }

    /// The encoding OBJECT ENCODING reports: "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        if self.hashtable {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_hash_keeps_insertion_order_on_removal() {
        let mut h = HashValue::new();
        for f in ["a", "b", "c", "d"] {
            assert!(h.insert(f.as_bytes(), b"v"));
        }
        assert!(!h.insert(b"b", b"w"));
        assert!(h.remove(b"a"));
        let fields: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec![&b"b"[..], b"c", b"d"]);
        assert_eq!(h.get(b"b"), Some(&b"w"[..]));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn converts_past_listpack_limits_and_never_back() {
        let mut h = HashValue::new();
        for i in 0..=MAX_LISTPACK_ENTRIES {
            h.insert(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..100 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(h.encoding(), "hashtable");

        let mut h = HashValue::new();
        h.insert(b"f", &[b'x'; MAX_LISTPACK_VALUE]);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"g", &[b'x'; MAX_LISTPACK_VALUE + 1]);
        assert_eq!(h.encoding(), "hashtable");
    }
}
