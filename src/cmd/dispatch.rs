//! The dispatcher: the one path from a command's arguments to its reply, for every front door.

use crate::engine::client::BlockedState;
use crate::engine::{Client, Env, Store};
use crate::error::CmdError;
use crate::reply::Reply;

use super::{flags, table, Args, Ctx};

/// Runs one command (name first) for `client`. Returns None when the client blocked; its state is
/// then in `client.blocked`.
pub fn dispatch(
    store: &mut Store,
    client: &mut Client,
    mut args: Vec<Vec<u8>>,
    env: &mut Env,
) -> Option<Reply> {
    if args.is_empty() {
        return Some(Reply::Error("ERR empty command".into()));
    }
    let Some(spec) = table().get(&args[0]) else {
        let e = unknown_command(&args);
        flag_multi_error(client);
        return Some(Reply::Error(e.text()));
    };
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        return Some(Reply::Error("NOAUTH Authentication required.".into()));
    }
    if !spec.arity_ok(args.len()) {
        flag_multi_error(client);
        return Some(Reply::Error(CmdError::WrongArity(spec.name.into()).text()));
    }
    if let Some(m) = client.multi.as_mut() {
        if !spec.has(flags::NO_QUEUE) {
            if spec.has(flags::NO_MULTI) {
                m.aborted = true;
                return Some(Reply::Error(
                    "ERR Command not allowed inside a transaction".into(),
                ));
            }
            m.queue.push(args);
            return Some(Reply::status("QUEUED"));
        }
    }
    if env.in_script && spec.has(flags::NOSCRIPT) {
        return Some(Reply::Error(
            "ERR This Redis command is not allowed from script".into(),
        ));
    }
    if let Some(e) = crate::commands::pubsub::check_subscribed_mode(client, spec, &args) {
        return Some(Reply::Error(e.text()));
    }
    // Blocking commands keep their arguments to re-run them when signalled.
    let keep = if spec.has(flags::BLOCKING) && !env.block_retry {
        Some(args.clone())
    } else {
        None
    };
    // For the append-only log: a write command is logged when it changed data and logged no
    // inner commands itself (EXEC and scripts log what they ran).
    let log = (store.oplog.on && spec.has(flags::WRITE))
        .then(|| (args.clone(), client.db, store.dirty, store.oplog.logged));
    args.remove(0);
    store.stats.commands += 1;
    *store.stats.per_command.entry(spec.name).or_insert(0) += 1;
    let mut ctx = Ctx {
        store,
        client,
        env,
        spec,
        block: None,
    };
    let result = (spec.handler)(&mut ctx, Args::new(spec.name, args));
    let block = ctx.block.take();
    if let Some((cmd, db, dirty, logged)) = log {
        if store.dirty != dirty && store.oplog.logged == logged {
            store.oplog.record(db, cmd, &result);
        }
    }
    if let Some(req) = block {
        if env.block_retry {
            return None;
        }
        if env.in_exec || env.in_script {
            // Handlers must not ask to block here (they check `can_block`); reply nil to be safe.
            return Some(Reply::NilArray);
        }
        let waiter = store.blocking.register(client.db, req.keys);
        let deadline_ms = req.timeout_ms.map(|t| env.now_ms + t);
        let args = req.retry_args.or(keep).expect("blocking command args kept");
        client.blocked = Some(BlockedState {
            waiter,
            args,
            deadline_ms,
        });
        return None;
    }
    Some(match result {
        Ok(r) => r,
        Err(e) => Reply::Error(e.text()),
    })
}

fn flag_multi_error(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Redis's "unknown command" error, quoting at most the first arguments as Redis does.
fn unknown_command(args: &[Vec<u8>]) -> CmdError {
    let name = String::from_utf8_lossy(&args[0]).into_owned();
    let quoted = args[1..]
        .iter()
        .take(20)
        .map(|a| {
            let s = String::from_utf8_lossy(a);
            if s.len() > 128 {
                s[..128].to_string()
            } else {
                s.into_owned()
            }
        })
        .collect();
    CmdError::UnknownCommand { name, args: quoted }
}
