//! Set values.
//!
//! The set tracks which encoding Redis 7.2 would use ("intset", "listpack" or "hashtable", the
//! conversions only going towards "hashtable", as in Redis) and mimics its order while small:
//! an intset keeps its integers sorted, a listpack keeps the insertion order across removals.
//!
//! Two internal forms, independent of that encoding:
//! - small sets (at most [`SMALL_ENTRIES`] members of at most [`SMALL_VALUE`] bytes, intset or
//!   listpack for Redis) are one [`Packed`] buffer of members in Redis's order: no allocation
//!   per member, none at all for a few short ones;
//! - past that, an insertion-ordered index set, so SSCAN cursors are positions and
//!   SRANDMEMBER/SPOP pick in O(1). A "hashtable" set removes with `swap_remove`, which keeps
//!   the downward SCAN guarantee (see `engine::db`); the others shift, keeping Redis's order.
//!
//! A set leaves the packed form for good. The packed form only ever holds an intset or listpack
//! set, so SSCAN on it always returns everything in one call.

use indexmap::IndexSet;
use rand::Rng;

use super::bytes::Bytes;
use super::packed::{canonical_i64, Entries, Packed};

type Hasher = foldhash::fast::RandomState;

/// Redis 7.2's `set-max-intset-entries` default.
pub const MAX_INTSET_ENTRIES: usize = 512;
/// Redis 7.2's `set-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// Redis 7.2's `set-max-listpack-value` default.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// Most members the packed form holds (a lookup walks them).
pub const SMALL_ENTRIES: usize = 32;
/// Longest member the packed form holds.
pub const SMALL_VALUE: usize = 64;

/// `set-max-intset-entries`, `set-max-listpack-entries`, `set-max-listpack-value`: the limits
/// of Redis's compact set encodings (what OBJECT ENCODING reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLimits {
    /// Most members of an intset.
    pub intset_entries: usize,
    /// Most members of a listpack set.
    pub listpack_entries: usize,
    /// Longest member (bytes) of a listpack set.
    pub listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            intset_entries: MAX_INTSET_ENTRIES,
            listpack_entries: MAX_LISTPACK_ENTRIES,
            listpack_value: MAX_LISTPACK_VALUE,
        }
    }
}

impl SetLimits {
    /// Redis caps the intset size at 2^30 whatever is configured.
    fn intset_max(&self) -> usize {
        self.intset_entries.min(1 << 30)
    }
}

/// The encoding Redis would use for a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetEncoding {
    /// Only integers, sorted.
    #[default]
    Intset,
    /// Small, insertion-ordered.
    Listpack,
    /// Large.
    Hashtable,
}

/// A set of members.
#[derive(Debug, Clone, Default)]
pub struct SetValue {
    /// Members in Redis's order, while `big` is None.
    small: Packed,
    /// The indexed form, once the set outgrew `small`.
    big: Option<Box<IndexSet<Bytes, Hasher>>>,
    /// Members in `small`.
    small_len: u32,
    enc: SetEncoding,
}

/// The integer an intset would hold for `m` (Redis's `string2ll`: canonical decimal only).
fn as_int(m: &[u8]) -> Option<i64> {
    canonical_i64(m)
}

impl SetValue {
    /// An empty set encoded as Redis encodes a new set whose first member is `first` and that is
    /// about to receive `size_hint` members (SADD's argument count).
    pub fn with_hint(first: Option<&[u8]>, size_hint: usize, lim: SetLimits) -> SetValue {
        let enc = if first.is_some_and(|m| as_int(m).is_some()) && size_hint <= lim.intset_entries {
            SetEncoding::Intset
        } else if size_hint <= lim.listpack_entries {
            SetEncoding::Listpack
        } else {
            SetEncoding::Hashtable
        };
        let mut s = SetValue {
            enc,
            ..SetValue::default()
        };
        if enc == SetEncoding::Hashtable {
            s.make_indexed();
        }
        s
    }

    /// Re-chooses the encoding of a set that is still empty (just created), as [`Self::with_hint`].
    pub fn prepare(&mut self, first: Option<&[u8]>, size_hint: usize, lim: SetLimits) {
        if self.is_empty() {
            *self = SetValue::with_hint(first, size_hint, lim);
        }
    }

    /// Converts an existing set to "hashtable" when `size_hint` members (SADD's argument count)
    /// could not fit its compact encoding, as Redis 7.2's SADD does up front.
    pub fn expect_size(&mut self, size_hint: usize, lim: SetLimits) {
        let over = match self.enc {
            SetEncoding::Listpack => size_hint > lim.listpack_entries,
            SetEncoding::Intset => size_hint > lim.intset_entries,
            SetEncoding::Hashtable => false,
        };
        if over {
            self.enc = SetEncoding::Hashtable;
            self.make_indexed();
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.big {
            Some(b) => b.len(),
            None => self.small_len as usize,
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.big {
            Some(b) => b.contains(m),
            None => self.small.find(m, 1).is_some(),
        }
    }

    /// Moves to the indexed form (if not there yet).
    fn make_indexed(&mut self) -> &mut IndexSet<Bytes, Hasher> {
        if self.big.is_none() {
            let mut set = IndexSet::with_capacity_and_hasher(self.len() + 1, Hasher::default());
            set.extend(self.small.iter().map(Bytes::new));
            self.small.clear();
            self.small_len = 0;
            self.big = Some(Box::new(set));
        }
        self.big.as_mut().expect("just made")
    }

    /// The longest member of an intset (its smallest or its largest integer).
    fn intset_longest(&self) -> usize {
        match &self.big {
            Some(b) => b
                .first()
                .map_or(0, |m| m.len())
                .max(b.last().map_or(0, |m| m.len())),
            None => {
                let first = self.small.iter().next().map_or(0, |m| m.len());
                first.max(self.small.iter().last().map_or(0, |m| m.len()))
            }
        }
    }

    /// Adds `m` under Redis's default limits (see [`Self::insert_with`]).
    pub fn insert(&mut self, m: &[u8]) -> bool {
        self.insert_with(m, SetLimits::default())
    }

    /// Adds `m`; returns true when it was not a member. Encodings change as Redis 7.2's
    /// `setTypeAdd` changes them under `lim`.
    pub fn insert_with(&mut self, m: &[u8], lim: SetLimits) -> bool {
        if self.contains(m) {
            return false;
        }
        let len = self.len();
        match self.enc {
            SetEncoding::Intset => match as_int(m) {
                Some(v) => {
                    self.insert_sorted(m, v);
                    if self.len() > lim.intset_max() {
                        self.enc = SetEncoding::Hashtable;
                        self.make_indexed();
                    }
                    return true;
                }
                None => {
                    // Listpack only if every member will fit one (the intset's longest is one
                    // of its ends).
                    let fits = len < lim.listpack_entries
                        && m.len() <= lim.listpack_value
                        && self.intset_longest() <= lim.listpack_value;
                    self.enc = if fits {
                        SetEncoding::Listpack
                    } else {
                        SetEncoding::Hashtable
                    };
                }
            },
            SetEncoding::Listpack => {
                if len >= lim.listpack_entries || m.len() > lim.listpack_value {
                    self.enc = SetEncoding::Hashtable;
                }
            }
            SetEncoding::Hashtable => {}
        }
        if self.big.is_none()
            && (self.enc == SetEncoding::Hashtable || len >= SMALL_ENTRIES || m.len() > SMALL_VALUE)
        {
            self.make_indexed();
        }
        match &mut self.big {
            Some(b) => {
                super::reserve_gently(b.len(), b.capacity(), |n| b.reserve_exact(n));
                b.insert(m.into());
            }
            None => {
                self.small.push(&[m]);
                self.small_len += 1;
            }
        }
        true
    }

    /// Adds integer member `m` (= `v`) at its place in ascending order (an intset's).
    fn insert_sorted(&mut self, m: &[u8], v: i64) {
        if self.big.is_none() && self.len() >= SMALL_ENTRIES {
            self.make_indexed();
        }
        match &mut self.big {
            Some(b) => {
                b.insert_sorted_by_key(m.into(), |x| as_int(x).unwrap_or(i64::MAX));
            }
            None => {
                let mut it = self.small.iter();
                let mut at = it.offset();
                while let Some(e) = it.next() {
                    if as_int(e).unwrap_or(i64::MAX) > v {
                        break;
                    }
                    at = it.offset();
                }
                self.small.splice(at, at, &[m]);
                self.small_len += 1;
            }
        }
    }

    /// Removes `m`; returns true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.big {
            Some(b) if self.enc == SetEncoding::Hashtable => b.swap_remove(m),
            Some(b) => b.shift_remove(m),
            None => {
                let Some((start, end)) = self.small.find(m, 1) else {
                    return false;
                };
                self.small.remove(start, end);
                self.small_len -= 1;
                true
            }
        }
    }

    /// Removes and returns the member at position `i`.
    pub fn remove_index(&mut self, i: usize) -> Option<Bytes> {
        match &mut self.big {
            Some(b) if self.enc == SetEncoding::Hashtable => b.swap_remove_index(i),
            Some(b) => b.shift_remove_index(i),
            None => {
                if i >= self.small_len as usize {
                    return None;
                }
                let mut it = self.small.iter();
                for _ in 0..i {
                    it.skip_one();
                }
                let start = it.offset();
                let (m, end) = self.small.entry(start);
                let out = Bytes::new(m);
                self.small.remove(start, end);
                self.small_len -= 1;
                Some(out)
            }
        }
    }

    /// The member at position `i` (O(i) on a small set, O(1) otherwise).
    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        match &self.big {
            Some(b) => b.get_index(i).map(|m| &**m),
            None => self.iter().nth(i),
        }
    }

    /// Iterates members in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.big {
            Some(b) => IterInner::Big(b.iter()),
            None => IterInner::Small {
                entries: self.small.iter(),
                left: self.small_len as usize,
            },
        })
    }

    /// A uniformly random position (0 for an empty set).
    pub fn random_index(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.len().max(1))
    }

    /// True when SSCAN must return everything in one call (Redis does that for intsets and
    /// listpacks).
    pub fn scans_whole(&self) -> bool {
        self.enc != SetEncoding::Hashtable
    }

    /// The encoding Redis would use.
    pub fn encoding_kind(&self) -> SetEncoding {
        self.enc
    }

    /// The encoding OBJECT ENCODING reports: "intset", "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        match self.enc {
            SetEncoding::Intset => "intset",
            SetEncoding::Listpack => "listpack",
            SetEncoding::Hashtable => "hashtable",
        }
    }
}

/// Members of a [`SetValue`], in order.
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Small { entries: Entries<'a>, left: usize },
    Big(indexmap::set::Iter<'a, Bytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.0 {
            IterInner::Small { entries, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                entries.next()
            }
            IterInner::Big(it) => it.next().map(|m| &**m),
        }
    }

    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        match &mut self.0 {
            IterInner::Small { entries, left } => {
                if n >= *left {
                    *left = 0;
                    return None;
                }
                for _ in 0..n {
                    entries.skip_one();
                }
                *left -= n + 1;
                entries.next()
            }
            IterInner::Big(it) => it.nth(n).map(|m| &**m),
        }
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

    const D: SetLimits = SetLimits {
        intset_entries: MAX_INTSET_ENTRIES,
        listpack_entries: MAX_LISTPACK_ENTRIES,
        listpack_value: MAX_LISTPACK_VALUE,
    };

    fn members(s: &SetValue) -> Vec<String> {
        s.iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn intset_stays_sorted_then_becomes_listpack() {
        let mut s = SetValue::with_hint(Some(b"5"), 3, D);
        for m in ["5", "-3", "10", "5"] {
            s.insert(m.as_bytes());
        }
        assert_eq!(members(&s), ["-3", "5", "10"]);
        assert_eq!(s.encoding(), "intset");
        s.insert(b"x");
        assert_eq!(s.encoding(), "listpack");
        s.insert(b"1");
        s.remove(b"-3");
        assert_eq!(members(&s), ["5", "10", "x", "1"]);
        assert!(s.big.is_none());
    }

    #[test]
    fn non_canonical_integers_are_not_intset_members() {
        for m in ["+1", "01", "-0", " 1", "99999999999999999999"] {
            assert_eq!(as_int(m.as_bytes()), None, "{m}");
        }
        assert_eq!(as_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(
            SetValue::with_hint(Some(b"01"), 1, D).encoding(),
            "listpack"
        );
    }

    #[test]
    fn converts_by_redis_thresholds() {
        let mut s = SetValue::with_hint(Some(b"0"), 1, D);
        for i in 0..=MAX_INTSET_ENTRIES {
            s.insert(i.to_string().as_bytes());
        }
        assert_eq!(s.encoding(), "hashtable");

        let mut s = SetValue::with_hint(Some(b"a"), 1, D);
        for i in 0..MAX_LISTPACK_ENTRIES {
            s.insert(format!("m{i}").as_bytes());
        }
        assert_eq!(s.encoding(), "listpack");
        s.insert(b"one more");
        assert_eq!(s.encoding(), "hashtable");

        let mut s = SetValue::with_hint(Some(b"a"), 1, D);
        s.insert(&[b'x'; MAX_LISTPACK_VALUE + 1]);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(
            SetValue::with_hint(Some(b"a"), 200, D).encoding(),
            "hashtable"
        );
        assert_eq!(SetValue::with_hint(Some(b"1"), 200, D).encoding(), "intset");
    }

    #[test]
    fn configured_limits() {
        let lim = SetLimits {
            intset_entries: 3,
            listpack_entries: 4,
            listpack_value: 5,
        };
        let mut s = SetValue::with_hint(Some(b"1"), 1, lim);
        for m in ["1", "2", "3"] {
            s.insert_with(m.as_bytes(), lim);
        }
        assert_eq!(s.encoding(), "intset");
        s.insert_with(b"4", lim);
        assert_eq!(s.encoding(), "hashtable");
        // An intset whose longest integer would not fit a listpack goes straight to hashtable.
        let mut s = SetValue::with_hint(Some(b"123456"), 1, lim);
        s.insert_with(b"123456", lim);
        s.insert_with(b"a", lim);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::with_hint(Some(b"-1234"), 1, lim);
        s.insert_with(b"-1234", lim);
        s.insert_with(b"a", lim);
        assert_eq!(s.encoding(), "listpack");
        // SADD's size hint converts an existing compact set up front.
        let mut s = SetValue::with_hint(Some(b"a"), 1, lim);
        s.insert_with(b"a", lim);
        s.expect_size(4, lim);
        assert_eq!(s.encoding(), "listpack");
        s.expect_size(5, lim);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::with_hint(Some(b"1"), 1, lim);
        s.insert_with(b"1", lim);
        s.expect_size(4, lim);
        assert_eq!(s.encoding(), "hashtable");
    }

    /// The same rules, on a plain vector.
    struct Model {
        items: Vec<Vec<u8>>,
        enc: SetEncoding,
    }

    impl Model {
        fn insert(&mut self, m: &[u8], lim: SetLimits) -> bool {
            if self.items.iter().any(|x| x == m) {
                return false;
            }
            let len = self.items.len();
            match self.enc {
                SetEncoding::Intset => match as_int(m) {
                    Some(v) => {
                        let at = self
                            .items
                            .iter()
                            .position(|x| as_int(x).unwrap() > v)
                            .unwrap_or(len);
                        self.items.insert(at, m.to_vec());
                        if self.items.len() > lim.intset_max() {
                            self.enc = SetEncoding::Hashtable;
                        }
                        return true;
                    }
                    None => {
                        let longest = self.items.iter().map(|x| x.len()).max().unwrap_or(0);
                        self.enc = if len < lim.listpack_entries
                            && m.len() <= lim.listpack_value
                            && longest <= lim.listpack_value
                        {
                            SetEncoding::Listpack
                        } else {
                            SetEncoding::Hashtable
                        };
                    }
                },
                SetEncoding::Listpack => {
                    if len >= lim.listpack_entries || m.len() > lim.listpack_value {
                        self.enc = SetEncoding::Hashtable;
                    }
                }
                SetEncoding::Hashtable => {}
            }
            self.items.push(m.to_vec());
            true
        }

        fn remove_at(&mut self, i: usize) -> Vec<u8> {
            if self.enc == SetEncoding::Hashtable {
                self.items.swap_remove(i)
            } else {
                self.items.remove(i)
            }
        }
    }

    #[test]
    fn randomized_against_a_model_across_both_forms() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        for round in 0..300 {
            let lim = SetLimits {
                intset_entries: [0, 2, 20, 40, 512][round % 5],
                listpack_entries: [1, 5, 31, 32, 128][round % 5 * 7 % 5],
                listpack_value: [2, 10, 64, 80][round % 4],
            };
            let universe = [10, 45, 90][round % 3];
            let int_share = [0.0, 0.5, 0.95, 1.0][round % 4];
            let first = if rng.gen_bool(int_share) { "7" } else { "x" };
            let hint = rng.gen_range(1..4);
            let mut s = SetValue::with_hint(Some(first.as_bytes()), hint, lim);
            let mut m = Model {
                items: Vec::new(),
                enc: s.enc,
            };
            for _ in 0..300 {
                let member: Vec<u8> = if rng.gen_bool(int_share) {
                    (rng.gen_range(0..universe) as i64 - 5)
                        .to_string()
                        .into_bytes()
                } else if rng.gen_bool(0.03) {
                    vec![b'L'; rng.gen_range(60..90)]
                } else {
                    format!("m{}", rng.gen_range(0..universe)).into_bytes()
                };
                match rng.gen_range(0..10) {
                    0..=5 => assert_eq!(s.insert_with(&member, lim), m.insert(&member, lim)),
                    6..=7 => {
                        let at = m.items.iter().position(|x| *x == member);
                        assert_eq!(s.remove(&member), at.is_some());
                        if let Some(i) = at {
                            m.remove_at(i);
                        }
                    }
                    8 if !m.items.is_empty() => {
                        let i = rng.gen_range(0..m.items.len());
                        assert_eq!(s.get_index(i), Some(&m.items[i][..]));
                        let popped = s.remove_index(i).map(|b| b.to_vec());
                        assert_eq!(popped, Some(m.remove_at(i)));
                    }
                    _ => {
                        assert_eq!(s.contains(&member), m.items.contains(&member));
                        assert_eq!(s.get_index(m.items.len()), None);
                    }
                }
                assert_eq!(s.len(), m.items.len());
                assert_eq!(s.encoding_kind(), m.enc);
                if s.big.is_none() {
                    assert!(s.len() <= SMALL_ENTRIES && m.enc != SetEncoding::Hashtable);
                }
            }
            let got: Vec<Vec<u8>> = s.iter().map(|x| x.to_vec()).collect();
            assert_eq!(got, m.items);
        }
    }

    #[test]
    fn a_set_value_is_small() {
        assert_eq!(std::mem::size_of::<SetValue>(), 40);
    }
}
