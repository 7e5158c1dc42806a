//! The dispatcher: the one path from a command's arguments to its reply, for every front door.

use std::borrow::Cow;
use std::time::Instant;

use crate::engine::client::BlockedState;
use crate::engine::stats::{ArgSnapshot, SlowEntry};
use crate::engine::{Client, Env, Store};
use crate::error::CmdError;
use crate::reply::Reply;

use super::{flags, table, Args, CommandSpec, Ctx};
use crate::error::CmdResult;

/// Runs one command (name first) for `client`. Returns None when the client blocked; its state is
/// then in `client.blocked`.
pub fn dispatch(
    store: &mut Store,
    client: &mut Client,
    args: Vec<Vec<u8>>,
    env: &mut Env,
) -> Option<Reply> {
    if args.is_empty() {
        return Some(Reply::Error("ERR empty command".into()));
    }
    let found = table().get_indexed(&args[0]);
    let stat_name = found.map(|(spec, _)| stat_name(spec, &args));
    if !env.in_exec && !env.in_script && !env.block_retry {
        // CLIENT LIST's `idle` and `cmd`: the last command the client sent (EXEC, not what it ran).
        if let Some(info) = store.clients.get_mut(&client.id) {
            info.last_ms = env.now_ms;
            info.last_cmd = stat_name.clone().unwrap_or_default();
        }
    }
    let (Some((spec, spec_idx)), Some(stat_name)) = (found, stat_name) else {
        let e = unknown_command(&args);
        flag_multi_error(client);
        return Some(rejected(store, None, e.text()));
    };
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        return Some(rejected(
            store,
            Some(spec),
            "NOAUTH Authentication required.".into(),
        ));
    }
    if !spec.arity_ok(args.len()) {
        flag_multi_error(client);
        let e = CmdError::WrongArity(spec.name.into()).text();
        return Some(rejected(store, Some(spec), e));
    }
    store.access.set_now(env.now_ms);
    if store.evict.maxmemory > 0 && !env.in_exec && !env.in_script && !env.block_retry {
        env.oom = !crate::engine::evict::perform(store, env);
        if env.oom && refused_on_oom(spec, client) {
            let mut e = CmdError::Oom.text();
            if spec.name == "exec" {
                // A refused EXEC ends the transaction, as Redis's does.
                client.multi = None;
                crate::commands::transactions::unwatch_all(store, client);
                e = format!("EXECABORT Transaction discarded because of: {e}");
            } else {
                flag_multi_error(client);
            }
            return Some(rejected(store, Some(spec), e));
        }
    }
    if let Some(m) = client.multi.as_mut() {
        if !spec.has(flags::NO_QUEUE) {
            if spec.has(flags::NO_MULTI) {
                m.aborted = true;
                let e = "ERR Command not allowed inside a transaction".into();
                return Some(rejected(store, Some(spec), e));
            }
            m.queue.push(args);
            return Some(Reply::status("QUEUED"));
        }
    }
    if env.in_script && spec.has(flags::NOSCRIPT) {
        let e = "ERR This Redis command is not allowed from script".into();
        return Some(rejected(store, Some(spec), e));
    }
    if let Some(e) = crate::commands::pubsub::check_subscribed_mode(client, spec, &args) {
        return Some(rejected(store, Some(spec), e.text()));
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
        .then(|| store.oplog.begin(client.db, &args, store.dirty));
    // Redis logs neither EXEC (its commands are logged one by one) nor what scripts run.
    let slow = (store.slowlog.slower_than_us >= 0 && !env.in_script && spec.name != "exec")
        .then(|| ArgSnapshot::take(&args, std::mem::take(&mut store.slowlog.scratch)));
    // A front door running a batch hands over the instant the previous command ended.
    let started = env.started.take().unwrap_or_else(Instant::now);
    let mut ctx = Ctx {
        store,
        client,
        env,
        spec,
        block: None,
    };
    let result = (spec.handler)(&mut ctx, Args::after_name(spec.name, args));
    let block = ctx.block.take();
    let ended = Instant::now();
    let usec = ended.duration_since(started).as_micros() as u64;
    env.took_us = usec;
    env.ended = Some(ended);
    if block.is_none() || (!env.block_retry && (env.in_exec || env.in_script)) {
        account(
            store,
            client,
            env,
            (spec, spec_idx),
            stat_name,
            &result,
            usec,
            slow,
        );
    }
    if let Some(begun) = log {
        store.oplog.finish(begun, store.dirty, &result);
    }
    if let Some(req) = block {
        if env.block_retry {
            return None;
        }
        if env.in_exec || env.in_script {
            // Handlers must not ask to block here (they check `can_block`); reply nil to be safe.
            return Some(Reply::NilArray);
        }
        let deadline_ms = req.timeout_ms.map(|t| env.now_ms + t);
        let args = req.retry_args.or(keep).expect("blocking command args kept");
        let waiter = store.blocking.register(client, req.keys, args);
        client.blocked = Some(BlockedState {
            waiter,
            deadline_ms,
        });
        return None;
    }
    Some(match result {
        Ok(r) => r,
        Err(e) => Reply::Error(e.text()),
    })
}

/// Counts a command refused before its handler ran, and returns its error reply.
fn rejected(store: &mut Store, spec: Option<&CommandSpec>, text: String) -> Reply {
    store.stats.count_error(&text);
    if let Some(spec) = spec {
        store.stats.command(spec.name).rejected += 1;
    }
    Reply::Error(text)
}

/// The name INFO commandstats counts a call under: `parent|sub` for container commands.
fn stat_name(spec: &CommandSpec, args: &[Vec<u8>]) -> Cow<'static, str> {
    match args.get(1) {
        Some(sub) if super::is_container(spec.name) && sub.len() <= 32 => Cow::Owned(format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_lowercase()
        )),
        _ => Cow::Borrowed(spec.name),
    }
}

/// Counts a call that ran (INFO stats, commandstats, errorstats) and logs it when slow.
#[allow(clippy::too_many_arguments)]
fn account(
    store: &mut Store,
    client: &Client,
    env: &Env,
    (spec, spec_idx): (&CommandSpec, usize),
    stat_name: Cow<'static, str>,
    result: &CmdResult,
    usec: u64,
    slow: Option<ArgSnapshot>,
) {
    store.stats.commands += 1;
    let failed = match result {
        Err(e) => {
            let text = e.text();
            store.stats.count_error(&text);
            // An unknown subcommand is no call of a subcommand: count it as the parent's failure.
            if text.starts_with("ERR unknown subcommand") {
                store.stats.command_at(spec_idx).failed += 1;
                return;
            }
            true
        }
        Ok(Reply::Error(text)) => {
            store.stats.count_error(text);
            true
        }
        Ok(_) => false,
    };
    let st = match &stat_name {
        Cow::Borrowed(_) => store.stats.command_at(spec_idx),
        Cow::Owned(sub) => store.stats.command(sub),
    };
    st.calls += 1;
    st.usec += usec;
    if failed {
        st.failed += 1;
    }
    let Some(snap) = slow else { return };
    if !store.slowlog.wants(usec) {
        store.slowlog.scratch = snap.recycle();
        return;
    }
    let (addr, name) = match store.clients.get(&client.id) {
        Some(i) => (i.addr.clone(), i.name.clone().unwrap_or_default()),
        None => (String::new(), Vec::new()),
    };
    let mut args = snap.to_args();
    store.slowlog.scratch = snap.recycle();
    redact(spec, &mut args);
    store.slowlog.push(SlowEntry {
        id: 0,
        time_s: env.now_ms / 1000,
        duration_us: usec,
        args,
        addr,
        name,
    });
}

/// Hides passwords from the slow log, as Redis does.
fn redact(spec: &CommandSpec, args: &mut [Vec<u8>]) {
    let from = match spec.name {
        "auth" => 1,
        "hello" => match args.iter().position(|a| a.eq_ignore_ascii_case(b"AUTH")) {
            Some(i) => i + 1,
            None => return,
        },
        _ => return,
    };
    let upto = if spec.name == "hello" {
        from + 2
    } else {
        args.len()
    };
    for a in args.iter_mut().take(upto).skip(from) {
        *a = b"(redacted)".to_vec();
    }
}

/// Commands refused while memory is over `maxmemory` and nothing could be evicted: those that
/// may grow memory, anything queued into a transaction (queues grow too), and EXEC of a
/// transaction holding such a command. DISCARD, QUIT and RESET always run.
fn refused_on_oom(spec: &CommandSpec, client: &Client) -> bool {
    if spec.has(flags::DENYOOM) {
        return true;
    }
    let Some(m) = client.multi.as_ref() else {
        return false;
    };
    match spec.name {
        "discard" | "quit" | "reset" => false,
        "exec" => m
            .queue
            .iter()
            .any(|cmd| table().get(&cmd[0]).is_some_and(|s| s.has(flags::DENYOOM))),
        _ => true,
    }
}

fn flag_multi_error(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
}

/// Redis's "unknown command" error, quoting at most the first arguments as Redis does.
pub fn unknown_command(args: &[Vec<u8>]) -> CmdError {
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
