//! `Bytes`: the byte string the keyspace and the collections store.
//!
//! 24 bytes, like a `Vec<u8>`, but strings of up to 23 bytes live inside it with no heap
//! allocation (most keys, hash fields, set members and small values): what Redis's embedded sds
//! strings save, without a per-string allocation. Longer strings own one exact-size heap buffer.
//! It borrows as `[u8]`, so maps keyed by `Bytes` are looked up with a plain `&[u8]`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use compact_bytes::CompactBytes;

/// Longest string kept inline.
pub const INLINE_MAX: usize = 23;

/// An owned byte string, inline when short.
#[derive(Clone, Default)]
pub struct Bytes(CompactBytes);

impl Bytes {
    /// Copies `b`.
    #[inline]
    pub fn new(b: &[u8]) -> Bytes {
        Bytes(CompactBytes::new(b))
    }

    /// Takes `v`'s buffer when the string is too long to be inline (trimming spare capacity),
    /// copies it inline otherwise.
    #[inline]
    pub fn from_vec(mut v: Vec<u8>) -> Bytes {
        if v.len() <= INLINE_MAX {
            return Bytes::new(&v);
        }
        if v.capacity() > v.len() {
            v.shrink_to_fit();
        }
        Bytes(CompactBytes::from(v))
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The bytes as a `Vec` (no copy for a heap string).
    #[inline]
    pub fn into_vec(self) -> Vec<u8> {
        self.0.into_vec()
    }

    /// Heap bytes this string owns (0 when inline): what MEMORY USAGE adds for it.
    #[inline]
    pub fn heap_size(&self) -> usize {
        if self.0.spilled() {
            self.0.capacity()
        } else {
            0
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl Borrow<[u8]> for Bytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl PartialEq for Bytes {
    #[inline]
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    #[inline]
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Bytes {
    #[inline]
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for Bytes {
    #[inline]
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Bytes {
    #[inline]
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialOrd for Bytes {
    #[inline]
    fn partial_cmp(&self, other: &Bytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    #[inline]
    fn cmp(&self, other: &Bytes) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

// Must hash exactly as `[u8]` does, for `Borrow<[u8]>` lookups.
impl Hash for Bytes {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for Bytes {
    #[inline]
    fn from(b: &[u8]) -> Bytes {
        Bytes::new(b)
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    #[inline]
    fn from(b: &[u8; N]) -> Bytes {
        Bytes::new(b)
    }
}

impl From<Vec<u8>> for Bytes {
    #[inline]
    fn from(v: Vec<u8>) -> Bytes {
        Bytes::from_vec(v)
    }
}

impl From<&Vec<u8>> for Bytes {
    #[inline]
    fn from(v: &Vec<u8>) -> Bytes {
        Bytes::new(v)
    }
}

impl From<Bytes> for Vec<u8> {
    #[inline]
    fn from(b: Bytes) -> Vec<u8> {
        b.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_strings_are_inline_and_long_ones_exact() {
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
        let s = Bytes::new(b"key:123");
        assert_eq!(s.heap_size(), 0);
        assert_eq!(&*s, b"key:123");
        let edge = Bytes::new(&[b'x'; INLINE_MAX]);
        assert_eq!(edge.heap_size(), 0);
        let mut v = Vec::with_capacity(100);
        v.extend_from_slice(&[b'y'; 40]);
        let long = Bytes::from_vec(v);
        assert_eq!(long.len(), 40);
        assert_eq!(long.heap_size(), 40);
        assert_eq!(long.clone().into_vec(), vec![b'y'; 40]);
        assert_eq!(Bytes::from_vec(b"abc".to_vec()).heap_size(), 0);
    }

    #[test]
    fn looks_up_by_slice() {
        let mut m: HashMap<Bytes, i32> = HashMap::new();
        m.insert(Bytes::new(b"a"), 1);
        m.insert(Bytes::new(&[b'z'; 50]), 2);
        assert_eq!(m.get(&b"a"[..]), Some(&1));
        assert_eq!(m.get(&[b'z'; 50][..]), Some(&2));
        assert!(Bytes::new(b"a") < Bytes::new(b"b"));
        assert!(Bytes::new(b"") == Bytes::default());
    }
}
