//! Data structures behind each Redis type. Nothing here knows about protocols, Python or Lua:
//! command handlers in `src/commands` read and change these values and build replies themselves.

pub mod bytes;
pub mod hash;
pub mod list;
pub mod long_double;
pub mod ostree;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

pub use bytes::Bytes;
pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use string::StrValue;
pub use zset::ZSetValue;

/// Grows an index map or set ahead of an insert by an eighth instead of letting it double, so the
/// spare capacity of big collections (which `used_memory` counts but the OS never made resident)
/// stays small. Small ones grow as usual.
#[inline]
pub(crate) fn reserve_gently<T>(
    len: usize,
    capacity: usize,
    reserve_exact: impl FnOnce(usize) -> T,
) {
    if len == capacity && len >= 4096 {
        reserve_exact(len / 8);
    }
}

/// A value stored under a key.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (raw bytes or an integer).
    Str(StrValue),
    /// A hash.
    Hash(Box<HashValue>),
    /// A set.
    Set(Box<SetValue>),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
    /// A list.
    List(Box<ListValue>),
    /// A stream.
    Stream(Box<StreamValue>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::List(_) => "list",
            Value::Stream(_) => "stream",
        }
    }

    /// OBJECT ENCODING's answer, as Redis 7.2 gives it: each type tracks its own encoding (which,
    /// as in Redis, never converts back to the compact form).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::List(l) => l.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// True for a collection with no elements (streams may stay empty, as in Redis).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) | Value::Stream(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::List(l) => l.is_empty(),
        }
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn a_value_is_one_word_plus_an_inline_string() {
        // The keyspace entry layout (and the memory figures in the README) depend on this.
        assert_eq!(std::mem::size_of::<super::Value>(), 32);
    }
}
