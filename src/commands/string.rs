//! String commands: SET family, GET family, INCR family, APPEND, STRLEN, GETRANGE, SETRANGE, MGET, MSET.

use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::CmdResult;
use crate::reply::Reply;
use crate::types::{StrValue, Value};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("get", 2, READONLY | FAST, 1, 1, 1, get),
    command!("set", -3, WRITE | DENYOOM, 1, 1, 1, set),
];

/// `GET key`
fn get(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(match ctx.read::<StrValue>(&key)? {
        Some(v) => Reply::Bulk(v.to_bytes()),
        None => Reply::Nil,
    })
}

/// `SET key value` (options land with the full string group)
fn set(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let val = args.next_bytes()?;
    args.finish()?;
    ctx.db().set(&key, Value::Str(StrValue::from_bytes(val)));
    ctx.touched(&key);
    ctx.notify(crate::commands::pubsub::EV_STRING, "set", &key);
    Ok(Reply::ok())
}
