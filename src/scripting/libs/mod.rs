//! The libraries Redis adds to Lua, implemented in Rust against the Lua API: cjson, cmsgpack,
//! struct and bit, plus Redis's deterministic `math.random`.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod lstruct;
pub mod random;

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Value};

/// A library function. Plain errors it raises get the position of the Lua code that called it
/// (`user_script:1: ...`), as `luaL_error` gives them in C libraries.
pub(crate) fn func<F, R>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<R> + Send + 'static,
    R: IntoLuaMulti,
{
    lua.create_function(move |lua, args: MultiValue| f(lua, args).map_err(|e| locate(lua, e)))
}

/// Prefixes a plain error with the caller's `source:line: `, as `luaL_where(L, 1)` does.
pub(crate) fn locate(lua: &Lua, e: mlua::Error) -> mlua::Error {
    match e {
        mlua::Error::RuntimeError(m) => {
            let at = lua
                .inspect_stack(1, |d| match d.current_line() {
                    Some(line) if line > 0 => {
                        format!("{}:{}: ", d.source().short_src.unwrap_or_default(), line)
                    }
                    _ => String::new(),
                })
                .unwrap_or_default();
            mlua::Error::RuntimeError(format!("{at}{m}"))
        }
        other => other,
    }
}

/// A numeric argument as `luaL_checknumber` reads it (numbers and numeric strings).
pub(crate) fn check_number(args: &mlua::MultiValue, i: usize, fname: &str) -> mlua::Result<f64> {
    let Some(v) = args.get(i).cloned() else {
        return Err(bad_argument(i + 1, fname, "number expected, got no value"));
    };
    match &v {
        Value::Integer(n) => return Ok(*n as f64),
        Value::Number(n) => return Ok(*n),
        Value::String(s) => {
            if let Some(n) = std::str::from_utf8(&s.as_bytes())
                .ok()
                .and_then(parse_lua_number)
            {
                return Ok(n);
            }
        }
        _ => {}
    }
    Err(bad_argument(
        i + 1,
        fname,
        &format!("number expected, got {}", type_name(&v)),
    ))
}

/// `bad argument #n to 'f' (msg)`, Lua's argument error text.
pub(crate) fn bad_argument(n: usize, fname: &str, msg: &str) -> mlua::Error {
    super::lua_error(format!("bad argument #{n} to '{fname}' ({msg})"))
}

/// Lua's name for a value's type (`no value` for a missing argument is reported as `nil`).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::LightUserData(_) | Value::UserData(_) | Value::Error(_) => "userdata",
        _ => "userdata",
    }
}

/// Lua 5.1's string-to-number conversion (`lua_str2number` plus hex), surrounding spaces allowed.
pub(crate) fn parse_lua_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    let lower = body.to_ascii_lowercase();
    if lower.starts_with("inf") || lower.starts_with("nan") {
        let v = match lower.as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            _ => return None,
        };
        return Some(if neg { -v } else { v });
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    Some(if neg { -v } else { v })
}
