//! An order-statistic B+ tree over (score, member) pairs: the ordered index of a sorted set.
//!
//! Leaves hold up to [`CAP`] items in order, with scores and members in separate inline arrays so
//! a search reads only a few cache lines of scores (members only on ties); leaves are linked both
//! ways for range walks. Inner nodes hold, per child, its item count and a separator: a lower
//! bound of the child's items that is above every item of the previous child (the child's first
//! item when it was set; removals leave it a valid bound). Insert, remove, rank, access by rank
//! and monotone-predicate searches are O(log n) and touch 4-5 nodes on a million members, the top
//! levels of which stay in cache: the reason for a B+ tree rather than a binary one.
//!
//! All leaves are at the same depth, so a node's level says whether its children are leaves or
//! inner nodes; both live in arenas indexed by `u32`.

use std::sync::Arc;

use arrayvec::ArrayVec;

/// Most items a leaf holds, and most children an inner node holds.
pub const CAP: usize = 32;
/// A node with fewer items (or children) than this is merged with, or refilled from, a sibling.
const LOW: usize = CAP / 4;
const NIL: u32 = u32::MAX;

type Member = Arc<[u8]>;

#[derive(Debug, Clone)]
struct Leaf {
    scores: ArrayVec<f64, CAP>,
    members: ArrayVec<Member, CAP>,
    prev: u32,
    next: u32,
}

impl Leaf {
    fn new() -> Leaf {
        Leaf {
            scores: ArrayVec::new(),
            members: ArrayVec::new(),
            prev: NIL,
            next: NIL,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.scores.len()
    }

    /// First position whose item is not below (score, member).
    #[inline]
    fn lower_bound(&self, score: f64, member: &[u8]) -> usize {
        let mut i = count_below(&self.scores, score);
        while i < self.len() && self.scores[i] == score && below(&self.members[i], member) {
            i += 1;
        }
        i
    }

    #[inline]
    fn is_at(&self, i: usize, score: f64, member: &[u8]) -> bool {
        i < self.len() && self.scores[i] == score && same(&self.members[i], member)
    }
}

#[derive(Debug, Clone)]
struct Inner {
    children: ArrayVec<u32, CAP>,
    counts: ArrayVec<usize, CAP>,
    /// Separator of each child; the first child's is kept but never consulted by searches.
    sep_scores: ArrayVec<f64, CAP>,
    sep_members: ArrayVec<Member, CAP>,
}

impl Inner {
    fn new() -> Inner {
        Inner {
            children: ArrayVec::new(),
            counts: ArrayVec::new(),
            sep_scores: ArrayVec::new(),
            sep_members: ArrayVec::new(),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.children.len()
    }

    /// The child whose range holds (score, member): the last one whose separator is not above.
    #[inline]
    fn route(&self, score: f64, member: &[u8]) -> usize {
        let mut i = count_below(&self.sep_scores[1..], score) + 1;
        while i < self.len()
            && self.sep_scores[i] == score
            && (same(&self.sep_members[i], member) || below(&self.sep_members[i], member))
        {
            i += 1;
        }
        i - 1
    }

    fn insert_child(&mut self, at: usize, child: u32, count: usize, score: f64, member: Member) {
        self.children.insert(at, child);
        self.counts.insert(at, count);
        self.sep_scores.insert(at, score);
        self.sep_members.insert(at, member);
    }

    fn remove_child(&mut self, at: usize) -> (u32, usize, f64, Member) {
        (
            self.children.remove(at),
            self.counts.remove(at),
            self.sep_scores.remove(at),
            self.sep_members.remove(at),
        )
    }
}

/// How many of the (sorted) `scores` are below `score`: a branch-free count the compiler
/// vectorises, cheaper than a binary search over 32 values.
#[inline]
fn count_below(scores: &[f64], score: f64) -> usize {
    scores.iter().map(|&s| (s < score) as usize).sum()
}

/// Member equality that skips reading the bytes when both are the same allocation (the sorted
/// set's dictionary and tree share each member's `Arc`).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
}

#[inline]
fn below(a: &[u8], b: &[u8]) -> bool {
    !std::ptr::eq(a.as_ptr(), b.as_ptr()) && a < b
}

/// A free arena slot, or a new one at the end.
fn take_slot<T>(arena: &mut Vec<T>, free: &mut Vec<u32>, make: impl FnOnce() -> T) -> u32 {
    if let Some(i) = free.pop() {
        return i;
    }
    super::reserve_gently(arena.len(), arena.capacity(), |n| arena.reserve_exact(n));
    arena.push(make());
    (arena.len() - 1) as u32
}

/// What a node split hands to its parent: the new right sibling, its separator and item count.
struct Split {
    node: u32,
    score: f64,
    member: Member,
    count: usize,
}

/// An order-statistic B+ tree of distinct (score, member) items.
#[derive(Debug, Clone)]
pub struct OsTree {
    leaves: Vec<Leaf>,
    inners: Vec<Inner>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    root: u32,
    /// 0 when the root is a leaf.
    height: u32,
    len: usize,
}

impl Default for OsTree {
    fn default() -> Self {
        OsTree {
            leaves: vec![Leaf::new()],
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
        }
    }
}

impl OsTree {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Levels of inner nodes above the leaves.
    pub fn height(&self) -> u32 {
        self.height
    }

    fn new_leaf(&mut self) -> u32 {
        take_slot(&mut self.leaves, &mut self.free_leaves, Leaf::new)
    }

    fn new_inner(&mut self) -> u32 {
        take_slot(&mut self.inners, &mut self.free_inners, Inner::new)
    }

    /// Takes the items in `range` out of leaf `id`.
    fn drain_leaf(&mut self, id: u32, range: std::ops::Range<usize>) -> (Vec<f64>, Vec<Member>) {
        let l = &mut self.leaves[id as usize];
        (
            l.scores.drain(range.clone()).collect(),
            l.members.drain(range).collect(),
        )
    }

    fn free_leaf(&mut self, i: u32) {
        let l = &mut self.leaves[i as usize];
        l.scores.clear();
        l.members.clear();
        l.prev = NIL;
        l.next = NIL;
        self.free_leaves.push(i);
    }

    fn free_inner(&mut self, i: u32) {
        let n = &mut self.inners[i as usize];
        n.children.clear();
        n.counts.clear();
        n.sep_scores.clear();
        n.sep_members.clear();
        self.free_inners.push(i);
    }

    /// Inserts an item known not to be present.
    pub fn insert(&mut self, score: f64, member: Member) {
        if let Some(s) = self.insert_rec(self.root, self.height, score, member) {
            let total = self.len + 1;
            let old = self.root;
            let root = self.new_inner();
            let r = &mut self.inners[root as usize];
            r.insert_child(0, old, total - s.count, s.score, s.member.clone());
            r.insert_child(1, s.node, s.count, s.score, s.member);
            self.root = root;
            self.height += 1;
        }
        self.len += 1;
    }

    fn insert_rec(&mut self, node: u32, level: u32, score: f64, member: Member) -> Option<Split> {
        if level == 0 {
            let leaf = &mut self.leaves[node as usize];
            let pos = leaf.lower_bound(score, &member);
            if leaf.len() < CAP {
                leaf.scores.insert(pos, score);
                leaf.members.insert(pos, member);
                return None;
            }
            let right = self.new_leaf();
            // Appending at an end (ascending or descending scores, the common case for
            // timestamps) leaves the old leaf full instead of two half-empty ones.
            let cut = match pos {
                CAP => CAP,
                0 => 0,
                _ => CAP / 2,
            };
            let (moved_s, moved_m) = self.drain_leaf(node, cut..CAP);
            let old_next = self.leaves[node as usize].next;
            {
                let r = &mut self.leaves[right as usize];
                r.scores.extend(moved_s);
                r.members.extend(moved_m);
                r.prev = node;
                r.next = old_next;
            }
            self.leaves[node as usize].next = right;
            if old_next != NIL {
                self.leaves[old_next as usize].prev = right;
            }
            let (target, at) = if pos < cut || (pos == cut && cut < CAP) {
                (node, pos)
            } else {
                (right, pos - cut)
            };
            let t = &mut self.leaves[target as usize];
            t.scores.insert(at, score);
            t.members.insert(at, member);
            let r = &self.leaves[right as usize];
            return Some(Split {
                node: right,
                score: r.scores[0],
                member: r.members[0].clone(),
                count: r.len(),
            });
        }
        let i = self.inners[node as usize].route(score, &member);
        self.inners[node as usize].counts[i] += 1;
        let child = self.inners[node as usize].children[i];
        let s = self.insert_rec(child, level - 1, score, member)?;
        self.inners[node as usize].counts[i] -= s.count;
        let at = i + 1;
        if self.inners[node as usize].len() < CAP {
            self.inners[node as usize].insert_child(at, s.node, s.count, s.score, s.member);
            return None;
        }
        let right = self.new_inner();
        let cut = if at == CAP { CAP } else { CAP / 2 };
        let moved = {
            let n = &mut self.inners[node as usize];
            (
                n.children.drain(cut..).collect::<Vec<_>>(),
                n.counts.drain(cut..).collect::<Vec<_>>(),
                n.sep_scores.drain(cut..).collect::<Vec<_>>(),
                n.sep_members.drain(cut..).collect::<Vec<_>>(),
            )
        };
        {
            let r = &mut self.inners[right as usize];
            r.children.extend(moved.0);
            r.counts.extend(moved.1);
            r.sep_scores.extend(moved.2);
            r.sep_members.extend(moved.3);
        }
        let (target, at) = if at < cut || (at == cut && cut < CAP) {
            (node, at)
        } else {
            (right, at - cut)
        };
        self.inners[target as usize].insert_child(at, s.node, s.count, s.score, s.member);
        let r = &self.inners[right as usize];
        Some(Split {
            node: right,
            score: r.sep_scores[0],
            member: r.sep_members[0].clone(),
            count: r.counts.iter().sum(),
        })
    }

    /// Removes an item; false when it was not present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        if !self.remove_rec(self.root, self.height, score, member) {
            return false;
        }
        self.len -= 1;
        while self.height > 0 && self.inners[self.root as usize].len() == 1 {
            let old = self.root;
            self.root = self.inners[old as usize].children[0];
            self.height -= 1;
            self.free_inner(old);
        }
        self.maybe_compact();
        true
    }

    fn remove_rec(&mut self, node: u32, level: u32, score: f64, member: &[u8]) -> bool {
        if level == 0 {
            let leaf = &mut self.leaves[node as usize];
            let pos = leaf.lower_bound(score, member);
            if !leaf.is_at(pos, score, member) {
                return false;
            }
            leaf.scores.remove(pos);
            leaf.members.remove(pos);
            return true;
        }
        let i = self.inners[node as usize].route(score, member);
        let child = self.inners[node as usize].children[i];
        if !self.remove_rec(child, level - 1, score, member) {
            return false;
        }
        self.inners[node as usize].counts[i] -= 1;
        self.rebalance(node, level, i);
        true
    }

    fn fill(&self, node: u32, level: u32) -> usize {
        if level == 0 {
            self.leaves[node as usize].len()
        } else {
            self.inners[node as usize].len()
        }
    }

    /// Keeps child `i` of `node` (at `level`) from getting too small: merges it with a sibling
    /// when both fit in one node, else moves items over from the sibling.
    fn rebalance(&mut self, node: u32, level: u32, i: usize) {
        let child_level = level - 1;
        let n = &self.inners[node as usize];
        if n.len() < 2 || self.fill(n.children[i], child_level) >= LOW {
            return;
        }
        let (a, b) = if i + 1 < n.len() {
            (i, i + 1)
        } else {
            (i - 1, i)
        };
        let (na, nb) = (n.children[a], n.children[b]);
        let (fa, fb) = (self.fill(na, child_level), self.fill(nb, child_level));
        if fa + fb <= CAP {
            self.merge(node, child_level, a, b);
        } else if fa < fb {
            self.shift_left(node, child_level, a, b, (fb - fa) / 2);
        } else {
            self.shift_right(node, child_level, a, b, (fa - fb) / 2);
        }
    }

    /// Moves everything of child `b` into child `a` (its left neighbour) and drops `b`.
    fn merge(&mut self, node: u32, child_level: u32, a: usize, b: usize) {
        let (nb, count_b, sep_s, sep_m) = self.inners[node as usize].remove_child(b);
        let na = self.inners[node as usize].children[a];
        self.inners[node as usize].counts[a] += count_b;
        if child_level == 0 {
            let next = self.leaves[nb as usize].next;
            let all = self.leaves[nb as usize].len();
            let (s, m) = self.drain_leaf(nb, 0..all);
            let la = &mut self.leaves[na as usize];
            la.scores.extend(s);
            la.members.extend(m);
            la.next = next;
            if next != NIL {
                self.leaves[next as usize].prev = na;
            }
            self.free_leaf(nb);
        } else {
            let mut moved = std::mem::replace(&mut self.inners[nb as usize], Inner::new());
            // `b`'s first child is bounded below by `b`'s separator in the parent.
            moved.sep_scores[0] = sep_s;
            moved.sep_members[0] = sep_m;
            let ia = &mut self.inners[na as usize];
            ia.children.extend(moved.children);
            ia.counts.extend(moved.counts);
            ia.sep_scores.extend(moved.sep_scores);
            ia.sep_members.extend(moved.sep_members);
            self.free_inners.push(nb);
        }
    }

    /// Moves the first `k` items (children) of child `b` to the end of child `a`.
    fn shift_left(&mut self, node: u32, child_level: u32, a: usize, b: usize, k: usize) {
        let (na, nb) = {
            let n = &self.inners[node as usize];
            (n.children[a], n.children[b])
        };
        let moved_count;
        let (new_s, new_m);
        if child_level == 0 {
            let (s, m) = self.drain_leaf(nb, 0..k);
            moved_count = k;
            let la = &mut self.leaves[na as usize];
            la.scores.extend(s);
            la.members.extend(m);
            let lb = &self.leaves[nb as usize];
            new_s = lb.scores[0];
            new_m = lb.members[0].clone();
        } else {
            let (old_s, old_m) = {
                let n = &self.inners[node as usize];
                (n.sep_scores[b], n.sep_members[b].clone())
            };
            let ib = &mut self.inners[nb as usize];
            let c: Vec<u32> = ib.children.drain(..k).collect();
            let cnt: Vec<usize> = ib.counts.drain(..k).collect();
            let mut ss: Vec<f64> = ib.sep_scores.drain(..k).collect();
            let mut sm: Vec<Member> = ib.sep_members.drain(..k).collect();
            new_s = ib.sep_scores[0];
            new_m = ib.sep_members[0].clone();
            ss[0] = old_s;
            sm[0] = old_m;
            moved_count = cnt.iter().sum();
            let ia = &mut self.inners[na as usize];
            ia.children.extend(c);
            ia.counts.extend(cnt);
            ia.sep_scores.extend(ss);
            ia.sep_members.extend(sm);
        }
        let n = &mut self.inners[node as usize];
        n.counts[a] += moved_count;
        n.counts[b] -= moved_count;
        n.sep_scores[b] = new_s;
        n.sep_members[b] = new_m;
    }

    /// Moves the last `k` items (children) of child `a` to the front of child `b`.
    fn shift_right(&mut self, node: u32, child_level: u32, a: usize, b: usize, k: usize) {
        let (na, nb) = {
            let n = &self.inners[node as usize];
            (n.children[a], n.children[b])
        };
        let moved_count;
        let (new_s, new_m);
        if child_level == 0 {
            let len = self.leaves[na as usize].len();
            let (s, m) = self.drain_leaf(na, len - k..len);
            moved_count = k;
            new_s = s[0];
            new_m = m[0].clone();
            let lb = &mut self.leaves[nb as usize];
            for (j, (x, y)) in s.into_iter().zip(m).enumerate() {
                lb.scores.insert(j, x);
                lb.members.insert(j, y);
            }
        } else {
            let (old_s, old_m) = {
                let n = &self.inners[node as usize];
                (n.sep_scores[b], n.sep_members[b].clone())
            };
            let ia = &mut self.inners[na as usize];
            let from = ia.len() - k;
            let c: Vec<u32> = ia.children.drain(from..).collect();
            let cnt: Vec<usize> = ia.counts.drain(from..).collect();
            let ss: Vec<f64> = ia.sep_scores.drain(from..).collect();
            let sm: Vec<Member> = ia.sep_members.drain(from..).collect();
            moved_count = cnt.iter().sum();
            new_s = ss[0];
            new_m = sm[0].clone();
            let ib = &mut self.inners[nb as usize];
            // `b`'s old first child now follows the moved ones: it gets `b`'s old separator.
            ib.sep_scores[0] = old_s;
            ib.sep_members[0] = old_m;
            for (j, (((c, n), s), m)) in c.into_iter().zip(cnt).zip(ss).zip(sm).enumerate() {
                ib.insert_child(j, c, n, s, m);
            }
        }
        let n = &mut self.inners[node as usize];
        n.counts[a] -= moved_count;
        n.counts[b] += moved_count;
        n.sep_scores[b] = new_s;
        n.sep_members[b] = new_m;
    }

    /// Rebuilds the tree densely when most arena slots are free (after big removals).
    fn maybe_compact(&mut self) {
        let slots = self.leaves.len() + self.inners.len();
        let free = self.free_leaves.len() + self.free_inners.len();
        if slots > 64 && free * 2 > slots {
            let items: Vec<(f64, Member)> = self.iter_from(0, false).map_owned().collect();
            *self = OsTree::from_sorted(items);
        }
    }

    /// A tree holding `items`, which must be sorted and distinct; leaves are filled to 3/4 so
    /// the next inserts do not split at once.
    pub fn from_sorted(items: Vec<(f64, Member)>) -> OsTree {
        let mut t = OsTree {
            leaves: Vec::new(),
            inners: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: 0,
            height: 0,
            len: items.len(),
        };
        let per = CAP * 3 / 4;
        t.leaves.reserve_exact(items.len().div_ceil(per).max(1));
        let mut level: Vec<(u32, usize, f64, Member)> = Vec::new();
        let mut it = items.into_iter().peekable();
        loop {
            let id = t.leaves.len() as u32;
            let mut leaf = Leaf::new();
            for (s, m) in it.by_ref().take(per) {
                leaf.scores.push(s);
                leaf.members.push(m);
            }
            if leaf.len() == 0 && id > 0 {
                break;
            }
            if id > 0 {
                leaf.prev = id - 1;
                t.leaves[id as usize - 1].next = id;
            }
            let (s, m) = match leaf.len() {
                0 => (0.0, Member::from(&[][..])),
                _ => (leaf.scores[0], leaf.members[0].clone()),
            };
            level.push((id, leaf.len(), s, m));
            t.leaves.push(leaf);
            if it.peek().is_none() {
                break;
            }
        }
        while level.len() > 1 {
            let mut up = Vec::with_capacity(level.len().div_ceil(per));
            let mut chunks = level.into_iter().peekable();
            while chunks.peek().is_some() {
                let id = t.inners.len() as u32;
                let mut n = Inner::new();
                for (c, cnt, s, m) in chunks.by_ref().take(per) {
                    n.insert_child(n.len(), c, cnt, s, m);
                }
                let total = n.counts.iter().sum();
                let (s, m) = (n.sep_scores[0], n.sep_members[0].clone());
                t.inners.push(n);
                up.push((id, total, s, m));
            }
            level = up;
            t.height += 1;
        }
        t.root = level[0].0;
        t
    }

    /// 0-based position of (score, member), if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut node = self.root;
        let mut before = 0;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let i = n.route(score, member);
            before += n.counts[..i].iter().sum::<usize>();
            node = n.children[i];
        }
        let leaf = &self.leaves[node as usize];
        let pos = leaf.lower_bound(score, member);
        leaf.is_at(pos, score, member).then_some(before + pos)
    }

    /// (leaf, position) of the item at rank `k`.
    fn locate(&self, mut k: usize) -> Option<(u32, usize)> {
        if k >= self.len {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let mut i = 0;
            while k >= n.counts[i] {
                k -= n.counts[i];
                i += 1;
            }
            node = n.children[i];
        }
        Some((node, k))
    }

    /// The item at rank `k`.
    pub fn get(&self, k: usize) -> Option<(&[u8], f64)> {
        let (leaf, pos) = self.locate(k)?;
        let l = &self.leaves[leaf as usize];
        Some((&l.members[pos], l.scores[pos]))
    }

    /// Number of items before the first one for which `before` is false (`before` must hold on a
    /// prefix of the order and fail on the rest).
    pub fn count_before(&self, mut before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut node = self.root;
        let mut count = 0;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let mut i = 1;
            while i < n.len() && before(n.sep_scores[i], &n.sep_members[i]) {
                i += 1;
            }
            count += n.counts[..i - 1].iter().sum::<usize>();
            node = n.children[i - 1];
        }
        let leaf = &self.leaves[node as usize];
        // Binary search: the predicate is monotone.
        let (mut lo, mut hi) = (0, leaf.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if before(leaf.scores[mid], &leaf.members[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        count + lo
    }

    /// Items in ascending order from rank `start`, or descending from rank `start` counted from
    /// the top when `rev`.
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        let remaining = self.len.saturating_sub(start);
        let k = if rev {
            self.len.wrapping_sub(1).wrapping_sub(start)
        } else {
            start
        };
        let (leaf, pos) = if remaining > 0 {
            self.locate(k).expect("rank in range")
        } else {
            (NIL, 0)
        };
        Iter {
            tree: self,
            leaf,
            pos,
            remaining,
            rev,
        }
    }

    #[cfg(test)]
    pub(crate) fn check(&self) {
        use super::zset::cmp_entry;
        use std::cmp::Ordering;
        fn walk(
            t: &OsTree,
            node: u32,
            level: u32,
            lo: Option<(f64, &[u8])>,
            leaves: &mut Vec<u32>,
        ) -> usize {
            if level == 0 {
                let l = &t.leaves[node as usize];
                assert_eq!(l.scores.len(), l.members.len());
                for i in 0..l.len() {
                    if let Some((s, m)) = lo {
                        assert_ne!(cmp_entry(l.scores[i], &l.members[i], s, m), Ordering::Less);
                    }
                    if i > 0 {
                        assert_eq!(
                            cmp_entry(
                                l.scores[i - 1],
                                &l.members[i - 1],
                                l.scores[i],
                                &l.members[i]
                            ),
                            Ordering::Less
                        );
                    }
                }
                leaves.push(node);
                return l.len();
            }
            let n = &t.inners[node as usize];
            assert!(n.len() >= 1);
            let mut total = 0;
            for i in 0..n.len() {
                let bound = if i == 0 {
                    lo
                } else {
                    Some((n.sep_scores[i], &n.sep_members[i][..]))
                };
                let c = walk(t, n.children[i], level - 1, bound, leaves);
                assert_eq!(c, n.counts[i]);
                total += c;
            }
            total
        }
        let mut leaves = Vec::new();
        let total = walk(self, self.root, self.height, None, &mut leaves);
        assert_eq!(total, self.len);
        // Leaf links follow the in-order sequence; upper bounds follow from the next leaf's lower one.
        assert_eq!(self.leaves[leaves[0] as usize].prev, NIL);
        assert_eq!(self.leaves[*leaves.last().unwrap() as usize].next, NIL);
        for w in leaves.windows(2) {
            assert_eq!(self.leaves[w[0] as usize].next, w[1]);
            assert_eq!(self.leaves[w[1] as usize].prev, w[0]);
        }
        let all: Vec<_> = self.iter_from(0, false).collect();
        assert_eq!(all.len(), self.len);
        for w in all.windows(2) {
            assert_eq!(cmp_entry(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
        }
    }
}

/// A walk over an [`OsTree`] from some rank, ascending or descending.
pub struct Iter<'a> {
    tree: &'a OsTree,
    leaf: u32,
    pos: usize,
    remaining: usize,
    rev: bool,
}

impl<'a> Iter<'a> {
    /// The same walk yielding owned items.
    fn map_owned(self) -> impl Iterator<Item = (f64, Member)> + 'a {
        let tree = self.tree;
        let mut pos = (self.leaf, self.pos, self.remaining);
        let rev = self.rev;
        std::iter::from_fn(move || {
            if pos.2 == 0 {
                return None;
            }
            let l = &tree.leaves[pos.0 as usize];
            let item = (l.scores[pos.1], l.members[pos.1].clone());
            pos = advance(tree, pos, rev);
            Some(item)
        })
    }
}

fn advance(
    tree: &OsTree,
    (leaf, pos, remaining): (u32, usize, usize),
    rev: bool,
) -> (u32, usize, usize) {
    let remaining = remaining - 1;
    if remaining == 0 {
        return (leaf, pos, 0);
    }
    let l = &tree.leaves[leaf as usize];
    if !rev {
        if pos + 1 < l.len() {
            (leaf, pos + 1, remaining)
        } else {
            (l.next, 0, remaining)
        }
    } else if pos > 0 {
        (leaf, pos - 1, remaining)
    } else {
        let p = l.prev;
        (p, tree.leaves[p as usize].len() - 1, remaining)
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let l = &self.tree.leaves[self.leaf as usize];
        let item = (&l.members[self.pos][..], l.scores[self.pos]);
        (self.leaf, self.pos, self.remaining) =
            advance(self.tree, (self.leaf, self.pos, self.remaining), self.rev);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::super::zset::cmp_entry;
    use super::*;
    use rand::{Rng, SeedableRng};

    fn m(s: &str) -> Member {
        Member::from(s.as_bytes())
    }

    #[test]
    fn random_operations_match_a_sorted_vec() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for round in 0..12 {
            let mut t = OsTree::default();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            let universe = [50, 400, 5000][round % 3];
            for step in 0..6000 {
                let key = format!("m{}", rng.gen_range(0..universe));
                let score = rng.gen_range(-20..20) as f64;
                let pos =
                    model.binary_search_by(|(s, mm)| cmp_entry(*s, mm, score, key.as_bytes()));
                if rng.gen_bool(0.55) {
                    if let Err(p) = pos {
                        t.insert(score, m(&key));
                        model.insert(p, (score, key.into_bytes()));
                    }
                } else {
                    let removed = t.remove(score, key.as_bytes());
                    assert_eq!(removed, pos.is_ok());
                    if let Ok(p) = pos {
                        model.remove(p);
                    }
                }
                assert_eq!(t.len(), model.len());
                if step % 50 == 0 {
                    let k = rng.gen_range(0..=model.len());
                    assert_eq!(
                        t.get(k).map(|(mm, s)| (s, mm.to_vec())),
                        model.get(k).cloned()
                    );
                    if let Some((s, mm)) = model.get(k) {
                        assert_eq!(t.rank(*s, mm), Some(k));
                    }
                    let fwd: Vec<_> = t
                        .iter_from(k, false)
                        .map(|(mm, s)| (s, mm.to_vec()))
                        .collect();
                    assert_eq!(fwd, model[k.min(model.len())..].to_vec());
                    let rev: Vec<_> = t
                        .iter_from(k, true)
                        .map(|(mm, s)| (s, mm.to_vec()))
                        .collect();
                    let mut want = model.clone();
                    want.reverse();
                    assert_eq!(rev, want[k.min(want.len())..].to_vec());
                    let cut = rng.gen_range(-21..21) as f64;
                    assert_eq!(
                        t.count_before(|s, _| s < cut),
                        model.iter().filter(|e| e.0 < cut).count()
                    );
                }
                if step % 500 == 0 {
                    t.check();
                }
            }
            t.check();
            // Drain everything: the tree shrinks back to one leaf.
            for (s, mm) in std::mem::take(&mut model) {
                assert!(t.remove(s, &mm));
            }
            assert!(t.is_empty());
            assert_eq!(t.height(), 0);
            t.check();
        }
    }

    #[test]
    fn bulk_build_and_sequential_inserts_stay_shallow() {
        let items: Vec<_> = (0..100_000)
            .map(|i| (i as f64, m(&format!("{i:08}"))))
            .collect();
        let t = OsTree::from_sorted(items);
        t.check();
        assert_eq!(t.rank(50_000.0, b"00050000"), Some(50_000));
        let mut t = OsTree::default();
        for i in 0..100_000 {
            t.insert(i as f64, m(&format!("{i:08}")));
        }
        assert!(t.height() <= 4, "height {}", t.height());
        // Ascending inserts leave full leaves behind them.
        let used = t.leaves.len() - t.free_leaves.len();
        assert!(used <= 100_000 / (CAP - 1) + 2, "{used} leaves");
        t.check();
        let mut d = OsTree::default();
        for i in (0..10_000).rev() {
            d.insert(i as f64, m(&format!("{i:08}")));
        }
        assert!(
            d.leaves.len() <= 10_000 / (CAP - 1) + 2,
            "{} leaves",
            d.leaves.len()
        );
        d.check();
        for i in (0..100_000).rev() {
            assert!(t.remove(i as f64, format!("{i:08}").as_bytes()));
        }
        t.check();
        assert!(OsTree::from_sorted(Vec::new()).is_empty());
    }
}
