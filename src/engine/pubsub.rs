//! Pub/sub: channels, patterns and per-subscriber push buffers (filled in with the pub/sub work).

/// One subscribed client's state and push buffer.
#[derive(Default)]
pub struct Subscriber {}

/// The engine's pub/sub registry.
#[derive(Default)]
pub struct PubSub {}
