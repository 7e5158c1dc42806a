//! Generic key commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, EXPIRE family, TTL, ...

use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::CmdResult;
use crate::reply::Reply;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("del", -2, WRITE, 1, -1, 1, del),
    command!("exists", -2, READONLY | FAST, 1, -1, 1, exists),
];

/// `DEL key [key ...]`
fn del(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut n = 0;
    for k in args {
        if ctx.delete(&k) {
            ctx.notify(crate::commands::pubsub::EV_GENERIC, "del", &k);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `EXISTS key [key ...]`
fn exists(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut n = 0;
    for k in args {
        if ctx.exists(&k) {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}
