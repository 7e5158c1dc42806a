//! The `cjson` library with lua-cjson 2.1's behaviour (as bundled with Redis): `encode`,
//! `decode`, `null` and the configuration functions.
//!
//! Encoding: numbers with `%.14g`, `/` escaped as `\/`, tables whose keys are all positive
//! integers are arrays (holes become `null`; "excessively sparse" ones are an error), other
//! tables objects with string or number keys, an empty table `{}`. Decoding: `null` becomes
//! `cjson.null` (a NULL light userdata), `\u` escapes become UTF-8.

use std::sync::Arc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;

use super::super::convert::fmt_g;
use super::super::lua_error;
use super::{bad_argument, type_name};

/// The settings the configuration functions change.
struct Config {
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
        }
    }
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// The `cjson` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    let cfg = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    t.raw_set(
        "encode",
        super::func(lua, move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(bad_argument(1, "encode", "expected 1 argument"));
            }
            let cfg = c.lock();
            let mut out = Vec::new();
            encode(&args[0], &cfg, 1, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        super::func(lua, move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(bad_argument(1, "decode", "expected 1 argument"));
            }
            let s = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(i) => i.to_string().into_bytes(),
                Value::Number(n) => fmt_g(*n, 14).into_bytes(),
                other => {
                    return Err(bad_argument(
                        1,
                        "decode",
                        &format!("string expected, got {}", type_name(other)),
                    ));
                }
            };
            let max_depth = c.lock().decode_max_depth;
            let mut p = Parser {
                lua,
                s: &s,
                pos: 0,
                depth: 0,
                max_depth,
            };
            let v = p.value()?;
            p.skip_ws();
            if p.pos < s.len() {
                return Err(p.expected("the end"));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    let c = cfg.clone();
    t.raw_set(
        "encode_max_depth",
        super::func(lua, move |_, a: MultiValue| {
            int_setting(&a, "encode_max_depth", &mut c.lock().encode_max_depth)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_max_depth",
        super::func(lua, move |_, a: MultiValue| {
            int_setting(&a, "decode_max_depth", &mut c.lock().decode_max_depth)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_number_precision",
        super::func(lua, move |_, a: MultiValue| {
            let mut g = c.lock();
            let v = int_setting(&a, "encode_number_precision", &mut g.precision)?;
            if !(1..=14).contains(&g.precision) {
                g.precision = 14;
                return Err(bad_argument(
                    1,
                    "encode_number_precision",
                    "expected integer between 1 and 14",
                ));
            }
            Ok(v)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        super::func(lua, move |_, a: MultiValue| {
            bool_setting(&a, &mut c.lock().encode_invalid_numbers)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_invalid_numbers",
        super::func(lua, move |_, a: MultiValue| {
            bool_setting(&a, &mut c.lock().decode_invalid_numbers)
        })?,
    )?;
    t.raw_set(
        "encode_keep_buffer",
        super::func(lua, |_, a: MultiValue| {
            Ok(!matches!(a.front(), Some(Value::Boolean(false))))
        })?,
    )?;
    let c = cfg;
    t.raw_set(
        "encode_sparse_array",
        super::func(lua, move |_, a: MultiValue| {
            let mut g = c.lock();
            if let Some(v) = a.front() {
                match v {
                    Value::Boolean(b) => g.sparse_convert = *b,
                    Value::Nil => {}
                    _ => return Err(bad_argument(1, "encode_sparse_array", "invalid option")),
                }
            }
            if let Some(Value::Integer(r)) = a.get(1) {
                g.sparse_ratio = (*r).max(0) as usize;
            }
            if let Some(Value::Integer(s)) = a.get(2) {
                g.sparse_safe = (*s).max(0) as usize;
            }
            Ok((
                g.sparse_convert,
                g.sparse_ratio as i64,
                g.sparse_safe as i64,
            ))
        })?,
    )?;
    Ok(t)
}

fn int_setting(a: &MultiValue, name: &str, slot: &mut usize) -> mlua::Result<i64> {
    match a.front() {
        None | Some(Value::Nil) => {}
        Some(Value::Integer(n)) if *n > 0 => *slot = *n as usize,
        Some(Value::Number(n)) if *n >= 1.0 => *slot = *n as usize,
        _ => {
            return Err(bad_argument(
                1,
                name,
                "expected integer between 1 and 2147483647",
            ))
        }
    }
    Ok(*slot as i64)
}

fn bool_setting(a: &MultiValue, slot: &mut bool) -> mlua::Result<bool> {
    match a.front() {
        Some(Value::Boolean(b)) => *slot = *b,
        Some(Value::String(s)) if s.as_bytes().as_ref() == b"on" => *slot = true,
        Some(Value::String(s)) if s.as_bytes().as_ref() == b"off" => *slot = false,
        _ => {}
    }
    Ok(*slot)
}

fn encode_number(n: f64, cfg: &Config, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() && !cfg.encode_invalid_numbers {
        return Err(lua_error("Cannot serialise number: must not be NaN or Inf"));
    }
    if n.is_nan() {
        out.extend_from_slice(b"nan");
    } else {
        out.extend_from_slice(fmt_g(n, cfg.precision).as_bytes());
    }
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The array length of `t` when every key is a positive integer; None for an object.
fn array_length(t: &Table, cfg: &Config) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let idx = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 9e15 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(idx);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > items.saturating_mul(cfg.sparse_ratio) && max > cfg.sparse_safe
    {
        if !cfg.sparse_convert {
            return Err(lua_error(
                "Cannot serialise table: excessively sparse array",
            ));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode(v: &Value, cfg: &Config, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, cfg, out)?,
        Value::Number(n) => encode_number(*n, cfg, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            if depth > cfg.encode_max_depth {
                return Err(lua_error(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(t, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(&t.raw_get::<Value>(i)?, cfg, depth + 1, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(i) => {
                                out.push(b'"');
                                encode_number(*i as f64, cfg, out)?;
                                out.push(b'"');
                            }
                            Value::Number(n) => {
                                out.push(b'"');
                                encode_number(*n, cfg, out)?;
                                out.push(b'"');
                            }
                            other => {
                                return Err(lua_error(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                )))
                            }
                        }
                        out.push(b':');
                        encode(&val, cfg, depth + 1, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(lua_error(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            )));
        }
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// lua-cjson's name for the token at the current position.
    fn found(&self) -> &'static str {
        match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(_) => {
                let rest = &self.s[self.pos..];
                if rest.starts_with(b"true") || rest.starts_with(b"false") {
                    "T_BOOLEAN"
                } else if rest.starts_with(b"null") {
                    "T_NULL"
                } else {
                    "invalid token"
                }
            }
        }
    }

    fn expected(&self, what: &str) -> mlua::Error {
        lua_error(format!(
            "Expected {} but found {} at character {}",
            what,
            self.found(),
            self.pos + 1
        ))
    }

    fn value(&mut self) -> mlua::Result<Value> {
        self.skip_ws();
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.expected("value"));
        };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                let s = self.string()?;
                Ok(Value::String(self.lua.create_string(&s)?))
            }
            b'-' | b'0'..=b'9' | b'I' | b'N' | b'i' | b'n'
                if c != b'n' || !self.s[self.pos..].starts_with(b"null") =>
            {
                self.number()
            }
            _ => {
                let rest = &self.s[self.pos..];
                if rest.starts_with(b"true") {
                    self.pos += 4;
                    Ok(Value::Boolean(true))
                } else if rest.starts_with(b"false") {
                    self.pos += 5;
                    Ok(Value::Boolean(false))
                } else if rest.starts_with(b"null") {
                    self.pos += 4;
                    Ok(null())
                } else {
                    Err(self.expected("value"))
                }
            }
        }
    }

    fn enter(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(lua_error(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                self.pos + 1
            )));
        }
        Ok(())
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.expected("object key string"));
            }
            let k = self.string()?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.expected("colon"));
            }
            self.pos += 1;
            let v = self.value()?;
            t.raw_set(self.lua.create_string(&k)?, v)?;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.expected("comma or object end")),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value()?;
            t.raw_set(i, v)?;
            i += 1;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.expected("comma or array end")),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'n' | b'I' | b'N' | b't' | b'y' | b'T' | b'Y')
        {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match super::parse_lua_number(text) {
            Some(n) => {
                if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                    Ok(Value::Integer(n as i64))
                } else {
                    Ok(Value::Number(n))
                }
            }
            None => {
                self.pos = start;
                Err(self.expected("value"))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(lua_error(format!(
                    "Expected value but found unexpected end of string at character {}",
                    self.pos + 1
                )));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let esc = self.pos - 1;
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.bad_string(esc, "invalid escape code"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = self.hex4() else {
                                return Err(self.bad_string(esc, "invalid unicode escape code"));
                            };
                            if (0xD800..0xDC00).contains(&cp) {
                                // A high surrogate must be followed by an escaped low one.
                                if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.bad_string(esc, "invalid unicode escape code"));
                                }
                                self.pos += 2;
                                match self.hex4() {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                    }
                                    _ => {
                                        return Err(
                                            self.bad_string(esc, "invalid unicode escape code")
                                        )
                                    }
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(self.bad_string(esc, "invalid unicode escape code"));
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.bad_string(esc, "invalid escape code")),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn bad_string(&mut self, at: usize, what: &str) -> mlua::Error {
        lua_error(format!(
            "Expected value but found {} at character {}",
            what,
            at + 1
        ))
    }
}
