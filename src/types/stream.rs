//! Stream values (placeholder; the full structure lands with the stream commands).

/// A stream.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {}
