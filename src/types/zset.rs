//! Sorted-set values.
//!
//! Two indexes over the same members:
//! - `dict`: member -> score, insertion-ordered (ZSCORE in O(1); ZSCAN cursors are positions and
//!   removal is `swap_remove`, the same contract as the keyspace's SCAN);
//! - `tree`: an order-statistic B+ tree over (score, member) (`ostree.rs`), so insert, delete,
//!   rank and access by rank are O(log n) with few cache misses even on millions of members.
//!
//! Member bytes are shared between both indexes through one `Arc<[u8]>` allocation.
//!
//! Scores are never NaN (commands refuse them), so comparing them as doubles is a total order; `-0`
//! and `0` compare equal, as in Redis, and member bytes break ties.

use std::cmp::Ordering;
use std::sync::Arc;

use indexmap::IndexMap;

use super::ostree::OsTree;

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
    dict: IndexMap<Arc<[u8]>, f64, foldhash::fast::RandomState>,
    tree: OsTree,
    /// Sticky, as in Redis: a set converted to the skiplist encoding stays there when it shrinks.
    skiplist: bool,
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
        z.skiplist = size_hint > limits.entries || len_hint > limits.value;
        z
    }

    /// Converts to the skiplist encoding if `size_hint` members would not fit a listpack.
    pub fn expect_size(&mut self, size_hint: usize, limits: ListpackLimits) {
        if size_hint > limits.entries {
            self.skiplist = true;
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
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

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Sets `member`'s score, adding it if missing. Returns the previous score.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: ListpackLimits) -> Option<f64> {
        if let Some((_, k, old)) = self.dict.get_full_mut(member) {
            let prev = *old;
            if prev != score || prev.to_bits() != score.to_bits() {
                *old = score;
                let key = k.clone();
                self.tree.remove(prev, &key);
                self.tree.insert(score, key);
            }
            return Some(prev);
        }
        if self.dict.len() + 1 > limits.entries || member.len() > limits.value {
            self.skiplist = true;
        }
        let key: Arc<[u8]> = Arc::from(member);
        super::reserve_gently(self.dict.len(), self.dict.capacity(), |n| {
            self.dict.reserve_exact(n)
        });
        self.dict.insert(key.clone(), score);
        self.tree.insert(score, key);
        None
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, key, score) = self.dict.swap_remove_full(member)?;
        self.tree.remove(score, &key);
        Some(score)
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let (key, &score) = self.dict.get_key_value(member)?;
        self.tree.rank(score, key)
    }

    /// The member at ascending rank `rank` (0-based).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.tree.get(rank)
    }

    /// Number of members ordered before the first one for which `before` is false. `before` must
    /// be monotone over the order (true for a prefix, then false): "score < min", "member <= max"...
    pub fn count_before(&self, before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        self.tree.count_before(before)
    }

    /// Members in ascending order starting at rank `start` (or descending, counting `start` from
    /// the top, when `rev`).
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        self.tree.iter_from(start, rev)
    }

    /// All members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// The member at insertion-order position `i` (ZSCAN, ZRANDMEMBER).
    pub fn entry_at(&self, i: usize) -> Option<(&[u8], f64)> {
        self.dict.get_index(i).map(|(k, v)| (&k[..], *v))
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
        self.tree.check();
        assert_eq!(self.tree.len(), self.dict.len());
        for (m, s) in self.iter() {
            assert_eq!(
                self.dict.get(m).copied().map(f64::to_bits),
                Some(s.to_bits())
            );
        }
    }
}

/// In-order iterator over a [`ZSetValue`] (ascending, or descending when started with `rev`).
pub type Iter<'a> = super::ostree::Iter<'a>;

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
    fn sorted_insertion_stays_balanced() {
        // A degenerate insertion order must not make the tree a list.
        let mut z = ZSetValue::new();
        for i in 0..50_000 {
            z.insert(format!("{i:08}").as_bytes(), i as f64, L);
        }
        assert!(z.tree.height() <= 4, "height {}", z.tree.height());
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
