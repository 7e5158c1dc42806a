//! Sorted-set commands (Redis 7.2): ZADD family, ranges by rank/score/lex, removal by range, pops
//! (blocking too), set algebra (ZUNION/ZINTER/ZDIFF and their STORE forms), ZRANDMEMBER, ZSCAN.

use crate::cmd::args::{eq_kw, parse_i64};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::{EV_GENERIC, EV_ZSET};
use crate::error::{CmdError, CmdResult};
use crate::reply::{format_double, Reply};
use crate::types::zset::{cmp_entry, ListpackLimits, ZSetValue};
use crate::types::{SetValue, Value};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("zadd", -4, WRITE | DENYOOM | FAST, 1, 1, 1, zadd),
    command!("zincrby", 4, WRITE | DENYOOM | FAST, 1, 1, 1, zincrby),
    command!("zrem", -3, WRITE | FAST, 1, 1, 1, zrem),
    command!("zcard", 2, READONLY | FAST, 1, 1, 1, zcard),
    command!("zscore", 3, READONLY | FAST, 1, 1, 1, zscore),
    command!("zmscore", -3, READONLY | FAST, 1, 1, 1, zmscore),
    command!("zcount", 4, READONLY | FAST, 1, 1, 1, zcount),
    command!("zlexcount", 4, READONLY | FAST, 1, 1, 1, zlexcount),
    command!("zrank", -3, READONLY | FAST, 1, 1, 1, zrank),
    command!("zrevrank", -3, READONLY | FAST, 1, 1, 1, zrevrank),
    command!("zrange", -4, READONLY, 1, 1, 1, zrange),
    command!("zrangestore", -5, WRITE | DENYOOM, 1, 2, 1, zrangestore),
    command!("zrevrange", -4, READONLY, 1, 1, 1, zrevrange),
    command!("zrangebyscore", -4, READONLY, 1, 1, 1, zrangebyscore),
    command!("zrevrangebyscore", -4, READONLY, 1, 1, 1, zrevrangebyscore),
    command!("zrangebylex", -4, READONLY, 1, 1, 1, zrangebylex),
    command!("zrevrangebylex", -4, READONLY, 1, 1, 1, zrevrangebylex),
    command!("zremrangebyscore", 4, WRITE, 1, 1, 1, zremrangebyscore),
    command!("zremrangebyrank", 4, WRITE, 1, 1, 1, zremrangebyrank),
    command!("zremrangebylex", 4, WRITE, 1, 1, 1, zremrangebylex),
    command!("zpopmin", -2, WRITE | FAST, 1, 1, 1, zpopmin),
    command!("zpopmax", -2, WRITE | FAST, 1, 1, 1, zpopmax),
    command!("bzpopmin", -3, WRITE | FAST | BLOCKING, 1, -2, 1, bzpopmin),
    command!("bzpopmax", -3, WRITE | FAST | BLOCKING, 1, -2, 1, bzpopmax),
    command!("zmpop", -4, WRITE | MOVABLE_KEYS, 0, 0, 0, zmpop),
    command!(
        "bzmpop",
        -5,
        WRITE | BLOCKING | MOVABLE_KEYS,
        0,
        0,
        0,
        bzmpop
    ),
    command!("zrandmember", -2, READONLY, 1, 1, 1, zrandmember),
    command!("zscan", -3, READONLY, 1, 1, 1, zscan),
    command!(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        1,
        1,
        1,
        zunionstore
    ),
    command!(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        1,
        1,
        1,
        zinterstore
    ),
    command!(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLE_KEYS,
        1,
        1,
        1,
        zdiffstore
    ),
    command!("zunion", -3, READONLY | MOVABLE_KEYS, 0, 0, 0, zunion),
    command!("zinter", -3, READONLY | MOVABLE_KEYS, 0, 0, 0, zinter),
    command!("zdiff", -3, READONLY | MOVABLE_KEYS, 0, 0, 0, zdiff),
    command!(
        "zintercard",
        -3,
        READONLY | MOVABLE_KEYS,
        0,
        0,
        0,
        zintercard
    ),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The listpack limits currently configured (CONFIG SET zset-max-listpack-*).
fn limits(ctx: &Ctx) -> ListpackLimits {
    let get = |names: [&str; 2], default: usize| {
        names
            .iter()
            .find_map(|n| ctx.store.config.get(*n))
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let d = ListpackLimits::default();
    ListpackLimits {
        entries: get(
            ["zset-max-listpack-entries", "zset-max-ziplist-entries"],
            d.entries,
        ),
        value: get(
            ["zset-max-listpack-value", "zset-max-ziplist-value"],
            d.value,
        ),
    }
}

/// `strtod`: optional leading whitespace, sign, decimal or hex digits, `inf`/`infinity`.
/// Returns the value and how many bytes it used (0 when nothing parsed).
fn strtod(b: &[u8]) -> (f64, usize) {
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || (b'\t'..=b'\r').contains(&b[i])) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &b[i..];
    let lower: Vec<u8> = rest
        .iter()
        .take(8)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"infinity") {
        return (sign * f64::INFINITY, i + 8);
    }
    if lower.starts_with(b"inf") {
        return (sign * f64::INFINITY, i + 3);
    }
    if lower.starts_with(b"nan") {
        return (f64::NAN, i + 3);
    }
    if lower.starts_with(b"0x") && rest.get(2).is_some_and(|c| c.is_ascii_hexdigit()) {
        let mut j = 2;
        let mut v = 0f64;
        while let Some(d) = rest.get(j).and_then(|c| (*c as char).to_digit(16)) {
            v = v * 16.0 + d as f64;
            j += 1;
        }
        return (sign * v, i + j);
    }
    // Longest decimal prefix: digits [. digits] [e [sign] digits].
    let mut j = 0;
    let digits = |j: &mut usize| {
        let s = *j;
        while rest.get(*j).is_some_and(u8::is_ascii_digit) {
            *j += 1;
        }
        *j - s
    };
    let mut n = digits(&mut j);
    if rest.get(j) == Some(&b'.') {
        j += 1;
        n += digits(&mut j);
    }
    if n == 0 {
        return (0.0, 0);
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if digits(&mut k) > 0 {
            j = k;
        }
    }
    let text = std::str::from_utf8(&rest[..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    (sign * v, i + j)
}

/// A score as ZADD/ZINCRBY/WEIGHTS take it (Redis's `string2d`: no surrounding space, all bytes
/// used, not NaN).
fn parse_score(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b[0].is_ascii_whitespace() {
        return None;
    }
    let (v, used) = strtod(b);
    (used == b.len() && !v.is_nan()).then_some(v)
}

/// ZADD's and ZINCRBY's score (`ERR value is not a valid float`).
fn score_arg(b: &[u8]) -> Result<f64, CmdError> {
    parse_score(b).ok_or(CmdError::NotFloat)
}

/// An integer argument with a custom error for every failure (Redis's `getRangeLong...` with a
/// message).
fn long_in(b: &[u8], min: i64, max: i64, msg: &str) -> Result<i64, CmdError> {
    match parse_i64(b) {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// A count that must be >= 0; Redis gives the same message for non-integers.
fn positive_long(b: &[u8]) -> Result<i64, CmdError> {
    long_in(b, 0, i64::MAX, "value is out of range, must be positive")
}

/// A blocking timeout in seconds (float) -> None (forever) or ms.
fn parse_timeout(b: &[u8]) -> Result<Option<i64>, CmdError> {
    let bad = || CmdError::err("timeout is not a float or out of range");
    let secs = parse_score(b).ok_or_else(bad)?;
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    let ms = ms.ceil();
    if ms < 0.0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let ms = ms as i64;
    Ok(if ms == 0 { None } else { Some(ms) })
}

/// A score range bound: `(` makes it exclusive; the rest follows `strtod` (so `""` is 0).
fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match b.first() {
        Some(b'(') => (&b[1..], true),
        _ => (b, false),
    };
    let (v, used) = strtod(body);
    (used == body.len() && !v.is_nan()).then_some((v, ex))
}

/// `min max` of ZRANGEBYSCORE and friends.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let bad = || CmdError::err("min or max is not a float");
        let (min, minex) = parse_score_bound(min).ok_or_else(bad)?;
        let (max, maxex) = parse_score_bound(max).ok_or_else(bad)?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }
    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

/// One end of a lex range.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// `min max` of ZRANGEBYLEX and friends.
#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
        fn item(b: &[u8]) -> Option<LexBound> {
            match b.first()? {
                b'+' if b.len() == 1 => Some(LexBound::Max),
                b'-' if b.len() == 1 => Some(LexBound::Min),
                b'(' => Some(LexBound::Excl(b[1..].to_vec())),
                b'[' => Some(LexBound::Incl(b[1..].to_vec())),
                _ => None,
            }
        }
        let bad = || CmdError::err("min or max not valid string range item");
        Ok(LexRange {
            min: item(min).ok_or_else(bad)?,
            max: item(max).ok_or_else(bad)?,
        })
    }
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(v) => m >= &v[..],
            LexBound::Excl(v) => m > &v[..],
        }
    }
    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(v) => m <= &v[..],
            LexBound::Excl(v) => m < &v[..],
        }
    }
}

/// Redis's index normalisation for rank ranges; None when empty.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut s = if start < 0 {
        llen.saturating_add(start)
    } else {
        start
    };
    let mut e = if end < 0 {
        llen.saturating_add(end)
    } else {
        end
    };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, e as usize))
}

/// Members (with scores) as ZRANGE-style replies carry them: bulk strings, and with scores a flat
/// array in RESP2 or `[member, score]` pairs in RESP3.
fn members_reply(resp: u8, items: Vec<(Vec<u8>, f64)>, withscores: bool) -> Reply {
    if !withscores {
        return Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    if resp >= 3 {
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        )
    } else {
        let mut out = Vec::with_capacity(items.len() * 2);
        for (m, s) in items {
            out.push(Reply::Bulk(m));
            out.push(Reply::Double(s));
        }
        Reply::Array(out)
    }
}

/// Stores `items` as a fresh sorted set under `dst` (or deletes `dst` when empty), with Redis's
/// notifications; replies with the new cardinality.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(Vec<u8>, f64)>, event: &str) -> CmdResult {
    if items.is_empty() {
        if ctx.delete(dst) {
            ctx.notify(EV_GENERIC, "del", dst);
        }
        return Ok(Reply::Int(0));
    }
    let lim = limits(ctx);
    let mut z = ZSetValue::new();
    for (m, s) in &items {
        z.insert(m, *s, lim);
    }
    let n = z.len() as i64;
    ctx.db().set(dst, Value::ZSet(Box::new(z)));
    ctx.touched(dst);
    ctx.notify(EV_ZSET, event, dst);
    Ok(Reply::Int(n))
}

fn owned(it: impl Iterator<Item = (impl AsRef<[u8]>, f64)>) -> Vec<(Vec<u8>, f64)> {
    it.map(|(m, s)| (m.as_ref().to_vec(), s)).collect()
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY / ZREM
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let mut f = AddFlags::default();
    while let Some(opt) = args.peek() {
        match () {
            _ if eq_kw(opt, "NX") => f.nx = true,
            _ if eq_kw(opt, "XX") => f.xx = true,
            _ if eq_kw(opt, "CH") => f.ch = true,
            _ if eq_kw(opt, "INCR") => f.incr = true,
            _ if eq_kw(opt, "GT") => f.gt = true,
            _ if eq_kw(opt, "LT") => f.lt = true,
            _ => break,
        }
        args.next_opt();
    }
    let rest = args.rest();
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    let mut it = rest.into_iter();
    while let (Some(s), Some(m)) = (it.next(), it.next()) {
        pairs.push((score_arg(&s)?, m));
    }
    zadd_apply(ctx, &key, pairs, &f)
}

/// `ZINCRBY key increment member`
fn zincrby(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let incr = score_arg(&args.next_bytes()?)?;
    let member = args.next_bytes()?;
    args.finish()?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_apply(ctx, &key, vec![(incr, member)], &f)
}

fn zadd_apply(ctx: &mut Ctx, key: &[u8], pairs: Vec<(f64, Vec<u8>)>, f: &AddFlags) -> CmdResult {
    let lim = limits(ctx);
    let exists = ctx.read::<ZSetValue>(key)?.is_some();
    if !exists && f.xx {
        return Ok(if f.incr { Reply::Nil } else { Reply::Int(0) });
    }
    let z = ctx.write_or_create::<ZSetValue>(key)?;
    if exists {
        z.expect_size(pairs.len(), lim);
    } else {
        *z = ZSetValue::with_hint(pairs.len(), pairs.first().map_or(0, |p| p.1.len()), lim);
    }
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut error = None;
    for (score, member) in &pairs {
        match z.score(member) {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let mut new = *score;
                if f.incr {
                    new += cur;
                    if new.is_nan() {
                        error = Some(CmdError::err("resulting score is not a number (NaN)"));
                        break;
                    }
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                last = new;
                processed += 1;
                if new != cur {
                    z.insert(member, new, lim);
                    updated += 1;
                }
            }
            None => {
                if f.xx {
                    continue;
                }
                z.insert(member, *score, lim);
                last = *score;
                added += 1;
                processed += 1;
            }
        }
    }
    if added > 0 || updated > 0 {
        ctx.touched(key);
        ctx.notify(EV_ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    } else {
        ctx.remove_if_empty(key);
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(if f.incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int(if f.ch { added + updated } else { added })
    })
}

/// `ZREM key member [member ...]`
fn zrem(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let Some(z) = ctx.write::<ZSetValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    for m in &members {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        ctx.notify(EV_ZSET, "zrem", &key);
        ctx.remove_if_empty(&key);
        ctx.touched(&key);
    }
    Ok(Reply::Int(deleted))
}

// ---------------------------------------------------------------------------------------------
// Reads: ZCARD, ZSCORE, ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANK
// ---------------------------------------------------------------------------------------------

/// `ZCARD key`
fn zcard(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<ZSetValue>(&key)?.map_or(0, |z| z.len() as i64),
    ))
}

/// `ZSCORE key member`
fn zscore(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    Ok(
        match ctx.read::<ZSetValue>(&key)?.and_then(|z| z.score(&member)) {
            Some(s) => Reply::Double(s),
            None => Reply::Nil,
        },
    )
}

/// `ZMSCORE key member [member ...]`
fn zmscore(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let z = ctx.read::<ZSetValue>(&key)?;
    Ok(Reply::Array(
        members
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double))
            .collect(),
    ))
}

/// Ascending ranks `start..end` (exclusive end) of the members within a score range.
fn score_span(z: &ZSetValue, r: &ScoreRange) -> (usize, usize) {
    let start = z.count_before(|s, _| !r.gte_min(s));
    let end = z.count_before(|s, _| r.lte_max(s));
    (start, end.max(start))
}

/// Ascending ranks `start..end` of the members within a lex range.
fn lex_span(z: &ZSetValue, r: &LexRange) -> (usize, usize) {
    let start = z.count_before(|_, m| !r.gte_min(m));
    let end = z.count_before(|_, m| r.lte_max(m));
    (start, end.max(start))
}

/// `ZCOUNT key min max`
fn zcount(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let range = ScoreRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    Ok(Reply::Int(ctx.read::<ZSetValue>(&key)?.map_or(0, |z| {
        let (a, b) = score_span(z, &range);
        (b - a) as i64
    })))
}

/// `ZLEXCOUNT key min max`
fn zlexcount(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let range = LexRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    Ok(Reply::Int(ctx.read::<ZSetValue>(&key)?.map_or(0, |z| {
        let (a, b) = lex_span(z, &range);
        (b - a) as i64
    })))
}

/// `ZRANK key member [WITHSCORE]`
fn zrank(ctx: &mut Ctx, args: Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// `ZREVRANK key member [WITHSCORE]`
fn zrevrank(ctx: &mut Ctx, args: Args) -> CmdResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx, mut args: Args, rev: bool) -> CmdResult {
    if args.remaining() > 3 {
        return Err(CmdError::WrongArity(args.name.into()));
    }
    let key = args.next_bytes()?;
    let member = args.next_bytes()?;
    let withscore = match args.next_opt() {
        None => false,
        Some(o) if eq_kw(&o, "WITHSCORE") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let found = ctx.read::<ZSetValue>(&key)?.and_then(|z| {
        let r = z.rank(&member)?;
        let s = z.score(&member)?;
        Some((if rev { z.len() - 1 - r } else { r }, s))
    });
    Ok(match (found, withscore) {
        (Some((r, _)), false) => Reply::Int(r as i64),
        (Some((r, s)), true) => Reply::Array(vec![Reply::Int(r as i64), Reply::Double(s)]),
        (None, false) => Reply::Nil,
        (None, true) => Reply::NilArray,
    })
}

// ---------------------------------------------------------------------------------------------
// ZRANGE family
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// What a ZRANGE-family command asks for, after parsing.
struct RangeQuery {
    kind: RangeKind,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
    ranks: (i64, i64),
    score: Option<ScoreRange>,
    lex: Option<LexRange>,
}

/// Parses `<min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset count]` the way Redis's
/// shared ZRANGE parser does; `kind`/`rev` are fixed by the legacy commands.
fn parse_range(
    args: Vec<Vec<u8>>,
    store: bool,
    kind: Option<RangeKind>,
    rev: Option<bool>,
) -> Result<RangeQuery, CmdError> {
    let (min, max) = match (args.first(), args.get(1)) {
        (Some(a), Some(b)) => (a.clone(), b.clone()),
        _ => return Err(CmdError::Syntax),
    };
    let mut q_kind = kind;
    let mut q_rev = rev;
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !store && eq_kw(a, "WITHSCORES") {
            withscores = true;
        } else if eq_kw(a, "LIMIT") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if q_rev.is_none() && eq_kw(a, "REV") {
            q_rev = Some(true);
        } else if kind.is_none() && q_kind.is_none() && eq_kw(a, "BYLEX") {
            q_kind = Some(RangeKind::Lex);
        } else if kind.is_none() && q_kind.is_none() && eq_kw(a, "BYSCORE") {
            q_kind = Some(RangeKind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let kind = q_kind.unwrap_or(RangeKind::Rank);
    let rev = q_rev.unwrap_or(false);
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Score and lex ranges are given as max, min when reversed.
    let (lo, hi) = if rev && kind != RangeKind::Rank {
        (&max, &min)
    } else {
        (&min, &max)
    };
    let mut q = RangeQuery {
        kind,
        rev,
        withscores,
        offset,
        limit,
        ranks: (0, 0),
        score: None,
        lex: None,
    };
    match kind {
        RangeKind::Rank => q.ranks = (parse_i64(lo)?, parse_i64(hi)?),
        RangeKind::Score => q.score = Some(ScoreRange::parse(lo, hi)?),
        RangeKind::Lex => q.lex = Some(LexRange::parse(lo, hi)?),
    }
    Ok(q)
}

/// Runs a parsed range query against a set.
fn run_range(z: &ZSetValue, q: &RangeQuery) -> Vec<(Vec<u8>, f64)> {
    let len = z.len();
    match q.kind {
        RangeKind::Rank => match rank_range(q.ranks.0, q.ranks.1, len) {
            None => Vec::new(),
            Some((s, e)) => owned(z.iter_from(s, q.rev).take(e - s + 1)),
        },
        RangeKind::Score | RangeKind::Lex => {
            if q.offset < 0 || (q.offset > 0 && q.offset as u64 >= len as u64) {
                return Vec::new();
            }
            let (a, b) = match (&q.score, &q.lex) {
                (Some(r), _) => score_span(z, r),
                (_, Some(r)) => lex_span(z, r),
                _ => (0, 0),
            };
            // Starting point: first member in range (last when reversed); the offset then skips
            // members without checking the range, as Redis does, and the rest must be in range.
            let start = if q.rev { len - b } else { a };
            let in_range = |m: &[u8], s: f64| match (&q.score, &q.lex) {
                (Some(r), _) => {
                    if q.rev {
                        r.gte_min(s)
                    } else {
                        r.lte_max(s)
                    }
                }
                (_, Some(r)) => {
                    if q.rev {
                        r.gte_min(m)
                    } else {
                        r.lte_max(m)
                    }
                }
                _ => false,
            };
            if a >= b {
                return Vec::new();
            }
            let limit = if q.limit < 0 {
                usize::MAX
            } else {
                q.limit as usize
            };
            owned(
                z.iter_from(start, q.rev)
                    .skip(q.offset as usize)
                    .take(limit)
                    .take_while(|(m, s)| in_range(m, *s)),
            )
        }
    }
}

fn range_command(
    ctx: &mut Ctx,
    mut args: Args,
    kind: Option<RangeKind>,
    rev: Option<bool>,
) -> CmdResult {
    let key = args.next_bytes()?;
    let q = parse_range(args.rest(), false, kind, rev)?;
    let resp = ctx.client.resp;
    let items = match ctx.read::<ZSetValue>(&key)? {
        None => return Ok(Reply::Array(Vec::new())),
        Some(z) => run_range(z, &q),
    };
    Ok(members_reply(resp, items, q.withscores))
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, None, None)
}

/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, Some(RangeKind::Rank), Some(true))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, Some(RangeKind::Score), Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, Some(RangeKind::Score), Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, Some(RangeKind::Lex), Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, Some(RangeKind::Lex), Some(true))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
fn zrangestore(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let dst = args.next_bytes()?;
    let src = args.next_bytes()?;
    let q = parse_range(args.rest(), true, None, None)?;
    let items = match ctx.read::<ZSetValue>(&src)? {
        None => Vec::new(),
        Some(z) => run_range(z, &q),
    };
    store_result(ctx, &dst, items, "zrangestore")
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*
// ---------------------------------------------------------------------------------------------

fn remove_span(
    ctx: &mut Ctx,
    key: &[u8],
    event: &str,
    span: impl FnOnce(&ZSetValue) -> Option<(usize, usize)>,
) -> CmdResult {
    let Some(z) = ctx.write::<ZSetValue>(key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = match span(z) {
        Some((a, b)) if a < b => z.remove_rank_range(a, b - 1),
        _ => 0,
    };
    if removed > 0 {
        ctx.touched(key);
        ctx.notify(EV_ZSET, event, key);
        ctx.remove_if_empty(key);
    }
    Ok(Reply::Int(removed as i64))
}

/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let r = ScoreRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    remove_span(ctx, &key, "zremrangebyscore", |z| Some(score_span(z, &r)))
}

/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let r = LexRange::parse(&args.next_bytes()?, &args.next_bytes()?)?;
    remove_span(ctx, &key, "zremrangebylex", |z| Some(lex_span(z, &r)))
}

/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let start = parse_i64(&args.next_bytes()?)?;
    let stop = parse_i64(&args.next_bytes()?)?;
    remove_span(ctx, &key, "zremrangebyrank", |z| {
        rank_range(start, stop, z.len()).map(|(a, b)| (a, b + 1))
    })
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// Pops up to `count` members from `key` (which holds a non-empty set), with notifications.
fn pop_members(
    ctx: &mut Ctx,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Vec<(Vec<u8>, f64)>, CmdError> {
    let mut out = Vec::new();
    if let Some(z) = ctx.write::<ZSetValue>(key)? {
        while out.len() < count {
            match z.pop(max) {
                Some(e) => out.push(e),
                None => break,
            }
        }
    }
    if !out.is_empty() {
        ctx.touched(key);
        ctx.notify(EV_ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        ctx.remove_if_empty(key);
    }
    Ok(out)
}

/// `ZPOPMIN key [count]`
fn zpopmin(ctx: &mut Ctx, args: Args) -> CmdResult {
    zpop(ctx, args, false)
}

/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx, args: Args) -> CmdResult {
    zpop(ctx, args, true)
}

fn zpop(ctx: &mut Ctx, mut args: Args, max: bool) -> CmdResult {
    if args.remaining() > 2 {
        return Err(CmdError::Syntax);
    }
    let key = args.next_bytes()?;
    let count = match args.next_opt() {
        Some(c) => Some(positive_long(&c)?),
        None => None,
    };
    let resp = ctx.client.resp;
    if ctx.read::<ZSetValue>(&key)?.is_none() || count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let n = count.map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX));
    let items = pop_members(ctx, &key, max, n)?;
    // RESP3 nests [member, score] pairs only when a count was given.
    Ok(members_reply(
        if count.is_some() { resp } else { 2 },
        items,
        true,
    ))
}

/// The first key holding a non-empty sorted set (WRONGTYPE on the first existing key of another
/// type before it).
fn first_nonempty(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    stop_at_first_existing: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    for k in keys {
        match ctx.read::<ZSetValue>(k)? {
            Some(z) if !z.is_empty() => return Ok(Some(k.clone())),
            Some(_) if stop_at_first_existing => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(ctx: &mut Ctx, args: Args) -> CmdResult {
    bzpop(ctx, args, false)
}

/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(ctx: &mut Ctx, args: Args) -> CmdResult {
    bzpop(ctx, args, true)
}

fn bzpop(ctx: &mut Ctx, mut args: Args, max: bool) -> CmdResult {
    let mut keys = args.rest();
    let timeout = parse_timeout(&keys.pop().ok_or(CmdError::Syntax)?)?;
    if let Some(key) = first_nonempty(ctx, &keys, false)? {
        let items = pop_members(ctx, &key, max, 1)?;
        let mut out = vec![Reply::Bulk(key)];
        for (m, s) in items {
            out.push(Reply::Bulk(m));
            out.push(Reply::Double(s));
        }
        return Ok(Reply::Array(out));
    }
    if ctx.can_block() {
        ctx.block_on(keys, timeout, None);
    }
    Ok(Reply::NilArray)
}

/// Parsed `numkeys key [key ...] MIN|MAX [COUNT count]`.
struct MPop {
    keys: Vec<Vec<u8>>,
    max: bool,
    count: usize,
}

fn parse_mpop(rest: &[Vec<u8>]) -> Result<MPop, CmdError> {
    let numkeys = long_in(
        rest.first().ok_or(CmdError::Syntax)?,
        1,
        i64::MAX,
        "numkeys should be greater than 0",
    )?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(1))
        .ok_or(CmdError::Syntax)?;
    let wh = rest.get(where_idx).ok_or(CmdError::Syntax)?;
    let max = if eq_kw(wh, "MIN") {
        false
    } else if eq_kw(wh, "MAX") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < rest.len() {
        if count.is_none() && eq_kw(&rest[j], "COUNT") && j + 1 < rest.len() {
            count = Some(long_in(
                &rest[j + 1],
                1,
                i64::MAX,
                "count should be greater than 0",
            )?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MPop {
        keys: rest[1..where_idx].to_vec(),
        max,
        count: count.map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX)),
    })
}

fn mpop_reply(key: Vec<u8>, items: Vec<(Vec<u8>, f64)>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(key),
        Reply::Array(
            items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        ),
    ])
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`
fn zmpop(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let p = parse_mpop(&args.rest())?;
    // ZMPOP looks only at the first key that exists.
    match first_nonempty(ctx, &p.keys, true)? {
        Some(key) => {
            let items = pop_members(ctx, &key, p.max, p.count)?;
            Ok(mpop_reply(key, items))
        }
        None => Ok(Reply::NilArray),
    }
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
fn bzmpop(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let timeout_arg = args.next_bytes()?;
    let p = parse_mpop(&args.rest())?;
    let timeout = parse_timeout(&timeout_arg)?;
    if let Some(key) = first_nonempty(ctx, &p.keys, false)? {
        let items = pop_members(ctx, &key, p.max, p.count)?;
        return Ok(mpop_reply(key, items));
    }
    if ctx.can_block() {
        ctx.block_on(p.keys, timeout, None);
    }
    Ok(Reply::NilArray)
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------------------------

/// `ZRANDMEMBER key [count [WITHSCORES]]`
fn zrandmember(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    use rand::Rng;
    let key = args.next_bytes()?;
    let resp = ctx.client.resp;
    let Some(count_arg) = args.next_opt() else {
        let Some(z) = ctx.read::<ZSetValue>(&key)?.filter(|z| !z.is_empty()) else {
            return Ok(Reply::Nil);
        };
        let i = rand::thread_rng().gen_range(0..z.len());
        return Ok(Reply::opt_bulk(z.entry_at(i).map(|e| e.0)));
    };
    let l = long_in_default_msg(&count_arg, -i64::MAX, i64::MAX)?;
    let withscores = match args.next_opt() {
        None => false,
        Some(w) if eq_kw(&w, "WITHSCORES") && args.is_empty() => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some(z) = ctx.read::<ZSetValue>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = z.len();
    let mut rng = rand::thread_rng();
    let pick = |i: usize| z.entry_at(i).map(|(m, s)| (m.to_vec(), s));
    let items: Vec<(Vec<u8>, f64)> = if l == 0 {
        Vec::new()
    } else if l < 0 || l == 1 {
        let n = l.unsigned_abs();
        (0..n)
            .filter_map(|_| pick(rng.gen_range(0..size)))
            .collect()
    } else if l as u64 >= size as u64 {
        // The whole set, walked from the top as Redis's set-operation iterator does.
        owned(z.iter_from(0, true))
    } else {
        rand::seq::index::sample(&mut rng, size, l as usize)
            .into_iter()
            .filter_map(pick)
            .collect()
    };
    Ok(members_reply(resp, items, withscores))
}

/// An integer in [min, max] with Redis's default range message.
fn long_in_default_msg(b: &[u8], min: i64, max: i64) -> Result<i64, CmdError> {
    let v = parse_i64(b)?;
    if v < min || v > max {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {min} and {max}"
        )));
    }
    Ok(v)
}

/// Formats like C's `%.17g` (Redis's `ld2string`, used by ZSCAN on skiplist-encoded sets).
fn format_g17(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{:.16e}", d);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        return format!(
            "{}e{}{:02}",
            mant,
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let decimals = (16 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, d);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
fn zscan(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let cur = args.next_bytes()?;
    let cursor: u64 = if !cur.is_empty() && cur.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(&cur)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CmdError::err("invalid cursor"))?
    } else {
        return Err(CmdError::err("invalid cursor"));
    };
    let mut count = 10usize;
    let mut pattern: Option<Vec<u8>> = None;
    let rest = args.rest();
    let mut j = 0;
    while j < rest.len() {
        let more = rest.len() - j;
        if eq_kw(&rest[j], "COUNT") && more >= 2 {
            let c = parse_i64(&rest[j + 1])?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if eq_kw(&rest[j], "MATCH") && more >= 2 {
            let p = rest[j + 1].clone();
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let Some(z) = ctx.read::<ZSetValue>(&key)? else {
        return Ok(Reply::Array(vec![
            Reply::bulk(b"0"),
            Reply::Array(Vec::new()),
        ]));
    };
    let keep = |m: &[u8]| {
        pattern
            .as_deref()
            .is_none_or(|p| crate::glob::glob_match(p, m, false))
    };
    let mut out = Vec::new();
    let next = if z.is_listpack() {
        // Small sets come back whole, in order, as Redis does for its compact encoding.
        for (m, s) in z.iter() {
            if keep(m) {
                out.push(Reply::bulk(m));
                out.push(Reply::Bulk(format_double(s).into_bytes()));
            }
        }
        0
    } else {
        crate::engine::db::scan_positions(z.len(), cursor, count, |i| {
            if let Some((m, s)) = z.entry_at(i) {
                if keep(m) {
                    out.push(Reply::bulk(m));
                    out.push(Reply::Bulk(format_g17(s).into_bytes()));
                }
            }
        })
    };
    Ok(Reply::Array(vec![
        Reply::Bulk(next.to_string().into_bytes()),
        Reply::Array(out),
    ]))
}

// ---------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// One input of a set operation: sorted sets, or plain sets whose members score 1.
enum Src<'a> {
    Missing,
    Z(&'a ZSetValue),
    S(&'a SetValue),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
    fn for_each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Src::Missing => {}
            Src::Z(z) => {
                for (m, s) in z.iter() {
                    if !f(m, s) {
                        return;
                    }
                }
            }
            Src::S(s) => {
                for m in s.iter() {
                    if !f(m, 1.0) {
                        return;
                    }
                }
            }
        }
    }
}

fn aggregate(target: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += v;
            // inf + -inf: Redis keeps 0 rather than a NaN score.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v
            }
        }
    }
}

/// Parsed options of a set operation.
struct SetOpQuery {
    keys: Vec<Vec<u8>>,
    weights: Vec<f64>,
    agg: Aggregate,
    withscores: bool,
    limit: usize,
}

/// Parses `numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] [LIMIT n]`;
/// Redis type-checks the keys between counting them and reading the options, so that happens here
/// too.
fn parse_setop(
    ctx: &mut Ctx,
    rest: Vec<Vec<u8>>,
    op: SetOp,
    store: bool,
    card: bool,
) -> Result<SetOpQuery, CmdError> {
    let numkeys = parse_i64(rest.first().ok_or(CmdError::Syntax)?)?;
    if numkeys < 1 {
        let name = ctx.spec.name;
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if numkeys as u64 > (rest.len() - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = numkeys as usize;
    let keys: Vec<Vec<u8>> = rest[1..=n].to_vec();
    for k in &keys {
        if let Some(v) = ctx.lookup(k) {
            if !matches!(v, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut q = SetOpQuery {
        keys,
        weights: vec![1.0; n],
        agg: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = n + 1;
    while j < rest.len() {
        let remaining = rest.len() - j;
        let a = &rest[j];
        if op != SetOp::Diff && !card && remaining > n && eq_kw(a, "WEIGHTS") {
            for i in 0..n {
                q.weights[i] = parse_score(&rest[j + 1 + i])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += n + 1;
        } else if op != SetOp::Diff && !card && remaining >= 2 && eq_kw(a, "AGGREGATE") {
            let v = &rest[j + 1];
            q.agg = if eq_kw(v, "SUM") {
                Aggregate::Sum
            } else if eq_kw(v, "MIN") {
                Aggregate::Min
            } else if eq_kw(v, "MAX") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card && eq_kw(a, "WITHSCORES") {
            q.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && eq_kw(a, "LIMIT") {
            let l = long_in(&rest[j + 1], 0, i64::MAX, "LIMIT can't be negative")?;
            q.limit = usize::try_from(l).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(q)
}

/// Computes a set operation: the result sorted by (score, member), or only its size for
/// ZINTERCARD.
fn compute_setop(
    ctx: &mut Ctx,
    q: &SetOpQuery,
    op: SetOp,
    card: bool,
) -> (Vec<(Vec<u8>, f64)>, usize) {
    let db = ctx.client.db;
    let db = &ctx.store.dbs[db];
    // Keys were expired and type-checked by the parser, so plain reads are enough here.
    let mut srcs: Vec<(Src, f64)> = q
        .keys
        .iter()
        .zip(&q.weights)
        .map(|(k, w)| {
            let s = match db.get(k) {
                Some(Value::ZSet(z)) => Src::Z(z),
                Some(Value::Set(s)) => Src::S(s),
                _ => Src::Missing,
            };
            (s, *w)
        })
        .collect();
    let mut out: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut count = 0usize;
    match op {
        SetOp::Inter => {
            srcs.sort_by_key(|(s, _)| s.len());
            let (first, rest) = srcs.split_at(1);
            let (s0, w0) = &first[0];
            s0.for_each(|m, s| {
                let mut score = w0 * s;
                if score.is_nan() {
                    score = 0.0;
                }
                for (src, w) in rest {
                    match src.score(m) {
                        Some(v) => aggregate(&mut score, v * w, q.agg),
                        None => return true,
                    }
                }
                count += 1;
                if card {
                    return q.limit == 0 || count < q.limit;
                }
                out.push((m.to_vec(), score));
                true
            });
        }
        SetOp::Union => {
            srcs.sort_by_key(|(s, _)| s.len());
            let mut acc: indexmap::IndexMap<Vec<u8>, f64, foldhash::fast::RandomState> =
                Default::default();
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, q.agg),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                    true
                });
            }
            out = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let (first, rest) = srcs.split_at(1);
            first[0].0.for_each(|m, s| {
                if rest.iter().all(|(src, _)| src.score(m).is_none()) {
                    out.push((m.to_vec(), s));
                }
                true
            });
        }
    }
    out.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    (out, count)
}

fn setop_read(ctx: &mut Ctx, mut args: Args, op: SetOp) -> CmdResult {
    let q = parse_setop(ctx, args.rest(), op, false, false)?;
    let resp = ctx.client.resp;
    let (items, _) = compute_setop(ctx, &q, op, false);
    Ok(members_reply(resp, items, q.withscores))
}

fn setop_store(ctx: &mut Ctx, mut args: Args, op: SetOp, event: &str) -> CmdResult {
    let dst = args.next_bytes()?;
    let q = parse_setop(ctx, args.rest(), op, true, false)?;
    let (items, _) = compute_setop(ctx, &q, op, false);
    store_result(ctx, &dst, items, event)
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zunion(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_read(ctx, args, SetOp::Union)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zinter(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_read(ctx, args, SetOp::Inter)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_read(ctx, args, SetOp::Diff)
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]`
fn zunionstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Union, "zunionstore")
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]`
fn zinterstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Inter, "zinterstore")
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    setop_store(ctx, args, SetOp::Diff, "zdiffstore")
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
fn zintercard(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let q = parse_setop(ctx, args.rest(), SetOp::Inter, false, true)?;
    let (_, n) = compute_setop(ctx, &q, SetOp::Inter, true);
    Ok(Reply::Int(n as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_matches_c() {
        assert_eq!(strtod(b""), (0.0, 0));
        assert_eq!(strtod(b" 1.5"), (1.5, 4));
        assert_eq!(strtod(b"0x10"), (16.0, 4));
        assert_eq!(strtod(b"-inf"), (f64::NEG_INFINITY, 4));
        assert_eq!(strtod(b"1e3x"), (1000.0, 3));
        assert_eq!(strtod(b"1e"), (1.0, 1));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b"(1"), Some((1.0, true)));
        assert_eq!(parse_score_bound(b"x"), None);
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"0"), Ok(None));
        assert_eq!(parse_timeout(b"0.0001"), Ok(Some(1)));
        assert_eq!(parse_timeout(b"1.5"), Ok(Some(1500)));
        assert_eq!(parse_timeout(b"-0.0001"), Ok(None));
        assert!(parse_timeout(b"-1").is_err());
        assert!(parse_timeout(b"inf").is_err());
    }

    #[test]
    fn g17() {
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(3.0), "3");
        assert_eq!(format_g17(2.5), "2.5");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_g17(0.0001), "0.0001");
    }

    #[test]
    fn ranks() {
        assert_eq!(rank_range(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_range(2, 1, 3), None);
        assert_eq!(rank_range(i64::MIN, i64::MIN, 3), None);
        assert_eq!(rank_range(0, 0, 0), None);
    }
}
