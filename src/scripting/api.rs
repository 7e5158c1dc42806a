//! The `redis` table scripts see: `call`/`pcall` through the dispatcher, reply helpers, `sha1hex`,
//! `log`, `setresp`, replication and debugging stubs, and Redis's constants.

use std::sync::atomic::Ordering;

use mlua::{Lua, MultiValue, Table, Value};

use super::convert::{error_table, number_arg, reply_to_lua};
use super::{lua_error, redis_error, sha1_hex, Run};
use crate::cmd::{dispatch::dispatch, flags, table};
use crate::reply::Reply;

/// The version scripts see in `redis.REDIS_VERSION` (that of INFO / HELLO).
const VERSION: &str = crate::commands::connection::REDIS_VERSION;

fn version_num() -> i64 {
    let mut n = 0i64;
    for part in VERSION.split('.').take(3) {
        n = (n << 8) | part.parse::<i64>().unwrap_or(0);
    }
    n
}

/// Builds the `redis` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    // A failed command raises a Redis error table. `call` is a C function, as in Redis, so
    // `return redis.call(...)` keeps the script's frame for the error position.
    t.raw_set(
        "call",
        lua.create_function(|lua, args: MultiValue| match run_command(lua, args)? {
            Ok(v) => Ok(v),
            Err(text) => Err(redis_error(text)),
        })?,
    )?;
    t.raw_set(
        "pcall",
        lua.create_function(|lua, args: MultiValue| {
            Ok(match run_command(lua, args)? {
                Ok(v) => v,
                Err(text) => Value::Table(error_table(lua, &text)?),
            })
        })?,
    )?;
    t.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
    t.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| reply_helper(lua, args, "err"))?,
    )?;
    t.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| reply_helper(lua, args, "ok"))?,
    )?;
    t.raw_set("log", lua.create_function(log)?)?;
    t.raw_set("setresp", lua.create_function(setresp)?)?;
    t.raw_set("set_repl", lua.create_function(set_repl)?)?;
    t.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    t.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    t.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    t.raw_set("acl_check_cmd", lua.create_function(acl_check_cmd)?)?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        t.raw_set(name, v)?;
    }
    t.raw_set("REDIS_VERSION", VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", version_num())?;
    Ok(t)
}

/// Turns `redis.call` arguments into command arguments (strings and numbers only).
fn command_args(args: &MultiValue) -> Result<Vec<Vec<u8>>, String> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call".into());
    }
    let mut out = Vec::with_capacity(args.len());
    for a in args.iter() {
        out.push(match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(i) => i.to_string().into_bytes(),
            Value::Number(n) => number_arg(*n),
            _ => {
                return Err(
                    "ERR Lua redis lib command arguments must be strings or integers".into(),
                )
            }
        });
    }
    Ok(out)
}

/// Runs one command for the script: `Ok(value)` or `Err(error text)`.
fn run_command(lua: &Lua, args: MultiValue) -> mlua::Result<Result<Value, String>> {
    let argv = match command_args(&args) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let (reply, resp) = {
        let Some(mut run) = lua.app_data_mut::<Run>() else {
            return Err(lua_error(
                "redis.call is only available while a script runs",
            ));
        };
        let resp = run.resp;
        let reply = match check_command(&mut run, &argv) {
            Err(e) => Reply::Error(e.into()),
            Ok(()) => {
                let (store, env, client) = run.parts();
                client.resp = resp;
                dispatch(store, client, argv, env).unwrap_or(Reply::NilArray)
            }
        };
        (reply, resp)
    };
    match reply {
        Reply::Error(e) => Ok(Err(e.trim_end_matches(['\r', '\n']).to_string())),
        r => Ok(Ok(reply_to_lua(lua, r, resp, 0)?)),
    }
}

/// The script-specific checks Redis makes before running a command from Lua.
fn check_command(run: &mut Run, argv: &[Vec<u8>]) -> Result<(), &'static str> {
    let Some(spec) = table().get(&argv[0]) else {
        return Err("ERR Unknown Redis command called from script");
    };
    if !spec.arity_ok(argv.len()) {
        return Err("ERR Wrong number of args calling Redis command from script");
    }
    if spec.has(flags::NOSCRIPT) {
        return Err("ERR This Redis command is not allowed from script");
    }
    if spec.has(flags::WRITE) && run.read_only {
        return Err("ERR Write commands are not allowed from read-only scripts.");
    }
    // Over `maxmemory`, a script that has not written yet may not start growing memory (once it
    // wrote, it runs to the end: half a script must not be refused).
    if spec.has(flags::DENYOOM) && !run.allow_oom && !run.ctl.wrote.load(Ordering::Acquire) {
        let (_, env, _) = run.parts();
        if env.oom {
            return Err("OOM command not allowed when used memory > 'maxmemory'.");
        }
    }
    if spec.has(flags::WRITE) {
        run.ctl.wrote.store(true, Ordering::Release);
    }
    Ok(())
}

/// `redis.sha1hex(s)`
fn sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::LuaString> {
    if args.len() != 1 {
        return Err(redis_error("ERR wrong number of arguments"));
    }
    let data = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Number(n) => super::convert::lua_number_text(*n).into_bytes(),
        _ => Vec::new(),
    };
    lua.create_string(sha1_hex(&data))
}

/// `redis.error_reply(msg)` / `redis.status_reply(msg)`: `{err=msg}` (a leading `-` dropped) or
/// `{ok=msg}`; a bad argument gives an error table rather than raising, as in Redis.
fn reply_helper(lua: &Lua, args: MultiValue, field: &str) -> mlua::Result<Table> {
    match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => {
            let b = s.as_bytes();
            let b: &[u8] = if field == "err" {
                b.strip_prefix(b"-").unwrap_or(&b)
            } else {
                &b
            };
            let t = lua.create_table()?;
            t.raw_set(field, lua.create_string(b)?)?;
            Ok(t)
        }
        _ => error_table(lua, "ERR wrong number or type of arguments"),
    }
}

/// `redis.log(level, message, ...)`: collected under the lock, logged by the front door after.
fn log(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(redis_error(
            "ERR redis.log() requires two arguments or more.",
        ));
    }
    let level = match &args[0] {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        _ => {
            return Err(redis_error(
                "ERR First argument must be a number (log level).",
            ))
        }
    };
    if !(0.0..=3.0).contains(&level) || level.fract() != 0.0 {
        return Err(redis_error("ERR Invalid debug level."));
    }
    let mut msg = Vec::new();
    for (i, a) in args.iter().enumerate().skip(1) {
        let part = match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => n.to_string().into_bytes(),
            Value::Number(n) => super::convert::lua_number_text(*n).into_bytes(),
            _ => continue,
        };
        if i != 1 {
            msg.push(b' ');
        }
        msg.extend_from_slice(&part);
    }
    if let Some(mut run) = lua.app_data_mut::<Run>() {
        run.env().script_logs.push((level as u8, msg));
    }
    Ok(())
}

/// `redis.setresp(2|3)`: the protocol of replies handed to the script.
fn setresp(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(redis_error("ERR redis.setresp() requires one argument."));
    }
    let v = match &args[0] {
        Value::Integer(i) => *i,
        Value::Number(n) => *n as i64,
        _ => 0,
    };
    if v != 2 && v != 3 {
        return Err(redis_error("ERR RESP version must be 2 or 3."));
    }
    if let Some(mut run) = lua.app_data_mut::<Run>() {
        run.resp = v as u8;
    }
    Ok(())
}

/// `redis.set_repl(flags)`: accepted (nothing is replicated in-process).
fn set_repl(_lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(redis_error("ERR redis.set_repl() requires one argument."));
    }
    let ok = match &args[0] {
        Value::Integer(i) => (0..=3).contains(i),
        Value::Number(n) => (0.0..=3.0).contains(n),
        _ => false,
    };
    if !ok {
        return Err(redis_error(
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ));
    }
    Ok(())
}

/// `redis.acl_check_cmd(command, ...)`: there are no ACL users, so any known command is allowed.
fn acl_check_cmd(_lua: &Lua, args: MultiValue) -> mlua::Result<bool> {
    let argv = command_args(&args).map_err(redis_error)?;
    match table().get(&argv[0]) {
        Some(spec) if spec.arity_ok(argv.len()) => Ok(true),
        Some(_) => Err(redis_error(
            "ERR Invalid command passed to redis.acl_check_cmd()",
        )),
        None => Err(redis_error(
            "ERR Invalid command passed to redis.acl_check_cmd()",
        )),
    }
}
