//! `Packed`: the compact form of small hashes, sets, sorted sets and lists.
//!
//! One byte buffer of entries, each a LEB128 length followed by its bytes, in the collection's
//! order. Up to 23 bytes live inside the 24-byte value itself (no allocation at all: a 5-member
//! sorted set or list of short strings usually fits); longer buffers own one heap allocation
//! sized to the allocator's size class, so growing by a few bytes rarely reallocates and nothing
//! is wasted. This is the idea of Redis's listpack (one allocation, no per-element pointers or
//! headers), without its back-lengths: the owners keep small forms short enough that walking
//! from the front is as fast as a hash lookup, and convert to an indexed form past that.
//!
//! The buffer knows entries only; what they mean (field then value, member then score) and how
//! many there are is the owner's business. Positions are byte offsets of entry starts.

use compact_bytes::CompactBytes;

/// A buffer of length-prefixed entries.
#[derive(Clone, Default)]
pub struct Packed {
    buf: CompactBytes,
}

/// Bytes the length header of an entry of `n` bytes takes.
#[inline]
pub fn header_len(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

/// Bytes an entry of `n` bytes takes in the buffer.
#[inline]
pub fn entry_len(n: usize) -> usize {
    header_len(n) + n
}

/// The allocation size the system allocator would hand out for a request of `n` bytes (its
/// 16-byte size classes, less the 8-byte chunk header): asking for that much costs nothing more
/// than asking for `n`, and leaves room to grow in place.
#[inline]
fn size_class(n: usize) -> usize {
    if n <= CompactBytes::MAX_INLINE {
        return n;
    }
    if n >= 4096 {
        // Past a page, grow by an eighth so appending entries one by one stays amortised.
        return n + n / 8;
    }
    ((n + 8 + 15) & !15) - 8
}

/// Writes `n`'s header into `out`; returns how many bytes it took.
#[inline]
fn write_header(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = low;
            return i + 1;
        }
        out[i] = low | 0x80;
        i += 1;
    }
}

/// The entry starting at `off` and the offset just past it.
#[inline]
pub fn read(buf: &[u8], off: usize) -> (&[u8], usize) {
    let b0 = buf[off];
    if b0 < 0x80 {
        let start = off + 1;
        let end = start + b0 as usize;
        return (&buf[start..end], end);
    }
    read_long(buf, off)
}

#[cold]
fn read_long(buf: &[u8], off: usize) -> (&[u8], usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = off;
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    (&buf[i..i + n], i + n)
}

impl Packed {
    /// An empty buffer (no allocation).
    pub const fn new() -> Packed {
        Packed {
            buf: CompactBytes::empty(),
        }
    }

    /// A buffer holding `entries`, in order.
    pub fn from_entries<'e>(entries: impl IntoIterator<Item = &'e [u8]> + Clone) -> Packed {
        let mut p = Packed::new();
        p.splice_iter(0, 0, entries);
        p
    }

    /// Bytes used by the entries.
    #[inline]
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// True when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The raw buffer.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_slice()
    }

    /// Heap bytes owned (0 while inline).
    pub fn heap_size(&self) -> usize {
        if self.buf.spilled() {
            self.buf.capacity()
        } else {
            0
        }
    }

    /// The entry at byte offset `off` and the offset of the next one.
    #[inline]
    pub fn entry(&self, off: usize) -> (&[u8], usize) {
        read(self.buf.as_slice(), off)
    }

    /// The entries from the start.
    #[inline]
    pub fn iter(&self) -> Entries<'_> {
        Entries {
            buf: self.buf.as_slice(),
            off: 0,
        }
    }

    /// The entries from byte offset `off`.
    #[inline]
    pub fn iter_at(&self, off: usize) -> Entries<'_> {
        Entries {
            buf: self.buf.as_slice(),
            off,
        }
    }

    /// Finds `key` among the entries at positions 0, `stride`, 2 * `stride`... (fields of a
    /// field/value sequence when `stride` is 2): the byte offsets of that entry and of the one
    /// after it.
    #[inline]
    pub fn find(&self, key: &[u8], stride: usize) -> Option<(usize, usize)> {
        let buf = self.buf.as_slice();
        let mut off = 0;
        while off < buf.len() {
            let (e, next) = read(buf, off);
            // Length and last byte first: most candidates differ there, and it spares a call.
            if e.len() == key.len() && e.last() == key.last() && e == key {
                return Some((off, next));
            }
            off = next;
            for _ in 1..stride {
                off = read(buf, off).1;
            }
        }
        None
    }

    /// Appends entries at the end.
    pub fn push(&mut self, entries: &[&[u8]]) {
        let end = self.buf.len();
        self.splice(end, end, entries);
    }

    /// Replaces the entries in bytes `start..end` (entry boundaries) with `entries`.
    pub fn splice(&mut self, start: usize, end: usize, entries: &[&[u8]]) {
        self.splice_iter(start, end, entries.iter().copied())
    }

    /// Removes the entries in bytes `start..end` (entry boundaries).
    pub fn remove(&mut self, start: usize, end: usize) {
        self.splice_iter(start, end, std::iter::empty())
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.buf = CompactBytes::empty();
    }

    /// [`Self::splice`] over any (cloneable) sequence of entries: it is walked twice, once to
    /// size the result and once to write it.
    pub fn splice_iter<'e>(
        &mut self,
        start: usize,
        end: usize,
        entries: impl IntoIterator<Item = &'e [u8]> + Clone,
    ) {
        let add: usize = entries
            .clone()
            .into_iter()
            .map(|e| entry_len(e.len()))
            .sum();
        let old_len = self.buf.len();
        let removed = end - start;
        let new_len = old_len - removed + add;
        let cap = self.buf.capacity();
        let spilled = self.buf.spilled();
        let shrink = spilled && (new_len <= CompactBytes::MAX_INLINE || cap > 2 * new_len + 64);
        if new_len > cap || shrink {
            // Rebuild into a buffer of the right size: one copy, and no spare capacity kept
            // beyond the allocator's own rounding.
            let mut nb = CompactBytes::with_capacity(size_class(new_len));
            let old = self.buf.as_slice();
            nb.extend_from_slice(&old[..start]);
            let mut head = [0u8; 5];
            for e in entries {
                let h = write_header(&mut head, e.len());
                nb.extend_from_slice(&head[..h]);
                nb.extend_from_slice(e);
            }
            nb.extend_from_slice(&old[end..]);
            self.buf = nb;
            return;
        }
        if add > removed {
            let grow = add - removed;
            const ZEROS: [u8; 64] = [0; 64];
            let mut left = grow;
            while left > 0 {
                let n = left.min(ZEROS.len());
                self.buf.extend_from_slice(&ZEROS[..n]);
                left -= n;
            }
            self.buf.as_mut_slice()[end..].rotate_right(grow);
        } else if add < removed {
            self.buf.as_mut_slice()[start + add..].rotate_left(removed - add);
            self.buf.truncate(new_len);
        }
        let out = &mut self.buf.as_mut_slice()[start..start + add];
        let mut i = 0;
        for e in entries {
            i += write_header(&mut out[i..], e.len());
            out[i..i + e.len()].copy_from_slice(e);
            i += e.len();
        }
        debug_assert_eq!(i, add);
    }
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e).into_owned()))
            .finish()
    }
}

/// A forward walk over a [`Packed`] buffer's entries.
#[derive(Clone)]
pub struct Entries<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Entries<'a> {
    /// Byte offset of the next entry (the buffer's length at the end).
    #[inline]
    pub fn offset(&self) -> usize {
        self.off
    }

    /// Skips one entry (which must exist).
    #[inline]
    pub fn skip_one(&mut self) {
        self.off = read(self.buf, self.off).1;
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.off >= self.buf.len() {
            return None;
        }
        let (e, next) = read(self.buf, self.off);
        self.off = next;
        Some(e)
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers inside entries
// ---------------------------------------------------------------------------------------------

/// The integer whose canonical decimal text is exactly `b` (Redis's `string2ll`: no sign other
/// than one '-', no leading zeros, no "-0", within i64).
#[inline]
pub fn canonical_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && (b.len() > 1)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Encodes a score as the shortest entry that gives it back exactly: integers below 2^53 in
/// magnitude as 0-7 little-endian two's-complement bytes, anything else (fractions, huge
/// values, infinities, -0) as the 8 bytes of the double.
#[inline]
pub fn encode_score(s: f64, out: &mut [u8; 8]) -> &[u8] {
    const EXACT: f64 = 9007199254740992.0; // 2^53
    if s.trunc() == s && s.abs() < EXACT && !(s == 0.0 && s.is_sign_negative()) {
        let i = s as i64;
        *out = i.to_le_bytes();
        let mut n = 0;
        // Shortest width whose sign extension gives `i` back.
        while n < 7 {
            let shift = 64 - 8 * n as u32;
            let back = if n == 0 { 0 } else { (i << shift) >> shift };
            if back == i {
                break;
            }
            n += 1;
        }
        return &out[..n];
    }
    *out = s.to_bits().to_le_bytes();
    &out[..]
}

/// The inverse of [`encode_score`].
#[inline]
pub fn decode_score(b: &[u8]) -> f64 {
    if let Ok(raw) = <[u8; 8]>::try_from(b) {
        return f64::from_bits(u64::from_le_bytes(raw));
    }
    if let [x] = b {
        return *x as i8 as f64;
    }
    // Byte by byte: a variable-length copy would be a call.
    let mut v: u64 = 0;
    for (i, &x) in b.iter().enumerate() {
        v |= (x as u64) << (8 * i);
    }
    if b.is_empty() {
        return 0.0;
    }
    let shift = 64 - 8 * b.len() as u32;
    (((v << shift) as i64) >> shift) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn entries(p: &Packed) -> Vec<Vec<u8>> {
        p.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn headers_round_trip_at_every_width() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 70000] {
            let e = vec![7u8; n];
            let p = Packed::from_entries([&b"x"[..], &e, b"y"]);
            assert_eq!(p.byte_len(), 2 + entry_len(n) + 2);
            assert_eq!(entries(&p), vec![b"x".to_vec(), e.clone(), b"y".to_vec()]);
            let (first, next) = p.entry(0);
            assert_eq!(first, b"x");
            assert_eq!(p.entry(next).0, &e[..]);
        }
    }

    #[test]
    fn small_buffers_stay_inline() {
        let p = Packed::from_entries([&b"a"[..], b"bb", b"ccc", b"dddd", b"eeeee"]);
        assert_eq!(p.byte_len(), 20);
        assert_eq!(p.heap_size(), 0);
        assert_eq!(std::mem::size_of::<Packed>(), 24);
    }

    #[test]
    fn random_splices_match_a_vec() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let mut p = Packed::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for _ in 0..60 {
                // Positions in entries, turned into byte offsets.
                let a = rng.gen_range(0..=model.len());
                let b = rng.gen_range(a..=model.len().min(a + 3));
                let n = rng.gen_range(0..4);
                let new: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let len = if rng.gen_bool(0.05) {
                            rng.gen_range(100..300)
                        } else {
                            rng.gen_range(0..12)
                        };
                        (0..len).map(|_| rng.gen()).collect()
                    })
                    .collect();
                let off = |m: &[Vec<u8>], i: usize| -> usize {
                    m[..i].iter().map(|e| entry_len(e.len())).sum()
                };
                let (start, end) = (off(&model, a), off(&model, b));
                let refs: Vec<&[u8]> = new.iter().map(|e| &e[..]).collect();
                p.splice(start, end, &refs);
                model.splice(a..b, new);
                assert_eq!(entries(&p), model);
                assert_eq!(p.byte_len(), off(&model, model.len()));
                // Never much more capacity than needed.
                assert!(p.heap_size() <= 2 * p.byte_len() + 64);
            }
        }
    }

    #[test]
    fn canonical_integers() {
        for (s, v) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("123", Some(123)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("01", None),
            ("-0", None),
            ("+1", None),
            ("", None),
            ("-", None),
            (" 1", None),
            ("1a", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(canonical_i64(s.as_bytes()), v, "{s}");
        }
    }

    #[test]
    fn scores_round_trip_exactly_and_small_ones_are_short() {
        let mut buf = [0u8; 8];
        for s in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            127.0,
            128.0,
            -128.0,
            -129.0,
            1e15,
            -(2f64.powi(53)) + 1.0,
            2f64.powi(53),
            2f64.powi(60),
            0.5,
            -2.25,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
        ] {
            let e = encode_score(s, &mut buf).to_vec();
            let back = decode_score(&e);
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
        }
        assert_eq!(encode_score(0.0, &mut buf).len(), 0);
        assert_eq!(encode_score(5.0, &mut buf).len(), 1);
        assert_eq!(encode_score(-128.0, &mut buf).len(), 1);
        assert_eq!(encode_score(300.0, &mut buf).len(), 2);
        assert_eq!(encode_score(1.7e12, &mut buf).len(), 6);
        assert_eq!(encode_score(-0.0, &mut buf).len(), 8);
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..10_000 {
            let s = match rng.gen_range(0..3) {
                0 => rng.gen_range(-1e6..1e6f64).round(),
                1 => rng.gen::<f64>() * 1e10,
                _ => f64::from_bits(rng.gen::<u64>()),
            };
            if s.is_nan() {
                continue;
            }
            let e = encode_score(s, &mut buf).to_vec();
            assert_eq!(decode_score(&e).to_bits(), s.to_bits());
        }
    }
}
