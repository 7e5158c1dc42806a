//! scripting commands.

use crate::cmd::CommandSpec;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[];
