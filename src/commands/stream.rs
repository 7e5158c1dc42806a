//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD, XREADGROUP, XGROUP, XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM, XINFO, XSETID.
//!
//! Blocking reads never take anything while blocked: a signalled reader re-runs its command, so a
//! cancelled XREADGROUP leaves nothing pending. Every XADD signals *all* readers of the key rather
//! than the first one, because stream reads do not consume: readers of other groups (or plain
//! XREAD readers) behind a group reader that found nothing must still see the new entry.

use crate::cmd::args::{eq_kw, parse_i64};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::EV_STREAM;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::stream::{Fields, Group, NodeLimits, StreamId, Trim};
use crate::types::StreamValue;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("xadd", -5, WRITE | DENYOOM | FAST, 1, 1, 1, xadd),
    command!("xlen", 2, READONLY | FAST, 1, 1, 1, xlen),
    command!("xrange", -4, READONLY, 1, 1, 1, xrange),
    command!("xrevrange", -4, READONLY, 1, 1, 1, xrevrange),
    command!("xdel", -3, WRITE | FAST, 1, 1, 1, xdel),
    command!("xtrim", -4, WRITE, 1, 1, 1, xtrim),
    command!(
        "xread",
        -4,
        READONLY | BLOCKING | MOVABLE_KEYS,
        0,
        0,
        0,
        xread
    ),
    command!(
        "xreadgroup",
        -7,
        WRITE | BLOCKING | MOVABLE_KEYS,
        0,
        0,
        0,
        xreadgroup
    ),
    command!("xgroup", -2, WRITE, 2, 2, 1, xgroup),
    command!("xack", -4, WRITE | FAST, 1, 1, 1, xack),
    command!("xpending", -3, READONLY, 1, 1, 1, xpending),
    command!("xclaim", -6, WRITE | FAST, 1, 1, 1, xclaim),
    command!("xautoclaim", -6, WRITE | FAST, 1, 1, 1, xautoclaim),
    command!("xinfo", -2, READONLY, 2, 2, 1, xinfo),
    command!("xsetid", -3, WRITE | DENYOOM | FAST, 1, 1, 1, xsetid),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// Default LIMIT of `~` trimming, in nodes: 100 nodes' worth of entries, as Redis (none when
/// nodes have no entry limit).
const APPROX_TRIM_NODES: u64 = 100;

/// The node limits currently configured (CONFIG SET stream-node-max-*, which stores canonical
/// numbers; unset means Redis's defaults).
fn node_limits(ctx: &Ctx) -> NodeLimits {
    let get = |name: &str| {
        ctx.store
            .config
            .get(name)
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
    };
    let d = NodeLimits::DEFAULT;
    NodeLimits {
        max_entries: get("stream-node-max-entries").unwrap_or(d.max_entries),
        max_bytes: get("stream-node-max-bytes").unwrap_or(d.max_bytes),
    }
}

fn invalid_id() -> CmdError {
    CmdError::raw(INVALID_ID)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::raw(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        lossy(key),
        lossy(group)
    ))
}

fn nogroup_for_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::raw(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        lossy(group),
        lossy(key)
    ))
}

// ---------------------------------------------------------------------------------------------
// Id parsing

/// An unsigned id part with Redis's `string2ull` rules: a canonical integer, or else whatever
/// `strtoull` accepts whole (leading blanks, a sign, leading zeros).
fn parse_u64_part(b: &[u8]) -> Option<u64> {
    if let Some(v) = crate::cmd::args::parse_i64_opt(b) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    if i >= b.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &b[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    // strtoull negates in unsigned arithmetic.
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `ms[-seq]`; a missing seq becomes `missing_seq`. With `star_seq`, `ms-*` parses with its seq
/// left to the stream (the second value is then false).
fn parse_id_parts(b: &[u8], missing_seq: u64, star_seq: bool) -> Option<(StreamId, bool)> {
    if b.len() > 127 {
        return None;
    }
    match b.iter().position(|&c| c == b'-') {
        None => Some((StreamId::new(parse_u64_part(b)?, missing_seq), true)),
        Some(dash) => {
            let ms = parse_u64_part(&b[..dash])?;
            let seq = &b[dash + 1..];
            if star_seq && seq == b"*" {
                return Some((StreamId::new(ms, 0), false));
            }
            Some((StreamId::new(ms, parse_u64_part(seq)?), true))
        }
    }
}

/// A concrete id (no `-`, `+`, `$`); a missing seq is 0.
fn parse_strict_id(b: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_parts(b, 0, false)
        .map(|(id, _)| id)
        .ok_or_else(invalid_id)
}

/// A range bound: `-`, `+`, `(id` (exclusive) or an id whose missing seq is `missing_seq`.
fn parse_interval(b: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if b.len() > 1 && b[0] == b'(' {
        let id = parse_id_parts(&b[1..], missing_seq, false)
            .ok_or_else(invalid_id)?
            .0;
        return Ok((id, true));
    }
    match b {
        b"-" => Ok((StreamId::MIN, false)),
        b"+" => Ok((StreamId::MAX, false)),
        _ => Ok((
            parse_id_parts(b, missing_seq, false)
                .ok_or_else(invalid_id)?
                .0,
            false,
        )),
    }
}

/// The lower bound of a range (inclusive after resolving `(`).
fn range_start(b: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(b, 0)?;
    if ex {
        id.incr()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"))
    } else {
        Ok(id)
    }
}

/// The upper bound of a range (inclusive after resolving `(`).
fn range_end(b: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(b, u64::MAX)?;
    if ex {
        id.decr()
            .ok_or_else(|| CmdError::err("invalid end ID for the interval"))
    } else {
        Ok(id)
    }
}

// ---------------------------------------------------------------------------------------------
// Replies

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn entry_reply(id: StreamId, fields: &Fields) -> Reply {
    Reply::Array(vec![id_reply(id), Reply::bulks(fields)])
}

fn entries_reply(items: &[(StreamId, &Fields)]) -> Reply {
    Reply::Array(items.iter().map(|(id, f)| entry_reply(*id, f)).collect())
}

fn opt_int(v: Option<i64>) -> Reply {
    v.map(Reply::Int).unwrap_or(Reply::Nil)
}

fn map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk(k.as_bytes()), v))
            .collect(),
    )
}

/// Wakes every reader blocked on `key`: reads do not consume, so each may want the new entry.
fn wake_all_readers(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db_index();
    ctx.store.blocking.signal_all(db, key, &mut ctx.env.wakes);
}

// ---------------------------------------------------------------------------------------------
// XADD / XTRIM

/// Trimming options shared by XADD and XTRIM.
struct TrimOpts {
    how: Option<Trim>,
    approx: bool,
    limit: u64,
}

/// What XADD was asked to use as the new id.
enum AddId {
    Auto,
    /// An id; false when its seq is `*`.
    Given(StreamId, bool),
}

/// Parses `[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]]` (and XADD's id) from `a`.
/// Returns the options, the id (XADD only), NOMKSTREAM, and the index just past the id.
fn parse_trim_opts(
    a: &[Vec<u8>],
    xadd: bool,
    limits: NodeLimits,
) -> Result<(TrimOpts, Option<AddId>, bool, usize), CmdError> {
    let mut how = None;
    let mut approx = false;
    let mut limit: Option<i64> = None;
    let mut nomkstream = false;
    let mut id = None;
    let mut i = 0;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = a[i].as_slice();
        let is_maxlen = eq_kw(opt, "MAXLEN");
        if xadd && opt == b"*" {
            id = Some(AddId::Auto);
            break;
        } else if (is_maxlen || eq_kw(opt, "MINID")) && more > 0 {
            if how.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            approx = false;
            let next = a[i + 1].as_slice();
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let arg = a[i + 1].as_slice();
            if is_maxlen {
                let n = parse_i64(arg)?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                how = Some(Trim::MaxLen(n as u64));
            } else {
                how = Some(Trim::MinId(parse_strict_id(arg)?));
            }
            i += 1;
        } else if eq_kw(opt, "LIMIT") && more > 0 {
            let n = parse_i64(&a[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            limit = Some(n);
            i += 1;
        } else if xadd && eq_kw(opt, "NOMKSTREAM") {
            nomkstream = true;
        } else if xadd {
            let (parsed, seq_given) = parse_id_parts(opt, 0, true).ok_or_else(invalid_id)?;
            id = Some(AddId::Given(parsed, seq_given));
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let limit = match limit {
        Some(n) => {
            if how.is_none() {
                return Err(CmdError::err(
                    "syntax error, LIMIT cannot be used without specifying a trimming strategy",
                ));
            }
            if !approx {
                return Err(CmdError::err(
                    "syntax error, LIMIT cannot be used without the special ~ option",
                ));
            }
            n as u64
        }
        None if approx => limits.max_entries.saturating_mul(APPROX_TRIM_NODES),
        None => 0,
    };
    Ok((TrimOpts { how, approx, limit }, id, nomkstream, i + 1))
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]`
fn xadd(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let mut rest = args.rest();
    let limits = node_limits(ctx);
    let (trim, id, nomkstream, fields_at) = parse_trim_opts(&rest, true, limits)?;
    let fields: Fields = if fields_at <= rest.len() {
        rest.split_off(fields_at)
    } else {
        Vec::new()
    };
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    let id = id.ok_or(CmdError::WrongArity("xadd".into()))?;
    if let AddId::Given(given, true) = id {
        if given.is_zero() {
            return Err(CmdError::err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let now = ctx.now_ms();
    if nomkstream && ctx.read::<StreamValue>(&key)?.is_none() {
        return Ok(Reply::Nil);
    }
    let s = ctx.write_or_create::<StreamValue>(&key)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small = || {
        CmdError::err(
            "The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let new_id = match id {
        AddId::Auto => s.next_auto_id(now).ok_or_else(too_small)?,
        AddId::Given(given, true) => given,
        AddId::Given(given, false) => {
            if s.last_id.ms == given.ms {
                s.last_id
                    .incr()
                    .filter(|n| n.ms == given.ms)
                    .ok_or_else(too_small)?
            } else {
                given
            }
        }
    };
    if new_id <= s.last_id {
        return Err(too_small());
    }
    s.append_with(new_id, fields, limits);
    let trimmed = match trim.how {
        Some(how) => s.trim(how, trim.approx, trim.limit),
        None => 0,
    };
    ctx.touched(&key);
    ctx.notify(EV_STREAM, "xadd", &key);
    if trimmed > 0 {
        ctx.notify(EV_STREAM, "xtrim", &key);
    }
    wake_all_readers(ctx, &key);
    Ok(id_reply(new_id))
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
fn xtrim(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let rest = args.rest();
    let (trim, _, _, _) = parse_trim_opts(&rest, false, node_limits(ctx))?;
    let Some(how) = trim.how else {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    };
    let Some(s) = ctx.write::<StreamValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let n = s.trim(how, trim.approx, trim.limit);
    if n > 0 {
        ctx.touched(&key);
        ctx.notify(EV_STREAM, "xtrim", &key);
    }
    Ok(Reply::Int(n as i64))
}

// ---------------------------------------------------------------------------------------------
// XLEN / XRANGE / XREVRANGE / XDEL

/// `XLEN key`
fn xlen(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<StreamValue>(&key)?.map_or(0, |s| s.len() as i64),
    ))
}

/// `XRANGE key start end [COUNT count]`
fn xrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, false)
}

/// `XREVRANGE key end start [COUNT count]`
fn xrevrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range_command(ctx, args, true)
}

fn range_command(ctx: &mut Ctx, mut args: Args, rev: bool) -> CmdResult {
    let key = args.next_bytes()?;
    let a = args.next_bytes()?;
    let b = args.next_bytes()?;
    let (start, end) = if rev { (b, a) } else { (a, b) };
    let start = range_start(&start)?;
    let end = range_end(&end)?;
    let mut count: Option<i64> = None;
    while let Some(opt) = args.next_opt() {
        if eq_kw(&opt, "COUNT") && !args.is_empty() {
            count = Some(parse_i64(&args.next_bytes()?)?.max(0));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = ctx.read::<StreamValue>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    let n = count.map_or(0, |c| usize::try_from(c).unwrap_or(usize::MAX));
    Ok(entries_reply(&s.range(start, end, rev, n)))
}

/// `XDEL key id [id ...]`
fn xdel(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    if ctx.read::<StreamValue>(&key)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let ids = args
        .map(|a| parse_strict_id(&a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(s) = ctx.write::<StreamValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let n = ids.into_iter().filter(|id| s.delete(*id)).count();
    if n > 0 {
        ctx.touched(&key);
        ctx.notify(EV_STREAM, "xdel", &key);
    }
    Ok(Reply::Int(n as i64))
}

// ---------------------------------------------------------------------------------------------
// XREAD / XREADGROUP

/// Where a read starts for one stream.
#[derive(Clone, Copy)]
enum ReadFrom {
    /// Entries with ids greater than this one.
    After(StreamId),
    /// `$`: entries added after the command (nothing now).
    New,
    /// `+`: the last entry (Redis 7.4).
    Last,
    /// XREADGROUP `>`: entries never delivered to the group.
    Undelivered,
}

struct ReadOpts {
    count: usize,
    /// Block timeout in ms (0 = forever), when BLOCK was given.
    block: Option<i64>,
    group: Option<(Vec<u8>, Vec<u8>)>,
    noack: bool,
    keys: Vec<Vec<u8>>,
    from: Vec<ReadFrom>,
    /// Index of the first key in the arguments.
    keys_at: usize,
}

fn parse_read(ctx: &mut Ctx, a: &[Vec<u8>], group_cmd: bool) -> Result<ReadOpts, CmdError> {
    let mut count = 0usize;
    let mut block = None;
    let mut group = None;
    let mut noack = false;
    let mut streams_at = None;
    let mut i = 0;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = a[i].as_slice();
        if eq_kw(o, "BLOCK") && more > 0 {
            if ctx.env.in_script {
                // Redis refuses BLOCK from Lua outright rather than answering with a timeout.
                return Err(CmdError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    ctx.spec.name
                )));
            }
            i += 1;
            let t = parse_i64(&a[i])
                .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
            if t < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            if t > 0 && t > i64::MAX - ctx.now_ms() {
                return Err(CmdError::err("timeout is out of range"));
            }
            block = Some(t);
        } else if eq_kw(o, "COUNT") && more > 0 {
            i += 1;
            count = usize::try_from(parse_i64(&a[i])?.max(0)).unwrap_or(usize::MAX);
        } else if eq_kw(o, "STREAMS") && more > 0 {
            if (a.len() - i - 1) % 2 != 0 {
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if eq_kw(o, "GROUP") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 2;
        } else if eq_kw(o, "NOACK") {
            if !group_cmd {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(keys_at) = streams_at else {
        return Err(CmdError::Syntax);
    };
    if group_cmd && group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let n = (a.len() - keys_at) / 2;
    let keys: Vec<Vec<u8>> = a[keys_at..keys_at + n].to_vec();
    let mut from = Vec::with_capacity(n);
    for (k, idb) in keys.iter().zip(&a[keys_at + n..]) {
        let s = ctx.read::<StreamValue>(k)?;
        if let Some((g, _)) = &group {
            let key_exists = s.is_some();
            if !s.is_some_and(|s| s.groups.contains_key(g)) {
                if ctx.env.block_retry {
                    return Err(lost_while_blocked(ctx, k, key_exists));
                }
                return Err(CmdError::raw(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    lossy(k),
                    lossy(g)
                )));
            }
        }
        let f = match idb.as_slice() {
            b"$" => {
                if group_cmd {
                    return Err(CmdError::err(
                        "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of \
                         this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID \
                         would just return an empty result set.",
                    ));
                }
                ReadFrom::New
            }
            b">" => {
                if !group_cmd {
                    return Err(CmdError::err(
                        "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                    ));
                }
                ReadFrom::Undelivered
            }
            b"+" if !group_cmd => ReadFrom::Last,
            other => ReadFrom::After(parse_strict_id(other)?),
        };
        from.push(f);
    }
    Ok(ReadOpts {
        count,
        block,
        group,
        noack,
        keys,
        from,
        keys_at,
    })
}

/// The error a blocked XREADGROUP gets when its stream or group went away meanwhile (as Redis 7).
/// The other readers of the key are signalled too: the waiter that was signalled for a deletion
/// only passes the signal on while the key exists, and each of them must learn it is gone.
fn lost_while_blocked(ctx: &mut Ctx, key: &[u8], key_exists: bool) -> CmdError {
    wake_all_readers(ctx, key);
    if key_exists {
        CmdError::raw("NOGROUP the consumer group this client was blocked on no longer exists")
    } else {
        CmdError::raw("UNBLOCKED the stream key no longer exists")
    }
}

/// Builds the XREAD/XREADGROUP reply: a map keyed by stream in RESP3, pairs in RESP2.
fn read_reply(ctx: &Ctx, served: Vec<(Vec<u8>, Reply)>) -> Reply {
    if served.is_empty() {
        return Reply::NilArray;
    }
    if ctx.client.resp >= 3 {
        Reply::Map(
            served
                .into_iter()
                .map(|(k, v)| (Reply::Bulk(k), v))
                .collect(),
        )
    } else {
        Reply::Array(
            served
                .into_iter()
                .map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v]))
                .collect(),
        )
    }
}

/// Blocks for new entries, or replies nil where blocking is impossible (MULTI, scripts, timeout).
fn block_or_nil(
    ctx: &mut Ctx,
    keys: Vec<Vec<u8>>,
    timeout: i64,
    retry: Option<Vec<Vec<u8>>>,
) -> CmdResult {
    if ctx.can_block() {
        ctx.block_on(keys, if timeout == 0 { None } else { Some(timeout) }, retry);
    }
    Ok(Reply::NilArray)
}

/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id|$|+ [id|$|+ ...]`
fn xread(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let a: Vec<Vec<u8>> = args.rest();
    let opts = parse_read(ctx, &a, false)?;
    let mut served = Vec::new();
    // The ids a retry must read after: `$` and `+` pinned to the stream's last id now.
    let mut pinned = Vec::with_capacity(opts.keys.len());
    for (k, f) in opts.keys.iter().zip(&opts.from) {
        let s = ctx.read::<StreamValue>(k)?;
        let last_id = s.map_or(StreamId::MIN, |s| s.last_id);
        pinned.push(match f {
            ReadFrom::After(id) => *id,
            _ => last_id,
        });
        let Some(s) = s else { continue };
        let items = match f {
            ReadFrom::After(id) => match id.incr() {
                Some(start) => s.range(start, StreamId::MAX, false, opts.count),
                None => Vec::new(),
            },
            ReadFrom::Last => s.last_entry().into_iter().collect(),
            ReadFrom::New | ReadFrom::Undelivered => Vec::new(),
        };
        if !items.is_empty() {
            served.push((k.clone(), entries_reply(&items)));
        }
    }
    if served.is_empty() {
        if let Some(timeout) = opts.block {
            let ids_at = opts.keys_at + opts.keys.len();
            let mut retry = Vec::with_capacity(a.len() + 1);
            retry.push(b"XREAD".to_vec());
            retry.extend_from_slice(&a[..ids_at]);
            retry.extend(pinned.iter().map(|id| id.to_bytes()));
            return block_or_nil(ctx, opts.keys, timeout, Some(retry));
        }
    }
    Ok(read_reply(ctx, served))
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id|> [id|> ...]`
fn xreadgroup(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let a: Vec<Vec<u8>> = args.rest();
    let opts = parse_read(ctx, &a, true)?;
    let (gname, cname) = opts.group.clone().ok_or(CmdError::Syntax)?;
    let now = ctx.now_ms();
    let mut served = Vec::new();
    let mut changed = false;
    for (k, f) in opts.keys.iter().zip(&opts.from) {
        let Some(s) = ctx.write::<StreamValue>(k)? else {
            continue;
        };
        let Some(g) = s.groups.get_mut(&gname) else {
            continue;
        };
        let created = g.create_consumer(&cname, now);
        if let Some(c) = g.consumers.get_mut(&cname) {
            c.seen_ms = now;
        }
        let reply = match f {
            ReadFrom::After(after) => {
                let items = history(s, &gname, &cname, *after, opts.count, now);
                changed |= !items.is_empty();
                Some(Reply::Array(items))
            }
            _ => {
                let ids = s
                    .deliver_new(&gname, &cname, opts.count, opts.noack, now)
                    .unwrap_or_default();
                if ids.is_empty() {
                    None
                } else {
                    changed = true;
                    let items: Vec<Reply> = ids
                        .iter()
                        .filter_map(|id| s.get(*id).map(|fl| entry_reply(*id, fl)))
                        .collect();
                    Some(Reply::Array(items))
                }
            }
        };
        if created {
            changed = true;
            ctx.notify(EV_STREAM, "xgroup-createconsumer", k);
        }
        if let Some(r) = reply {
            served.push((k.clone(), r));
        }
    }
    if changed {
        ctx.store.dirty += 1;
    }
    if served.is_empty() {
        if let Some(timeout) = opts.block {
            return block_or_nil(ctx, opts.keys, timeout, None);
        }
    }
    Ok(read_reply(ctx, served))
}

/// A consumer's own pending entries after `after` (XREADGROUP with an id): each existing entry
/// counts as delivered again; deleted ones come back with a nil body.
fn history(
    s: &mut StreamValue,
    gname: &[u8],
    cname: &[u8],
    after: StreamId,
    count: usize,
    now: i64,
) -> Vec<Reply> {
    let Some(start) = after.incr() else {
        return Vec::new();
    };
    let ids: Vec<StreamId> = match s.groups.get(gname).and_then(|g| g.consumers.get(cname)) {
        Some(c) => {
            let it = c.pel.range(start..).copied();
            if count == 0 {
                it.collect()
            } else {
                it.take(count).collect()
            }
        }
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match s.get(id) {
            Some(fields) => {
                out.push(entry_reply(id, fields));
                if let Some(p) = s.groups.get_mut(gname).and_then(|g| g.pel.get_mut(&id)) {
                    p.delivery_ms = now;
                    p.delivery_count += 1;
                }
            }
            None => out.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// XGROUP

/// Checks a subcommand's Redis arity (`n` exact, `-n` at least), counting `XGROUP SUB` as 2.
fn sub_arity(cmd: &str, sub: &str, argc: usize, arity: i32) -> Result<(), CmdError> {
    let ok = if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= (-arity) as usize
    };
    if ok {
        Ok(())
    } else {
        Err(CmdError::WrongArity(format!("{}|{}", cmd, sub)))
    }
}

/// Parses `ENTRIESREAD n` options of XGROUP CREATE/SETID (CREATE also takes MKSTREAM).
fn parse_entries_read(
    rest: &[Vec<u8>],
    allow_mkstream: bool,
    sub: &str,
) -> Result<(Option<i64>, bool), CmdError> {
    let mut entries_read = None;
    let mut mkstream = false;
    let mut i = 0;
    while i < rest.len() {
        let o = rest[i].as_slice();
        if allow_mkstream && eq_kw(o, "MKSTREAM") {
            mkstream = true;
        } else if eq_kw(o, "ENTRIESREAD") && i + 1 < rest.len() {
            let n = parse_i64(&rest[i + 1])?;
            if n < 0 && n != -1 {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = if n < 0 { None } else { Some(n) };
            i += 1;
        } else {
            return Err(CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
                sub
            )));
        }
        i += 1;
    }
    Ok((entries_read, mkstream))
}

/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]`, `XGROUP SETID key group id|$
/// [ENTRIESREAD n]`, `XGROUP DESTROY key group`, `XGROUP CREATECONSUMER key group consumer`,
/// `XGROUP DELCONSUMER key group consumer`, `XGROUP HELP`
fn xgroup(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let argc = args.remaining() + 1;
    let sub_raw = args.next_bytes()?;
    let sub = String::from_utf8_lossy(&sub_raw).to_lowercase();
    let arity = match sub.as_str() {
        "create" => -5,
        "setid" => -5,
        "destroy" => 4,
        "createconsumer" | "delconsumer" => 5,
        "help" => 2,
        _ => {
            return Err(CmdError::UnknownSubcommand {
                cmd: "xgroup".into(),
                sub: lossy(&sub_raw),
            })
        }
    };
    sub_arity("xgroup", &sub, argc, arity)?;
    if sub == "help" {
        return Ok(Reply::Array(
            [
                "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CREATE <key> <group> <id|$> [MKSTREAM] [ENTRIESREAD <n>]",
                "    Create a consumer group that delivers entries after <id> ($: the last one).",
                "CREATECONSUMER <key> <group> <consumer>",
                "    Add a consumer to a group.",
                "DELCONSUMER <key> <group> <consumer>",
                "    Remove a consumer and its pending entries.",
                "DESTROY <key> <group>",
                "    Remove a consumer group.",
                "SETID <key> <group> <id|$> [ENTRIESREAD <n>]",
                "    Move a group's last delivered id.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status(std::borrow::Cow::Borrowed(*l)))
            .collect(),
        ));
    }
    let key = args.next_bytes()?;
    let gname = args.next_bytes()?;
    let rest = args.rest();
    let now = ctx.now_ms();
    let exists = ctx.read::<StreamValue>(&key)?.is_some();
    let parse_group_id = |s: Option<&StreamValue>, b: &[u8]| -> Result<StreamId, CmdError> {
        if b == b"$" {
            Ok(s.map_or(StreamId::MIN, |s| s.last_id))
        } else {
            parse_strict_id(b)
        }
    };
    match sub.as_str() {
        "create" => {
            let (entries_read, mkstream) = parse_entries_read(&rest[1..], true, &lossy(&sub_raw))?;
            if !exists && !mkstream {
                return Err(requires_key());
            }
            let s = ctx.read::<StreamValue>(&key)?;
            let id = parse_group_id(s, &rest[0])?;
            let s = ctx.write_or_create::<StreamValue>(&key)?;
            if s.groups.contains_key(&gname) {
                return Err(CmdError::raw(
                    "BUSYGROUP Consumer Group name already exists",
                ));
            }
            s.groups.insert(gname, Group::new(id, entries_read));
            ctx.touched(&key);
            ctx.notify(EV_STREAM, "xgroup-create", &key);
            Ok(Reply::ok())
        }
        "setid" => {
            let (entries_read, _) = parse_entries_read(&rest[1..], false, &lossy(&sub_raw))?;
            if !exists {
                return Err(requires_key());
            }
            let s = ctx.read::<StreamValue>(&key)?;
            let id = parse_group_id(s, &rest[0])?;
            let s = ctx.write::<StreamValue>(&key)?.ok_or_else(requires_key)?;
            let g = s
                .groups
                .get_mut(&gname)
                .ok_or_else(|| nogroup_for_key(&key, &gname))?;
            g.last_id = id;
            g.entries_read = entries_read;
            ctx.touched(&key);
            ctx.notify(EV_STREAM, "xgroup-setid", &key);
            Ok(Reply::ok())
        }
        "destroy" => {
            let s = ctx.write::<StreamValue>(&key)?.ok_or_else(requires_key)?;
            if s.groups.remove(&gname).is_none() {
                return Ok(Reply::Int(0));
            }
            ctx.touched(&key);
            wake_all_readers(ctx, &key);
            ctx.notify(EV_STREAM, "xgroup-destroy", &key);
            Ok(Reply::Int(1))
        }
        "createconsumer" => {
            let s = ctx.write::<StreamValue>(&key)?.ok_or_else(requires_key)?;
            let g = s
                .groups
                .get_mut(&gname)
                .ok_or_else(|| nogroup_for_key(&key, &gname))?;
            if !g.create_consumer(&rest[0], now) {
                return Ok(Reply::Int(0));
            }
            ctx.touched(&key);
            ctx.notify(EV_STREAM, "xgroup-createconsumer", &key);
            Ok(Reply::Int(1))
        }
        _ => {
            let s = ctx.write::<StreamValue>(&key)?.ok_or_else(requires_key)?;
            let g = s
                .groups
                .get_mut(&gname)
                .ok_or_else(|| nogroup_for_key(&key, &gname))?;
            if !g.consumers.contains_key(&rest[0]) {
                return Ok(Reply::Int(0));
            }
            let n = g.delete_consumer(&rest[0]);
            ctx.touched(&key);
            ctx.notify(EV_STREAM, "xgroup-delconsumer", &key);
            Ok(Reply::Int(n as i64))
        }
    }
}

fn requires_key() -> CmdError {
    CmdError::err(
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM \
         option to create an empty stream automatically.",
    )
}

// ---------------------------------------------------------------------------------------------
// XACK / XPENDING / XCLAIM / XAUTOCLAIM

/// `XACK key group id [id ...]`
fn xack(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let gname = args.next_bytes()?;
    let has_group = ctx
        .read::<StreamValue>(&key)?
        .is_some_and(|s| s.groups.contains_key(&gname));
    if !has_group {
        return Ok(Reply::Int(0));
    }
    let ids = args
        .map(|a| parse_strict_id(&a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(g) = ctx
        .write::<StreamValue>(&key)?
        .and_then(|s| s.groups.get_mut(&gname))
    else {
        return Ok(Reply::Int(0));
    };
    let n = ids.into_iter().filter(|id| g.ack(*id)).count();
    if n > 0 {
        ctx.store.dirty += 1;
    }
    Ok(Reply::Int(n as i64))
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
fn xpending(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let gname = args.next_bytes()?;
    let rest = args.rest();
    if !rest.is_empty() && !(3..=6).contains(&rest.len()) {
        return Err(CmdError::Syntax);
    }
    struct Ext {
        min_idle: i64,
        start: StreamId,
        end: StreamId,
        count: usize,
        consumer: Option<Vec<u8>>,
    }
    let ext = if rest.is_empty() {
        None
    } else {
        let mut at = 0;
        let mut min_idle = 0;
        if eq_kw(&rest[0], "IDLE") {
            min_idle = parse_i64(&rest[1])?;
            if rest.len() < 5 {
                return Err(CmdError::Syntax);
            }
            at = 2;
        }
        let count = usize::try_from(parse_i64(&rest[at + 2])?.max(0)).unwrap_or(usize::MAX);
        let start = range_start(&rest[at])?;
        let end = range_end(&rest[at + 1])?;
        Some(Ext {
            min_idle,
            start,
            end,
            count,
            consumer: rest.get(at + 3).cloned(),
        })
    };
    let now = ctx.now_ms();
    let g = ctx
        .read::<StreamValue>(&key)?
        .and_then(|s| s.groups.get(&gname))
        .ok_or_else(|| nogroup(&key, &gname))?;
    let Some(ext) = ext else {
        if g.pel.is_empty() {
            return Ok(Reply::Array(vec![
                Reply::Int(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        }
        let first = g.pel.keys().next().copied().unwrap_or_default();
        let last = g.pel.keys().next_back().copied().unwrap_or_default();
        let consumers: Vec<Reply> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(n, c)| {
                Reply::Array(vec![
                    Reply::bulk(n),
                    Reply::Bulk(c.pel.len().to_string().into_bytes()),
                ])
            })
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            id_reply(first),
            id_reply(last),
            Reply::Array(consumers),
        ]));
    };
    if ext.start > ext.end || ext.count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let ids: Box<dyn Iterator<Item = StreamId>> = match &ext.consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => Box::new(c.pel.range(ext.start..=ext.end).copied()),
            None => return Ok(Reply::Array(Vec::new())),
        },
        None => Box::new(g.pel.range(ext.start..=ext.end).map(|(id, _)| *id)),
    };
    let mut out = Vec::new();
    for id in ids {
        let Some(p) = g.pel.get(&id) else { continue };
        let idle = now.saturating_sub(p.delivery_ms);
        if ext.min_idle != 0 && idle < ext.min_idle {
            continue;
        }
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk(&p.consumer),
            Reply::Int(idle),
            Reply::Int(p.delivery_count as i64),
        ]));
        if out.len() >= ext.count {
            break;
        }
    }
    Ok(Reply::Array(out))
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]`
fn xclaim(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let gname = args.next_bytes()?;
    let cname = args.next_bytes()?;
    let min_idle_arg = args.next_bytes()?;
    let rest = args.rest();
    let has_group = ctx
        .read::<StreamValue>(&key)?
        .is_some_and(|s| s.groups.contains_key(&gname));
    if !has_group {
        return Err(nogroup(&key, &gname));
    }
    let min_idle = parse_i64(&min_idle_arg)
        .map_err(|_| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut ids = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        match parse_id_parts(&rest[i], 0, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        i += 1;
    }
    let now = ctx.now_ms();
    let mut delivery: Option<i64> = None;
    let mut retry: Option<i64> = None;
    let (mut force, mut justid) = (false, false);
    let mut lastid: Option<StreamId> = None;
    while i < rest.len() {
        let o = rest[i].as_slice();
        let more = i + 1 < rest.len();
        if eq_kw(o, "FORCE") {
            force = true;
        } else if eq_kw(o, "JUSTID") {
            justid = true;
        } else if eq_kw(o, "IDLE") && more {
            i += 1;
            let v = parse_i64(&rest[i])
                .map_err(|_| CmdError::err("Invalid IDLE option argument for XCLAIM"))?;
            delivery = Some(now.saturating_sub(v));
        } else if eq_kw(o, "TIME") && more {
            i += 1;
            delivery = Some(
                parse_i64(&rest[i])
                    .map_err(|_| CmdError::err("Invalid TIME option argument for XCLAIM"))?,
            );
        } else if eq_kw(o, "RETRYCOUNT") && more {
            i += 1;
            retry = Some(
                parse_i64(&rest[i])
                    .map_err(|_| CmdError::err("Invalid RETRYCOUNT option argument for XCLAIM"))?,
            );
        } else if eq_kw(o, "LASTID") && more {
            i += 1;
            lastid = Some(parse_strict_id(&rest[i])?);
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                lossy(o)
            )));
        }
        i += 1;
    }
    // A time in the future or before the epoch is taken as now rather than refused: clients
    // compute it from their own clocks.
    let delivery = delivery.filter(|d| *d >= 0 && *d <= now).unwrap_or(now);
    let Some(s) = ctx.write::<StreamValue>(&key)? else {
        return Err(nogroup(&key, &gname));
    };
    let exists: Vec<bool> = ids.iter().map(|id| s.contains(*id)).collect();
    let Some(g) = s.groups.get_mut(&gname) else {
        return Err(nogroup(&key, &gname));
    };
    if let Some(l) = lastid {
        if l > g.last_id {
            g.last_id = l;
        }
    }
    // Redis 7.2: the consumer exists after any XCLAIM, claimed or not, and was seen now.
    let created = g.create_consumer(&cname, now);
    if let Some(c) = g.consumers.get_mut(&cname) {
        c.seen_ms = now;
    }
    let mut claimed = Vec::new();
    for (id, exists) in ids.iter().copied().zip(exists) {
        if !exists {
            // The entry is gone: its pending record goes too.
            g.ack(id);
            continue;
        }
        let forced = !g.pel.contains_key(&id);
        if forced && !force {
            continue;
        }
        if !forced && min_idle > 0 {
            if let Some(p) = g.pel.get(&id) {
                if now.saturating_sub(p.delivery_ms) < min_idle {
                    continue;
                }
            }
        }
        let p = g.assign(id, &cname, delivery);
        if forced {
            p.delivery_count = 1;
        }
        match retry {
            Some(n) => p.delivery_count = u64::try_from(n).unwrap_or(0),
            None if !justid => p.delivery_count += 1,
            None => {}
        }
        claimed.push(id);
    }
    if !claimed.is_empty() {
        if let Some(c) = g.consumers.get_mut(&cname) {
            c.active_ms = now;
        }
    }
    let reply: Vec<Reply> = if justid {
        claimed.iter().map(|id| id_reply(*id)).collect()
    } else {
        claimed
            .iter()
            .filter_map(|id| s.get(*id).map(|f| entry_reply(*id, f)))
            .collect()
    };
    ctx.store.dirty += 1;
    if created {
        ctx.notify(EV_STREAM, "xgroup-createconsumer", &key);
    }
    Ok(Reply::Array(reply))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
fn xautoclaim(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let gname = args.next_bytes()?;
    let cname = args.next_bytes()?;
    let min_idle = parse_i64(&args.next_bytes()?)
        .map_err(|_| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = range_start(&args.next_bytes()?)?;
    let mut count: i64 = 100;
    let mut justid = false;
    while let Some(o) = args.next_opt() {
        if eq_kw(&o, "COUNT") && !args.is_empty() {
            count = parse_i64(&args.next_bytes()?)
                .ok()
                .filter(|c| (1..=i64::MAX / 10).contains(c))
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))?;
        } else if eq_kw(&o, "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.now_ms();
    let Some(s) = ctx.write::<StreamValue>(&key)? else {
        return Err(nogroup(&key, &gname));
    };
    let Some(g) = s.groups.get(&gname) else {
        return Err(nogroup(&key, &gname));
    };
    // Looks at no more than count*10 pending entries, so a PEL of unclaimable entries cannot make
    // one call slow; the cursor says where to go on.
    let mut attempts = count.saturating_mul(10);
    let mut left = count;
    // One more than can be examined: the first one left over is the cursor.
    let window = usize::try_from(attempts)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let candidates: Vec<StreamId> = g
        .pel
        .range(start..)
        .take(window)
        .map(|(id, _)| *id)
        .collect();
    let exists: Vec<bool> = candidates.iter().map(|id| s.contains(*id)).collect();
    let mut next = candidates.len();
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let g = s
        .groups
        .get_mut(&gname)
        .ok_or_else(|| nogroup(&key, &gname))?;
    let created = g.create_consumer(&cname, now);
    if let Some(c) = g.consumers.get_mut(&cname) {
        c.seen_ms = now;
    }
    for (i, id) in candidates.iter().copied().enumerate() {
        if attempts == 0 || left == 0 {
            next = i;
            break;
        }
        attempts -= 1;
        if !exists[i] {
            g.ack(id);
            deleted.push(id);
            left -= 1;
            continue;
        }
        if min_idle > 0 {
            if let Some(p) = g.pel.get(&id) {
                if now.saturating_sub(p.delivery_ms) < min_idle {
                    continue;
                }
            }
        }
        let p = g.assign(id, &cname, now);
        if !justid {
            p.delivery_count += 1;
        }
        claimed.push(id);
        left -= 1;
    }
    if !claimed.is_empty() {
        if let Some(c) = g.consumers.get_mut(&cname) {
            c.active_ms = now;
        }
    }
    let cursor = candidates.get(next).copied().unwrap_or(StreamId::MIN);
    let items: Vec<Reply> = if justid {
        claimed.iter().map(|id| id_reply(*id)).collect()
    } else {
        claimed
            .iter()
            .map(|id| s.get(*id).map_or(Reply::NilArray, |f| entry_reply(*id, f)))
            .collect()
    };
    ctx.store.dirty += 1;
    if created {
        ctx.notify(EV_STREAM, "xgroup-createconsumer", &key);
    }
    Ok(Reply::Array(vec![
        id_reply(cursor),
        Reply::Array(items),
        Reply::Array(deleted.into_iter().map(id_reply).collect()),
    ]))
}

// ---------------------------------------------------------------------------------------------
// XINFO / XSETID

/// `XINFO STREAM key [FULL [COUNT count]]`, `XINFO GROUPS key`, `XINFO CONSUMERS key group`,
/// `XINFO HELP`
fn xinfo(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let argc = args.remaining() + 1;
    let sub_raw = args.next_bytes()?;
    let sub = String::from_utf8_lossy(&sub_raw).to_lowercase();
    let arity = match sub.as_str() {
        "stream" => -3,
        "groups" => 3,
        "consumers" => 4,
        "help" => 2,
        _ => {
            return Err(CmdError::UnknownSubcommand {
                cmd: "xinfo".into(),
                sub: lossy(&sub_raw),
            })
        }
    };
    sub_arity("xinfo", &sub, argc, arity)?;
    if sub == "help" {
        return Ok(Reply::Array(
            [
                "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CONSUMERS <key> <group>",
                "    The consumers of a group.",
                "GROUPS <key>",
                "    The consumer groups of a stream.",
                "STREAM <key> [FULL [COUNT <count>]]",
                "    The stream's state; FULL adds entries, groups, consumers and pending entries.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status(std::borrow::Cow::Borrowed(*l)))
            .collect(),
        ));
    }
    let key = args.next_bytes()?;
    let now = ctx.now_ms();
    match sub.as_str() {
        "stream" => {
            let mut full = false;
            let mut count: usize = 10;
            let rest = args.rest();
            let bad = || {
                CmdError::err(format!(
                    "unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                    lossy(&sub_raw)
                ))
            };
            match rest.len() {
                0 => {}
                1 | 3 => {
                    if !eq_kw(&rest[0], "FULL") {
                        return Err(bad());
                    }
                    full = true;
                    if rest.len() == 3 {
                        if !eq_kw(&rest[1], "COUNT") {
                            return Err(bad());
                        }
                        count = usize::try_from(parse_i64(&rest[2])?).unwrap_or(0);
                    }
                }
                _ => return Err(bad()),
            }
            let s = ctx.read::<StreamValue>(&key)?.ok_or(CmdError::NoSuchKey)?;
            Ok(if full {
                stream_info_full(s, count)
            } else {
                stream_info(s)
            })
        }
        "groups" => {
            let s = ctx.read::<StreamValue>(&key)?.ok_or(CmdError::NoSuchKey)?;
            let groups = s
                .groups
                .iter()
                .map(|(name, g)| {
                    map(vec![
                        ("name", Reply::bulk(name)),
                        ("consumers", Reply::Int(g.consumers.len() as i64)),
                        ("pending", Reply::Int(g.pel.len() as i64)),
                        ("last-delivered-id", id_reply(g.last_id)),
                        ("entries-read", opt_int(g.entries_read)),
                        ("lag", opt_int(s.lag(g))),
                    ])
                })
                .collect();
            Ok(Reply::Array(groups))
        }
        _ => {
            let gname = args.next_bytes()?;
            let s = ctx.read::<StreamValue>(&key)?.ok_or(CmdError::NoSuchKey)?;
            let g = s
                .groups
                .get(&gname)
                .ok_or_else(|| nogroup_for_key(&key, &gname))?;
            let consumers = g
                .consumers
                .iter()
                .map(|(name, c)| {
                    let inactive = if c.active_ms < 0 {
                        -1
                    } else {
                        now.saturating_sub(c.active_ms).max(0)
                    };
                    map(vec![
                        ("name", Reply::bulk(name)),
                        ("pending", Reply::Int(c.pel.len() as i64)),
                        ("idle", Reply::Int(now.saturating_sub(c.seen_ms).max(0))),
                        ("inactive", Reply::Int(inactive)),
                    ])
                })
                .collect();
            Ok(Reply::Array(consumers))
        }
    }
}

/// Radix-tree node count as XINFO shows it; Redis's inner node layout is not modelled, this is
/// its value for streams of up to one node and an estimate beyond.
fn rax_nodes(s: &StreamValue) -> i64 {
    s.node_count() as i64 + 1
}

fn stream_header(s: &StreamValue) -> Vec<(&'static str, Reply)> {
    vec![
        ("length", Reply::Int(s.len() as i64)),
        ("radix-tree-keys", Reply::Int(s.node_count() as i64)),
        ("radix-tree-nodes", Reply::Int(rax_nodes(s))),
        ("last-generated-id", id_reply(s.last_id)),
        ("max-deleted-entry-id", id_reply(s.max_deleted_id)),
        (
            "entries-added",
            Reply::Int(i64::try_from(s.entries_added).unwrap_or(i64::MAX)),
        ),
        ("recorded-first-entry-id", id_reply(s.first_id())),
    ]
}

fn stream_info(s: &StreamValue) -> Reply {
    let mut m = stream_header(s);
    m.push(("groups", Reply::Int(s.groups.len() as i64)));
    let edge = |e: Option<(StreamId, &Fields)>| e.map_or(Reply::Nil, |(id, f)| entry_reply(id, f));
    m.push(("first-entry", edge(s.first_entry())));
    m.push(("last-entry", edge(s.last_entry())));
    map(m)
}

fn stream_info_full(s: &StreamValue, count: usize) -> Reply {
    let limit = if count == 0 { usize::MAX } else { count };
    let mut m = stream_header(s);
    m.push((
        "entries",
        entries_reply(&s.range(StreamId::MIN, StreamId::MAX, false, count)),
    ));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pending = g
                .pel
                .iter()
                .take(limit)
                .map(|(id, p)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::bulk(&p.consumer),
                        Reply::Int(p.delivery_ms),
                        Reply::Int(p.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, c)| {
                    let pending = c
                        .pel
                        .iter()
                        .take(limit)
                        .filter_map(|id| g.pel.get(id).map(|p| (id, p)))
                        .map(|(id, p)| {
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Int(p.delivery_ms),
                                Reply::Int(p.delivery_count as i64),
                            ])
                        })
                        .collect();
                    map(vec![
                        ("name", Reply::bulk(cname)),
                        ("seen-time", Reply::Int(c.seen_ms)),
                        ("active-time", Reply::Int(c.active_ms)),
                        ("pel-count", Reply::Int(c.pel.len() as i64)),
                        ("pending", Reply::Array(pending)),
                    ])
                })
                .collect();
            map(vec![
                ("name", Reply::bulk(name)),
                ("last-delivered-id", id_reply(g.last_id)),
                ("entries-read", opt_int(g.entries_read)),
                ("lag", opt_int(s.lag(g))),
                ("pel-count", Reply::Int(g.pel.len() as i64)),
                ("pending", Reply::Array(pending)),
                ("consumers", Reply::Array(consumers)),
            ])
        })
        .collect();
    m.push(("groups", Reply::Array(groups)));
    map(m)
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
fn xsetid(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let id = parse_strict_id(&args.next_bytes()?)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted: Option<StreamId> = None;
    while let Some(o) = args.next_opt() {
        if eq_kw(&o, "ENTRIESADDED") && !args.is_empty() {
            let n = parse_i64(&args.next_bytes()?)?;
            entries_added = Some(
                u64::try_from(n).map_err(|_| CmdError::err("entries_added must be positive"))?,
            );
        } else if eq_kw(&o, "MAXDELETEDID") && !args.is_empty() {
            let m = parse_strict_id(&args.next_bytes()?)?;
            if id < m {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(m);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let s = ctx.write::<StreamValue>(&key)?.ok_or(CmdError::NoSuchKey)?;
    if let Some((top, _)) = s.last_entry() {
        if id < top {
            return Err(CmdError::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| n < s.len() as u64) {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if let Some(m) = max_deleted {
        s.max_deleted_id = m;
    }
    ctx.touched(&key);
    ctx.notify(EV_STREAM, "xsetid", &key);
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_strict_id(b"5").unwrap(), StreamId::new(5, 0));
        assert_eq!(parse_strict_id(b"5-3").unwrap(), StreamId::new(5, 3));
        assert_eq!(parse_strict_id(b"01-1").unwrap(), StreamId::new(1, 1));
        assert_eq!(parse_strict_id(b"+2-01").unwrap(), StreamId::new(2, 1));
        assert!(parse_strict_id(b"-").is_err());
        assert!(parse_strict_id(b"1-x").is_err());
        assert!(parse_strict_id(b"1--5").is_err());
        assert!(parse_strict_id(b"18446744073709551616").is_err());
        assert_eq!(
            parse_id_parts(b"7-*", 0, true),
            Some((StreamId::new(7, 0), false))
        );
        assert_eq!(range_start(b"(5").unwrap(), StreamId::new(5, 1));
        assert_eq!(range_end(b"(5").unwrap(), StreamId::new(5, u64::MAX - 1));
        assert_eq!(range_end(b"5").unwrap(), StreamId::new(5, u64::MAX));
        assert!(range_start(b"(-").is_err());
        assert!(range_end(b"(0-0").is_err());
    }
}
