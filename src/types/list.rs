//! List values.

use std::collections::VecDeque;

/// A list (push/pop at both ends in O(1)).
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    /// The elements, head first.
    pub items: VecDeque<Vec<u8>>,
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
}
