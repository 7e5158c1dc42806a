//! The command table and the dispatcher every front door goes through.
//!
//! Each module in `src/commands` exports a `COMMANDS` slice of [`CommandSpec`]; [`table`] joins
//! them once into a lookup map. The dispatcher (`dispatch`) checks existence, arity, MULTI queueing,
//! pub/sub mode and script restrictions from the spec before any handler runs.

pub mod args;
pub mod ctx;
pub mod dispatch;

use std::sync::OnceLock;

use hashbrown::HashMap;

pub use args::Args;
pub use ctx::Ctx;

use crate::error::CmdResult;

/// A command handler: parses its arguments (the name excluded), then applies.
pub type Handler = fn(&mut Ctx<'_>, Args) -> CmdResult;

/// Command flags (a bit set).
pub mod flags {
    /// Changes data.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory (refused under `maxmemory` with noeviction).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub command.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed from Lua.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Fast command (O(1) or O(log n)).
    pub const FAST: u32 = 1 << 7;
    /// Runs immediately even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    pub const NO_QUEUE: u32 = 1 << 8;
    /// Allowed in RESP2 subscribed mode.
    pub const SUBSCRIBED_OK: u32 = 1 << 9;
    /// Not allowed inside MULTI (WATCH inside MULTI gives an error).
    pub const NO_MULTI: u32 = 1 << 10;
    /// Connection-level command (AUTH, HELLO, ...).
    pub const CONNECTION: u32 = 1 << 11;
    /// Allowed while a script is busy (SCRIPT KILL, SHUTDOWN NOSAVE).
    pub const ALLOW_BUSY: u32 = 1 << 12;
    /// Touches keys without changing anything else (for COMMAND INFO).
    pub const MOVABLE_KEYS: u32 = 1 << 13;
    /// Allowed before AUTH on a server with `requirepass` (AUTH, HELLO, QUIT, RESET).
    pub const NO_AUTH: u32 = 1 << 14;
}

/// Static description of one command.
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Position of the first key (0 = no keys).
    pub first_key: i32,
    /// Position of the last key (-1 = last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// The handler.
    pub handler: Handler,
}

impl CommandSpec {
    /// True when `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// True when `argc` (name included) fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
}

/// True for Redis 7's container commands, whose subcommands are commands of their own
/// (`config|get`) in errors, INFO commandstats and COMMAND INFO.
pub fn is_container(name: &str) -> bool {
    matches!(
        name,
        "acl"
            | "client"
            | "cluster"
            | "command"
            | "config"
            | "function"
            | "latency"
            | "memory"
            | "module"
            | "object"
            | "pubsub"
            | "script"
            | "slowlog"
            | "xgroup"
            | "xinfo"
    )
}

/// The joined command table.
pub struct Table {
    /// Each command and its position in `all`.
    by_name: HashMap<&'static [u8], (&'static CommandSpec, usize)>,
    /// Every command by name, for COMMAND / COMMAND COUNT (and per-command counters).
    pub all: Vec<&'static CommandSpec>,
}

impl Table {
    /// Looks a command up by name, any case.
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.get_indexed(name).map(|(spec, _)| spec)
    }

    /// Looks a command up by name, any case, with its position in [`Table::all`].
    pub fn get_indexed(&self, name: &[u8]) -> Option<(&'static CommandSpec, usize)> {
        if name.len() > 32 {
            return None;
        }
        let mut buf = [0u8; 32];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).copied()
    }

    /// The position in [`Table::all`] of the command named exactly `name` (lower case).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name.as_bytes()).map(|&(_, i)| i)
    }
}

/// The command table (built on first use).
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all: Vec<&'static CommandSpec> = crate::commands::ALL_GROUPS
            .iter()
            .flat_map(|group| group.iter())
            .collect();
        all.sort_by_key(|s| s.name);
        let mut by_name = HashMap::new();
        for (i, &spec) in all.iter().enumerate() {
            let prev = by_name.insert(spec.name.as_bytes(), (spec, i));
            assert!(prev.is_none(), "command {} defined twice", spec.name);
        }
        Table { by_name, all }
    })
}

/// Shorthand for building a [`CommandSpec`] in the per-group tables.
#[macro_export]
macro_rules! command {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $handler:expr) => {
        $crate::cmd::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            handler: $handler,
        }
    };
}
