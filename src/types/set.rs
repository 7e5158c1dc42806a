//! Set values.

use indexmap::IndexSet;

/// A set of members (indexed, so SRANDMEMBER/SPOP pick in O(1)).
#[derive(Debug, Clone, Default)]
pub struct SetValue {
    /// The members.
    pub members: IndexSet<Vec<u8>, foldhash::fast::RandomState>,
}

impl SetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}
