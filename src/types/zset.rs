//! Sorted-set values.
//!
//! Two indexes over the same members:
//! - `dict`: member -> score, insertion-ordered (ZSCORE in O(1); ZSCAN cursors are positions and
//!   removal is `swap_remove`, the same contract as the keyspace's SCAN);
//! - `tree`: an order-statistic treap over (score, member) kept in a dense arena, with subtree sizes,
//!   so insert, delete, rank and access by rank are all O(log n) expected.
//!
//! Member bytes are shared between both indexes through one `Arc<[u8]>` allocation.
//!
//! Scores are never NaN (commands refuse them), so comparing them as doubles is a total order; `-0`
//! and `0` compare equal, as in Redis, and member bytes break ties.

use std::cmp::Ordering;
use std::sync::Arc;

use indexmap::IndexMap;

/// Arena index meaning "no node".
const NIL: u32 = u32::MAX;

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

#[derive(Debug, Clone)]
struct Node {
    member: Arc<[u8]>,
    score: f64,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
}

/// Where a subtree hangs: the root slot or a child slot of a node.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Left(u32),
    Right(u32),
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
#[derive(Debug, Clone)]
pub struct ZSetValue {
    dict: IndexMap<Arc<[u8]>, f64, foldhash::fast::RandomState>,
    nodes: Vec<Node>,
    /// Arena slots of removed nodes, reused by the next inserts.
    free: Vec<u32>,
    root: u32,
    rng: u64,
    /// Sticky, as in Redis: a set converted to the skiplist encoding stays there when it shrinks.
    skiplist: bool,
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue {
            dict: IndexMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            // Random priorities keep the treap balanced whatever order members arrive in.
            rng: rand::random::<u64>() | 1,
            skiplist: false,
        }
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
        if let Some(old) = self.dict.get_mut(member) {
            let prev = *old;
            if prev != score || prev.to_bits() != score.to_bits() {
                *old = score;
                let key: Arc<[u8]> = self
                    .dict
                    .get_key_value(member)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| member.into());
                let idx = self.tree_remove(prev, member);
                if idx != NIL {
                    self.free_node(idx);
                }
                self.tree_insert(key, score);
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
        self.tree_insert(key, score);
        None
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.swap_remove(member)?;
        let idx = self.tree_remove(score, member);
        if idx != NIL {
            self.free_node(idx);
        }
        Some(score)
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let mut t = self.root;
        let mut before = 0usize;
        while t != NIL {
            let n = &self.nodes[t as usize];
            match cmp_entry(score, member, n.score, &n.member) {
                Ordering::Less => t = n.left,
                Ordering::Greater => {
                    before += self.size(n.left) + 1;
                    t = n.right;
                }
                Ordering::Equal => return Some(before + self.size(n.left)),
            }
        }
        None
    }

    /// The member at ascending rank `rank` (0-based).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        let t = self.select(rank)?;
        let n = &self.nodes[t as usize];
        Some((&n.member, n.score))
    }

    /// Number of members ordered before the first one for which `before` is false. `before` must
    /// be monotone over the order (true for a prefix, then false): "score < min", "member <= max"...
    pub fn count_before(&self, mut before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut count = 0usize;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if before(n.score, &n.member) {
                count += self.size(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        count
    }

    /// Members in ascending order starting at rank `start` (or descending, counting `start` from
    /// the top, when `rev`).
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        let mut stack = Vec::new();
        let len = self.len();
        if start < len {
            // Descend to the start node, stacking the ancestors still to be visited after it.
            let mut k = if rev { len - 1 - start } else { start };
            let mut t = self.root;
            while t != NIL {
                let n = &self.nodes[t as usize];
                let ls = self.size(n.left);
                match k.cmp(&ls) {
                    Ordering::Less => {
                        if !rev {
                            stack.push(t);
                        }
                        t = n.left;
                    }
                    Ordering::Equal => {
                        stack.push(t);
                        break;
                    }
                    Ordering::Greater => {
                        if rev {
                            stack.push(t);
                        }
                        k -= ls + 1;
                        t = n.right;
                    }
                }
            }
        }
        Iter {
            set: self,
            stack,
            rev,
        }
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

    // ---- treap internals ----

    #[inline]
    fn size(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size as usize
        }
    }

    #[inline]
    fn pull(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[t as usize].size = s as u32;
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn set_link(&mut self, link: Link, v: u32) {
        match link {
            Link::Root => self.root = v,
            Link::Left(p) => self.nodes[p as usize].left = v,
            Link::Right(p) => self.nodes[p as usize].right = v,
        }
    }

    fn select(&self, mut k: usize) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some(t),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// Inserts a node for a member known not to be in the tree.
    fn tree_insert(&mut self, member: Arc<[u8]>, score: f64) {
        let prio = self.next_prio();
        let node = Node {
            member,
            score,
            left: NIL,
            right: NIL,
            size: 1,
            prio,
        };
        let new = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                super::reserve_gently(self.nodes.len(), self.nodes.capacity(), |n| {
                    self.nodes.reserve_exact(n)
                });
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        // Walk down while the path's nodes outrank the new one, counting it into their sizes.
        let mut link = Link::Root;
        let mut t = self.root;
        while t != NIL && self.nodes[t as usize].prio >= prio {
            self.nodes[t as usize].size += 1;
            if self.less(new, t) {
                link = Link::Left(t);
                t = self.nodes[t as usize].left;
            } else {
                link = Link::Right(t);
                t = self.nodes[t as usize].right;
            }
        }
        let (l, r) = self.split(t, new);
        let n = &mut self.nodes[new as usize];
        n.left = l;
        n.right = r;
        self.pull(new);
        self.set_link(link, new);
    }

    #[inline]
    fn less(&self, a: u32, b: u32) -> bool {
        let (x, y) = (&self.nodes[a as usize], &self.nodes[b as usize]);
        cmp_entry(x.score, &x.member, y.score, &y.member) == Ordering::Less
    }

    /// Splits subtree `t` into (nodes ordered before node `k`, nodes after it).
    fn split(&mut self, t: u32, k: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.less(t, k) {
            let right = self.nodes[t as usize].right;
            let (l, r) = self.split(right, k);
            self.nodes[t as usize].right = l;
            self.pull(t);
            (t, r)
        } else {
            let left = self.nodes[t as usize].left;
            let (l, r) = self.split(left, k);
            self.nodes[t as usize].left = r;
            self.pull(t);
            (l, t)
        }
    }

    /// Joins two subtrees where every node of `a` orders before every node of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio >= self.nodes[b as usize].prio {
            let ar = self.nodes[a as usize].right;
            let m = self.merge(ar, b);
            self.nodes[a as usize].right = m;
            self.pull(a);
            a
        } else {
            let bl = self.nodes[b as usize].left;
            let m = self.merge(a, bl);
            self.nodes[b as usize].left = m;
            self.pull(b);
            b
        }
    }

    /// Unlinks the node for (score, member); returns its arena index. The caller knows it is
    /// present (the dict holds it with this score), so sizes are adjusted on the way down.
    fn tree_remove(&mut self, score: f64, member: &[u8]) -> u32 {
        let mut link = Link::Root;
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            match cmp_entry(score, member, n.score, &n.member) {
                Ordering::Equal => break,
                Ordering::Less => {
                    self.nodes[t as usize].size -= 1;
                    link = Link::Left(t);
                    t = self.nodes[t as usize].left;
                }
                Ordering::Greater => {
                    self.nodes[t as usize].size -= 1;
                    link = Link::Right(t);
                    t = self.nodes[t as usize].right;
                }
            }
        }
        debug_assert!(t != NIL, "member indexed in dict but not in tree");
        if t == NIL {
            return NIL;
        }
        let (l, r) = (self.nodes[t as usize].left, self.nodes[t as usize].right);
        let m = self.merge(l, r);
        self.set_link(link, m);
        t
    }

    /// Drops an unlinked node: its slot goes on the free list for the next insert. When more
    /// than half the arena is free, the tree is rebuilt densely.
    fn free_node(&mut self, idx: u32) {
        let n = &mut self.nodes[idx as usize];
        n.member = empty_member();
        n.left = NIL;
        n.right = NIL;
        self.free.push(idx);
        if self.free.len() > 64 && self.free.len() > self.dict.len() {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let entries: Vec<(Arc<[u8]>, f64)> = {
            let mut v = Vec::with_capacity(self.dict.len());
            let mut it = self.iter();
            while let Some(t) = it.next_index() {
                let n = &self.nodes[t as usize];
                v.push((n.member.clone(), n.score));
            }
            v
        };
        self.nodes = Vec::with_capacity(entries.len());
        self.free.clear();
        self.root = NIL;
        for (m, s) in entries {
            self.tree_insert(m, s);
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.nodes.len(), self.dict.len() + self.free.len());
        assert_eq!(self.size(self.root), self.dict.len());
        fn walk(z: &ZSetValue, t: u32) -> usize {
            if t == NIL {
                return 0;
            }
            let n = &z.nodes[t as usize];
            for c in [n.left, n.right] {
                if c != NIL {
                    assert!(z.nodes[c as usize].prio <= n.prio);
                }
            }
            let s = 1 + walk(z, n.left) + walk(z, n.right);
            assert_eq!(s, n.size as usize);
            assert_eq!(
                z.dict.get(&n.member[..]).copied().map(f64::to_bits),
                Some(n.score.to_bits())
            );
            s
        }
        walk(self, self.root);
        let v: Vec<_> = self.iter().collect();
        for w in v.windows(2) {
            assert_eq!(cmp_entry(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
        }
    }
}

/// In-order iterator over a [`ZSetValue`] (ascending, or descending when started with `rev`).
pub struct Iter<'a> {
    set: &'a ZSetValue,
    stack: Vec<u32>,
    rev: bool,
}

impl Iter<'_> {
    fn next_index(&mut self) -> Option<u32> {
        let t = self.stack.pop()?;
        let nodes = &self.set.nodes;
        let n = &nodes[t as usize];
        // Next in order: the extreme node of the subtree on the far side.
        let mut c = if self.rev { n.left } else { n.right };
        while c != NIL {
            self.stack.push(c);
            let cn = &nodes[c as usize];
            c = if self.rev { cn.right } else { cn.left };
        }
        Some(t)
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.next_index()?;
        let n = &self.set.nodes[t as usize];
        Some((&n.member, n.score))
    }
}

/// The placeholder member of free arena slots (one shared allocation).
fn empty_member() -> Arc<[u8]> {
    static EMPTY: std::sync::OnceLock<Arc<[u8]>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(&[][..])).clone()
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
    fn sorted_insertion_stays_balanced() {
        // A degenerate insertion order must not make the tree a list.
        let mut z = ZSetValue::new();
        for i in 0..50_000 {
            z.insert(format!("{i:08}").as_bytes(), i as f64, L);
        }
        fn depth(z: &ZSetValue, t: u32) -> usize {
            if t == NIL {
                0
            } else {
                1 + depth(z, z.nodes[t as usize].left).max(depth(z, z.nodes[t as usize].right))
            }
        }
        assert!(depth(&z, z.root) < 100, "depth {}", depth(&z, z.root));
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
