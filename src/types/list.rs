//! List values.
//!
//! A ring buffer gives O(1) push and pop at both ends and O(1) access by index, which covers
//! LINDEX/LSET near the ends as cheaply as Redis's quicklist does. Redis 7.2 reports a small list
//! as `listpack` and a large one as `quicklist`; to answer OBJECT ENCODING the same way, the list
//! keeps a running count of the bytes its elements would take in a single listpack and switches
//! encoding at the same thresholds (`list-max-listpack-size -2`: 8 KB to grow into a quicklist,
//! half of that to shrink back).

use std::collections::VecDeque;

use super::bytes::Bytes;

/// Bytes a listpack may hold before Redis turns the list into a quicklist (`-2` = 8 KB).
const LISTPACK_MAX_BYTES: usize = 8192;
/// Listpack header (total bytes + element count) plus its end marker.
const LISTPACK_OVERHEAD: usize = 7;

/// A list of byte strings (push/pop at both ends in O(1)).
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: VecDeque<Bytes>,
    /// Sum of the listpack entry sizes of `items`.
    entry_bytes: usize,
    /// Reported as a quicklist (sticky until the list shrinks to half the limit).
    quick: bool,
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
    fn from_iter<I: IntoIterator<Item = Vec<u8>>>(iter: I) -> Self {
        let mut l = ListValue::default();
        for v in iter {
            l.push(End::Right, v);
        }
        l
    }
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The elements, head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bytes> + ExactSizeIterator {
        self.items.iter()
    }

    /// OBJECT ENCODING's answer, as Redis 7.2 gives it.
    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Maps a Redis index (negative counts from the tail) to a position, if in range.
    pub fn position(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if index < 0 {
            index.checked_add(len)?
        } else {
            index
        };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at a Redis index.
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        self.position(index)
            .and_then(|p| self.items.get(p))
            .map(|v| v.as_slice())
    }

    /// Adds one element at `end`.
    pub fn push(&mut self, end: End, v: Vec<u8>) {
        self.grow_check(v.len());
        self.entry_bytes += entry_size(&v);
        let v = Bytes::from_vec(v);
        match end {
            End::Left => self.items.push_front(v),
            End::Right => self.items.push_back(v),
        }
    }

    /// Adds several elements at `end`, one after the other (LPUSH a b c leaves c at the head).
    pub fn push_all(&mut self, end: End, vs: Vec<Vec<u8>>) {
        // Redis sizes the whole batch before converting, so one big batch converts at once.
        self.grow_check(vs.iter().map(|v| v.len()).sum());
        for v in vs {
            self.entry_bytes += entry_size(&v);
            let v = Bytes::from_vec(v);
            match end {
                End::Left => self.items.push_front(v),
                End::Right => self.items.push_back(v),
            }
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let v = match end {
            End::Left => self.items.pop_front(),
            End::Right => self.items.pop_back(),
        }?;
        self.entry_bytes -= entry_size(&v);
        self.shrink_check();
        Some(v.into_vec())
    }

    /// Removes up to `n` elements from `end`, in pop order.
    pub fn pop_many(&mut self, end: End, n: usize) -> Vec<Vec<u8>> {
        let n = n.min(self.items.len());
        let out: Vec<Vec<u8>> = match end {
            End::Left => self.items.drain(..n).map(Bytes::into_vec).collect(),
            End::Right => {
                let start = self.items.len() - n;
                self.items
                    .drain(start..)
                    .rev()
                    .map(Bytes::into_vec)
                    .collect()
            }
        };
        for v in &out {
            self.entry_bytes -= entry_size(v);
        }
        self.shrink_check();
        out
    }

    /// Replaces the element at a Redis index; false when out of range.
    pub fn set(&mut self, index: i64, v: Vec<u8>) -> bool {
        let Some(p) = self.position(index) else {
            return false;
        };
        self.grow_check(v.len());
        self.entry_bytes += entry_size(&v);
        let old = std::mem::replace(&mut self.items[p], Bytes::from_vec(v));
        self.entry_bytes -= entry_size(&old);
        self.shrink_check();
        true
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`; false when there is none.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: Vec<u8>, after: bool) -> bool {
        let Some(p) = self.items.iter().position(|x| x.as_slice() == pivot) else {
            return false;
        };
        self.grow_check(v.len());
        self.entry_bytes += entry_size(&v);
        self.items
            .insert(if after { p + 1 } else { p }, Bytes::from_vec(v));
        true
    }

    /// The elements between two Redis indexes, both inclusive, clamped as LRANGE clamps them.
    pub fn range(&self, start: i64, stop: i64) -> impl DoubleEndedIterator<Item = &Bytes> {
        let r = self.clamp_range(start, stop);
        self.items.range(r.unwrap_or(0..0))
    }

    /// Keeps only the elements between two Redis indexes (LTRIM); returns how many were removed.
    pub fn trim(&mut self, start: i64, stop: i64) -> usize {
        let before = self.items.len();
        match self.clamp_range(start, stop) {
            None => self.items.clear(),
            Some(r) => {
                self.items.truncate(r.end);
                self.items.drain(..r.start);
            }
        }
        self.entry_bytes = self.items.iter().map(|v| entry_size(v)).sum();
        self.shrink_check();
        before - self.items.len()
    }

    /// Removes elements equal to `v` (LREM): `count > 0` the first `count` from the head,
    /// `count < 0` the first `-count` from the tail, `0` all. Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let mut doomed: Vec<usize> = Vec::new();
        let matches = |(i, x): (usize, &Bytes)| (x.as_slice() == v).then_some(i);
        if count < 0 {
            doomed.extend(
                self.items
                    .iter()
                    .enumerate()
                    .rev()
                    .filter_map(matches)
                    .take(limit),
            );
            doomed.reverse();
        } else {
            doomed.extend(
                self.items
                    .iter()
                    .enumerate()
                    .filter_map(matches)
                    .take(limit),
            );
        }
        if doomed.is_empty() {
            return 0;
        }
        let mut next = doomed.iter().copied().peekable();
        let mut i = 0usize;
        self.items.retain(|_| {
            let keep = next.peek() != Some(&i);
            if !keep {
                next.next();
            }
            i += 1;
            keep
        });
        self.entry_bytes -= doomed.len() * entry_size(v);
        self.shrink_check();
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
        let len = self.items.len();
        let scan = if maxlen == 0 {
            len
        } else {
            len.min(usize::try_from(maxlen).unwrap_or(usize::MAX))
        };
        let hits = |(i, x): (usize, &Bytes)| (x.as_slice() == v).then_some(i);
        let skip = usize::try_from(rank.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count).unwrap_or(usize::MAX)
        };
        if from_tail {
            self.items
                .iter()
                .enumerate()
                .rev()
                .take(scan)
                .filter_map(hits)
                .skip(skip)
                .take(take)
                .collect()
        } else {
            self.items
                .iter()
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
        let len = self.items.len() as i64;
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

    /// Redis converts before adding when the listpack plus the raw new bytes would pass 8 KB.
    fn grow_check(&mut self, add_bytes: usize) {
        if !self.quick && LISTPACK_OVERHEAD + self.entry_bytes + add_bytes > LISTPACK_MAX_BYTES {
            self.quick = true;
        }
    }

    /// Redis converts back once what is left fits in half a listpack.
    fn shrink_check(&mut self) {
        if self.quick && LISTPACK_OVERHEAD + self.entry_bytes <= LISTPACK_MAX_BYTES / 2 {
            self.quick = false;
        }
    }
}

/// Bytes one element takes in a listpack: encoding byte(s), data, back-length.
fn entry_size(v: &[u8]) -> usize {
    let body = match canonical_int(v) {
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

/// The integer whose canonical decimal text is exactly `v` (listpacks store those as integers).
fn canonical_int(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let digits = v.strip_prefix(b"-").unwrap_or(v);
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits[0] == b'0' && v.len() > 1)
    {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> ListValue {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn strs<'a>(it: impl Iterator<Item = &'a Bytes>) -> Vec<String> {
        it.map(|v| String::from_utf8(v.to_vec()).unwrap()).collect()
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = ListValue::default();
        l.push_all(End::Left, vec![b"a".to_vec(), b"b".to_vec()]);
        l.push(End::Right, b"c".to_vec());
        assert_eq!(strs(l.iter()), ["b", "a", "c"]);
        assert_eq!(l.pop(End::Right).unwrap(), b"c");
        assert_eq!(
            l.pop_many(End::Right, 5),
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
        assert_eq!(l.remove_matching(b"x", -2), 2);
        assert_eq!(strs(l.iter()), ["a", "x", "b", "c"]);
        assert_eq!(l.remove_matching(b"x", 0), 1);
        assert_eq!(l.trim(1, -1), 1);
        assert_eq!(strs(l.iter()), ["b", "c"]);
        assert_eq!(l.trim(5, 10), 2);
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
        l.push(End::Right, vec![b'x'; 100]);
        assert_eq!(l.encoding(), "listpack");
        for _ in 0..80 {
            l.push(End::Right, vec![b'x'; 100]);
        }
        assert_eq!(l.encoding(), "quicklist");
        while l.len() > 50 {
            l.pop(End::Left);
        }
        assert_eq!(l.encoding(), "quicklist");
        while l.len() > 30 {
            l.pop(End::Left);
        }
        assert_eq!(l.encoding(), "listpack");
        let mut big = ListValue::default();
        big.push(End::Left, vec![b'y'; 9000]);
        assert_eq!(big.encoding(), "quicklist");
    }

    #[test]
    fn integers_are_sized_as_integers() {
        assert_eq!(entry_size(b"5"), 2);
        assert_eq!(entry_size(b"05"), 4);
        assert_eq!(entry_size(b"-1"), 3);
        assert_eq!(entry_size(b"hello"), 7);
    }
}
