//! Server commands: FLUSHDB, FLUSHALL, DBSIZE, TIME, INFO, COMMAND, CONFIG.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, table, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("flushdb", -1, WRITE, 0, 0, 0, flushdb),
    command!("flushall", -1, WRITE, 0, 0, 0, flushall),
    command!("dbsize", 1, READONLY | FAST, 0, 0, 0, dbsize),
    command!("time", 1, FAST, 0, 0, 0, time),
    command!("info", -1, 0, 0, 0, 0, info),
    command!("command", -1, 0, 0, 0, 0, command_cmd),
    command!("config", -2, ADMIN | NOSCRIPT, 0, 0, 0, config),
];

fn flush_mode(args: &mut Args) -> Result<(), CmdError> {
    if let Some(m) = args.next_opt() {
        if !(eq_kw(&m, "ASYNC") || eq_kw(&m, "SYNC")) {
            return Err(CmdError::Syntax);
        }
    }
    args.finish()
}

/// `FLUSHDB [ASYNC|SYNC]`
fn flushdb(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    flush_mode(&mut args)?;
    let db = ctx.client.db;
    crate::commands::transactions::touch_all_watched(ctx.store, Some(db));
    ctx.store.dirty += ctx.store.dbs[db].len() as u64 + 1;
    ctx.store.dbs[db].clear();
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC|SYNC]`
fn flushall(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    flush_mode(&mut args)?;
    crate::commands::transactions::touch_all_watched(ctx.store, None);
    for db in ctx.store.dbs.iter_mut() {
        db.clear();
    }
    ctx.store.dirty += 1;
    Ok(Reply::ok())
}

/// `DBSIZE`
fn dbsize(ctx: &mut Ctx, _args: Args) -> CmdResult {
    Ok(Reply::Int(ctx.db().len() as i64))
}

/// `TIME`
fn time(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let us = ctx.env.now_us;
    Ok(Reply::Array(vec![
        Reply::Bulk((us / 1_000_000).to_string().into_bytes()),
        Reply::Bulk((us % 1_000_000).to_string().into_bytes()),
    ]))
}

/// `INFO [section ...]`
fn info(ctx: &mut Ctx, args: Args) -> CmdResult {
    let wanted: Vec<String> = args
        .map(|a| String::from_utf8_lossy(&a).to_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "everything" || w == "default");
    let want = |s: &str| all || wanted.iter().any(|w| w == s);
    let s = &*ctx.store;
    let now = ctx.env.now_ms;
    let mut out = String::new();
    if want("server") {
        out.push_str(&format!(
            "# Server\r\nredis_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:0\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nexecutable:burner-redis\r\n\r\n",
            crate::commands::connection::REDIS_VERSION,
            std::env::consts::OS,
            std::process::id(),
            (now - s.started_ms) / 1000,
            (now - s.started_ms) / 86_400_000,
        ));
    }
    if want("clients") {
        out.push_str(&format!(
            "# Clients\r\nconnected_clients:{}\r\nblocked_clients:{}\r\n\r\n",
            s.clients.len(),
            s.blocking.count()
        ));
    }
    if want("memory") {
        out.push_str(
            "# Memory\r\nused_memory:0\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\r\n",
        );
    }
    if want("persistence") {
        out.push_str(&format!(
            "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:{}\r\n\r\n",
            s.dirty
        ));
    }
    if want("stats") {
        out.push_str(&format!(
            "# Stats\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\r\n",
            s.stats.commands, s.stats.expired_keys, s.stats.keyspace_hits, s.stats.keyspace_misses
        ));
    }
    if want("replication") {
        out.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    }
    if want("keyspace") {
        out.push_str("# Keyspace\r\n");
        for (i, db) in s.dbs.iter().enumerate() {
            if !db.is_empty() {
                out.push_str(&format!(
                    "db{}:keys={},expires={},avg_ttl=0\r\n",
                    i,
                    db.len(),
                    db.expires_len()
                ));
            }
        }
        out.push_str("\r\n");
    }
    Ok(Reply::Verbatim(out.trim_end().to_string().into_bytes()))
}

/// `COMMAND [COUNT | LIST | INFO name ... | DOCS ...]`
fn command_cmd(_ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let Some(sub) = args.next_opt() else {
        return Ok(Reply::Array(
            table().all.iter().map(|s| command_info(s)).collect(),
        ));
    };
    if eq_kw(&sub, "COUNT") {
        return Ok(Reply::Int(table().all.len() as i64));
    }
    if eq_kw(&sub, "LIST") {
        return Ok(Reply::Array(
            table()
                .all
                .iter()
                .map(|s| Reply::bulk(s.name.as_bytes()))
                .collect(),
        ));
    }
    if eq_kw(&sub, "INFO") {
        let names = args.rest();
        if names.is_empty() {
            return Ok(Reply::Array(
                table().all.iter().map(|s| command_info(s)).collect(),
            ));
        }
        return Ok(Reply::Array(
            names
                .iter()
                .map(|n| table().get(n).map(command_info).unwrap_or(Reply::NilArray))
                .collect(),
        ));
    }
    if eq_kw(&sub, "DOCS") {
        return Ok(Reply::Map(vec![]));
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "command".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}

fn command_info(s: &CommandSpec) -> Reply {
    let mut fl = vec![];
    for (bit, name) in [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (FAST, "fast"),
    ] {
        if s.has(bit) {
            fl.push(Reply::Status(name.into()));
        }
    }
    Reply::Array(vec![
        Reply::bulk(s.name.as_bytes()),
        Reply::Int(s.arity as i64),
        Reply::Set(fl),
        Reply::Int(s.first_key as i64),
        Reply::Int(s.last_key as i64),
        Reply::Int(s.step as i64),
    ])
}

/// `CONFIG GET pattern ... | SET name value ... | RESETSTAT`
fn config(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    if eq_kw(&sub, "GET") {
        let pats = args.rest();
        if pats.is_empty() {
            return Err(CmdError::WrongArity("config|get".into()));
        }
        let mut out = vec![];
        let mut names: Vec<&String> = ctx.store.config.keys().collect();
        names.sort();
        for n in names {
            if pats
                .iter()
                .any(|p| crate::glob::glob_match(p, n.as_bytes(), true))
            {
                out.push((
                    Reply::bulk(n.as_bytes()),
                    Reply::Bulk(ctx.store.config[n].clone()),
                ));
            }
        }
        return Ok(Reply::Map(out));
    }
    if eq_kw(&sub, "SET") {
        let a = args.rest();
        if a.is_empty() || a.len() % 2 != 0 {
            return Err(CmdError::WrongArity("config|set".into()));
        }
        for pair in a.chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_lowercase();
            let value = match crate::commands::pubsub::apply_config(ctx.store, &name, &pair[1]) {
                Some(canonical) => canonical?,
                None => pair[1].clone(),
            };
            ctx.store.config.insert(name, value);
        }
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "RESETSTAT") {
        ctx.store.stats = Default::default();
        return Ok(Reply::ok());
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "config".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}
