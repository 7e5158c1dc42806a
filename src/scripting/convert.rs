//! Conversions between Lua values and replies, with Redis's rules.
//!
//! Redis to Lua (what `redis.call` returns), RESP2 (the default): integers become numbers, bulk
//! strings strings, arrays tables, a status `{ok=...}`, an error `{err=...}`, nil `false`.
//! Under `redis.setresp(3)`: maps `{map={...}}`, sets `{set={k=true}}`, doubles `{double=n}`,
//! booleans, big numbers `{big_number=s}`, verbatim strings `{verbatim_string={format,string}}`,
//! null `nil`.
//!
//! Lua to Redis (what a script returns): numbers truncate to integers, strings are bulk strings,
//! `true` is 1 and `false` nil (booleans under RESP3), tables with a string `err`/`ok` field are
//! errors/statuses, `double`/`map`/`set`/`big_number`/`verbatim_string` tables the RESP3 types,
//! other tables arrays up to their first nil; anything else is nil.

use mlua::{Lua, Table, Value};

use crate::reply::{format_double, Reply};

/// Nesting deeper than this is refused (a table containing itself would recurse forever).
const MAX_DEPTH: usize = 1000;

/// Converts a Lua number to an integer reply as C's `(long long)` cast does on x86-64:
/// truncation, and the "integer indefinite" value for NaN and out-of-range numbers.
pub fn number_to_int(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn sanitize(s: &[u8]) -> String {
    String::from_utf8_lossy(s).replace(['\r', '\n'], " ")
}

/// What a script (or a nested table element) returns, as a reply.
pub fn lua_to_reply(v: &Value, resp: u8, depth: usize) -> Reply {
    match v {
        Value::String(s) => Reply::Bulk(s.as_bytes().to_vec()),
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(number_to_int(*n)),
        Value::Boolean(b) => {
            if resp == 2 {
                if *b {
                    Reply::Int(1)
                } else {
                    Reply::Nil
                }
            } else {
                Reply::Bool(*b)
            }
        }
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Reply::Error("ERR reached lua stack limit".into());
            }
            table_to_reply(t, resp, depth + 1)
        }
        _ => Reply::Nil,
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize) -> Reply {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        return Reply::Error(sanitize(&e.as_bytes()));
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return Reply::Status(sanitize(&s.as_bytes()).into());
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(n)) => return Reply::Double(n),
        Ok(Value::Integer(i)) => return Reply::Double(i as f64),
        _ => {}
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        return Reply::BigNumber(sanitize(&s.as_bytes()));
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(_)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            return Reply::Verbatim(s.as_bytes().to_vec());
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mut out = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            out.push((lua_to_reply(&k, resp, depth), lua_to_reply(&v, resp, depth)));
        }
        return Reply::Map(out);
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let mut out = Vec::new();
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            out.push(lua_to_reply(&k, resp, depth));
        }
        return Reply::Set(out);
    }
    let mut out = Vec::new();
    let mut i = 1i64;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => out.push(lua_to_reply(&v, resp, depth)),
        }
        i += 1;
    }
    Reply::Array(out)
}

/// The error text of a failed script's error table: its `err` field, plus Redis 7's
/// ` script: <sha>, on <source>:<line>.` when the handler recorded a position.
pub fn error_table_text(t: &Table, sha: Option<&str>) -> String {
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => sanitize(&s.as_bytes()),
        _ => "ERR unknown error".to_string(),
    };
    let source = t.raw_get::<Value>("source").ok();
    let line = t.raw_get::<Value>("line").ok();
    match (sha, source, line) {
        (
            Some(sha),
            Some(Value::String(src)),
            Some(line @ (Value::Integer(_) | Value::Number(_))),
        ) => {
            format!(
                "{} script: {}, on {}:{}.",
                msg,
                sha,
                sanitize(&src.as_bytes()),
                display(&line)
            )
        }
        _ => msg,
    }
}

/// A Lua value as `tostring` prints it (for error messages).
pub fn display(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => lua_number_text(*n),
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Error(e) => match super::classify(e) {
            super::RaisedError::Table(t) | super::RaisedError::Plain(t) => t,
        },
        other => format!("{}: {:p}", other.type_name(), other.to_pointer()),
    }
}

/// A number as Lua 5.1's `tostring` prints it (`%.14g`).
pub fn lua_number_text(n: f64) -> String {
    fmt_g(n, 14)
}

/// C's `%.<prec>g`.
pub fn fmt_g(n: f64, prec: usize) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if n == 0.0 {
        return if n.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let prec = prec.max(1);
    let e = format!("{:.*e}", prec - 1, n);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        format!(
            "{}e{}{:02}",
            mant,
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A number passed to `redis.call`, as Redis 7.2 prints it (shortest round-trip form; Redis
/// 7.0 used `%.17g`, so `0.1` was sent as `0.10000000000000001`).
pub fn number_arg(n: f64) -> Vec<u8> {
    if n == 0.0 && n.is_sign_negative() {
        return b"-0".to_vec();
    }
    format_double(n).into_bytes()
}

/// What `redis.call` hands back to Lua for a reply (`resp` is the script's `redis.setresp`).
pub fn reply_to_lua(lua: &Lua, r: Reply, resp: u8, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Ok(Value::Boolean(false));
    }
    let d = depth + 1;
    Ok(match r {
        Reply::Status(s) => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(s.as_bytes())?)?;
            Value::Table(t)
        }
        Reply::Error(e) => Value::Table(error_table(lua, &e)?),
        Reply::Int(i) => Value::Integer(i),
        Reply::Bulk(b) => Value::String(lua.create_string(&b)?),
        Reply::Nil | Reply::NilArray => {
            if resp == 2 {
                Value::Boolean(false)
            } else {
                Value::Nil
            }
        }
        Reply::Array(items) | Reply::Push(items) => sequence(lua, items, resp, d)?,
        Reply::Set(items) => {
            if resp == 2 {
                sequence(lua, items, resp, d)?
            } else {
                let inner = lua.create_table()?;
                for it in items {
                    inner.raw_set(reply_to_lua(lua, it, resp, d)?, true)?;
                }
                wrap(lua, "set", Value::Table(inner))?
            }
        }
        Reply::Map(pairs) => {
            if resp == 2 {
                let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
                let mut i = 1;
                for (k, v) in pairs {
                    t.raw_set(i, reply_to_lua(lua, k, resp, d)?)?;
                    t.raw_set(i + 1, reply_to_lua(lua, v, resp, d)?)?;
                    i += 2;
                }
                Value::Table(t)
            } else {
                let inner = lua.create_table()?;
                for (k, v) in pairs {
                    inner.raw_set(
                        reply_to_lua(lua, k, resp, d)?,
                        reply_to_lua(lua, v, resp, d)?,
                    )?;
                }
                wrap(lua, "map", Value::Table(inner))?
            }
        }
        Reply::Double(x) => {
            if resp == 2 {
                Value::String(lua.create_string(format_double(x))?)
            } else {
                wrap(lua, "double", Value::Number(x))?
            }
        }
        Reply::Bool(b) => {
            if resp == 2 {
                Value::Integer(b as i64)
            } else {
                Value::Boolean(b)
            }
        }
        Reply::BigNumber(s) => {
            if resp == 2 {
                Value::String(lua.create_string(&s)?)
            } else {
                wrap(lua, "big_number", Value::String(lua.create_string(&s)?))?
            }
        }
        Reply::Verbatim(b) => {
            if resp == 2 {
                Value::String(lua.create_string(&b)?)
            } else {
                let inner = lua.create_table()?;
                inner.raw_set("format", "txt")?;
                inner.raw_set("string", lua.create_string(&b)?)?;
                wrap(lua, "verbatim_string", Value::Table(inner))?
            }
        }
    })
}

fn sequence(lua: &Lua, items: Vec<Reply>, resp: u8, depth: usize) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, it) in items.into_iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, it, resp, depth)?)?;
    }
    Ok(Value::Table(t))
}

fn wrap(lua: &Lua, field: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, v)?;
    Ok(Value::Table(t))
}

/// The error table `redis.call` raises and `redis.pcall` returns for an error reply.
pub fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "err",
        lua.create_string(text.trim_end_matches(['\r', '\n']))?,
    )?;
    t.raw_set("ignore_error_stats_update", true)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_truncate_like_c_casts() {
        assert_eq!(number_to_int(3.99), 3);
        assert_eq!(number_to_int(-3.99), -3);
        assert_eq!(number_to_int(f64::INFINITY), i64::MIN);
        assert_eq!(number_to_int(f64::NAN), i64::MIN);
        assert_eq!(number_to_int(9007199254740992.0), 9007199254740992);
    }

    #[test]
    fn g_format_matches_c() {
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(2f64.powi(63), 14), "9.2233720368548e+18");
        assert_eq!(fmt_g(100.0, 14), "100");
        assert_eq!(fmt_g(1e-5, 14), "1e-05");
        assert_eq!(fmt_g(123456.789, 14), "123456.789");
        assert_eq!(fmt_g(1e15, 14), "1e+15");
        assert_eq!(fmt_g(0.5, 17), "0.5");
    }
}
