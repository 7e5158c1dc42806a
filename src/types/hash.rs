//! Hash values.

use indexmap::IndexMap;

/// A hash: field -> value, in insertion order (HSCAN cursors are positions).
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    /// The fields.
    pub map: IndexMap<Vec<u8>, Vec<u8>, foldhash::fast::RandomState>,
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
