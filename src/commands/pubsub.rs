//! Pub/sub commands and keyspace notifications.

use crate::cmd::CommandSpec;
use crate::engine::{Client, Env, Store};
use crate::error::CmdError;

/// Keyspace-event classes (CONFIG notify-keyspace-events letters).
pub const EV_KEYSPACE: u32 = 1 << 0; // K
/// E
pub const EV_KEYEVENT: u32 = 1 << 1;
/// g: generic commands (DEL, EXPIRE, RENAME, ...).
pub const EV_GENERIC: u32 = 1 << 2;
/// $: string commands.
pub const EV_STRING: u32 = 1 << 3;
/// l: list commands.
pub const EV_LIST: u32 = 1 << 4;
/// s: set commands.
pub const EV_SET: u32 = 1 << 5;
/// h: hash commands.
pub const EV_HASH: u32 = 1 << 6;
/// z: sorted-set commands.
pub const EV_ZSET: u32 = 1 << 7;
/// x: expired events.
pub const EV_EXPIRED: u32 = 1 << 8;
/// e: evicted events.
pub const EV_EVICTED: u32 = 1 << 9;
/// t: stream commands.
pub const EV_STREAM: u32 = 1 << 10;
/// n: new-key events.
pub const EV_NEW: u32 = 1 << 11;
/// m: key-miss events.
pub const EV_MISS: u32 = 1 << 12;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[];

/// Publishes a keyspace notification if the configured classes include `class`.
pub fn notify_keyspace_event(
    _store: &mut Store,
    _env: &mut Env,
    _class: u32,
    _event: &str,
    _key: &[u8],
    _db: usize,
) {
}

/// In RESP2 subscribed mode only some commands are allowed; returns the error for the others.
pub fn check_subscribed_mode(_client: &Client, _spec: &CommandSpec) -> Option<CmdError> {
    None
}

/// Drops every subscription of `client`.
pub fn unsubscribe_all(_store: &mut Store, _client: &mut Client, _env: &mut Env) {}
