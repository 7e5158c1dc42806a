//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, the
//! EXPIRE family, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, COPY, MOVE, TOUCH and OBJECT.

use std::borrow::Cow;

use rand::Rng;

use crate::cmd::args::{eq_kw, parse_i64};
use crate::cmd::ctx::delete_expired;
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::{notify_keyspace_event, EV_GENERIC};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::{StrValue, Value};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("del", -2, WRITE, 1, -1, 1, del),
    command!("unlink", -2, WRITE | FAST, 1, -1, 1, del),
    command!("exists", -2, READONLY | FAST, 1, -1, 1, exists),
    command!("touch", -2, READONLY | FAST, 1, -1, 1, touch),
    command!("type", 2, READONLY | FAST, 1, 1, 1, type_cmd),
    command!("keys", 2, READONLY, 0, 0, 0, keys),
    command!("scan", -2, READONLY, 0, 0, 0, scan),
    command!("randomkey", 1, READONLY, 0, 0, 0, randomkey),
    command!("rename", 3, WRITE, 1, 2, 1, rename),
    command!("renamenx", 3, WRITE | FAST, 1, 2, 1, renamenx),
    command!("expire", -3, WRITE | FAST, 1, 1, 1, expire),
    command!("pexpire", -3, WRITE | FAST, 1, 1, 1, pexpire),
    command!("expireat", -3, WRITE | FAST, 1, 1, 1, expireat),
    command!("pexpireat", -3, WRITE | FAST, 1, 1, 1, pexpireat),
    command!("ttl", 2, READONLY | FAST, 1, 1, 1, ttl),
    command!("pttl", 2, READONLY | FAST, 1, 1, 1, pttl),
    command!("expiretime", 2, READONLY | FAST, 1, 1, 1, expiretime),
    command!("pexpiretime", 2, READONLY | FAST, 1, 1, 1, pexpiretime),
    command!("persist", 2, WRITE | FAST, 1, 1, 1, persist),
    command!("copy", -3, WRITE | DENYOOM, 1, 2, 1, copy),
    command!("move", 3, WRITE | FAST, 1, 1, 1, move_cmd),
    command!("object", -2, 0, 0, 0, 0, object),
];

/// `DEL key [key ...]` and `UNLINK key [key ...]` (freeing is never deferred here, so they are
/// the same command).
fn del(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut n = 0;
    for k in args {
        if ctx.delete(&k) {
            ctx.notify(EV_GENERIC, "del", &k);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `EXISTS key [key ...]` (a key given twice counts twice; no access is recorded).
fn exists(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut n = 0;
    for k in args {
        if ctx.exists(&k) {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `TOUCH key [key ...]`: records an access of each existing key; replies how many exist.
fn touch(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut n = 0;
    for k in args {
        if ctx.lookup(&k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `TYPE key`
fn type_cmd(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let name = ctx.lookup_notouch(&key).map_or("none", |v| v.type_name());
    Ok(Reply::Status(Cow::Borrowed(name)))
}

/// `KEYS pattern`
fn keys(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let pattern = args.next_bytes()?;
    let now = ctx.now_ms();
    let all = pattern == b"*";
    let db = ctx.db();
    let out: Vec<Reply> = db
        .iter()
        .filter(|(k, _)| {
            !db.is_expired(k, now) && (all || crate::glob::glob_match(&pattern, k, false))
        })
        .map(|(k, _)| Reply::bulk(k))
        .collect();
    Ok(Reply::Array(out))
}

/// Parses a SCAN cursor as Redis 7.2 does (`strtoul` read in full): no leading space, an
/// optional sign (`-1` wraps around to the largest cursor), no overflow; the empty string is 0.
pub fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match b.split_first() {
        None => return Ok(0),
        Some((b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c, _)) => return Err(invalid()),
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN's options.
struct ScanOptions {
    count: usize,
    pattern: Option<Vec<u8>>,
    type_name: Option<Vec<u8>>,
}

fn parse_scan_options(args: &mut Args) -> Result<ScanOptions, CmdError> {
    let mut o = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    while let Some(opt) = args.next_opt() {
        let has_value = args.peek().is_some();
        if eq_kw(&opt, "COUNT") && has_value {
            let n = args.next_i64()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_kw(&opt, "MATCH") && has_value {
            o.pattern = Some(args.next_bytes()?);
        } else if eq_kw(&opt, "TYPE") && has_value {
            o.type_name = Some(args.next_bytes()?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
fn scan(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let cursor = parse_cursor(&args.next_bytes()?)?;
    let o = parse_scan_options(&mut args)?;
    let mut found: Vec<(Vec<u8>, &'static str)> = Vec::new();
    let next = ctx.db().scan(cursor, o.count, |k, v| {
        found.push((k.to_vec(), v.type_name()))
    });
    let mut out = Vec::with_capacity(found.len());
    for (k, t) in found {
        if o.pattern
            .as_ref()
            .is_some_and(|p| !crate::glob::glob_match(p, &k, false))
        {
            continue;
        }
        if o.type_name
            .as_ref()
            .is_some_and(|want| !want.eq_ignore_ascii_case(t.as_bytes()))
        {
            continue;
        }
        if ctx.expire_if_needed(&k) {
            continue;
        }
        out.push(Reply::Bulk(k));
    }
    Ok(Reply::Array(vec![
        Reply::Bulk(next.to_string().into_bytes()),
        Reply::Array(out),
    ]))
}

/// `RANDOMKEY`
fn randomkey(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let mut rng = rand::thread_rng();
    loop {
        let len = ctx.db().len();
        if len == 0 {
            return Ok(Reply::Nil);
        }
        let Some(key) = ctx.db().key_at(rng.gen_range(0..len)).map(|k| k.to_vec()) else {
            return Ok(Reply::Nil);
        };
        // An expired pick is reclaimed and another one drawn, so the loop ends: every round
        // either returns or removes a key.
        if !ctx.expire_if_needed(&key) {
            return Ok(Reply::Bulk(key));
        }
    }
}

/// The shared body of RENAME and RENAMENX: moves the value and its TTL. Returns false when NX
/// found the destination taken.
fn rename_generic(ctx: &mut Ctx, mut args: Args, nx: bool) -> Result<bool, CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    if !ctx.exists(&src) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        return Ok(!nx);
    }
    if ctx.exists(&dst) {
        if nx {
            return Ok(false);
        }
        ctx.db().remove(&dst);
    }
    let db = ctx.db();
    let ttl = db.expiry(&src);
    let Some(v) = db.remove(&src) else {
        return Err(CmdError::NoSuchKey);
    };
    db.set(&dst, v);
    if let Some(at) = ttl {
        db.set_expiry(&dst, at);
    }
    ctx.touched(&src);
    ctx.touched(&dst);
    ctx.notify(EV_GENERIC, "rename_from", &src);
    ctx.notify(EV_GENERIC, "rename_to", &dst);
    Ok(true)
}

/// `RENAME key newkey`
fn rename(ctx: &mut Ctx, args: Args) -> CmdResult {
    rename_generic(ctx, args, false)?;
    Ok(Reply::ok())
}

/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx, args: Args) -> CmdResult {
    Ok(Reply::Int(rename_generic(ctx, args, true)? as i64))
}

/// NX / XX / GT / LT of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(args: &mut Args) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for opt in args.by_ref() {
        if eq_kw(&opt, "NX") {
            f.nx = true;
        } else if eq_kw(&opt, "XX") {
            f.xx = true;
        } else if eq_kw(&opt, "GT") {
            f.gt = true;
        } else if eq_kw(&opt, "LT") {
            f.lt = true;
        } else {
            return Err(CmdError::err(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(&opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// The shared body of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT. `relative` adds the command's
/// time; `secs` scales by 1000. A time already past deletes the key.
fn expire_generic(ctx: &mut Ctx, mut args: Args, relative: bool, secs: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let when = args.next_bytes()?;
    let flags = parse_expire_flags(&mut args)?;
    let when = parse_i64(&when)?;
    let name = ctx.spec.name;
    let invalid = || CmdError::InvalidExpire(name.into());
    let when = if secs {
        when.checked_mul(1000).ok_or_else(invalid)?
    } else {
        when
    };
    let base = if relative { ctx.now_ms() } else { 0 };
    let when = when.checked_add(base).ok_or_else(invalid)?;
    if !ctx.exists(&key) {
        return Ok(Reply::Int(0));
    }
    let current = ctx.db().expiry(&key);
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|c| when <= c))
        || (flags.lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now_ms() {
        ctx.delete(&key);
        ctx.notify(EV_GENERIC, "del", &key);
    } else {
        ctx.db().set_expiry(&key, when);
        ctx.touched(&key);
        ctx.notify(EV_GENERIC, "expire", &key);
    }
    Ok(Reply::Int(1))
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, true, true)
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, true, false)
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, false, true)
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, false, false)
}

/// What the TTL family reports: -2 for a missing key, -1 for no TTL, else `f(expiry)`.
fn ttl_generic(ctx: &mut Ctx, mut args: Args, f: impl Fn(i64, i64) -> i64) -> CmdResult {
    let key = args.next_bytes()?;
    if !ctx.exists(&key) {
        return Ok(Reply::Int(-2));
    }
    let now = ctx.now_ms();
    Ok(Reply::Int(
        ctx.db().expiry(&key).map_or(-1, |at| f(at, now)),
    ))
}

/// `TTL key` (seconds, rounded to nearest as Redis does)
fn ttl(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, |at, now| ((at - now).max(0) + 500) / 1000)
}

/// `PTTL key`
fn pttl(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, |at, now| (at - now).max(0))
}

/// `EXPIRETIME key` (rounded without overflow, also for times near the largest one)
fn expiretime(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, |at, _| ((at as i128 + 500) / 1000) as i64)
}

/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, |at, _| at)
}

/// `PERSIST key`
fn persist(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    if !ctx.exists(&key) || !ctx.db().persist(&key) {
        return Ok(Reply::Int(0));
    }
    ctx.touched(&key);
    ctx.notify(EV_GENERIC, "persist", &key);
    Ok(Reply::Int(1))
}

/// A database index argument as COPY and MOVE take it (a C int, then range-checked).
fn parse_db_index(ctx: &Ctx, b: &[u8]) -> Result<usize, CmdError> {
    let i = i32::try_from(parse_i64(b)?).map_err(|_| {
        CmdError::err("value is out of range, value must between -2147483648 and 2147483647")
    })?;
    usize::try_from(i)
        .ok()
        .filter(|&i| i < ctx.store.dbs.len())
        .ok_or(CmdError::DbIndexOutOfRange)
}

/// Lazy expiry for a key of another database.
fn exists_in(ctx: &mut Ctx, db: usize, key: &[u8]) -> bool {
    if ctx.store.dbs[db].is_expired(key, ctx.env.now_ms) {
        delete_expired(ctx.store, db, key, ctx.env);
    }
    ctx.store.dbs[db].contains(key)
}

fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let mut replace = false;
    let mut dst_db = ctx.db_index();
    while let Some(opt) = args.next_opt() {
        if eq_kw(&opt, "REPLACE") {
            replace = true;
        } else if eq_kw(&opt, "DB") && args.peek().is_some() {
            dst_db = parse_db_index(ctx, &args.next_bytes()?)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if dst_db == ctx.db_index() && src == dst {
        return Err(same_object());
    }
    let Some(v) = ctx.lookup(&src).map(|v| match v {
        Value::Str(s) => Value::Str(s.duplicate()),
        other => other.clone(),
    }) else {
        return Ok(Reply::Int(0));
    };
    let ttl = ctx.db().expiry(&src);
    if exists_in(ctx, dst_db, &dst) && !replace {
        return Ok(Reply::Int(0));
    }
    let target = &mut ctx.store.dbs[dst_db];
    target.set(&dst, v);
    if let Some(at) = ttl {
        target.set_expiry(&dst, at);
    }
    ctx.touched_in(dst_db, &dst);
    notify_keyspace_event(ctx.store, ctx.env, EV_GENERIC, "copy_to", &dst, dst_db);
    Ok(Reply::Int(1))
}

/// `MOVE key db`
fn move_cmd(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let dst_db = parse_db_index(ctx, &args.next_bytes()?)?;
    let src_db = ctx.db_index();
    if dst_db == src_db {
        return Err(same_object());
    }
    if !ctx.exists(&key) {
        return Ok(Reply::Int(0));
    }
    if exists_in(ctx, dst_db, &key) {
        return Ok(Reply::Int(0));
    }
    let ttl = ctx.db().expiry(&key);
    let Some(v) = ctx.db().remove(&key) else {
        return Ok(Reply::Int(0));
    };
    let target = &mut ctx.store.dbs[dst_db];
    target.set(&key, v);
    if let Some(at) = ttl {
        target.set_expiry(&key, at);
    }
    ctx.touched(&key);
    ctx.touched_in(dst_db, &key);
    ctx.notify(EV_GENERIC, "move_from", &key);
    notify_keyspace_event(ctx.store, ctx.env, EV_GENERIC, "move_to", &key, dst_db);
    Ok(Reply::Int(1))
}

/// Redis shares one object for the integers 0..9999 and reports its refcount as `INT_MAX`.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    The internal representation of the value stored at <key>.",
    "FREQ <key>",
    "    The logarithmic access frequency counter of <key> (LFU policies only).",
    "IDLETIME <key>",
    "    Seconds since <key> was last read or written (approximate; LRU policies).",
    "REFCOUNT <key>",
    "    How many references the value stored at <key> has.",
    "HELP",
    "    Prints this help.",
];

/// `OBJECT ENCODING key`, `OBJECT REFCOUNT key`, `OBJECT IDLETIME key`, `OBJECT FREQ key`,
/// `OBJECT HELP`
fn object(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let sub_name = String::from_utf8_lossy(&sub).to_lowercase();
    let arity = match sub_name.as_str() {
        "help" => 0,
        "encoding" | "refcount" | "idletime" | "freq" => 1,
        _ => {
            return Err(CmdError::UnknownSubcommand {
                cmd: "object".into(),
                sub: String::from_utf8_lossy(&sub).into(),
            })
        }
    };
    if args.remaining() != arity {
        return Err(CmdError::WrongArity(format!("object|{sub_name}")));
    }
    if sub_name == "help" {
        return Ok(Reply::Array(
            OBJECT_HELP
                .iter()
                .map(|l| Reply::Status(Cow::Borrowed(*l)))
                .collect(),
        ));
    }
    let key = args.next_bytes()?;
    let Some(v) = ctx.lookup_notouch(&key) else {
        return Ok(Reply::Nil);
    };
    let reply = match sub_name.as_str() {
        "encoding" => Reply::Bulk(v.encoding().as_bytes().to_vec()),
        "refcount" => Reply::Int(match v {
            Value::Str(StrValue::Int(i)) if (0..SHARED_INTEGERS).contains(i) => SHARED_REFCOUNT,
            _ => 1,
        }),
        _ => {
            let db = ctx.db();
            let meta = db.meta(&key).unwrap_or(0);
            let access = db.access();
            match (sub_name.as_str(), access.is_lfu()) {
                ("idletime", false) => Reply::Int(access.idle_s(meta) as i64),
                ("freq", true) => Reply::Int(access.decayed(meta) as i64),
                ("idletime", true) => return Err(CmdError::err(
                    "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
                )),
                _ => return Err(CmdError::err(
                    "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
                )),
            }
        }
    };
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_string2ull() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"42"), Ok(42));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"+7"), Ok(7));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert!(parse_cursor(b" 7").is_err());
        assert!(parse_cursor(b"+").is_err());
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert!(parse_cursor(b"abc").is_err());
    }
}
