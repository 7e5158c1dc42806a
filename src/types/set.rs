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
    /// Adds `m`; returns true when it was not a member.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        self.members.insert(m.to_vec())
    }
    /// Iterates members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter().map(|m| &**m)
    }
}
