//! The persistence commands of Redis's server group: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE.
//!
//! A snapshot always folds the log (see `persistence/log.rs`), so BGSAVE and BGREWRITEAOF start
//! the same job: capture under the lock, write on a thread of its own.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("save", 1, ADMIN | NOSCRIPT | NO_MULTI, 0, 0, 0, save),
    command!("bgsave", -1, ADMIN | NOSCRIPT, 0, 0, 0, bgsave),
    command!("bgrewriteaof", 1, ADMIN | NOSCRIPT, 0, 0, 0, bgrewriteaof),
    command!("lastsave", 1, FAST, 0, 0, 0, lastsave),
];

/// `SAVE`: writes the snapshot before replying (other clients wait, as in Redis).
fn save(ctx: &mut Ctx, _args: Args) -> CmdResult {
    if ctx
        .store
        .persist
        .as_ref()
        .is_some_and(|a| a.shared.saving())
    {
        return Err(CmdError::err("Background save already in progress"));
    }
    let job =
        crate::persistence::begin_save(ctx.store, ctx.env.now_ms, None).map_err(CmdError::Raw)?;
    job.finish().map_err(CmdError::Raw)?;
    Ok(Reply::ok())
}

/// `BGSAVE [SCHEDULE]`
fn bgsave(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    if let Some(a) = args.next_opt() {
        if !eq_kw(&a, "SCHEDULE") {
            return Err(CmdError::Syntax);
        }
    }
    args.finish()?;
    crate::persistence::bgsave(ctx.store, ctx.env.now_ms).map_err(CmdError::Raw)?;
    Ok(Reply::status("Background saving started"))
}

/// `BGREWRITEAOF`
fn bgrewriteaof(ctx: &mut Ctx, _args: Args) -> CmdResult {
    crate::persistence::bgsave(ctx.store, ctx.env.now_ms).map_err(|e| {
        if e.contains("already in progress") {
            CmdError::err("Background append only file rewriting already in progress")
        } else {
            CmdError::Raw(e)
        }
    })?;
    Ok(Reply::status(
        "Background append only file rewriting started",
    ))
}

/// `LASTSAVE`: Unix time of the last successful save (engine start when none).
fn lastsave(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let ms = match &ctx.store.persist {
        Some(a) => a.shared.lastsave_ms(),
        None => ctx.store.started_ms,
    };
    Ok(Reply::Int(ms / 1000))
}
