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
    /// Sets `field` to `value`; returns true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.map.insert(field.to_vec(), value.to_vec()).is_none()
    }
    /// Iterates fields and values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (&**k, &**v))
    }
}
