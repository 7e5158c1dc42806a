//! The `struct` library (as bundled with Redis): `pack`, `unpack` and `size` over a format of
//! `<` `>` `!n` (endianness, alignment), `x` (padding), `b B h H l L T i I` with optional sizes
//! (integers), `f d` (floats), `c n` (fixed strings; `c0` takes its length from the previous
//! value when unpacking) and `s` (zero-terminated strings).

use mlua::{Lua, MultiValue, Table, Value};

use super::super::lua_error;
use super::{bad_argument, check_number, func};

const MAX_INT_SIZE: usize = 32;
const NATIVE_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

/// One parsed format item.
enum Item {
    Endian(bool),
    Align(usize),
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    Chars(usize),
    Zstr,
}

fn parse(fmt: &[u8], fname: &str) -> mlua::Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut i = 0;
    let num = |i: &mut usize, default: usize| -> mlua::Result<usize> {
        let start = *i;
        let mut n: usize = 0;
        while *i < fmt.len() && fmt[*i].is_ascii_digit() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add((fmt[*i] - b'0') as usize))
                .ok_or_else(|| lua_error("integral size out of limits"))?;
            *i += 1;
        }
        Ok(if *i == start { default } else { n })
    };
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        items.push(match c {
            b' ' => continue,
            b'<' => Item::Endian(true),
            b'>' => Item::Endian(false),
            b'=' => Item::Endian(cfg!(target_endian = "little")),
            b'!' => {
                let a = num(&mut i, NATIVE_ALIGN)?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(lua_error(format!("alignment {a} is not a power of 2")));
                }
                Item::Align(a)
            }
            b'x' => Item::Pad,
            b'b' => Item::Int {
                size: 1,
                signed: true,
            },
            b'B' => Item::Int {
                size: 1,
                signed: false,
            },
            b'h' => Item::Int {
                size: 2,
                signed: true,
            },
            b'H' => Item::Int {
                size: 2,
                signed: false,
            },
            b'l' => Item::Int {
                size: 8,
                signed: true,
            },
            b'L' | b'T' => Item::Int {
                size: 8,
                signed: false,
            },
            b'i' | b'I' => {
                let size = num(&mut i, 4)?;
                if size > MAX_INT_SIZE {
                    return Err(lua_error(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                Item::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Item::Float,
            b'd' => Item::Double,
            b'c' => Item::Chars(num(&mut i, 1)?),
            b's' => Item::Zstr,
            other => {
                return Err(bad_argument(
                    1,
                    fname,
                    &format!("invalid format option '{}'", other as char),
                ));
            }
        });
    }
    Ok(items)
}

fn item_size(it: &Item) -> usize {
    match it {
        Item::Pad => 1,
        Item::Int { size, .. } => *size,
        Item::Float => 4,
        Item::Double => 8,
        Item::Chars(n) => *n,
        _ => 0,
    }
}

fn padding(len: usize, it: &Item, h: &Header) -> usize {
    let size = item_size(it);
    if size <= 1 || matches!(it, Item::Chars(_)) {
        return 0;
    }
    let align = size.min(h.align);
    (align - (len & (align - 1))) & (align - 1)
}

fn fmt_arg(args: &MultiValue, fname: &str) -> mlua::Result<Vec<u8>> {
    match args.front() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(other) => Err(bad_argument(
            1,
            fname,
            &format!("string expected, got {}", super::type_name(other)),
        )),
        None => Err(bad_argument(1, fname, "string expected, got no value")),
    }
}

fn str_arg(args: &MultiValue, i: usize, fname: &str) -> mlua::Result<Vec<u8>> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Integer(n)) => Ok(n.to_string().into_bytes()),
        Some(Value::Number(n)) => Ok(super::super::convert::lua_number_text(*n).into_bytes()),
        Some(other) => Err(bad_argument(
            i + 1,
            fname,
            &format!("string expected, got {}", super::type_name(other)),
        )),
        None => Err(bad_argument(i + 1, fname, "string expected, got no value")),
    }
}

fn put_int(n: f64, size: usize, little: bool, out: &mut Vec<u8>) {
    let v: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let fill = if n < 0.0 { 0xff } else { 0 };
    let mut bytes = Vec::with_capacity(size);
    for i in 0..size {
        bytes.push(if i < 8 { (v >> (8 * i)) as u8 } else { fill });
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn get_int(b: &[u8], signed: bool, little: bool) -> mlua::Result<f64> {
    let size = b.len();
    let mut v: u64 = 0;
    for i in 0..size {
        let byte = if little { b[size - 1 - i] } else { b[i] };
        if i < size.saturating_sub(8) {
            let expected = if signed && b[if little { size - 1 } else { 0 }] & 0x80 != 0 {
                0xff
            } else {
                0
            };
            if byte != expected {
                return Err(lua_error(format!(
                    "{size}-byte integer does not fit into Lua Integer"
                )));
            }
            continue;
        }
        v = (v << 8) | byte as u64;
    }
    if signed {
        let bits = (size.min(8) * 8) as u32;
        let shifted = if bits < 64 {
            ((v << (64 - bits)) as i64) >> (64 - bits)
        } else {
            v as i64
        };
        Ok(shifted as f64)
    } else {
        Ok(v as f64)
    }
}

/// The `struct` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        func(lua, |lua, args: MultiValue| {
            let items = parse(&fmt_arg(&args, "pack")?, "pack")?;
            let mut h = Header {
                little: cfg!(target_endian = "little"),
                align: 1,
            };
            let mut out = Vec::new();
            let mut arg = 1;
            for it in &items {
                let pad = padding(out.len(), it, &h);
                out.extend(std::iter::repeat_n(0u8, pad));
                match it {
                    Item::Endian(l) => h.little = *l,
                    Item::Align(a) => h.align = *a,
                    Item::Pad => out.push(0),
                    Item::Int { size, .. } => {
                        let n = check_number(&args, arg, "pack")?;
                        arg += 1;
                        put_int(n, *size, h.little, &mut out);
                    }
                    Item::Float => {
                        let n = check_number(&args, arg, "pack")? as f32;
                        arg += 1;
                        let b = if h.little {
                            n.to_le_bytes()
                        } else {
                            n.to_be_bytes()
                        };
                        out.extend_from_slice(&b);
                    }
                    Item::Double => {
                        let n = check_number(&args, arg, "pack")?;
                        arg += 1;
                        let b = if h.little {
                            n.to_le_bytes()
                        } else {
                            n.to_be_bytes()
                        };
                        out.extend_from_slice(&b);
                    }
                    Item::Chars(n) => {
                        let s = str_arg(&args, arg, "pack")?;
                        let size = if *n == 0 { s.len() } else { *n };
                        if s.len() < size {
                            return Err(bad_argument(arg + 2, "pack", "string too short"));
                        }
                        arg += 1;
                        out.extend_from_slice(&s[..size]);
                    }
                    Item::Zstr => {
                        let s = str_arg(&args, arg, "pack")?;
                        if s.contains(&0) {
                            return Err(bad_argument(arg + 2, "pack", "string contains zeros"));
                        }
                        arg += 1;
                        out.extend_from_slice(&s);
                        out.push(0);
                    }
                }
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        func(lua, |lua, args: MultiValue| {
            let items = parse(&fmt_arg(&args, "unpack")?, "unpack")?;
            let data = str_arg(&args, 1, "unpack")?;
            let mut pos = if args.len() > 2 {
                check_number(&args, 2, "unpack")? as i64 - 1
            } else {
                0
            };
            if pos < 0 || pos as usize > data.len() {
                return Err(bad_argument(3, "unpack", "offset must be 1 or greater"));
            }
            let mut h = Header {
                little: cfg!(target_endian = "little"),
                align: 1,
            };
            let mut out: Vec<Value> = Vec::new();
            for it in &items {
                pos += padding(pos as usize, it, &h) as i64;
                let p = pos as usize;
                let need = |size: usize| -> mlua::Result<&[u8]> {
                    p.checked_add(size)
                        .filter(|e| *e <= data.len())
                        .map(|e| &data[p..e])
                        .ok_or_else(|| bad_argument(2, "unpack", "data string too short"))
                };
                match it {
                    Item::Endian(l) => h.little = *l,
                    Item::Align(a) => h.align = *a,
                    Item::Pad => {
                        need(1)?;
                        pos += 1;
                    }
                    Item::Int { size, signed } => {
                        let n = get_int(need(*size)?, *signed, h.little)?;
                        out.push(Value::Number(n));
                        pos += *size as i64;
                    }
                    Item::Float => {
                        let b: [u8; 4] = need(4)?
                            .try_into()
                            .map_err(|_| lua_error("data string too short"))?;
                        let f = if h.little {
                            f32::from_le_bytes(b)
                        } else {
                            f32::from_be_bytes(b)
                        };
                        out.push(Value::Number(f as f64));
                        pos += 4;
                    }
                    Item::Double => {
                        let b: [u8; 8] = need(8)?
                            .try_into()
                            .map_err(|_| lua_error("data string too short"))?;
                        let f = if h.little {
                            f64::from_le_bytes(b)
                        } else {
                            f64::from_be_bytes(b)
                        };
                        out.push(Value::Number(f));
                        pos += 8;
                    }
                    Item::Chars(n) => {
                        let size = if *n == 0 {
                            match out.pop() {
                                Some(Value::Number(x)) if x >= 0.0 => x as usize,
                                Some(Value::Integer(x)) if x >= 0 => x as usize,
                                _ => return Err(lua_error("format 'c0' needs a previous size")),
                            }
                        } else {
                            *n
                        };
                        let s = need(size)?.to_vec();
                        out.push(Value::String(lua.create_string(&s)?));
                        pos += size as i64;
                    }
                    Item::Zstr => {
                        let rest = &data[p..];
                        let Some(end) = rest.iter().position(|&c| c == 0) else {
                            return Err(lua_error("unfinished string in data"));
                        };
                        out.push(Value::String(lua.create_string(&rest[..end])?));
                        pos += end as i64 + 1;
                    }
                }
            }
            out.push(Value::Number((pos + 1) as f64));
            Ok(MultiValue::from_vec(out))
        })?,
    )?;
    t.raw_set(
        "size",
        func(lua, |_, args: MultiValue| {
            let items = parse(&fmt_arg(&args, "size")?, "size")?;
            let mut h = Header {
                little: true,
                align: 1,
            };
            let mut len = 0usize;
            for it in &items {
                len += padding(len, it, &h);
                match it {
                    Item::Align(a) => h.align = *a,
                    Item::Endian(l) => h.little = *l,
                    Item::Zstr => {
                        return Err(bad_argument(1, "size", "option 's' has no fixed size"))
                    }
                    Item::Chars(0) => {
                        return Err(bad_argument(1, "size", "option 'c0' has no fixed size"))
                    }
                    other => len += item_size(other),
                }
            }
            let _ = h.little;
            Ok(len as f64)
        })?,
    )?;
    Ok(t)
}
