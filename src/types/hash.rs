//! Hash values.
//!
//! Two internal forms, independent of the encoding OBJECT ENCODING reports:
//! - small hashes (at most [`SMALL_ENTRIES`] fields, every field and value at most
//!   [`SMALL_VALUE`] bytes, and still "listpack" for Redis) are one [`Packed`] buffer of field,
//!   value, field, value... in insertion order: no allocation per field, and none at all for a
//!   few short pairs. A removal closes the gap, so the order stays the insertion order, exactly
//!   as in a listpack (HGETALL on a small hash then matches Redis's order);
//! - past that, an insertion-ordered index map, so HSCAN cursors are positions and HRANDFIELD
//!   picks in O(1). While Redis would still call the hash "listpack", removals shift the entries
//!   to keep that same order; once past Redis's limits the hash is "hashtable" for good, and
//!   removals `swap_remove`, which keeps the downward SCAN guarantee (see `engine::db`).
//!
//! A hash leaves the packed form for good. The packed form only ever holds a "listpack" hash,
//! so HSCAN on it always returns everything in one call.

use indexmap::IndexMap;
use rand::Rng;

use super::bytes::Bytes;
use super::packed::{Entries, Packed};

type Hasher = foldhash::fast::RandomState;

/// Redis 7.2's `hash-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 512;
/// Redis 7.2's `hash-max-listpack-value` default.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// Most fields the packed form holds. A lookup walks them (about 1.5 ns a field), so at 32 HGET
/// costs some 40 ns more than a hash-map probe: a few percent of a command.
pub const SMALL_ENTRIES: usize = 32;
/// Longest field or value the packed form holds.
pub const SMALL_VALUE: usize = 64;

/// `hash-max-listpack-entries` / `hash-max-listpack-value`: under these Redis keeps a hash as a
/// listpack (what OBJECT ENCODING reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    /// Most fields of a listpack hash.
    pub entries: usize,
    /// Longest field or value (bytes) of a listpack hash.
    pub value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            entries: MAX_LISTPACK_ENTRIES,
            value: MAX_LISTPACK_VALUE,
        }
    }
}

/// A hash: field -> value, in insertion order.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    /// Field, value, field, value... while `big` is None.
    small: Packed,
    /// The indexed form, once the hash outgrew `small`.
    big: Option<Box<Big>>,
    /// Pairs in `small`.
    small_len: u32,
}

#[derive(Debug, Clone, Default)]
struct Big {
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
        match &self.big {
            Some(b) => b.map.len(),
            None => self.small_len as usize,
        }
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.big {
            Some(b) => b.map.get(field).map(|v| &**v),
            None => {
                let (_, v) = self.small.find(field, 2)?;
                Some(self.small.entry(v).0)
            }
        }
    }

    /// True when `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.big {
            Some(b) => b.map.contains_key(field),
            None => self.small.find(field, 2).is_some(),
        }
    }

    /// Moves to the indexed form (if not there yet); marks it hashtable-encoded when asked.
    fn make_indexed(&mut self, hashtable: bool) -> &mut Big {
        if self.big.is_none() {
            let mut map = IndexMap::with_capacity_and_hasher(self.len() + 1, Hasher::default());
            let mut it = self.small.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                map.insert(Bytes::new(f), Bytes::new(v));
            }
            self.small.clear();
            self.small_len = 0;
            self.big = Some(Box::new(Big {
                map,
                hashtable: false,
            }));
        }
        let b = self.big.as_mut().expect("just made");
        b.hashtable |= hashtable;
        b
    }

    /// Sets `field` to `value` under Redis's default listpack limits (see [`Self::insert_with`]).
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.insert_with(field, value, HashLimits::default())
    }

    /// Sets `field` to `value`; returns true when the field is new. An existing field keeps its
    /// position. As Redis's `hashTypeSet` does, a field or value longer than `lim.value`
    /// converts the hash before the write, and more than `lim.entries` fields after it.
    pub fn insert_with(&mut self, field: &[u8], value: &[u8], lim: HashLimits) -> bool {
        let longest = field.len().max(value.len());
        if self.big.is_none() && (longest > lim.value || longest > SMALL_VALUE) {
            self.make_indexed(longest > lim.value);
        }
        if self.big.is_none() {
            let new = match self.small.find(field, 2) {
                Some((_, v)) => {
                    let end = self.small.entry(v).1;
                    self.small.splice(v, end, &[value]);
                    false
                }
                None if (self.small_len as usize) < SMALL_ENTRIES => {
                    self.small.push(&[field, value]);
                    self.small_len += 1;
                    true
                }
                None => {
                    self.make_indexed(false);
                    return self.insert_with(field, value, lim);
                }
            };
            if self.small_len as usize > lim.entries {
                self.make_indexed(true);
            }
            return new;
        }
        let b = self.big.as_mut().expect("indexed form");
        if longest > lim.value {
            b.hashtable = true;
        }
        let new = match b.map.get_mut(field) {
            Some(slot) => {
                *slot = value.into();
                false
            }
            None => {
                super::reserve_gently(b.map.len(), b.map.capacity(), |n| b.map.reserve_exact(n));
                b.map.insert(field.into(), value.into());
                true
            }
        };
        if b.map.len() > lim.entries {
            b.hashtable = true;
        }
        new
    }

    /// Redis's `hashTypeTryConversion`, run by HSET/HSETNX before they write `items` (their
    /// fields and values, flattened): more pairs than `lim.entries`, or any item longer than
    /// `lim.value`, converts the hash even when the command then changes nothing.
    pub fn check_lengths<'b>(
        &mut self,
        items: impl IntoIterator<Item = &'b [u8]>,
        lim: HashLimits,
    ) {
        if self.big.as_ref().is_some_and(|b| b.hashtable) {
            return;
        }
        let (mut n, mut long) = (0usize, false);
        for b in items {
            n += 1;
            long |= b.len() > lim.value;
        }
        if long || n / 2 > lim.entries {
            self.make_indexed(true);
        }
    }

    /// Removes `field`; returns true when it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.big {
            Some(b) if b.hashtable => b.map.swap_remove(field).is_some(),
            Some(b) => b.map.shift_remove(field).is_some(),
            None => {
                let Some((start, v)) = self.small.find(field, 2) else {
                    return false;
                };
                let end = self.small.entry(v).1;
                self.small.remove(start, end);
                self.small_len -= 1;
                true
            }
        }
    }

    /// Iterates fields and values in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.big {
            Some(b) => IterInner::Big(b.map.iter()),
            None => IterInner::Small {
                entries: self.small.iter(),
                left: self.small_len as usize,
            },
        })
    }

    /// The field and value at position `i` (O(i) on a small hash, O(1) otherwise).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.big {
            Some(b) => b.map.get_index(i).map(|(k, v)| (&**k, &**v)),
            None => self.iter().nth(i),
        }
    }

    /// A uniformly random position (the hash must not be empty).
    pub fn random_index(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.len().max(1))
    }

    /// True when HSCAN must return everything in one call (Redis does that for listpacks).
    pub fn scans_whole(&self) -> bool {
        !self.is_hashtable()
    }

    fn is_hashtable(&self) -> bool {
        self.big.as_ref().is_some_and(|b| b.hashtable)
    }

    /// The encoding OBJECT ENCODING reports: "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        if self.is_hashtable() {
            "hashtable"
        } else {
            "listpack"
        }
    }
}

/// Fields and values of a [`HashValue`], in order.
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Small { entries: Entries<'a>, left: usize },
    Big(indexmap::map::Iter<'a, Bytes, Bytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterInner::Small { entries, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let f = entries.next()?;
                let v = entries.next()?;
                Some((f, v))
            }
            IterInner::Big(it) => it.next().map(|(k, v)| (&**k, &**v)),
        }
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        if let IterInner::Small { entries, left } = &mut self.0 {
            if n >= *left {
                *left = 0;
                return None;
            }
            for _ in 0..2 * n {
                entries.skip_one();
            }
            *left -= n;
            return self.next();
        }
        if let IterInner::Big(it) = &mut self.0 {
            return it.nth(n).map(|(k, v)| (&**k, &**v));
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterInner::Small { left, .. } => *left,
            IterInner::Big(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
        assert!(h.big.is_none());
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

    #[test]
    fn configured_limits_apply_on_every_write() {
        let lim = HashLimits {
            entries: 2,
            value: 4,
        };
        let mut h = HashValue::new();
        h.insert_with(b"a", b"1", lim);
        h.insert_with(b"b", b"2", lim);
        assert_eq!(h.encoding(), "listpack");
        // An update converts when the hash is already over a (lowered) limit, as in Redis.
        let lower = HashLimits {
            entries: 1,
            value: 4,
        };
        h.insert_with(b"a", b"3", lower);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = HashValue::new();
        h.check_lengths([&b"a"[..], b"1", b"a", b"2", b"a", b"3"], lim);
        assert_eq!(
            h.encoding(),
            "hashtable",
            "3 pairs > 2 entries, duplicates or not"
        );
        let mut h = HashValue::new();
        h.check_lengths([&b"a"[..], b"12345"], lim);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.insert_with(b"a", b"12345", lim);
        assert_eq!(h.encoding(), "hashtable");
        let zero = HashLimits {
            entries: 0,
            value: 64,
        };
        let mut h = HashValue::new();
        h.insert_with(b"a", b"1", zero);
        assert_eq!(h.encoding(), "hashtable");
    }

    /// A model: pairs in order, removals shifting while "listpack" and swapping after, the
    /// encoding by Redis's rules.
    #[derive(Default)]
    struct Model {
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        hashtable: bool,
    }

    impl Model {
        fn insert(&mut self, f: &[u8], v: &[u8], lim: HashLimits) -> bool {
            if f.len() > lim.value || v.len() > lim.value {
                self.hashtable = true;
            }
            let new = match self.pairs.iter_mut().find(|(k, _)| k == f) {
                Some(p) => {
                    p.1 = v.to_vec();
                    false
                }
                None => {
                    self.pairs.push((f.to_vec(), v.to_vec()));
                    true
                }
            };
            if self.pairs.len() > lim.entries {
                self.hashtable = true;
            }
            new
        }

        fn remove(&mut self, f: &[u8]) -> bool {
            let Some(i) = self.pairs.iter().position(|(k, _)| k == f) else {
                return false;
            };
            if self.hashtable {
                self.pairs.swap_remove(i);
            } else {
                self.pairs.remove(i);
            }
            true
        }
    }

    #[test]
    fn randomized_against_a_model_across_both_forms() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(10);
        for round in 0..300 {
            let lim = HashLimits {
                entries: [0, 1, 3, 8, 31, 32, 33, 100, 512][round % 9],
                value: [3, 10, 64, 100][round % 4],
            };
            let universe = [5, 40, 80][round % 3];
            let mut h = HashValue::new();
            let mut m = Model::default();
            for _ in 0..300 {
                let f = format!("f{}", rng.gen_range(0..universe)).into_bytes();
                let vlen = if rng.gen_bool(0.03) {
                    rng.gen_range(60..90)
                } else {
                    rng.gen_range(0..12)
                };
                let v: Vec<u8> = (0..vlen).map(|_| rng.gen_range(b'a'..=b'z')).collect();
                match rng.gen_range(0..10) {
                    0..=5 => assert_eq!(h.insert_with(&f, &v, lim), m.insert(&f, &v, lim)),
                    6..=8 => assert_eq!(h.remove(&f), m.remove(&f)),
                    _ => {
                        let want = m.pairs.iter().find(|(k, _)| *k == f).map(|p| &p.1[..]);
                        assert_eq!(h.get(&f), want);
                        assert_eq!(h.contains(&f), want.is_some());
                        if !m.pairs.is_empty() {
                            let i = rng.gen_range(0..m.pairs.len());
                            let (k, v) = &m.pairs[i];
                            assert_eq!(h.get_index(i), Some((&k[..], &v[..])));
                        }
                        assert_eq!(h.get_index(m.pairs.len()), None);
                    }
                }
                assert_eq!(h.len(), m.pairs.len());
                assert_eq!(
                    h.encoding(),
                    if m.hashtable { "hashtable" } else { "listpack" }
                );
                // The packed form only ever holds a small listpack hash.
                if h.big.is_none() {
                    assert!(h.len() <= SMALL_ENTRIES && !m.hashtable);
                }
            }
            let got: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            assert_eq!(got, m.pairs);
            assert_eq!(h.iter().len(), m.pairs.len());
        }
    }

    #[test]
    fn a_hash_value_is_small() {
        assert_eq!(std::mem::size_of::<HashValue>(), 40);
    }
}
