//! Command handlers, one module per Redis command group. Each module exports `COMMANDS`, its part
//! of the command table.

pub mod connection;
pub mod generic;
pub mod hash;
pub mod introspection;
pub mod list;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sorted_set;
pub mod stream;
pub mod string;
pub mod transactions;

use crate::cmd::{CommandSpec, Ctx};

/// A numeric parameter as CONFIG SET left it, or `default` when it was never set. Parameters
/// are stored under their canonical name and were validated when set.
pub(crate) fn config_number<T: std::str::FromStr>(ctx: &Ctx, name: &str, default: T) -> T {
    ctx.store
        .config
        .get(name)
        .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
        .unwrap_or(default)
}

/// Every group's table, joined by [`crate::cmd::table`].
pub const ALL_GROUPS: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    generic::COMMANDS,
    hash::COMMANDS,
    introspection::COMMANDS,
    list::COMMANDS,
    persistence::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    server::COMMANDS,
    set::COMMANDS,
    sorted_set::COMMANDS,
    stream::COMMANDS,
    string::COMMANDS,
    transactions::COMMANDS,
];
