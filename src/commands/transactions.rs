//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use std::sync::atomic::Ordering;

use crate::cmd::{dispatch::dispatch, flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::engine::client::MultiState;
use crate::engine::{Client, Store};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!(
        "multi",
        1,
        NO_QUEUE | NOSCRIPT | FAST | SUBSCRIBED_OK,
        0,
        0,
        0,
        multi
    ),
    command!("exec", 1, NO_QUEUE | NOSCRIPT, 0, 0, 0, exec),
    command!("discard", 1, NO_QUEUE | NOSCRIPT | FAST, 0, 0, 0, discard),
    command!("watch", -2, NO_QUEUE | NOSCRIPT | FAST, 1, -1, 1, watch),
    command!("unwatch", 1, NOSCRIPT | FAST, 0, 0, 0, unwatch),
];

/// `MULTI`
fn multi(ctx: &mut Ctx, _args: Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    Ok(Reply::ok())
}

/// `DISCARD`
fn discard(ctx: &mut Ctx, _args: Args) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    unwatch_all(ctx.store, ctx.client);
    Ok(Reply::ok())
}

/// `EXEC`: runs the queued commands atomically, or replies nil when a WATCHed key changed.
fn exec(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    if multi.aborted {
        unwatch_all(ctx.store, ctx.client);
        return Err(CmdError::raw(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let dirty = ctx.client.watch_dirty.load(Ordering::Acquire) || watched_key_expired(ctx);
    unwatch_all(ctx.store, ctx.client);
    if dirty {
        return Ok(Reply::NilArray);
    }
    let was = ctx.env.in_exec;
    ctx.env.in_exec = true;
    let mut out = Vec::with_capacity(multi.queue.len());
    for cmd in multi.queue {
        let r = dispatch(ctx.store, ctx.client, cmd, ctx.env).unwrap_or(Reply::NilArray);
        out.push(r);
    }
    ctx.env.in_exec = was;
    Ok(Reply::Array(out))
}

/// A WATCHed key that has expired since counts as changed.
fn watched_key_expired(ctx: &mut Ctx) -> bool {
    let now = ctx.env.now_ms;
    ctx.client
        .watched
        .iter()
        .any(|(db, k)| ctx.store.dbs[*db].is_expired(k, now))
}

/// `WATCH key [key ...]`
fn watch(ctx: &mut Ctx, args: Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in args {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k)| *d == db && *k == key)
        {
            continue;
        }
        ctx.store
            .watched
            .entry((db, key.clone()))
            .or_default()
            .push((ctx.client.id, ctx.client.watch_dirty.clone()));
        ctx.client.watched.push((db, key));
    }
    Ok(Reply::ok())
}

/// `UNWATCH`
fn unwatch(ctx: &mut Ctx, _args: Args) -> CmdResult {
    unwatch_all(ctx.store, ctx.client);
    Ok(Reply::ok())
}

/// Forgets every WATCH of `client` and clears its dirty flag.
pub fn unwatch_all(store: &mut Store, client: &mut Client) {
    for slot in client.watched.drain(..) {
        if let Some(list) = store.watched.get_mut(&slot) {
            list.retain(|(id, _)| *id != client.id);
            if list.is_empty() {
                store.watched.remove(&slot);
            }
        }
    }
    client.watch_dirty.store(false, Ordering::Release);
}

/// Marks every client watching a key of `db` (or of every db when None) as dirty (FLUSHDB).
pub fn touch_all_watched(store: &mut Store, db: Option<usize>) {
    for ((d, _), list) in store.watched.iter() {
        if db.is_none_or(|x| x == *d) {
            for (_, f) in list {
                f.store(true, Ordering::Release);
            }
        }
    }
}
