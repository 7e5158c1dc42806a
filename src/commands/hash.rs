//! Hash commands: HSET family, HGET family, HDEL, HINCRBY family, HSCAN, HRANDFIELD, ...

use rand::Rng;

use crate::cmd::args::{eq_kw, parse_i64, parse_i64_opt};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::EV_HASH;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::reply::Reply;
use crate::types::hash::HashLimits;
use crate::types::long_double::{add_floats, float_is_finite};
use crate::types::HashValue;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("hset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, hset),
    command!("hmset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, hmset),
    command!("hsetnx", 4, WRITE | DENYOOM | FAST, 1, 1, 1, hsetnx),
    command!("hget", 3, READONLY | FAST, 1, 1, 1, hget),
    command!("hmget", -3, READONLY | FAST, 1, 1, 1, hmget),
    command!("hdel", -3, WRITE | FAST, 1, 1, 1, hdel),
    command!("hgetall", 2, READONLY, 1, 1, 1, hgetall),
    command!("hkeys", 2, READONLY, 1, 1, 1, hkeys),
    command!("hvals", 2, READONLY, 1, 1, 1, hvals),
    command!("hlen", 2, READONLY | FAST, 1, 1, 1, hlen),
    command!("hexists", 3, READONLY | FAST, 1, 1, 1, hexists),
    command!("hstrlen", 3, READONLY | FAST, 1, 1, 1, hstrlen),
    command!("hincrby", 4, WRITE | DENYOOM | FAST, 1, 1, 1, hincrby),
    command!(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        hincrbyfloat
    ),
    command!("hscan", -3, READONLY, 1, 1, 1, hscan),
    command!("hrandfield", -2, READONLY, 1, 1, 1, hrandfield),
];

/// The listpack limits currently configured (CONFIG SET hash-max-listpack-*).
fn limits(ctx: &Ctx) -> HashLimits {
    let d = HashLimits::default();
    HashLimits {
        entries: super::config_number(ctx, "hash-max-listpack-entries", d.entries),
        value: super::config_number(ctx, "hash-max-listpack-value", d.value),
    }
}

/// Field/value pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The key and field/value pairs of HSET and HMSET (an odd count is an arity error, as in Redis).
fn parse_pairs(mut args: Args) -> Result<(Vec<u8>, Pairs), CmdError> {
    let key = args.next_bytes()?;
    if args.remaining() % 2 != 0 {
        return Err(CmdError::WrongArity(args.name.into()));
    }
    let mut pairs = Vec::with_capacity(args.remaining() / 2);
    while let (Some(f), Some(v)) = (args.next_opt(), args.next_opt()) {
        pairs.push((f, v));
    }
    Ok((key, pairs))
}

/// Shared by HSET and HMSET: writes the pairs, returns how many fields were new.
fn set_pairs(ctx: &mut Ctx, key: &[u8], pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<i64, CmdError> {
    let lim = limits(ctx);
    let h = ctx.write_or_create::<HashValue>(key)?;
    h.check_lengths(
        pairs.iter().flat_map(|(f, v)| [f.as_slice(), v.as_slice()]),
        lim,
    );
    let mut created = 0;
    for (f, v) in pairs {
        if h.insert_with(f, v, lim) {
            created += 1;
        }
    }
    ctx.touched(key);
    ctx.notify(EV_HASH, "hset", key);
    Ok(created)
}

/// `HSET key field value [field value ...]`
fn hset(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, pairs) = parse_pairs(args)?;
    Ok(Reply::Int(set_pairs(ctx, &key, &pairs)?))
}

/// `HMSET key field value [field value ...]`
fn hmset(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, pairs) = parse_pairs(args)?;
    set_pairs(ctx, &key, &pairs)?;
    Ok(Reply::ok())
}

/// `HSETNX key field value`
fn hsetnx(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let value = args.next_bytes()?;
    let lim = limits(ctx);
    let h = ctx.write_or_create::<HashValue>(&key)?;
    if h.contains(&field) {
        return Ok(Reply::Int(0));
    }
    // Only a field that will be written is sized against the limits (as in Redis).
    h.check_lengths([field.as_slice(), value.as_slice()], lim);
    h.insert_with(&field, &value, lim);
    ctx.touched(&key);
    ctx.notify(EV_HASH, "hset", &key);
    Ok(Reply::Int(1))
}

/// `HGET key field`
fn hget(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    Ok(Reply::opt_bulk(
        ctx.read::<HashValue>(&key)?.and_then(|h| h.get(&field)),
    ))
}

/// `HMGET key field [field ...]`
fn hmget(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let h = ctx.read::<HashValue>(&key)?;
    Ok(Reply::Array(
        args.map(|f| Reply::opt_bulk(h.and_then(|h| h.get(&f))))
            .collect(),
    ))
}

/// `HDEL key field [field ...]`
fn hdel(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(h) = ctx.write::<HashValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for f in args {
        if h.remove(&f) {
            removed += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        ctx.notify(EV_HASH, "hdel", &key);
        ctx.remove_if_empty(&key);
        ctx.touched(&key);
    }
    Ok(Reply::Int(removed))
}

/// `HGETALL key`
fn hgetall(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let pairs = match ctx.read::<HashValue>(&key)? {
        Some(h) => h
            .iter()
            .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
            .collect(),
        None => Vec::new(),
    };
    Ok(Reply::Map(pairs))
}

/// `HKEYS key`
fn hkeys(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let h = ctx.read::<HashValue>(&key)?;
    Ok(Reply::bulks(
        h.into_iter().flat_map(|h| h.iter().map(|(f, _)| f)),
    ))
}

/// `HVALS key`
fn hvals(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let h = ctx.read::<HashValue>(&key)?;
    Ok(Reply::bulks(
        h.into_iter().flat_map(|h| h.iter().map(|(_, v)| v)),
    ))
}

/// `HLEN key`
fn hlen(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<HashValue>(&key)?.map_or(0, |h| h.len() as i64),
    ))
}

/// `HEXISTS key field`
fn hexists(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let found = ctx
        .read::<HashValue>(&key)?
        .is_some_and(|h| h.contains(&field));
    Ok(Reply::Int(found as i64))
}

/// `HSTRLEN key field`
fn hstrlen(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let len = ctx
        .read::<HashValue>(&key)?
        .and_then(|h| h.get(&field))
        .map_or(0, |v| v.len());
    Ok(Reply::Int(len as i64))
}

/// `HINCRBY key field increment`
fn hincrby(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let incr = parse_i64(&args.next_bytes()?)?;
    let current = match ctx.read::<HashValue>(&key)?.and_then(|h| h.get(&field)) {
        Some(v) => parse_i64_opt(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
        None => 0,
    };
    let new = current.checked_add(incr).ok_or(CmdError::Overflow)?;
    let lim = limits(ctx);
    ctx.write_or_create::<HashValue>(&key)?
        .insert_with(&field, new.to_string().as_bytes(), lim);
    ctx.touched(&key);
    ctx.notify(EV_HASH, "hincrby", &key);
    Ok(Reply::Int(new))
}

/// `HINCRBYFLOAT key field increment`
///
/// Computed in 80-bit extended precision and printed without exponent, as Redis does with
/// `long double`, so `0.1` then `0.2` gives `0.3`.
fn hincrbyfloat(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let field = args.next_bytes()?;
    let incr = args.next_bytes()?;
    match float_is_finite(&incr) {
        None => return Err(CmdError::NotFloat),
        Some(false) => return Err(CmdError::err("value is NaN or Infinity")),
        Some(true) => {}
    }
    let current = ctx
        .read::<HashValue>(&key)?
        .and_then(|h| h.get(&field))
        .map(|v| v.to_vec());
    if current
        .as_deref()
        .is_some_and(|v| float_is_finite(v).is_none())
    {
        return Err(CmdError::err("hash value is not a float"));
    }
    let text = add_floats(current.as_deref(), &incr)
        .map_err(|_| CmdError::err("increment would produce NaN or Infinity"))?;
    let text = String::from_utf8(text).unwrap_or_default();
    let lim = limits(ctx);
    ctx.write_or_create::<HashValue>(&key)?
        .insert_with(&field, text.as_bytes(), lim);
    ctx.touched(&key);
    ctx.notify(EV_HASH, "hincrbyfloat", &key);
    Ok(Reply::Bulk(text.into_bytes()))
}

/// Parses a SCAN-family cursor the way Redis's `strtoul` call does: optional sign (a negative
/// value wraps), leading zeros allowed, the empty string is 0, nothing else around the digits.
pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if b.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(invalid());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// MATCH / COUNT options of HSCAN, SSCAN (and ZSCAN).
pub(crate) struct ScanOptions {
    /// MATCH pattern.
    pub pattern: Option<Vec<u8>>,
    /// COUNT hint.
    pub count: usize,
}

impl ScanOptions {
    /// Parses `[MATCH pattern] [COUNT count]` in any order, repeated options overriding.
    pub(crate) fn parse(args: &mut Args) -> Result<ScanOptions, CmdError> {
        let mut opts = ScanOptions {
            pattern: None,
            count: 10,
        };
        while let Some(opt) = args.next_opt() {
            if args.is_empty() {
                return Err(CmdError::Syntax);
            }
            if eq_kw(&opt, "COUNT") {
                let n = args.next_i64()?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                opts.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if eq_kw(&opt, "MATCH") {
                opts.pattern = Some(args.next_bytes()?);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(opts)
    }

    /// True when `item` passes the MATCH filter.
    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|p| p == b"*" || glob_match(p, item, false))
    }
}

/// The reply of a SCAN-family command.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(cursor.to_string().into_bytes()),
        Reply::Array(items),
    ])
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Options are checked only once the key is found, as Redis does (a missing key replies an
/// empty scan whatever follows). Small (listpack) hashes are returned whole, cursor 0.
fn hscan(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(&args.next_bytes()?)?;
    let Some(h) = ctx.read::<HashValue>(&key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOptions::parse(&mut args)?;
    let mut items = Vec::new();
    let mut emit = |f: &[u8], v: &[u8]| {
        if opts.matches(f) {
            items.push(Reply::bulk(f));
            items.push(Reply::bulk(v));
        }
    };
    let next = if h.scans_whole() {
        h.iter().for_each(|(f, v)| emit(f, v));
        0
    } else {
        crate::engine::db::scan_positions(h.len(), cursor, opts.count, |i| {
            if let Some((f, v)) = h.get_index(i) {
                emit(f, v)
            }
        })
    };
    Ok(scan_reply(next, items))
}

/// Parses the count of SRANDMEMBER / HRANDFIELD: `-LONG_MAX..=LONG_MAX` with Redis's message.
pub(crate) fn parse_rand_count(b: &[u8]) -> Result<i64, CmdError> {
    let n = parse_i64(b)?;
    if n == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    Ok(n)
}

/// Replies longer than this are refused: Redis would try to build them and run out of memory.
pub(crate) const MAX_RANDOM_REPLY: u64 = 1 << 32;

/// Positions of `count` distinct random elements out of `len` (`count < len`). When most of the
/// collection is wanted the kept positions stay in collection order, as Redis's copy-then-remove
/// strategy gives; otherwise they come in pick order.
pub(crate) fn distinct_positions(len: usize, count: usize, rng: &mut impl Rng) -> Vec<usize> {
    if count.saturating_mul(3) > len {
        let mut keep: Vec<usize> = (0..len).collect();
        while keep.len() > count {
            let i = rng.gen_range(0..keep.len());
            keep.swap_remove(i);
        }
        keep.sort_unstable();
        keep
    } else {
        let mut seen = hashbrown::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = rng.gen_range(0..len);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(count) = args.next_opt() else {
        let mut rng = rand::thread_rng();
        return Ok(match ctx.read::<HashValue>(&key)? {
            Some(h) => Reply::opt_bulk(h.get_index(h.random_index(&mut rng)).map(|(f, _)| f)),
            None => Reply::Nil,
        });
    };
    let count = parse_rand_count(&count)?;
    let with_values = match args.next_opt() {
        None => false,
        Some(w) if eq_kw(&w, "WITHVALUES") && args.is_empty() => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if with_values && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(CmdError::err("value is out of range"));
    }
    let resp3 = ctx.client.resp >= 3;
    let Some(h) = ctx.read::<HashValue>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let mut rng = rand::thread_rng();
    let positions: Vec<usize> = if count < 0 {
        if count.unsigned_abs() > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        (0..count.unsigned_abs())
            .map(|_| h.random_index(&mut rng))
            .collect()
    } else if count as u64 >= h.len() as u64 {
        (0..h.len()).collect()
    } else {
        distinct_positions(h.len(), count as usize, &mut rng)
    };
    let mut out = Vec::with_capacity(positions.len() * if with_values && !resp3 { 2 } else { 1 });
    for (f, v) in positions.into_iter().filter_map(|i| h.get_index(i)) {
        if !with_values {
            out.push(Reply::bulk(f));
        } else if resp3 {
            out.push(Reply::Array(vec![Reply::bulk(f), Reply::bulk(v)]));
        } else {
            out.push(Reply::bulk(f));
            out.push(Reply::bulk(v));
        }
    }
    Ok(Reply::Array(out))
}
