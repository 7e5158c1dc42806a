//! The `cmsgpack` library with lua-cmsgpack 0.4's behaviour (as bundled with Redis): `pack`,
//! `unpack`, `unpack_one`, `unpack_limit`.
//!
//! Packing: integral numbers as the smallest MessagePack integer, other numbers as a 32-bit
//! float when exact, else a double; tables whose keys are exactly 1..n as arrays, others as maps;
//! tables nested deeper than 16 levels, functions and userdata as nil.

use mlua::{Lua, MultiValue, Table, Value};

use super::super::lua_error;
use super::{bad_argument, check_number, func};

const MAX_NESTING: usize = 16;
/// 2^63: numbers in [-2^63, 2^63) that are integral pack as integers.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// The `cmsgpack` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        func(lua, |lua, args: MultiValue| {
            if args.is_empty() {
                return Err(bad_argument(0, "pack", "MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        func(lua, |lua, args: MultiValue| {
            unpack_full(lua, &args, 0, 0, "unpack")
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        func(lua, |lua, args: MultiValue| {
            let offset = if args.len() > 1 {
                check_number(&args, 1, "unpack_one")? as i64
            } else {
                0
            };
            unpack_full(lua, &args, 1, offset, "unpack_one")
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        func(lua, |lua, args: MultiValue| {
            let limit = check_number(&args, 1, "unpack_limit")? as i64;
            let offset = if args.len() > 2 {
                check_number(&args, 2, "unpack_limit")? as i64
            } else {
                0
            };
            unpack_full(lua, &args, limit, offset, "unpack_limit")
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && n.fract() == 0.0 && (-I64_LIMIT..I64_LIMIT).contains(&n) {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(
    len: usize,
    small_tag: u8,
    small_max: usize,
    tag16: u8,
    tag32: u8,
    out: &mut Vec<u8>,
) {
    if len <= small_max {
        out.push(small_tag | len as u8);
    } else if len <= 0xffff {
        out.push(tag16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(tag32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Array length when the keys are exactly 1..n.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let idx = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 9e15 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(idx);
        count += 1;
    }
    Ok(if max == count { Some(count) } else { None })
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => {
            let b = s.as_bytes();
            let len = b.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                encode_len(n, 0x90, 15, 0xdc, 0xdd, out);
                for i in 1..=n {
                    encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
                }
            }
            None => {
                let pairs: Vec<(Value, Value)> =
                    t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
                encode_len(pairs.len(), 0x80, 15, 0xde, 0xdf, out);
                for (k, val) in pairs {
                    encode(&k, level + 1, out)?;
                    encode(&val, level + 1, out)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

/// Decodes up to `limit` objects (0 = all) from `offset`. `unpack` returns the objects;
/// `unpack_one`/`unpack_limit` return the next offset (-1 at the end) first.
fn unpack_full(
    lua: &Lua,
    args: &MultiValue,
    limit: i64,
    offset: i64,
    fname: &str,
) -> mlua::Result<MultiValue> {
    let data = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Integer(i)) => i.to_string().into_bytes(),
        Some(other) => {
            return Err(bad_argument(
                1,
                fname,
                &format!("string expected, got {}", super::type_name(other)),
            ));
        }
        None => return Err(bad_argument(1, fname, "string expected, got no value")),
    };
    if offset < 0 || limit < 0 {
        return Err(lua_error(format!(
            "Invalid request to unpack with offset of {offset} and limit of {limit}."
        )));
    }
    let start = offset as usize;
    if start > data.len() {
        return Err(lua_error(format!(
            "Start offset {} greater than input length {}.",
            offset,
            data.len()
        )));
    }
    let mut d = Decoder {
        lua,
        s: &data,
        pos: start,
    };
    let mut values = Vec::new();
    while d.pos < data.len() && (limit == 0 || (values.len() as i64) < limit) {
        values.push(d.value()?);
    }
    let mut out = MultiValue::new();
    if fname != "unpack" {
        let next = if d.pos >= data.len() {
            -1
        } else {
            d.pos as i64
        };
        out.push_back(Value::Integer(next));
    }
    for v in values {
        out.push_back(v);
    }
    Ok(out)
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> mlua::Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.s.len())
            .ok_or_else(|| lua_error("Missing bytes in input."))?;
        let b = &self.s[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn uint(&mut self, n: usize) -> mlua::Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    fn str(&mut self, n: usize) -> mlua::Result<Value> {
        let b = self.take(n)?.to_vec();
        Ok(Value::String(self.lua.create_string(&b)?))
    }

    fn array(&mut self, n: usize) -> mlua::Result<Value> {
        let t = self.lua.create_table_with_capacity(n.min(1024), 0)?;
        for i in 1..=n {
            let v = self.value()?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, n: usize) -> mlua::Result<Value> {
        let t = self.lua.create_table()?;
        for _ in 0..n {
            let k = self.value()?;
            let v = self.value()?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    }

    fn value(&mut self) -> mlua::Result<Value> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00..=0x7f => Value::Integer(tag as i64),
            0x80..=0x8f => return self.map((tag & 0x0f) as usize),
            0x90..=0x9f => return self.array((tag & 0x0f) as usize),
            0xa0..=0xbf => return self.str((tag & 0x1f) as usize),
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4 | 0xd9 => {
                let n = self.uint(1)? as usize;
                return self.str(n);
            }
            0xc5 | 0xda => {
                let n = self.uint(2)? as usize;
                return self.str(n);
            }
            0xc6 | 0xdb => {
                let n = self.uint(4)? as usize;
                return self.str(n);
            }
            0xca => Value::Number(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Integer(self.uint(1)? as i64),
            0xcd => Value::Integer(self.uint(2)? as i64),
            0xce => Value::Integer(self.uint(4)? as i64),
            0xcf => {
                let u = self.uint(8)?;
                if u <= i64::MAX as u64 {
                    Value::Integer(u as i64)
                } else {
                    Value::Number(u as f64)
                }
            }
            0xd0 => Value::Integer(self.uint(1)? as u8 as i8 as i64),
            0xd1 => Value::Integer(self.uint(2)? as u16 as i16 as i64),
            0xd2 => Value::Integer(self.uint(4)? as u32 as i32 as i64),
            0xd3 => Value::Integer(self.uint(8)? as i64),
            0xdc => {
                let n = self.uint(2)? as usize;
                return self.array(n);
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                return self.array(n);
            }
            0xde => {
                let n = self.uint(2)? as usize;
                return self.map(n);
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                return self.map(n);
            }
            0xe0..=0xff => Value::Integer(tag as i8 as i64),
            _ => return Err(lua_error("Bad data format in input.")),
        })
    }
}
