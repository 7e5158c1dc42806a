//! Set values.
//!
//! Members live in an insertion-ordered index set, so SSCAN cursors are positions and
//! SRANDMEMBER/SPOP pick in O(1). The set also tracks which encoding Redis 7.2 would use, and
//! mimics its order while small: an "intset" keeps its integers sorted, a "listpack" keeps the
//! insertion order across removals. A "hashtable" set removes with `swap_remove`, which keeps the
//! downward SCAN guarantee (see `engine::db`). Conversions only go towards "hashtable", as in Redis.

use indexmap::IndexSet;

use super::bytes::Bytes;
use rand::Rng;

type Hasher = foldhash::fast::RandomState;

/// Redis 7.2's `set-max-intset-entries` default.
pub const MAX_INTSET_ENTRIES: usize = 512;
/// Redis 7.2's `set-max-listpack-entries` default.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// Redis 7.2's `set-max-listpack-value` default.
pub const MAX_LISTPACK_VALUE: usize = 64;

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
    members: IndexSet<Bytes, Hasher>,
    enc: SetEncoding,
}

/// The integer an intset would hold for `m` (Redis's `string2ll`: canonical decimal only).
fn as_int(m: &[u8]) -> Option<i64> {
    if m.is_empty() || m.len() > 20 {
        return None;
    }
    let s = std::str::from_utf8(m).ok()?;
    let v: i64 = s.parse().ok()?;
    // Canonical form only: no '+', no leading zeros, no "-0".
    if v.to_string().as_bytes() == m {
        Some(v)
    } else {
        None
    }
}

impl SetValue {
    /// An empty set encoded as Redis encodes a new set whose first member is `first` and that is
    /// about to receive `size_hint` members (SADD's argument count).
    pub fn with_hint(first: Option<&[u8]>, size_hint: usize) -> SetValue {
        let enc = if first.is_some_and(|m| as_int(m).is_some()) && size_hint <= MAX_INTSET_ENTRIES {
            SetEncoding::Intset
        } else if size_hint <= MAX_LISTPACK_ENTRIES {
            SetEncoding::Listpack
        } else {
            SetEncoding::Hashtable
        };
        SetValue {
            members: IndexSet::default(),
            enc,
        }
    }

    /// Re-chooses the encoding of a set that is still empty (just created), as [`Self::with_hint`].
    pub fn prepare(&mut self, first: Option<&[u8]>, size_hint: usize) {
        if self.members.is_empty() {
            self.enc = SetValue::with_hint(first, size_hint).enc;
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// True when `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Adds `m`; returns true when it was not a member.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.members.contains(m) {
            return false;
        }
        match self.enc {
            SetEncoding::Intset => match as_int(m) {
                Some(_) => {
                    self.members
                        .insert_sorted_by_key(m.into(), |x| as_int(x).unwrap_or(i64::MAX));
                    if self.members.len() > MAX_INTSET_ENTRIES {
                        self.enc = SetEncoding::Hashtable;
                    }
                    return true;
                }
                None => {
                    self.enc = if self.members.len() < MAX_LISTPACK_ENTRIES
                        && m.len() <= MAX_LISTPACK_VALUE
                    {
                        SetEncoding::Listpack
                    } else {
                        SetEncoding::Hashtable
                    };
                }
            },
            SetEncoding::Listpack => {
                if self.members.len() >= MAX_LISTPACK_ENTRIES || m.len() > MAX_LISTPACK_VALUE {
                    self.enc = SetEncoding::Hashtable;
                }
            }
            SetEncoding::Hashtable => {}
        }
        super::reserve_gently(self.members.len(), self.members.capacity(), |n| {
            self.members.reserve_exact(n)
        });
        self.members.insert(m.into());
        true
    }

    /// Removes `m`; returns true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.enc {
            SetEncoding::Hashtable => self.members.swap_remove(m),
            _ => self.members.shift_remove(m),
        }
    }

    /// Removes and returns the member at position `i`.
    pub fn remove_index(&mut self, i: usize) -> Option<Bytes> {
        match self.enc {
            SetEncoding::Hashtable => self.members.swap_remove_index(i),
            _ => self.members.shift_remove_index(i),
        }
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        self.members.get_index(i).map(|m| &**m)
    }

    /// Iterates members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter().map(|m| &**m)
    }

    /// A uniformly random position (0 for an empty set).
    pub fn random_index(&self, rng: &mut impl Rng) -> usize {
        rng.gen_range(0..self.members.len().max(1))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &SetValue) -> Vec<String> {
        s.iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn intset_stays_sorted_then_becomes_listpack() {
        let mut s = SetValue::with_hint(Some(b"5"), 3);
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
    }

    #[test]
    fn non_canonical_integers_are_not_intset_members() {
        for m in ["+1", "01", "-0", " 1", "99999999999999999999"] {
            assert_eq!(as_int(m.as_bytes()), None, "{m}");
        }
        assert_eq!(as_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(SetValue::with_hint(Some(b"01"), 1).encoding(), "listpack");
    }

    #[test]
    fn converts_by_redis_thresholds() {
        let mut s = SetValue::with_hint(Some(b"0"), 1);
        for i in 0..=MAX_INTSET_ENTRIES {
            s.insert(i.to_string().as_bytes());
        }
        assert_eq!(s.encoding(), "hashtable");

        let mut s = SetValue::with_hint(Some(b"a"), 1);
        for i in 0..MAX_LISTPACK_ENTRIES {
            s.insert(format!("m{i}").as_bytes());
        }
        assert_eq!(s.encoding(), "listpack");
        s.insert(b"one more");
        assert_eq!(s.encoding(), "hashtable");

        let mut s = SetValue::with_hint(Some(b"a"), 1);
        s.insert(&[b'x'; MAX_LISTPACK_VALUE + 1]);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(SetValue::with_hint(Some(b"a"), 200).encoding(), "hashtable");
        assert_eq!(SetValue::with_hint(Some(b"1"), 200).encoding(), "intset");
    }
}
