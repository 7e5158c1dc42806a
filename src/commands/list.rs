//! List commands: pushes and pops at both ends, indexed access, LINSERT/LREM/LTRIM/LPOS, moves
//! between lists, and the blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! Blocking handlers never hand an element to somebody else: when nothing is available they ask
//! to block (`Ctx::block_on`) and, once a key they wait on changes, the dispatcher re-runs them.
//! A re-run that finds none of its keys holding a list goes back to waiting (Redis 7.2 only wakes
//! a list waiter when a key of the right type is ready), otherwise it runs as a fresh command.

use crate::cmd::args::{eq_kw, parse_i64, parse_i64_opt, parse_timeout};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::EV_LIST;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::list::End;
use crate::types::list::ListLimits;
use crate::types::ListValue;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("lpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, lpush),
    command!("rpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, rpush),
    command!("lpushx", -3, WRITE | DENYOOM | FAST, 1, 1, 1, lpushx),
    command!("rpushx", -3, WRITE | DENYOOM | FAST, 1, 1, 1, rpushx),
    command!("lpop", -2, WRITE | FAST, 1, 1, 1, lpop),
    command!("rpop", -2, WRITE | FAST, 1, 1, 1, rpop),
    command!("llen", 2, READONLY | FAST, 1, 1, 1, llen),
    command!("lrange", 4, READONLY, 1, 1, 1, lrange),
    command!("lindex", 3, READONLY, 1, 1, 1, lindex),
    command!("lset", 4, WRITE | DENYOOM, 1, 1, 1, lset),
    command!("linsert", 5, WRITE | DENYOOM, 1, 1, 1, linsert),
    command!("lrem", 4, WRITE, 1, 1, 1, lrem),
    command!("ltrim", 4, WRITE, 1, 1, 1, ltrim),
    command!("lpos", -3, READONLY, 1, 1, 1, lpos),
    command!("lmove", 5, WRITE | DENYOOM, 1, 2, 1, lmove),
    command!("rpoplpush", 3, WRITE | DENYOOM, 1, 2, 1, rpoplpush),
    command!("lmpop", -4, WRITE | MOVABLE_KEYS, 0, 0, 0, lmpop),
    command!("blpop", -3, WRITE | NOSCRIPT | BLOCKING, 1, -2, 1, blpop),
    command!("brpop", -3, WRITE | NOSCRIPT | BLOCKING, 1, -2, 1, brpop),
    command!(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        blmove
    ),
    command!(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        brpoplpush
    ),
    command!(
        "blmpop",
        -5,
        WRITE | BLOCKING | MOVABLE_KEYS,
        0,
        0,
        0,
        blmpop
    ),
];

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// `LEFT` or `RIGHT` (LMOVE, LMPOP).
fn parse_end(b: &[u8]) -> Result<End, CmdError> {
    if eq_kw(b, "LEFT") {
        Ok(End::Left)
    } else if eq_kw(b, "RIGHT") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A count that must be `>= 0`, with Redis's message for both bad forms.
fn parse_non_negative(b: &[u8], msg: &str) -> Result<i64, CmdError> {
    match parse_i64_opt(b) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// A count that must be `>= 1` (LMPOP's COUNT and numkeys).
fn parse_positive(b: &[u8], msg: &str) -> Result<i64, CmdError> {
    match parse_i64_opt(b) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The listpack size currently configured (CONFIG SET list-max-listpack-size).
fn limits(ctx: &Ctx) -> ListLimits {
    ListLimits {
        fill: super::config_number(ctx, "list-max-listpack-size", ListLimits::default().fill),
    }
}

/// LPUSH/RPUSH/LPUSHX/RPUSHX.
fn push_generic(ctx: &mut Ctx, mut args: Args, end: End, only_existing: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let values = args.rest();
    let lim = limits(ctx);
    let len = if only_existing {
        match ctx.write::<ListValue>(&key)? {
            None => return Ok(Reply::Int(0)),
            Some(l) => {
                l.push_all(end, values, lim);
                l.len()
            }
        }
    } else {
        let l = ctx.write_or_create::<ListValue>(&key)?;
        l.push_all(end, values, lim);
        l.len()
    };
    ctx.touched(&key);
    ctx.notify(EV_LIST, push_event(end), &key);
    Ok(Reply::Int(len as i64))
}

/// `LPUSH key element [element ...]`
fn lpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push_generic(ctx, args, End::Left, false)
}

/// `RPUSH key element [element ...]`
fn rpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push_generic(ctx, args, End::Right, false)
}

/// `LPUSHX key element [element ...]`
fn lpushx(ctx: &mut Ctx, args: Args) -> CmdResult {
    push_generic(ctx, args, End::Left, true)
}

/// `RPUSHX key element [element ...]`
fn rpushx(ctx: &mut Ctx, args: Args) -> CmdResult {
    push_generic(ctx, args, End::Right, true)
}

/// Pops up to `n` elements from the list at `key` (which the caller found non-empty), with the
/// pop event, the deletion of an emptied list and the change signal.
fn pop_and_signal(ctx: &mut Ctx, key: &[u8], end: End, n: usize) -> Result<Vec<Vec<u8>>, CmdError> {
    let lim = limits(ctx);
    let out = match ctx.write::<ListValue>(key)? {
        Some(l) => l.pop_many(end, n, lim),
        None => Vec::new(),
    };
    if !out.is_empty() {
        ctx.notify(EV_LIST, pop_event(end), key);
        ctx.remove_if_empty(key);
        ctx.touched(key);
    }
    Ok(out)
}

/// LPOP/RPOP.
fn pop_generic(ctx: &mut Ctx, mut args: Args, end: End) -> CmdResult {
    let key = args.next_bytes()?;
    let count = match args.next_opt() {
        Some(c) => Some(parse_non_negative(
            &c,
            "value is out of range, must be positive",
        )?),
        None => None,
    };
    if !args.is_empty() {
        return Err(CmdError::WrongArity(args.name.into()));
    }
    let len = match ctx.read::<ListValue>(&key)? {
        Some(l) => l.len(),
        None => {
            return Ok(if count.is_some() {
                Reply::NilArray
            } else {
                Reply::Nil
            })
        }
    };
    match count {
        None => {
            let mut got = pop_and_signal(ctx, &key, end, 1)?;
            Ok(Reply::opt_bulk(got.pop().as_deref()))
        }
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(n) => Ok(Reply::bulks(pop_and_signal(
            ctx,
            &key,
            end,
            to_usize(n).min(len),
        )?)),
    }
}

/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop_generic(ctx, args, End::Left)
}

/// `RPOP key [count]`
fn rpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop_generic(ctx, args, End::Right)
}

/// `LLEN key`
fn llen(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<ListValue>(&key)?.map_or(0, |l| l.len() as i64),
    ))
}

/// `LRANGE key start stop`
fn lrange(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let stop = args.next_i64()?;
    Ok(match ctx.read::<ListValue>(&key)? {
        Some(l) => Reply::bulks(l.range(start, stop)),
        None => Reply::Array(Vec::new()),
    })
}

/// `LINDEX key index`
fn lindex(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let index = args.next_bytes()?;
    let Some(l) = ctx.read::<ListValue>(&key)? else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::opt_bulk(l.get(parse_i64(&index)?)))
}

/// `LSET key index element`
fn lset(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let index = args.next_bytes()?;
    let value = args.next_bytes()?;
    let lim = limits(ctx);
    let Some(l) = ctx.write::<ListValue>(&key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if !l.set(parse_i64(&index)?, value, lim) {
        return Err(CmdError::IndexOutOfRange);
    }
    ctx.notify(EV_LIST, "lset", &key);
    ctx.touched(&key);
    Ok(Reply::ok())
}

/// `LINSERT key <BEFORE | AFTER> pivot element`
fn linsert(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let place = args.next_bytes()?;
    let after = if eq_kw(&place, "AFTER") {
        true
    } else if eq_kw(&place, "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let pivot = args.next_bytes()?;
    let value = args.next_bytes()?;
    let lim = limits(ctx);
    let Some(l) = ctx.write::<ListValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    if !l.insert_at_pivot(&pivot, value, after, lim) {
        return Ok(Reply::Int(-1));
    }
    let len = l.len() as i64;
    ctx.notify(EV_LIST, "linsert", &key);
    ctx.touched(&key);
    Ok(Reply::Int(len))
}

/// `LREM key count element`
fn lrem(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let count = args.next_i64()?;
    let value = args.next_bytes()?;
    let lim = limits(ctx);
    let Some(l) = ctx.write::<ListValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let removed = l.remove_matching(&value, count, lim);
    if removed > 0 {
        ctx.notify(EV_LIST, "lrem", &key);
        ctx.remove_if_empty(&key);
        ctx.touched(&key);
    }
    Ok(Reply::Int(removed as i64))
}

/// `LTRIM key start stop`
fn ltrim(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let stop = args.next_i64()?;
    let lim = limits(ctx);
    let Some(l) = ctx.write::<ListValue>(&key)? else {
        return Ok(Reply::ok());
    };
    l.trim(start, stop, lim);
    ctx.notify(EV_LIST, "ltrim", &key);
    ctx.remove_if_empty(&key);
    ctx.touched(&key);
    Ok(Reply::ok())
}

/// LPOS's options.
struct LposOpts {
    rank: i64,
    count: Option<i64>,
    maxlen: i64,
}

impl LposOpts {
    fn parse(args: &mut Args) -> Result<LposOpts, CmdError> {
        let mut o = LposOpts {
            rank: 1,
            count: None,
            maxlen: 0,
        };
        while let Some(opt) = args.next_opt() {
            let Some(v) = args.next_opt() else {
                return Err(CmdError::Syntax);
            };
            if eq_kw(&opt, "RANK") {
                o.rank = parse_i64(&v)?;
                if o.rank == i64::MIN {
                    // Its negation (a rank from the tail) would not fit.
                    return Err(CmdError::err(
                        "value is out of range, must be between -9223372036854775807 and 9223372036854775807",
                    ));
                }
                if o.rank == 0 {
                    return Err(CmdError::err(
                        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                         or use negative to start from the end of the list",
                    ));
                }
            } else if eq_kw(&opt, "COUNT") {
                o.count = Some(parse_non_negative(&v, "COUNT can't be negative")?);
            } else if eq_kw(&opt, "MAXLEN") {
                o.maxlen = parse_non_negative(&v, "MAXLEN can't be negative")?;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(o)
    }
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let value = args.next_bytes()?;
    let o = LposOpts::parse(&mut args)?;
    let Some(l) = ctx.read::<ListValue>(&key)? else {
        return Ok(if o.count.is_some() {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let from_tail = o.rank < 0;
    let rank = o.rank.unsigned_abs();
    let maxlen = o.maxlen as u64;
    Ok(match o.count {
        Some(count) => {
            let found = l.positions(&value, rank, count as u64, maxlen, from_tail);
            Reply::Array(found.into_iter().map(|p| Reply::Int(p as i64)).collect())
        }
        None => match l.positions(&value, rank, 1, maxlen, from_tail).first() {
            Some(&p) => Reply::Int(p as i64),
            None => Reply::Nil,
        },
    })
}

/// Moves one element from `src` to `dst` (LMOVE's core). `None` when `src` is missing.
fn move_element(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, CmdError> {
    // Checked in Redis's order: a missing source wins over a wrong-typed destination.
    if ctx.read::<ListValue>(src)?.is_none() {
        return Ok(None);
    }
    ctx.check_type::<ListValue>(dst)?;
    let lim = limits(ctx);
    let Some(v) = ctx.write::<ListValue>(src)?.and_then(|l| l.pop(from, lim)) else {
        return Ok(None);
    };
    ctx.write_or_create::<ListValue>(dst)?
        .push(to, v.clone(), lim);
    ctx.touched(dst);
    ctx.notify(EV_LIST, push_event(to), dst);
    ctx.notify(EV_LIST, pop_event(from), src);
    ctx.remove_if_empty(src);
    if src != dst {
        ctx.touched(src);
    }
    Ok(Some(v))
}

/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
fn lmove(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = parse_end(&args.next_bytes()?)?;
    let to = parse_end(&args.next_bytes()?)?;
    Ok(Reply::opt_bulk(
        move_element(ctx, &src, &dst, from, to)?.as_deref(),
    ))
}

/// `RPOPLPUSH source destination`
fn rpoplpush(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    Ok(Reply::opt_bulk(
        move_element(ctx, &src, &dst, End::Right, End::Left)?.as_deref(),
    ))
}

/// LMPOP's arguments after `numkeys`' position.
struct MpopOpts {
    keys: Vec<Vec<u8>>,
    end: End,
    count: usize,
}

impl MpopOpts {
    /// `numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
    fn parse(args: &mut Args) -> Result<MpopOpts, CmdError> {
        let numkeys = parse_positive(&args.next_bytes()?, "numkeys should be greater than 0")?;
        if to_usize(numkeys) >= args.remaining() {
            return Err(CmdError::Syntax);
        }
        let keys: Vec<Vec<u8>> = (0..numkeys).filter_map(|_| args.next_opt()).collect();
        let end = parse_end(&args.next_bytes()?)?;
        let mut count = None;
        while let Some(opt) = args.next_opt() {
            match (count, eq_kw(&opt, "COUNT"), args.next_opt()) {
                (None, true, Some(v)) => {
                    count = Some(parse_positive(&v, "count should be greater than 0")?)
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        Ok(MpopOpts {
            keys,
            end,
            count: to_usize(count.unwrap_or(1)),
        })
    }
}

/// A key and the elements popped from it.
type Popped = (Vec<u8>, Vec<Vec<u8>>);

/// Pops from the first key of `keys` holding a non-empty list.
fn pop_first_list(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    end: End,
    count: usize,
) -> Result<Option<Popped>, CmdError> {
    for key in keys {
        if ctx.read::<ListValue>(key)?.is_some() {
            let got = pop_and_signal(ctx, key, end, count)?;
            return Ok(Some((key.clone(), got)));
        }
    }
    Ok(None)
}

fn mpop_reply(key: Vec<u8>, elements: Vec<Vec<u8>>) -> Reply {
    Reply::Array(vec![Reply::Bulk(key), Reply::bulks(elements)])
}

/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
fn lmpop(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let o = MpopOpts::parse(&mut args)?;
    Ok(match pop_first_list(ctx, &o.keys, o.end, o.count)? {
        Some((key, got)) => mpop_reply(key, got),
        None => Reply::NilArray,
    })
}

/// True when one of `keys` holds a list (lists are never empty): a re-run can be served.
fn any_list(ctx: &mut Ctx, keys: &[Vec<u8>]) -> bool {
    keys.iter()
        .any(|k| matches!(ctx.read::<ListValue>(k), Ok(Some(_))))
}

/// The blocking pattern every blocking list command shares: try `serve`; when it has nothing,
/// block on `keys` if allowed, else reply `denied` (inside MULTI or a script) or the timeout
/// reply (the deadline passed). A re-run after a signal only serves when a list is there to pop.
fn serve_or_block(
    ctx: &mut Ctx,
    keys: Vec<Vec<u8>>,
    timeout_ms: Option<i64>,
    denied: Reply,
    serve: impl FnOnce(&mut Ctx, &[Vec<u8>]) -> Result<Option<Reply>, CmdError>,
) -> CmdResult {
    let ready = !ctx.env.block_retry || any_list(ctx, &keys);
    if ready {
        if let Some(r) = serve(ctx, &keys)? {
            return Ok(r);
        }
    }
    if ctx.can_block() {
        ctx.block_on(keys, timeout_ms, None);
        // Not sent: the dispatcher parks the client instead.
        return Ok(Reply::NilArray);
    }
    Ok(if ctx.env.block_timed_out {
        Reply::NilArray
    } else {
        denied
    })
}

/// BLPOP/BRPOP: `key [key ...] timeout`.
fn blocking_pop(ctx: &mut Ctx, mut args: Args, end: End) -> CmdResult {
    let mut keys = args.rest();
    let timeout = keys.pop().unwrap_or_default();
    let timeout_ms = parse_timeout(&timeout, true, ctx.now_ms())?;
    serve_or_block(ctx, keys, timeout_ms, Reply::NilArray, |ctx, keys| {
        Ok(pop_first_list(ctx, keys, end, 1)?.map(|(key, mut got)| {
            let v = got.pop().unwrap_or_default();
            Reply::Array(vec![Reply::Bulk(key), Reply::Bulk(v)])
        }))
    })
}

/// `BLPOP key [key ...] timeout`
fn blpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, End::Left)
}

/// `BRPOP key [key ...] timeout`
fn brpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, End::Right)
}

/// BLMOVE/BRPOPLPUSH once their arguments are parsed.
fn blocking_move(
    ctx: &mut Ctx,
    src: Vec<u8>,
    dst: Vec<u8>,
    from: End,
    to: End,
    timeout_ms: Option<i64>,
) -> CmdResult {
    // Inside MULTI Redis answers a null bulk here, not the null array of a timeout.
    serve_or_block(ctx, vec![src], timeout_ms, Reply::Nil, |ctx, keys| {
        let src = keys.first().map(|k| k.as_slice()).unwrap_or_default();
        Ok(move_element(ctx, src, &dst, from, to)?.map(Reply::Bulk))
    })
}

/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
fn blmove(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let from = parse_end(&args.next_bytes()?)?;
    let to = parse_end(&args.next_bytes()?)?;
    let timeout_ms = parse_timeout(&args.next_bytes()?, true, ctx.now_ms())?;
    blocking_move(ctx, src, dst, from, to, timeout_ms)
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let timeout_ms = parse_timeout(&args.next_bytes()?, true, ctx.now_ms())?;
    blocking_move(ctx, src, dst, End::Right, End::Left, timeout_ms)
}

/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
fn blmpop(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let timeout = args.next_bytes()?;
    // Redis checks the timeout only after the rest of the arguments.
    let o = MpopOpts::parse(&mut args)?;
    let timeout_ms = parse_timeout(&timeout, true, ctx.now_ms())?;
    let (end, count) = (o.end, o.count);
    serve_or_block(ctx, o.keys, timeout_ms, Reply::NilArray, |ctx, keys| {
        Ok(pop_first_list(ctx, keys, end, count)?.map(|(key, got)| mpop_reply(key, got)))
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, EngineOptions};
    use crate::reply::Reply;

    fn run(e: &Engine, c: &mut crate::engine::Client, args: &[&str]) -> Option<Reply> {
        e.execute(c, args.iter().map(|a| a.as_bytes().to_vec()).collect())
    }

    #[test]
    fn blocked_pop_is_served_by_a_push_and_keeps_fifo_order() {
        let e = Engine::new(EngineOptions {
            active_expiry: false,
            ..EngineOptions::default()
        });
        let (mut a, mut b, mut w) = (e.open_client(), e.open_client(), e.open_client());
        assert!(run(&e, &mut a, &["BLPOP", "k", "0"]).is_none());
        assert!(run(&e, &mut b, &["BLPOP", "k", "0"]).is_none());
        assert_eq!(
            run(&e, &mut w, &["RPUSH", "k", "x", "y"]),
            Some(Reply::Int(2))
        );
        // Both are served by the push, in the order they blocked.
        let got_a = match e.block_step(&mut a) {
            crate::engine::BlockStep::Done(r) => r,
            _ => panic!("a not served"),
        };
        assert_eq!(
            got_a,
            Reply::Array(vec![Reply::bulk(b"k"), Reply::bulk(b"x")])
        );
        let got_b = match e.block_step(&mut b) {
            crate::engine::BlockStep::Done(r) => r,
            _ => panic!("b not served"),
        };
        assert_eq!(
            got_b,
            Reply::Array(vec![Reply::bulk(b"k"), Reply::bulk(b"y")])
        );
    }

    #[test]
    fn cancelled_waiter_hands_back_what_it_was_served_to_the_next() {
        let e = Engine::new(EngineOptions {
            active_expiry: false,
            ..EngineOptions::default()
        });
        let (mut a, mut b, mut w) = (e.open_client(), e.open_client(), e.open_client());
        assert!(run(&e, &mut a, &["BLPOP", "k", "0"]).is_none());
        assert!(run(&e, &mut b, &["BLPOP", "k", "0"]).is_none());
        // Served to `a` at once, before any other command could take it ...
        run(&e, &mut w, &["RPUSH", "k", "x"]);
        assert_eq!(run(&e, &mut w, &["LLEN", "k"]), Some(Reply::Int(0)));
        // ... and handed back (then served to `b`) when `a` gives up before taking its reply.
        e.cancel_block(&mut a);
        match e.block_step(&mut b) {
            crate::engine::BlockStep::Done(r) => {
                assert_eq!(r, Reply::Array(vec![Reply::bulk(b"k"), Reply::bulk(b"x")]))
            }
            _ => panic!("b not served"),
        }
        assert_eq!(run(&e, &mut w, &["LLEN", "k"]), Some(Reply::Int(0)));
    }

    #[test]
    fn wrong_type_key_keeps_the_waiter_waiting() {
        let e = Engine::new(EngineOptions {
            active_expiry: false,
            ..EngineOptions::default()
        });
        let (mut a, mut w) = (e.open_client(), e.open_client());
        assert!(run(&e, &mut a, &["BLPOP", "k", "0"]).is_none());
        run(&e, &mut w, &["SET", "k", "v"]);
        assert!(matches!(
            e.block_step(&mut a),
            crate::engine::BlockStep::Waiting(None)
        ));
        run(&e, &mut w, &["DEL", "k"]);
        run(&e, &mut w, &["LPUSH", "k", "z"]);
        assert!(matches!(
            e.block_step(&mut a),
            crate::engine::BlockStep::Done(_)
        ));
    }
}
