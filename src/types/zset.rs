//! Sorted-set values.
//!
//! Two internal forms, independent of the encoding OBJECT ENCODING reports:
//! - small sets (at most [`SMALL_ENTRIES`] members of at most [`SMALL_VALUE`] bytes, and still
//!   "listpack" for Redis) are one [`Packed`] buffer of member, score, member, score... in
//!   ascending (score, member) order, as Redis's listpack keeps them. Scores take 0-8 bytes
//!   (small integers one or two). Every operation walks the buffer, which at this size is as
//!   fast as the indexes below and costs no allocation per member (none at all for a few short
//!   members with integer scores);
//! - past that, two indexes over the same members: `dict`, member -> score, insertion-ordered
//!   (ZSCORE in O(1); ZSCAN cursors are positions and removal is `swap_remove`, the same
//!   contract as the keyspace's SCAN), and `tree`, an order-statistic B+ tree over (score,
//!   member) (`ostree.rs`), so insert, delete, rank and access by rank are O(log n) with few
//!   cache misses even on millions of members. Member bytes are shared between both indexes
//!   through one `Arc<[u8]>` allocation.
//!
//! A set leaves the packed form for good; the packed form only ever holds a "listpack" set, so
//! ZSCAN on it returns everything at once.
//!
//! Scores are never NaN (commands refuse them), so comparing them as doubles is a total order; `-0`
//! and `0` compare equal, as in Redis, and member bytes break ties.

use std::cmp::Ordering;
use std::sync::Arc;

use arrayvec::ArrayVec;
use indexmap::IndexMap;

use super::ostree::OsTree;
use super::packed::{decode_score, encode_score, Entries, Packed};

/// Most members the packed form holds. Every operation walks them, and a walk is a chain of
/// dependent loads (about 3 ns a member), so past 16 a score-range query costs more than the
/// tree's (measured with `benchmarks/small_ops.py`).
pub const SMALL_ENTRIES: usize = 16;
/// Longest member the packed form holds.
pub const SMALL_VALUE: usize = 64;

/// Redis's `zset-max-listpack-entries` / `zset-max-listpack-value`: the limits under which Redis
/// keeps a sorted set in its compact encoding (reported by OBJECT ENCODING).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListpackLimits {
    /// Most members a listpack-encoded set may hold.
    pub entries: usize,
    /// Longest member (bytes) a listpack-encoded set may hold.
    pub value: usize,
}

impl Default for ListpackLimits {
    fn default() -> Self {
        ListpackLimits {
            entries: 128,
            value: 64,
        }
    }
}

/// Orders (score, member) pairs as Redis's skiplist does.
#[inline]
pub fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    match a_score.partial_cmp(&b_score) {
        Some(Ordering::Equal) | None => a_member.cmp(b_member),
        Some(o) => o,
    }
}

/// A sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    /// Member, score, member, score... in order, while `big` is None.
    small: Packed,
    /// The indexed form, once the set outgrew `small`.
    big: Option<Box<Big>>,
    /// Members in `small`.
    small_len: u32,
    /// Sticky, as in Redis: a set converted to the skiplist encoding stays there when it shrinks.
    skiplist: bool,
}

#[derive(Debug, Clone, Default)]
struct Big {
    dict: IndexMap<Arc<[u8]>, f64, foldhash::fast::RandomState>,
    tree: OsTree,
}

impl Big {
    fn insert_new(&mut self, member: &[u8], score: f64) {
        let key: Arc<[u8]> = Arc::from(member);
        super::reserve_gently(self.dict.len(), self.dict.capacity(), |n| {
            self.dict.reserve_exact(n)
        });
        self.dict.insert(key.clone(), score);
        self.tree.insert(score, key);
    }
}

/// Walks the pairs of a packed set: (member, score, offset of the pair). Members are at most
/// [`SMALL_VALUE`] bytes and scores at most 8, so every length header is one byte.
#[derive(Clone)]
struct Pairs<'a> {
    buf: &'a [u8],
    off: usize,
}

const _: () = assert!(SMALL_VALUE < 0x80);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], f64, usize);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (buf, at) = (self.buf, self.off);
        if at >= buf.len() {
            return None;
        }
        let mlen = buf[at] as usize;
        debug_assert!(mlen < 0x80);
        let m = &buf[at + 1..at + 1 + mlen];
        let so = at + 1 + mlen;
        let slen = buf[so] as usize;
        let s = decode_score(&buf[so + 1..so + 1 + slen]);
        self.off = so + 1 + slen;
        Some((m, s, at))
    }
}

impl ZSetValue {
    /// An empty set.
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    /// An empty set whose encoding is chosen up front from the expected size and member length,
    /// as Redis does when a command is about to add `size_hint` members.
    pub fn with_hint(size_hint: usize, len_hint: usize, limits: ListpackLimits) -> ZSetValue {
        let mut z = ZSetValue::new();
        if size_hint > limits.entries || len_hint > limits.value {
            z.skiplist = true;
            z.make_indexed();
        }
        z
    }

    /// Converts to the skiplist encoding if `size_hint` members would not fit a listpack.
    pub fn expect_size(&mut self, size_hint: usize, limits: ListpackLimits) {
        if size_hint > limits.entries {
            self.skiplist = true;
            self.make_indexed();
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.big {
            Some(b) => b.dict.len(),
            None => self.small_len as usize,
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding Redis 7.2 would report: `listpack` or `skiplist`.
    pub fn encoding(&self) -> &'static str {
        if self.skiplist {
            "skiplist"
        } else {
            "listpack"
        }
    }

    /// True when Redis would hold this set as a listpack (ZSCAN then returns everything at once).
    pub fn is_listpack(&self) -> bool {
        !self.skiplist
    }

    fn pairs(&self) -> Pairs<'_> {
        Pairs {
            buf: self.small.as_bytes(),
            off: 0,
        }
    }

    /// Moves to the indexed form (if not there yet).
    fn make_indexed(&mut self) -> &mut Big {
        if self.big.is_none() {
            let mut b = Big::default();
            b.dict.reserve(self.len());
            for (m, s, _) in self.pairs() {
                b.insert_new(m, s);
            }
            self.small.clear();
            self.small_len = 0;
            self.big = Some(Box::new(b));
        }
        self.big.as_mut().expect("just made")
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.big {
            Some(b) => b.dict.get(member).copied(),
            None => {
                let (_, s) = self.small.find(member, 2)?;
                Some(decode_score(self.small.entry(s).0))
            }
        }
    }

    /// Adds a member known to be absent to the packed form, at its place in the order.
    fn small_insert(&mut self, member: &[u8], score: f64) {
        let at = self
            .pairs()
            .find(|&(m, s, _)| cmp_entry(s, m, score, member) == Ordering::Greater)
            .map_or(self.small.byte_len(), |(_, _, at)| at);
        let mut buf = [0u8; 8];
        let s = encode_score(score, &mut buf);
        self.small.splice(at, at, &[member, s]);
        self.small_len += 1;
    }

    /// Sets `member`'s score, adding it if missing. Returns the previous score.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: ListpackLimits) -> Option<f64> {
        if self.big.is_none() {
            if let Some((start, s)) = self.small.find(member, 2) {
                let (sb, end) = self.small.entry(s);
                let prev = decode_score(sb);
                if prev.to_bits() != score.to_bits() {
                    self.small.remove(start, end);
                    self.small_len -= 1;
                    self.small_insert(member, score);
                }
                return Some(prev);
            }
            let len = self.len() + 1;
            if len > limits.entries || member.len() > limits.value {
                self.skiplist = true;
                self.make_indexed();
            } else if len > SMALL_ENTRIES || member.len() > SMALL_VALUE {
                self.make_indexed();
            } else {
                self.small_insert(member, score);
                return None;
            }
        }
        let b = self.big.as_mut().expect("indexed form");
        if let Some((_, k, old)) = b.dict.get_full_mut(member) {
            let prev = *old;
            if prev != score || prev.to_bits() != score.to_bits() {
                *old = score;
                let key = k.clone();
                b.tree.remove(prev, &key);
                b.tree.insert(score, key);
            }
            return Some(prev);
        }
        if b.dict.len() + 1 > limits.entries || member.len() > limits.value {
            self.skiplist = true;
        }
        b.insert_new(member, score);
        None
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.big {
            Some(b) => {
                let (_, key, score) = b.dict.swap_remove_full(member)?;
                b.tree.remove(score, &key);
                Some(score)
            }
            None => {
                let (start, s) = self.small.find(member, 2)?;
                let (sb, end) = self.small.entry(s);
                let score = decode_score(sb);
                self.small.remove(start, end);
                self.small_len -= 1;
                Some(score)
            }
        }
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.big {
            Some(b) => {
                let (key, &score) = b.dict.get_key_value(member)?;
                b.tree.rank(score, key)
            }
            None => self.pairs().position(|(m, _, _)| m == member),
        }
    }

    /// The member at ascending rank `rank` (0-based).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.big {
            Some(b) => b.tree.get(rank),
            None => self.pairs().nth(rank).map(|(m, s, _)| (m, s)),
        }
    }

    /// Number of members ordered before the first one for which `before` is false. `before` must
    /// be monotone over the order (true for a prefix, then false): "score < min", "member <= max"...
    pub fn count_before(&self, mut before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match &self.big {
            Some(b) => b.tree.count_before(before),
            None => self.pairs().take_while(|&(m, s, _)| before(s, m)).count(),
        }
    }

    /// Members in ascending order starting at rank `start` (or descending, counting `start` from
    /// the top, when `rev`).
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        Iter(match &self.big {
            Some(b) => IterInner::Tree(b.tree.iter_from(start, rev)),
            None if !rev => {
                let mut entries = self.small.iter();
                for _ in 0..2 * start.min(self.len()) {
                    entries.skip_one();
                }
                IterInner::Small {
                    entries,
                    left: self.len().saturating_sub(start),
                }
            }
            None => {
                let keep = self.len().saturating_sub(start);
                IterInner::SmallRev {
                    packed: &self.small,
                    starts: self
                        .pairs()
                        .take(keep)
                        .map(|(_, _, at)| at as u32)
                        .collect(),
                }
            }
        })
    }

    /// All members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// The member at position `i` of the insertion order (ZSCAN, ZRANDMEMBER); a small set
    /// keeps no insertion order and answers by rank, which is also Redis's listpack order.
    pub fn entry_at(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.big {
            Some(b) => b.dict.get_index(i).map(|(k, v)| (&k[..], *v)),
            None => self.get_by_rank(i),
        }
    }

    /// Removes and returns the lowest (or, with `max`, highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let rank = if max { self.len().checked_sub(1)? } else { 0 };
        let (m, s) = self.get_by_rank(rank).map(|(m, s)| (m.to_vec(), s))?;
        self.remove(&m);
        Some((m, s))
    }

    /// Removes the members at ascending ranks `start..=end`; returns how many.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len() {
            return 0;
        }
        let end = end.min(self.len() - 1);
        if self.big.is_none() {
            // One splice: the ranks are one run of the buffer.
            let mut it = self.pairs().skip(start);
            let from = it.next().map(|(_, _, at)| at).expect("rank in range");
            let to = self
                .pairs()
                .nth(end + 1)
                .map_or(self.small.byte_len(), |(_, _, at)| at);
            self.small.remove(from, to);
            self.small_len -= (end - start + 1) as u32;
            return end - start + 1;
        }
        let victims: Vec<Vec<u8>> = self
            .iter_from(start, false)
            .take(end - start + 1)
            .map(|(m, _)| m.to_vec())
            .collect();
        for m in &victims {
            self.remove(m);
        }
        victims.len()
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        match &self.big {
            Some(b) => {
                b.tree.check();
                assert_eq!(b.tree.len(), b.dict.len());
                for (m, s) in self.iter() {
                    assert_eq!(b.dict.get(m).copied().map(f64::to_bits), Some(s.to_bits()));
                }
            }
            None => {
                assert!(!self.skiplist);
                let all: Vec<(&[u8], f64)> = self.iter().collect();
                assert_eq!(all.len(), self.len());
                assert!(self.len() <= SMALL_ENTRIES);
                for w in all.windows(2) {
                    assert_eq!(cmp_entry(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
                }
            }
        }
    }
}

/// In-order iterator over a [`ZSetValue`] (ascending, or descending when started with `rev`).
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Small {
        entries: Entries<'a>,
        left: usize,
    },
    /// Descending over a packed set: the offsets of the pairs still to yield, last first.
    SmallRev {
        packed: &'a Packed,
        starts: ArrayVec<u32, SMALL_ENTRIES>,
    },
    Tree(super::ostree::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterInner::Small { entries, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let m = entries.next()?;
                Some((m, decode_score(entries.next()?)))
            }
            IterInner::SmallRev { packed, starts } => {
                let at = starts.pop()? as usize;
                let (m, s) = packed.entry(at);
                Some((m, decode_score(packed.entry(s).0)))
            }
            IterInner::Tree(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterInner::Small { left, .. } => (*left, Some(*left)),
            IterInner::SmallRev { starts, .. } => (starts.len(), Some(starts.len())),
            IterInner::Tree(it) => it.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const L: ListpackLimits = ListpackLimits {
        entries: 128,
        value: 64,
    };

    fn naive_sorted(v: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        let mut s = v.to_vec();
        s.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        s
    }

    #[test]
    fn basic_order_rank_and_ties() {
        let mut z = ZSetValue::new();
        assert_eq!(z.insert(b"b", 1.0, L), None);
        assert_eq!(z.insert(b"a", 1.0, L), None);
        assert_eq!(z.insert(b"c", 0.5, L), None);
        assert_eq!(z.insert(b"c", 2.0, L), Some(0.5));
        let v: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(
            v,
            vec![
                (b"a".to_vec(), 1.0),
                (b"b".to_vec(), 1.0),
                (b"c".to_vec(), 2.0)
            ]
        );
        assert_eq!(z.rank(b"a"), Some(0));
        assert_eq!(z.rank(b"c"), Some(2));
        assert_eq!(z.rank(b"zz"), None);
        assert_eq!(z.get_by_rank(1), Some((&b"b"[..], 1.0)));
        let rev: Vec<_> = z.iter_from(1, true).map(|(m, _)| m.to_vec()).collect();
        assert_eq!(rev, vec![b"b".to_vec(), b"a".to_vec()]);
        assert_eq!(z.count_before(|s, _| s < 2.0), 2);
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.remove(b"a"), None);
        z.check_invariants();
    }

    #[test]
    fn negative_zero_equals_zero() {
        let mut z = ZSetValue::new();
        z.insert(b"b", -0.0, L);
        z.insert(b"a", 0.0, L);
        assert_eq!(z.rank(b"a"), Some(0));
        z.check_invariants();
    }

    #[test]
    fn encoding_follows_limits_and_sticks() {
        let mut z = ZSetValue::new();
        for i in 0..128 {
            z.insert(format!("m{i}").as_bytes(), i as f64, L);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"one-more", 0.0, L);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"one-more");
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSetValue::new();
        z.insert(&[b'x'; 64], 1.0, L);
        assert_eq!(z.encoding(), "listpack");
        z.insert(&[b'x'; 65], 1.0, L);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(ZSetValue::with_hint(129, 1, L).encoding(), "skiplist");
        assert_eq!(ZSetValue::with_hint(3, 65, L).encoding(), "skiplist");
        assert_eq!(ZSetValue::with_hint(3, 64, L).encoding(), "listpack");
    }

    #[test]
    fn randomized_against_sorted_vec() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..20 {
            let mut z = ZSetValue::new();
            let mut naive: Vec<(Vec<u8>, f64)> = Vec::new();
            let universe = if round % 2 == 0 { 20 } else { 300 };
            for step in 0..2000 {
                let m = format!("m{}", rng.gen_range(0..universe)).into_bytes();
                let score = rng.gen_range(-5..5) as f64 / 2.0;
                match rng.gen_range(0..10) {
                    0..=4 => {
                        let prev = naive.iter().position(|(x, _)| *x == m);
                        let old = prev.map(|i| naive[i].1);
                        match prev {
                            Some(i) => naive[i].1 = score,
                            None => naive.push((m.clone(), score)),
                        }
                        assert_eq!(z.insert(&m, score, L), old);
                    }
                    5..=6 => {
                        let prev = naive.iter().position(|(x, _)| *x == m);
                        let old = prev.map(|i| naive.swap_remove(i).1);
                        assert_eq!(z.remove(&m), old);
                    }
                    7 => {
                        let sorted = naive_sorted(&naive);
                        if let Some(first) = sorted.first() {
                            let max = rng.gen_bool(0.5);
                            let want = if max {
                                sorted.last().unwrap().clone()
                            } else {
                                first.clone()
                            };
                            naive.retain(|(x, _)| *x != want.0);
                            assert_eq!(z.pop(max), Some(want));
                        } else {
                            assert_eq!(z.pop(false), None);
                        }
                    }
                    _ => {
                        let sorted = naive_sorted(&naive);
                        let r = sorted.iter().position(|(x, _)| *x == m);
                        assert_eq!(z.rank(&m), r);
                        let k = rng.gen_range(0..=sorted.len());
                        assert_eq!(
                            z.get_by_rank(k).map(|(m, s)| (m.to_vec(), s)),
                            sorted.get(k).cloned()
                        );
                        let fwd: Vec<_> = z
                            .iter_from(k, false)
                            .map(|(m, s)| (m.to_vec(), s))
                            .collect();
                        assert_eq!(fwd, sorted[k.min(sorted.len())..].to_vec());
                        let rev: Vec<_> =
                            z.iter_from(k, true).map(|(m, s)| (m.to_vec(), s)).collect();
                        let mut want: Vec<_> = sorted.clone();
                        want.reverse();
                        assert_eq!(rev, want[k.min(want.len())..].to_vec());
                        assert_eq!(
                            z.count_before(|s, _| s < score),
                            sorted.iter().filter(|e| e.1 < score).count()
                        );
                        let le =
                            |s: f64, mm: &[u8]| cmp_entry(s, mm, score, &m) != Ordering::Greater;
                        assert_eq!(
                            z.count_before(le),
                            sorted.iter().filter(|e| le(e.1, &e.0)).count()
                        );
                    }
                }
                assert_eq!(z.len(), naive.len());
                if step % 97 == 0 {
                    z.check_invariants();
                }
            }
            z.check_invariants();
            let a = z.len() / 3;
            let b = z.len() / 2;
            let sorted = naive_sorted(&naive);
            assert_eq!(
                z.remove_rank_range(a, b),
                if z.is_empty() { 0 } else { b - a + 1 }
            );
            let mut want = sorted.clone();
            if !want.is_empty() {
                want.drain(a..=b);
            }
            assert_eq!(
                z.iter().map(|(m, s)| (m.to_vec(), s)).collect::<Vec<_>>(),
                want
            );
            z.check_invariants();
        }
    }

    #[test]
    fn randomized_encoding_and_forms_follow_limits() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        for round in 0..400 {
            let lim = ListpackLimits {
                entries: [0, 3, 20, 31, 32, 33, 128][round % 7],
                value: [2, 5, 64, 80][round % 4],
            };
            let universe = [6, 30, 60][round % 3];
            let mut z = ZSetValue::new();
            let mut skiplist = false;
            let mut naive: Vec<(Vec<u8>, f64)> = Vec::new();
            for _ in 0..200 {
                let m = match rng.gen_range(0..30) {
                    0 => vec![b'L'; 70],
                    1 => b"abcd".to_vec(),
                    _ => format!("{}", rng.gen_range(0..universe)).into_bytes(),
                };
                let score = match rng.gen_range(0..6) {
                    0 => -0.0,
                    1 => rng.gen::<f64>() * 1e6,
                    2 => f64::INFINITY,
                    _ => rng.gen_range(-300..300) as f64,
                };
                match rng.gen_range(0..10) {
                    0..=5 => {
                        let at = naive.iter().position(|(x, _)| *x == m);
                        let old = at.map(|i| std::mem::replace(&mut naive[i].1, score));
                        if at.is_none() {
                            if naive.len() + 1 > lim.entries || m.len() > lim.value {
                                skiplist = true;
                            }
                            naive.push((m.clone(), score));
                        }
                        let got = z.insert(&m, score, lim);
                        assert_eq!(got.map(f64::to_bits), old.map(f64::to_bits));
                    }
                    6..=7 => {
                        let at = naive.iter().position(|(x, _)| *x == m);
                        let old = at.map(|i| naive.swap_remove(i).1);
                        assert_eq!(z.remove(&m).map(f64::to_bits), old.map(f64::to_bits));
                    }
                    8 => {
                        let sorted = naive_sorted(&naive);
                        if sorted.len() >= 2 {
                            let a = rng.gen_range(0..sorted.len());
                            let b = rng.gen_range(a..sorted.len());
                            assert_eq!(z.remove_rank_range(a, b), b - a + 1);
                            naive = sorted[..a]
                                .iter()
                                .chain(&sorted[b + 1..])
                                .cloned()
                                .collect();
                        }
                    }
                    _ => {
                        let want = naive.iter().find(|(x, _)| *x == m).map(|e| e.1.to_bits());
                        assert_eq!(z.score(&m).map(f64::to_bits), want);
                        let sorted = naive_sorted(&naive);
                        assert_eq!(z.rank(&m), sorted.iter().position(|(x, _)| *x == m));
                        let k = rng.gen_range(0..=sorted.len());
                        let rev: Vec<_> =
                            z.iter_from(k, true).map(|(m, s)| (m.to_vec(), s)).collect();
                        let mut want: Vec<_> = sorted.iter().rev().skip(k).cloned().collect();
                        assert_eq!(rev.len(), want.len());
                        assert_eq!(z.iter_from(k, true).size_hint().0, want.len());
                        for (g, w) in rev.iter().zip(want.drain(..)) {
                            assert_eq!((&g.0, g.1.to_bits()), (&w.0, w.1.to_bits()));
                        }
                        let i = rng.gen_range(0..=sorted.len());
                        assert_eq!(z.entry_at(i).is_some(), i < sorted.len());
                    }
                }
                assert_eq!(z.len(), naive.len());
                assert_eq!(z.encoding(), if skiplist { "skiplist" } else { "listpack" });
            }
            z.check_invariants();
            let got: Vec<(Vec<u8>, u64)> =
                z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect();
            let want: Vec<(Vec<u8>, u64)> = naive_sorted(&naive)
                .into_iter()
                .map(|(m, s)| (m, s.to_bits()))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_few_members_take_no_allocation() {
        assert_eq!(std::mem::size_of::<ZSetValue>(), 40);
        let mut z = ZSetValue::new();
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            z.insert(m.as_bytes(), i as f64 + 1.0, L);
        }
        assert!(z.big.is_none());
        assert_eq!(z.small.heap_size(), 0);
        assert_eq!(z.score(b"c"), Some(3.0));
        assert_eq!(z.rank(b"e"), Some(4));
    }

    #[test]
    fn sorted_insertion_stays_balanced() {
        // A degenerate insertion order must not make the tree a list.
        let mut z = ZSetValue::new();
        for i in 0..50_000 {
            z.insert(format!("{i:08}").as_bytes(), i as f64, L);
        }
        let h = z.big.as_ref().expect("indexed").tree.height();
        assert!(h <= 4, "height {h}");
        assert_eq!(z.rank(b"00025000"), Some(25_000));
        z.check_invariants();
    }

    /// Per-operation cost of a 1M-member set stays within a small factor of a 1k-member one.
    /// Run with `cargo test --release -- --ignored zset_scaling --nocapture`.
    #[test]
    #[ignore]
    fn zset_scaling() {
        use std::time::Instant;
        fn per_op(n: usize) -> f64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let mut z = ZSetValue::new();
            for i in 0..n {
                z.insert(format!("member:{i}").as_bytes(), rng.gen::<u32>() as f64, L);
            }
            let ops = 200_000;
            let t = Instant::now();
            for _ in 0..ops {
                let i = rng.gen_range(0..n);
                let m = format!("member:{i}");
                let r = z.rank(m.as_bytes()).unwrap();
                std::hint::black_box(z.get_by_rank(r));
                z.remove(m.as_bytes());
                z.insert(m.as_bytes(), rng.gen::<u32>() as f64, L);
            }
            t.elapsed().as_nanos() as f64 / ops as f64
        }
        let small = per_op(1_000);
        let big = per_op(1_000_000);
        println!(
            "ns/op (rank+get+remove+insert): 1k={small:.0} 1M={big:.0} ratio={:.2}",
            big / small
        );
    }
}
