//! List values.
//!
//! Two internal forms:
//! - small lists (at most [`SMALL_ENTRIES`] elements of at most [`SMALL_VALUE`] bytes) are one
//!   [`Packed`] buffer of the elements, head first: no allocation per element, none at all for
//!   a few short ones. Pushing and popping move the buffer's bytes, and indexing walks it, which
//!   at this size costs about what a ring buffer's pointer chase does;
//! - past that, a ring buffer: O(1) push and pop at both ends and O(1) access by index, which
//!   covers LINDEX/LSET near the ends as cheaply as Redis's quicklist does.
//!
//! A list leaves the packed form for good. Neither form is what OBJECT ENCODING reports: Redis
//! 7.2 reports a small list as `listpack` and a large one as `quicklist`, so the list keeps a
//! running count of the bytes its elements would take in a single listpack and switches encoding
//! at Redis's thresholds (`list-max-listpack-size`: a byte size class when negative, an element
//! count when positive; half of that to shrink back, as Redis does).

use std::collections::VecDeque;

use arrayvec::ArrayVec;

use super::bytes::Bytes;
use super::packed::{canonical_i64, Entries, Packed};

/// Listpack header (total bytes + element count) plus its end marker.
const LISTPACK_OVERHEAD: usize = 7;

/// Most elements the packed form holds.
pub const SMALL_ENTRIES: usize = 32;
/// Longest element the packed form holds.
pub const SMALL_VALUE: usize = 64;

// Byte offsets inside the packed form fit 16 bits.
const _: () = assert!(SMALL_ENTRIES * (SMALL_VALUE + 1) < u16::MAX as usize);

/// `list-max-listpack-size`: a positive value is the most elements of a listpack, a negative
/// one its size class (-1 = 4 KB ... -5 = 64 KB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// The configured value.
    pub fill: i64,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits { fill: -2 }
    }
}

impl ListLimits {
    /// Redis's `quicklistNodeLimit`: (most bytes, most elements) of one listpack.
    fn node_limit(&self) -> (usize, usize) {
        const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
        if self.fill >= 0 {
            // At least one element per node; Redis counts in 32 bits.
            let count = (self.fill.max(1) as u64).min(u32::MAX as u64) as usize;
            (usize::MAX, count)
        } else {
            let level = usize::try_from(-(self.fill + 1)).unwrap_or(usize::MAX);
            (LEVELS[level.min(LEVELS.len() - 1)], u32::MAX as usize)
        }
    }

    /// Redis's `quicklistNodeExceedsLimit`: a count limit still refuses more than 8 KB.
    fn exceeds(&self, bytes: usize, count: usize) -> bool {
        let (size, max) = self.node_limit();
        if size != usize::MAX {
            bytes > size
        } else {
            bytes > 8192 || count > max
        }
    }

    /// True when a quicklist of `bytes` and `count` may shrink back to a listpack (half the
    /// limits, so that a list near them does not flip on every change).
    fn fits_half(&self, bytes: usize, count: usize) -> bool {
        let (size, max) = self.node_limit();
        bytes <= size / 2 && count <= max / 2
    }
}

/// A list of byte strings.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    /// The elements, head first, while `big` is None.
    small: Packed,
    /// The ring-buffer form, once the list outgrew `small`.
    big: Option<Box<Big>>,
    /// Elements in `small`.
    small_len: u16,
    /// Listpack bytes of `small`'s elements.
    small_bytes: u16,
    /// Reported as a quicklist (until the list shrinks to half the limit).
    quick: bool,
}

#[derive(Debug, Clone, Default)]
struct Big {
    items: VecDeque<Bytes>,
    /// Sum of the listpack entry sizes of `items`.
    entry_bytes: usize,
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (LEFT).
    Left,
    /// The tail (RIGHT).
    Right,
}

impl FromIterator<Vec<u8>> for ListValue {
    /// A list of these elements, encoded under Redis's default limits.
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(iter: I) -> Self {
        let mut l = ListValue::default();
        for v in iter {
            l.push(End::Right, v, ListLimits::default());
        }
        l
    }
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.big {
            Some(b) => b.items.len(),
            None => self.small_len as usize,
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, head first.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_range(0..self.len())
    }

    fn iter_range(&self, r: std::ops::Range<usize>) -> Iter<'_> {
        Iter(match &self.big {
            Some(b) => IterInner::Big(b.items.range(r)),
            None => {
                let mut entries = self.small.iter();
                for _ in 0..r.start {
                    entries.skip_one();
                }
                IterInner::Small(SmallIter {
                    packed: &self.small,
                    entries,
                    left: r.len(),
                    back: None,
                })
            }
        })
    }

    /// OBJECT ENCODING's answer, as Redis 7.2 gives it.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    fn entry_bytes(&self) -> usize {
        match &self.big {
            Some(b) => b.entry_bytes,
            None => self.small_bytes as usize,
        }
    }

    /// Moves to the ring-buffer form (if not there yet), with room for `extra` more elements.
    fn make_indexed(&mut self, extra: usize) -> &mut Big {
        if self.big.is_none() {
            let mut items = VecDeque::with_capacity(self.len() + extra);
            items.extend(self.small.iter().map(Bytes::new));
            let entry_bytes = self.small_bytes as usize;
            self.small.clear();
            self.small_len = 0;
            self.small_bytes = 0;
            self.big = Some(Box::new(Big { items, entry_bytes }));
        }
        self.big.as_mut().expect("just made")
    }

    /// Makes sure `add` more elements, the longest `longest` bytes, fit the packed form, or
    /// leaves it.
    fn room_for(&mut self, add: usize, longest: usize) {
        if self.big.is_none() && (self.len() + add > SMALL_ENTRIES || longest > SMALL_VALUE) {
            self.make_indexed(add);
        }
    }

    /// Maps a Redis index (negative counts from the tail) to a position, if in range.
    pub fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 {
            index.checked_add(len)?
        } else {
            index
        };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// Byte offset of the packed form's element at position `p` (its length at `p == len`).
    fn small_offset(&self, p: usize) -> usize {
        let mut it = self.small.iter();
        for _ in 0..p {
            it.skip_one();
        }
        it.offset()
    }

    /// The element at a Redis index.
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let p = self.position(index)?;
        match &self.big {
            Some(b) => b.items.get(p).map(|v| v.as_slice()),
            None => Some(self.small.entry(self.small_offset(p)).0),
        }
    }

    /// Adds one element at `end`.
    pub fn push(&mut self, end: End, v: Vec<u8>, lim: ListLimits) {
        self.grow_check(v.len(), 1, lim);
        self.room_for(1, v.len());
        let size = entry_size(&v);
        match &mut self.big {
            Some(b) => {
                b.entry_bytes += size;
                let v = Bytes::from_vec(v);
                match end {
                    End::Left => b.items.push_front(v),
                    End::Right => b.items.push_back(v),
                }
            }
            None => {
                let at = match end {
                    End::Left => 0,
                    End::Right => self.small.byte_len(),
                };
                self.small.splice(at, at, &[&v]);
                self.small_len += 1;
                self.small_bytes += size as u16;
            }
        }
    }

    /// Adds several elements at `end`, one after the other (LPUSH a b c leaves c at the head).
    pub fn push_all(&mut self, end: End, vs: Vec<Vec<u8>>, lim: ListLimits) {
        // Redis sizes the whole batch before converting, so one big batch converts at once.
        self.grow_check(vs.iter().map(|v| v.len()).sum(), vs.len(), lim);
        let longest = vs.iter().map(|v| v.len()).max().unwrap_or(0);
        self.room_for(vs.len(), longest);
        let size: usize = vs.iter().map(|v| entry_size(v)).sum();
        match &mut self.big {
            Some(b) => {
                b.entry_bytes += size;
                for v in vs {
                    let v = Bytes::from_vec(v);
                    match end {
                        End::Left => b.items.push_front(v),
                        End::Right => b.items.push_back(v),
                    }
                }
            }
            None => {
                // One splice: pushed on the left, the batch lands reversed.
                let refs: ArrayVec<&[u8], SMALL_ENTRIES> = match end {
                    End::Left => vs.iter().rev().map(|v| &v[..]).collect(),
                    End::Right => vs.iter().map(|v| &v[..]).collect(),
                };
                let at = match end {
                    End::Left => 0,
                    End::Right => self.small.byte_len(),
                };
                self.small.splice(at, at, &refs);
                self.small_len += vs.len() as u16;
                self.small_bytes += size as u16;
            }
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End, lim: ListLimits) -> Option<Vec<u8>> {
        let v = match &mut self.big {
            Some(b) => {
                let v = match end {
                    End::Left => b.items.pop_front(),
                    End::Right => b.items.pop_back(),
                }?;
                b.entry_bytes -= entry_size(&v);
                v.into_vec()
            }
            None => {
                if self.small_len == 0 {
                    return None;
                }
                let start = match end {
                    End::Left => 0,
                    End::Right => self.small_offset(self.small_len as usize - 1),
                };
                let (e, next) = self.small.entry(start);
                let v = e.to_vec();
                self.small.remove(start, next);
                self.small_len -= 1;
                self.small_bytes -= entry_size(&v) as u16;
                v
            }
        };
        self.shrink_check(lim);
        Some(v)
    }

    /// Removes up to `n` elements from `end`, in pop order.
    pub fn pop_many(&mut self, end: End, n: usize, lim: ListLimits) -> Vec<Vec<u8>> {
        let n = n.min(self.len());
        let out: Vec<Vec<u8>> = match &mut self.big {
            Some(b) => {
                let out: Vec<Vec<u8>> = match end {
                    End::Left => b.items.drain(..n).map(Bytes::into_vec).collect(),
                    End::Right => {
                        let start = b.items.len() - n;
                        b.items.drain(start..).rev().map(Bytes::into_vec).collect()
                    }
                };
                b.entry_bytes -= out.iter().map(|v| entry_size(v)).sum::<usize>();
                out
            }
            None => {
                let len = self.small_len as usize;
                let (from, to) = match end {
                    End::Left => (0, self.small_offset(n)),
                    End::Right => (self.small_offset(len - n), self.small.byte_len()),
                };
                let mut out: Vec<Vec<u8>> = Vec::with_capacity(n);
                let mut it = self.small.iter_at(from);
                while it.offset() < to {
                    out.push(it.next().expect("entry").to_vec());
                }
                if end == End::Right {
                    out.reverse();
                }
                self.small.remove(from, to);
                self.small_len -= n as u16;
                self.small_bytes -= out.iter().map(|v| entry_size(v)).sum::<usize>() as u16;
                out
            }
        };
        self.shrink_check(lim);
        out
    }

    /// Replaces the element at a Redis index; false when out of range.
    pub fn set(&mut self, index: i64, v: Vec<u8>, lim: ListLimits) -> bool {
        // Redis sizes the new element as one more before it even looks at the index.
        self.grow_check(v.len(), 1, lim);
        let Some(p) = self.position(index) else {
            return false;
        };
        self.room_for(0, v.len());
        let size = entry_size(&v);
        match &mut self.big {
            Some(b) => {
                let old = std::mem::replace(&mut b.items[p], Bytes::from_vec(v));
                b.entry_bytes = b.entry_bytes + size - entry_size(&old);
            }
            None => {
                let start = self.small_offset(p);
                let (old, end) = self.small.entry(start);
                let old_size = entry_size(old);
                self.small.splice(start, end, &[&v]);
                self.small_bytes = (self.small_bytes as usize + size - old_size) as u16;
            }
        }
        self.shrink_check(lim);
        true
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`; false when there is none.
    pub fn insert_at_pivot(
        &mut self,
        pivot: &[u8],
        v: Vec<u8>,
        after: bool,
        lim: ListLimits,
    ) -> bool {
        // Redis converts for the new element before it looks for the pivot.
        self.grow_check(v.len(), 1, lim);
        if self.big.is_none() {
            let Some((start, end)) = self.small.find(pivot, 1) else {
                return false;
            };
            if self.len() < SMALL_ENTRIES && v.len() <= SMALL_VALUE {
                let at = if after { end } else { start };
                self.small.splice(at, at, &[&v]);
                self.small_len += 1;
                self.small_bytes += entry_size(&v) as u16;
                return true;
            }
            self.make_indexed(1);
        }
        let b = self.big.as_mut().expect("ring-buffer form");
        let Some(p) = b.items.iter().position(|x| x.as_slice() == pivot) else {
            return false;
        };
        b.entry_bytes += entry_size(&v);
        b.items
            .insert(if after { p + 1 } else { p }, Bytes::from_vec(v));
        true
    }

    /// The elements between two Redis indexes, both inclusive, clamped as LRANGE clamps them.
    pub fn range(&self, start: i64, stop: i64) -> Iter<'_> {
        self.iter_range(self.clamp_range(start, stop).unwrap_or(0..0))
    }

    /// Keeps only the elements between two Redis indexes (LTRIM); returns how many were removed.
    pub fn trim(&mut self, start: i64, stop: i64, lim: ListLimits) -> usize {
        let before = self.len();
        let r = self.clamp_range(start, stop).unwrap_or(0..0);
        match &mut self.big {
            Some(b) => {
                b.items.truncate(r.end);
                b.items.drain(..r.start);
                b.entry_bytes = b.items.iter().map(|v| entry_size(v)).sum();
            }
            None => {
                let (from, to) = (self.small_offset(r.start), self.small_offset(r.end));
                let kept = Packed::from_entries(self.small.iter_at(from).take(r.len()));
                debug_assert_eq!(kept.byte_len(), to - from);
                self.small = kept;
                self.small_len = r.len() as u16;
                self.small_bytes = self.small.iter().map(entry_size).sum::<usize>() as u16;
            }
        }
        self.shrink_check(lim);
        before - self.len()
    }

    /// Removes elements equal to `v` (LREM): `count > 0` the first `count` from the head,
    /// `count < 0` the first `-count` from the tail, `0` all. Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64, lim: ListLimits) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let mut doomed: Vec<usize> = Vec::new();
        let matches = |(i, x): (usize, &[u8])| (x == v).then_some(i);
        if count < 0 {
            doomed.extend(
                self.iter()
                    .enumerate()
                    .rev()
                    .filter_map(matches)
                    .take(limit),
            );
            doomed.reverse();
        } else {
            doomed.extend(self.iter().enumerate().filter_map(matches).take(limit));
        }
        if doomed.is_empty() {
            return 0;
        }
        let mut next = doomed.iter().copied().peekable();
        let mut i = 0usize;
        let mut keep = |_: &[u8]| {
            let keep = next.peek() != Some(&i);
            if !keep {
                next.next();
            }
            i += 1;
            keep
        };
        let size = doomed.len() * entry_size(v);
        match &mut self.big {
            Some(b) => {
                b.items.retain(|x| keep(x));
                b.entry_bytes -= size;
            }
            None => {
                let kept: Vec<&[u8]> = self.small.iter().filter(|x| keep(x)).collect();
                self.small = Packed::from_entries(kept.iter().copied());
                self.small_len -= doomed.len() as u16;
                self.small_bytes -= size as u16;
            }
        }
        self.shrink_check(lim);
        doomed.len()
    }

    /// Positions of elements equal to `v` (LPOS): skip the first `rank - 1` matches, return at
    /// most `count` (0 = all), look at no more than `maxlen` elements (0 = all), scanning from
    /// the tail when `from_tail`. Positions are always counted from the head.
    pub fn positions(
        &self,
        v: &[u8],
        rank: u64,
        count: u64,
        maxlen: u64,
        from_tail: bool,
    ) -> Vec<usize> {
        let len = self.len();
        let scan = if maxlen == 0 {
            len
        } else {
            len.min(usize::try_from(maxlen).unwrap_or(usize::MAX))
        };
        let hits = |(i, x): (usize, &[u8])| (x == v).then_some(i);
        let skip = usize::try_from(rank.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count).unwrap_or(usize::MAX)
        };
        if from_tail {
            self.iter()
                .enumerate()
                .rev()
                .take(scan)
                .filter_map(hits)
                .skip(skip)
                .take(take)
                .collect()
        } else {
            self.iter()
                .enumerate()
                .take(scan)
                .filter_map(hits)
                .skip(skip)
                .take(take)
                .collect()
        }
    }

    /// LRANGE/LTRIM's clamping of two Redis indexes into a position range; None when empty.
    fn clamp_range(&self, start: i64, stop: i64) -> Option<std::ops::Range<usize>> {
        let len = self.len() as i64;
        let mut start = if start < 0 {
            start.saturating_add(len)
        } else {
            start
        };
        let mut stop = if stop < 0 {
            stop.saturating_add(len)
        } else {
            stop
        };
        if start < 0 {
            start = 0;
        }
        if start > stop || start >= len {
            return None;
        }
        if stop >= len {
            stop = len - 1;
        }
        Some(start as usize..stop as usize + 1)
    }

    /// Redis converts before adding when the listpack plus the raw new bytes (and elements)
    /// would pass the limit.
    fn grow_check(&mut self, add_bytes: usize, add_count: usize, lim: ListLimits) {
        if !self.quick
            && lim.exceeds(
                LISTPACK_OVERHEAD + self.entry_bytes() + add_bytes,
                self.len() + add_count,
            )
        {
            self.quick = true;
        }
    }

    /// Redis converts back once what is left fits in half a listpack.
    fn shrink_check(&mut self, lim: ListLimits) {
        if self.quick && lim.fits_half(LISTPACK_OVERHEAD + self.entry_bytes(), self.len()) {
            self.quick = false;
        }
    }
}

/// The elements of a [`ListValue`] (or of a range of it), head first; also walks backwards.
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Small(SmallIter<'a>),
    Big(std::collections::vec_deque::Iter<'a, Bytes>),
}

struct SmallIter<'a> {
    packed: &'a Packed,
    entries: Entries<'a>,
    left: usize,
    /// Offsets of the elements still to yield, made on the first step from the back.
    back: Option<ArrayVec<u16, SMALL_ENTRIES>>,
}

impl<'a> SmallIter<'a> {
    fn offsets(&mut self) -> &mut ArrayVec<u16, SMALL_ENTRIES> {
        let (entries, left) = (&self.entries, self.left);
        self.back.get_or_insert_with(|| {
            let mut it = entries.clone();
            let mut offs = ArrayVec::new();
            for _ in 0..left {
                offs.push(it.offset() as u16);
                it.skip_one();
            }
            offs
        })
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.0 {
            IterInner::Small(s) => {
                if s.left == 0 {
                    return None;
                }
                s.left -= 1;
                if let Some(offs) = &mut s.back {
                    let at = offs.remove(0) as usize;
                    return Some(s.packed.entry(at).0);
                }
                s.entries.next()
            }
            IterInner::Big(it) => it.next().map(|v| v.as_slice()),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterInner::Small(s) => s.left,
            IterInner::Big(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        match &mut self.0 {
            IterInner::Small(s) => {
                if s.left == 0 {
                    return None;
                }
                let packed = s.packed;
                let at = s.offsets().pop()? as usize;
                s.left -= 1;
                Some(packed.entry(at).0)
            }
            IterInner::Big(it) => it.next_back().map(|v| v.as_slice()),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Bytes one element takes in a listpack: encoding byte(s), data, back-length.
fn entry_size(v: &[u8]) -> usize {
    let body = match canonical_i64(v) {
        Some(i) => match i {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8_388_608..=8_388_607 => 4,
            -2_147_483_648..=2_147_483_647 => 5,
            _ => 9,
        },
        None => match v.len() {
            0..=63 => 1 + v.len(),
            64..=4095 => 2 + v.len(),
            n => 5 + n,
        },
    };
    let backlen = match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    body + backlen
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const D: ListLimits = ListLimits { fill: -2 };

    fn list(items: &[&str]) -> ListValue {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn strs<'a>(it: impl Iterator<Item = &'a [u8]>) -> Vec<String> {
        it.map(|v| String::from_utf8(v.to_vec()).unwrap()).collect()
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = ListValue::default();
        l.push_all(End::Left, vec![b"a".to_vec(), b"b".to_vec()], D);
        l.push(End::Right, b"c".to_vec(), D);
        assert_eq!(strs(l.iter()), ["b", "a", "c"]);
        assert_eq!(strs(l.iter().rev()), ["c", "a", "b"]);
        assert_eq!(l.pop(End::Right, D).unwrap(), b"c");
        assert_eq!(
            l.pop_many(End::Right, 5, D),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert!(l.is_empty());
    }

    #[test]
    fn indexes_and_ranges_clamp_like_redis() {
        let l = list(&["a", "b", "c", "d"]);
        assert_eq!(l.get(-1), Some(&b"d"[..]));
        assert_eq!(l.get(4), None);
        assert_eq!(l.get(i64::MIN), None);
        assert_eq!(strs(l.range(-100, 1)), ["a", "b"]);
        assert_eq!(strs(l.range(2, 100)), ["c", "d"]);
        assert_eq!(strs(l.range(3, 1)).len(), 0);
        assert_eq!(strs(l.range(i64::MIN, i64::MAX)).len(), 4);
    }

    #[test]
    fn trim_and_remove() {
        let mut l = list(&["a", "x", "b", "x", "c", "x"]);
        assert_eq!(l.remove_matching(b"x", -2, D), 2);
        assert_eq!(strs(l.iter()), ["a", "x", "b", "c"]);
        assert_eq!(l.remove_matching(b"x", 0, D), 1);
        assert_eq!(l.trim(1, -1, D), 1);
        assert_eq!(strs(l.iter()), ["b", "c"]);
        assert_eq!(l.trim(5, 10, D), 2);
        assert!(l.is_empty());
    }

    #[test]
    fn positions_follow_rank_count_maxlen() {
        let l = list(&["a", "b", "c", "1", "2", "3", "c", "c"]);
        assert_eq!(l.positions(b"c", 1, 1, 0, false), [2]);
        assert_eq!(l.positions(b"c", 2, 0, 0, false), [6, 7]);
        assert_eq!(l.positions(b"c", 1, 0, 0, true), [7, 6, 2]);
        assert_eq!(l.positions(b"c", 1, 0, 3, false), [2]);
        assert_eq!(l.positions(b"c", 1, 0, 2, true), [7, 6]);
    }

    #[test]
    fn encoding_switches_at_redis_thresholds() {
        let mut l = ListValue::default();
        l.push(End::Right, vec![b'x'; 100], D);
        assert_eq!(l.encoding(), "listpack");
        for _ in 0..80 {
            l.push(End::Right, vec![b'x'; 100], D);
        }
        assert_eq!(l.encoding(), "quicklist");
        while l.len() > 50 {
            l.pop(End::Left, D);
        }
        assert_eq!(l.encoding(), "quicklist");
        while l.len() > 30 {
            l.pop(End::Left, D);
        }
        assert_eq!(l.encoding(), "listpack");
        let mut big = ListValue::default();
        big.push(End::Left, vec![b'y'; 9000], D);
        assert_eq!(big.encoding(), "quicklist");
    }

    #[test]
    fn configured_sizes_and_counts() {
        // A count limit: more than 4 elements is a quicklist, 2 or fewer converts back.
        let four = ListLimits { fill: 4 };
        let mut l = ListValue::default();
        l.push_all(End::Right, (0..4).map(|i| vec![b'0' + i]).collect(), four);
        assert_eq!(l.encoding(), "listpack");
        // LSET sizes its element as one more, as Redis does.
        l.set(0, b"z".to_vec(), four);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Left, four);
        assert_eq!(l.encoding(), "quicklist");
        l.pop(End::Left, four);
        assert_eq!(l.encoding(), "listpack");
        // A count limit still refuses more than 8 KB.
        let mut l = ListValue::default();
        l.push(End::Right, vec![b'x'; 9000], ListLimits { fill: 1000 });
        assert_eq!(l.encoding(), "quicklist");
        // Size classes: -1 is 4 KB, anything past -5 is 64 KB.
        let mut l = ListValue::default();
        l.push(End::Right, vec![b'x'; 5000], ListLimits { fill: -1 });
        assert_eq!(l.encoding(), "quicklist");
        let mut l = ListValue::default();
        l.push(End::Right, vec![b'x'; 60000], ListLimits { fill: -100 });
        assert_eq!(l.encoding(), "listpack");
        // 0 means one element per node.
        let mut l = ListValue::default();
        l.push(End::Right, b"a".to_vec(), ListLimits { fill: 0 });
        assert_eq!(l.encoding(), "listpack");
        l.push(End::Right, b"b".to_vec(), ListLimits { fill: 0 });
        assert_eq!(l.encoding(), "quicklist");
        // LINSERT converts for its element even when the pivot is missing.
        let mut l = list(&["a", "b"]);
        assert!(!l.insert_at_pivot(b"nope", b"c".to_vec(), true, ListLimits { fill: 2 }));
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn a_few_short_elements_take_no_allocation() {
        assert_eq!(std::mem::size_of::<ListValue>(), 40);
        let l = list(&["a", "bb", "ccc", "dddd", "eeeee"]);
        assert!(l.big.is_none());
        assert_eq!(l.small.heap_size(), 0);
    }

    /// The same rules on a plain deque.
    struct Model {
        items: VecDeque<Vec<u8>>,
        quick: bool,
    }

    impl Model {
        fn bytes(&self) -> usize {
            LISTPACK_OVERHEAD + self.items.iter().map(|v| entry_size(v)).sum::<usize>()
        }
        fn grow(&mut self, add: usize, n: usize, lim: ListLimits) {
            if !self.quick && lim.exceeds(self.bytes() + add, self.items.len() + n) {
                self.quick = true;
            }
        }
        fn shrink(&mut self, lim: ListLimits) {
            if self.quick && lim.fits_half(self.bytes(), self.items.len()) {
                self.quick = false;
            }
        }
    }

    #[test]
    fn randomized_against_a_model_across_both_forms() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(31);
        for round in 0..300 {
            let lim = ListLimits {
                fill: [-2, -1, -5, 0, 1, 3, 10, 31, 32, 33, 128][round % 11],
            };
            let mut l = ListValue::default();
            let mut m = Model {
                items: VecDeque::new(),
                quick: false,
            };
            let elem = |rng: &mut rand::rngs::StdRng| -> Vec<u8> {
                match rng.gen_range(0..40) {
                    0 => vec![b'L'; rng.gen_range(60..200)],
                    1..=10 => rng.gen_range(-200..200).to_string().into_bytes(),
                    _ => format!("e{}", rng.gen_range(0..8)).into_bytes(),
                }
            };
            let end = |rng: &mut rand::rngs::StdRng| {
                if rng.gen_bool(0.5) {
                    End::Left
                } else {
                    End::Right
                }
            };
            for _ in 0..250 {
                let idx = rng.gen_range(-45..45i64);
                match rng.gen_range(0..14) {
                    0..=3 => {
                        let (v, e) = (elem(&mut rng), end(&mut rng));
                        m.grow(v.len(), 1, lim);
                        match e {
                            End::Left => m.items.push_front(v.clone()),
                            End::Right => m.items.push_back(v.clone()),
                        }
                        l.push(e, v, lim);
                    }
                    4 => {
                        let n = rng.gen_range(0..6);
                        let vs: Vec<Vec<u8>> = (0..n).map(|_| elem(&mut rng)).collect();
                        let e = end(&mut rng);
                        m.grow(vs.iter().map(|v| v.len()).sum(), n, lim);
                        for v in &vs {
                            match e {
                                End::Left => m.items.push_front(v.clone()),
                                End::Right => m.items.push_back(v.clone()),
                            }
                        }
                        l.push_all(e, vs, lim);
                    }
                    5..=6 => {
                        let e = end(&mut rng);
                        let want = match e {
                            End::Left => m.items.pop_front(),
                            End::Right => m.items.pop_back(),
                        };
                        if want.is_some() {
                            m.shrink(lim);
                        }
                        assert_eq!(l.pop(e, lim), want);
                    }
                    7 => {
                        let (n, e) = (rng.gen_range(0..5), end(&mut rng));
                        let mut want = Vec::new();
                        for _ in 0..n {
                            let x = match e {
                                End::Left => m.items.pop_front(),
                                End::Right => m.items.pop_back(),
                            };
                            want.extend(x);
                        }
                        m.shrink(lim);
                        assert_eq!(l.pop_many(e, n, lim), want);
                    }
                    8 => {
                        let v = elem(&mut rng);
                        m.grow(v.len(), 1, lim);
                        let p = l.position(idx);
                        if let Some(p) = p {
                            m.items[p] = v.clone();
                            m.shrink(lim);
                        }
                        assert_eq!(l.set(idx, v, lim), p.is_some());
                    }
                    9 => {
                        let (pivot, v, after) = (elem(&mut rng), elem(&mut rng), rng.gen_bool(0.5));
                        m.grow(v.len(), 1, lim);
                        let p = m.items.iter().position(|x| *x == pivot);
                        if let Some(p) = p {
                            m.items.insert(if after { p + 1 } else { p }, v.clone());
                        }
                        assert_eq!(l.insert_at_pivot(&pivot, v, after, lim), p.is_some());
                    }
                    10 => {
                        let (v, count) = (elem(&mut rng), rng.gen_range(-2..3i64));
                        let mut doomed: Vec<usize> =
                            (0..m.items.len()).filter(|&i| m.items[i] == v).collect();
                        let limit = if count == 0 {
                            usize::MAX
                        } else {
                            count.unsigned_abs() as usize
                        };
                        if count < 0 {
                            doomed.reverse();
                        }
                        doomed.truncate(limit);
                        doomed.sort_unstable();
                        for &i in doomed.iter().rev() {
                            m.items.remove(i);
                        }
                        if !doomed.is_empty() {
                            m.shrink(lim);
                        }
                        assert_eq!(l.remove_matching(&v, count, lim), doomed.len());
                    }
                    11 if rng.gen_bool(0.2) => {
                        let (a, b) = (rng.gen_range(-40..40), rng.gen_range(-40..40));
                        let r = l.clamp_range(a, b).unwrap_or(0..0);
                        let before = m.items.len();
                        m.items = m.items.range(r.clone()).cloned().collect();
                        m.shrink(lim);
                        assert_eq!(l.trim(a, b, lim), before - r.len());
                    }
                    _ => {
                        let p = l.position(idx);
                        assert_eq!(l.get(idx), p.map(|p| &m.items[p][..]));
                        let (a, b) = (rng.gen_range(-40..40), rng.gen_range(-40..40));
                        let r = l.clamp_range(a, b).unwrap_or(0..0);
                        let want: Vec<&[u8]> = m.items.range(r).map(|v| &v[..]).collect();
                        let got: Vec<&[u8]> = l.range(a, b).collect();
                        assert_eq!(got, want);
                        let mut back: Vec<&[u8]> = l.range(a, b).rev().collect();
                        back.reverse();
                        assert_eq!(back, want);
                        // Both ends at once.
                        let mut it = l.iter();
                        let (mut front, mut tail) = (Vec::new(), Vec::new());
                        loop {
                            let x = if rng.gen_bool(0.5) {
                                it.next().map(|x| front.push(x))
                            } else {
                                it.next_back().map(|x| tail.push(x))
                            };
                            if x.is_none() && it.len() == 0 {
                                break;
                            }
                        }
                        tail.reverse();
                        front.extend(tail);
                        assert_eq!(front, m.items.iter().map(|v| &v[..]).collect::<Vec<_>>());
                        let v = elem(&mut rng);
                        let want: Vec<usize> = (0..m.items.len())
                            .rev()
                            .filter(|&i| m.items[i] == v)
                            .collect();
                        assert_eq!(l.positions(&v, 1, 0, 0, true), want);
                    }
                }
                assert_eq!(l.len(), m.items.len());
                assert_eq!(l.entry_bytes() + LISTPACK_OVERHEAD, m.bytes());
                assert_eq!(l.encoding(), if m.quick { "quicklist" } else { "listpack" });
                if l.big.is_none() {
                    assert!(l.len() <= SMALL_ENTRIES);
                }
            }
            let got: Vec<Vec<u8>> = l.iter().map(|v| v.to_vec()).collect();
            assert_eq!(got, Vec::from(m.items));
        }
    }

    #[test]
    fn integers_are_sized_as_integers() {
        assert_eq!(entry_size(b"5"), 2);
        assert_eq!(entry_size(b"05"), 4);
        assert_eq!(entry_size(b"-1"), 3);
        assert_eq!(entry_size(b"hello"), 7);
    }
}
