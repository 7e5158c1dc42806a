//! Data structures behind each Redis type. Nothing here knows about protocols, Python or Lua:
//! command handlers in `src/commands` read and change these values and build replies themselves.

pub mod hash;
pub mod list;
pub mod long_double;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use string::StrValue;
pub use zset::ZSetValue;

/// A value stored under a key.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (raw bytes or an integer).
    Str(StrValue),
    /// A hash.
    Hash(HashValue),
    /// A set.
    Set(SetValue),
    /// A sorted set.
    ZSet(Box<ZSetValue>),
    /// A list.
    List(ListValue),
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

    /// OBJECT ENCODING's answer, as Redis 7.2 gives it for the value's type and size (default
    /// `*-max-listpack-*` / `set-max-intset-entries` settings). Types that track their own
    /// encoding answer themselves; hashes and sets are judged by their current content (Redis
    /// never converts a hashtable back, so one that grew past a limit and shrank may differ).
    pub fn encoding(&self) -> &'static str {
        const LP_ENTRIES: usize = 128;
        const LP_VALUE: usize = 64;
        const INTSET_ENTRIES: usize = 512;
        match self {
            Value::Str(s) => s.encoding(),
            Value::Hash(h) => {
                let small = h.len() <= LP_ENTRIES
                    && h.map
                        .iter()
                        .all(|(f, v)| f.len() <= LP_VALUE && v.len() <= LP_VALUE);
                if small {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.len() <= INTSET_ENTRIES
                    && s.members
                        .iter()
                        .all(|m| crate::cmd::args::parse_i64_opt(m).is_some())
                {
                    "intset"
                } else if s.len() <= LP_ENTRIES && s.members.iter().all(|m| m.len() <= LP_VALUE) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
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
