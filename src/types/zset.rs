//! Sorted-set values.

/// A sorted set (placeholder; the full structure lands with the sorted-set commands).
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    /// (member, score) pairs.
    pub items: Vec<(Vec<u8>, f64)>,
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
