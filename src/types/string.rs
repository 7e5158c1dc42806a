//! String values. Integers that round-trip exactly are kept as integers (Redis's `int` encoding),
//! which makes INCR cheap and small counters compact. Strings changed in place (APPEND, SETRANGE)
//! are told apart from strings stored whole because Redis reports them as `raw` even when short.

/// A string value.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// An integer whose decimal form is the string.
    Int(i64),
    /// The same, held in an object of its own where Redis would share one: COPY duplicates the
    /// object, so a copied small integer reports OBJECT REFCOUNT 1 until it is rewritten.
    /// Everything else treats it as `Int`.
    OwnInt(i64),
    /// Any other bytes, stored whole (SET, MSET, ...); inline when short.
    Raw(Bytes),
    /// Bytes changed in place by APPEND or SETRANGE.
    Grown(Vec<u8>),
}

use super::bytes::Bytes;

/// Longest string Redis stores in one allocation with its object header (`embstr`).
const EMBSTR_MAX: usize = 44;

impl StrValue {
    /// Stores `b`, as an integer when its text is a canonical integer.
    pub fn from_bytes(b: Vec<u8>) -> StrValue {
        if b.len() <= 20 {
            if let Some(i) = crate::cmd::args::parse_i64_opt(&b) {
                return StrValue::Int(i);
            }
        }
        StrValue::Raw(Bytes::from_vec(b))
    }

    /// The value COPY stores: a copy of this one in an object of its own (see
    /// [`StrValue::OwnInt`]).
    pub fn duplicate(&self) -> StrValue {
        match self {
            StrValue::Int(i) => StrValue::OwnInt(*i),
            other => other.clone(),
        }
    }

    /// Stores a copy of `b` whole, never as an integer (the result of a string operation).
    pub fn raw(b: &[u8]) -> StrValue {
        StrValue::Raw(Bytes::new(b))
    }

    /// The string's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            StrValue::Int(i) | StrValue::OwnInt(i) => i.to_string().into_bytes(),
            StrValue::Raw(b) => b.to_vec(),
            StrValue::Grown(b) => b.clone(),
        }
    }

    /// The string's bytes, consuming the value.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            StrValue::Int(i) | StrValue::OwnInt(i) => i.to_string().into_bytes(),
            StrValue::Raw(b) => b.into_vec(),
            StrValue::Grown(b) => b,
        }
    }

    /// Heap bytes the value owns beyond its inline part (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) | StrValue::OwnInt(_) => 0,
            StrValue::Raw(b) => b.heap_size(),
            StrValue::Grown(b) => b.capacity(),
        }
    }

    /// The integer this string holds, if its text is a canonical integer (`string2ll`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(i) | StrValue::OwnInt(i) => Some(*i),
            StrValue::Raw(b) => crate::cmd::args::parse_i64_opt(b),
            StrValue::Grown(b) => crate::cmd::args::parse_i64_opt(b),
        }
    }

    /// OBJECT ENCODING's answer, as Redis 7.2 gives it.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) | StrValue::OwnInt(_) => "int",
            StrValue::Raw(b) if b.len() <= EMBSTR_MAX => "embstr",
            StrValue::Raw(_) | StrValue::Grown(_) => "raw",
        }
    }

    /// Calls `f` with the string's bytes without allocating for raw strings.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(i) | StrValue::OwnInt(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
            StrValue::Raw(b) => f(b),
            StrValue::Grown(b) => f(b),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(i) | StrValue::OwnInt(i) => itoa::Buffer::new().format(*i).len(),
            StrValue::Raw(b) => b.len(),
            StrValue::Grown(b) => b.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        match self {
            StrValue::Int(_) | StrValue::OwnInt(_) => false,
            StrValue::Raw(b) => b.is_empty(),
            StrValue::Grown(b) => b.is_empty(),
        }
    }

    /// Mutable bytes for an in-place change (APPEND, SETRANGE): the value becomes `Grown`.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        let bytes = match std::mem::replace(self, StrValue::Grown(Vec::new())) {
            StrValue::Int(i) | StrValue::OwnInt(i) => i.to_string().into_bytes(),
            StrValue::Raw(b) => b.into_vec(),
            StrValue::Grown(b) => b,
        };
        *self = StrValue::Grown(bytes);
        match self {
            StrValue::Grown(b) => b,
            _ => unreachable!("set above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_encoded_and_round_trip() {
        assert_eq!(StrValue::from_bytes(b"123".to_vec()), StrValue::Int(123));
        assert_eq!(
            StrValue::from_bytes(b"0123".to_vec()),
            StrValue::raw(b"0123")
        );
        assert_eq!(StrValue::Int(-45).to_bytes(), b"-45");
        assert_eq!(StrValue::Int(i64::MIN).len(), 20);
        assert_eq!(StrValue::Int(7).with_bytes(|b| b.to_vec()), b"7");
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(StrValue::from_bytes(b"12".to_vec()).encoding(), "int");
        assert_eq!(StrValue::from_bytes(vec![b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(vec![b'a'; 45]).encoding(), "raw");
        let mut v = StrValue::from_bytes(b"12".to_vec());
        v.make_raw().push(b'3');
        assert_eq!(v.encoding(), "raw");
        assert_eq!(v.to_bytes(), b"123");
    }
}
