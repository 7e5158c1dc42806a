//! String commands: the SET family (SET, SETNX, SETEX, PSETEX, GETSET, MSET, MSETNX), the GET
//! family (GET, GETDEL, GETEX, MGET), counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT), APPEND,
//! STRLEN, GETRANGE/SUBSTR, SETRANGE and LCS.

use crate::cmd::args::{eq_kw, parse_i64};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::pubsub::{EV_GENERIC, EV_STRING};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::long_double::{add_floats, FloatError};
use crate::types::{StrValue, Value};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("get", 2, READONLY | FAST, 1, 1, 1, get),
    command!("set", -3, WRITE | DENYOOM, 1, 1, 1, set),
    command!("setnx", 3, WRITE | DENYOOM | FAST, 1, 1, 1, setnx),
    command!("setex", 4, WRITE | DENYOOM, 1, 1, 1, setex),
    command!("psetex", 4, WRITE | DENYOOM, 1, 1, 1, psetex),
    command!("getset", 3, WRITE | DENYOOM | FAST, 1, 1, 1, getset),
    command!("getdel", 2, WRITE | FAST, 1, 1, 1, getdel),
    command!("getex", -2, WRITE | FAST, 1, 1, 1, getex),
    command!("mget", -2, READONLY | FAST, 1, -1, 1, mget),
    command!("mset", -3, WRITE | DENYOOM, 1, -1, 2, mset),
    command!("msetnx", -3, WRITE | DENYOOM, 1, -1, 2, msetnx),
    command!("incr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, incr),
    command!("decr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, decr),
    command!("incrby", 3, WRITE | DENYOOM | FAST, 1, 1, 1, incrby),
    command!("decrby", 3, WRITE | DENYOOM | FAST, 1, 1, 1, decrby),
    command!(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        incrbyfloat
    ),
    command!("append", 3, WRITE | DENYOOM, 1, 1, 1, append),
    command!("strlen", 2, READONLY | FAST, 1, 1, 1, strlen),
    command!("getrange", 4, READONLY, 1, 1, 1, getrange),
    command!("substr", 4, READONLY, 1, 1, 1, getrange),
    command!("setrange", 4, WRITE | DENYOOM, 1, 1, 1, setrange),
    command!("lcs", -3, READONLY, 1, 2, 1, lcs),
];

/// `proto-max-bulk-len`'s default: the largest string APPEND and SETRANGE may build.
pub const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// An expiry argument as given (EX/PX/EXAT/PXAT and its number), resolved against the command's
/// time only when applying, after every syntax check passed (Redis's error order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

#[derive(Debug, Clone)]
struct ExpireArg {
    kind: ExpireKind,
    value: Vec<u8>,
}

impl ExpireArg {
    /// The absolute expiry time in ms; `cmd` names the command in the error text.
    fn resolve(&self, now_ms: i64, cmd: &str) -> Result<i64, CmdError> {
        let v = parse_i64(&self.value)?;
        let invalid = || CmdError::InvalidExpire(cmd.into());
        let secs = matches!(self.kind, ExpireKind::Ex | ExpireKind::ExAt);
        if v <= 0 {
            return Err(invalid());
        }
        let ms = if secs {
            v.checked_mul(1000).ok_or_else(invalid)?
        } else {
            v
        };
        let ms = match self.kind {
            ExpireKind::Ex | ExpireKind::Px => ms.checked_add(now_ms).ok_or_else(invalid)?,
            ExpireKind::ExAt | ExpireKind::PxAt => ms,
        };
        Ok(ms)
    }
}

/// NX / XX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    IfMissing,
    IfExists,
}

/// Options of the SET family.
#[derive(Debug, Clone)]
struct SetOptions {
    cond: Cond,
    get: bool,
    keep_ttl: bool,
    expire: Option<ExpireArg>,
}

impl SetOptions {
    fn plain() -> SetOptions {
        SetOptions {
            cond: Cond::Always,
            get: false,
            keep_ttl: false,
            expire: None,
        }
    }
}

/// Options of GETEX.
#[derive(Debug, Clone)]
struct GetExOptions {
    persist: bool,
    expire: Option<ExpireArg>,
}

/// Which command's options are being parsed: SET and GETEX accept different keywords.
#[derive(PartialEq, Eq)]
enum OptFor {
    Set,
    GetEx,
}

/// Parses SET's or GETEX's options with Redis's rules: a keyword that conflicts with one already
/// given (NX with XX, KEEPTTL or PERSIST with an expiry, two different expiry kinds) is a syntax
/// error, while repeating the same one is allowed (the last value wins).
fn parse_set_options(args: &mut Args, which: OptFor) -> Result<(SetOptions, bool), CmdError> {
    let mut o = SetOptions::plain();
    let mut persist = false;
    let is_set = which == OptFor::Set;
    while let Some(opt) = args.next_opt() {
        let kind = if eq_kw(&opt, "EX") {
            Some(ExpireKind::Ex)
        } else if eq_kw(&opt, "PX") {
            Some(ExpireKind::Px)
        } else if eq_kw(&opt, "EXAT") {
            Some(ExpireKind::ExAt)
        } else if eq_kw(&opt, "PXAT") {
            Some(ExpireKind::PxAt)
        } else {
            None
        };
        if let Some(kind) = kind {
            let other_kind = o.expire.as_ref().is_some_and(|e| e.kind != kind);
            if o.keep_ttl || persist || other_kind || args.peek().is_none() {
                return Err(CmdError::Syntax);
            }
            o.expire = Some(ExpireArg {
                kind,
                value: args.next_bytes()?,
            });
        } else if is_set && eq_kw(&opt, "NX") && o.cond != Cond::IfExists {
            o.cond = Cond::IfMissing;
        } else if is_set && eq_kw(&opt, "XX") && o.cond != Cond::IfMissing {
            o.cond = Cond::IfExists;
        } else if is_set && eq_kw(&opt, "GET") {
            o.get = true;
        } else if is_set && eq_kw(&opt, "KEEPTTL") && !persist && o.expire.is_none() {
            o.keep_ttl = true;
        } else if !is_set && eq_kw(&opt, "PERSIST") && o.expire.is_none() && !o.keep_ttl {
            persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((o, persist))
}

/// What the SET family's shared helper did.
struct SetOutcome {
    /// The value was stored (NX/XX allowed it).
    stored: bool,
    /// With GET: the previous value (None when the key was missing).
    old: Option<Option<Vec<u8>>>,
}

/// The one implementation behind SET, SETNX, SETEX, PSETEX and GETSET.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: Vec<u8>,
    o: &SetOptions,
) -> Result<SetOutcome, CmdError> {
    let at = match &o.expire {
        Some(e) => Some(e.resolve(ctx.now_ms(), ctx.spec.name)?),
        None => None,
    };
    let old = if o.get {
        Some(ctx.read::<StrValue>(key)?.map(|v| v.to_bytes()))
    } else {
        None
    };
    let found = ctx.exists(key);
    if (o.cond == Cond::IfMissing && found) || (o.cond == Cond::IfExists && !found) {
        return Ok(SetOutcome { stored: false, old });
    }
    let value = Value::Str(StrValue::from_bytes(val));
    if o.keep_ttl {
        ctx.db().set_keep_ttl(key, value);
    } else {
        ctx.db().set(key, value);
    }
    ctx.touched(key);
    ctx.notify(EV_STRING, "set", key);
    if let Some(at) = at {
        ctx.db().set_expiry(key, at);
        ctx.notify(EV_GENERIC, "expire", key);
    }
    Ok(SetOutcome { stored: true, old })
}

/// `GET key`
fn get(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(match ctx.read::<StrValue>(&key)? {
        Some(v) => Reply::Bulk(v.to_bytes()),
        None => Reply::Nil,
    })
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]`
fn set(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let val = args.next_bytes()?;
    let (o, _) = parse_set_options(&mut args, OptFor::Set)?;
    let out = set_generic(ctx, &key, val, &o)?;
    Ok(match out.old {
        Some(old) => Reply::opt_bulk(old.as_deref()),
        None if out.stored => Reply::ok(),
        None => Reply::Nil,
    })
}

/// `SETNX key value`
fn setnx(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let val = args.next_bytes()?;
    let o = SetOptions {
        cond: Cond::IfMissing,
        ..SetOptions::plain()
    };
    let out = set_generic(ctx, &key, val, &o)?;
    Ok(Reply::Int(out.stored as i64))
}

/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx, args: Args) -> CmdResult {
    setex_generic(ctx, args, ExpireKind::Ex)
}

/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx, args: Args) -> CmdResult {
    setex_generic(ctx, args, ExpireKind::Px)
}

fn setex_generic(ctx: &mut Ctx, mut args: Args, kind: ExpireKind) -> CmdResult {
    let key = args.next_bytes()?;
    let ttl = args.next_bytes()?;
    let val = args.next_bytes()?;
    let o = SetOptions {
        expire: Some(ExpireArg { kind, value: ttl }),
        ..SetOptions::plain()
    };
    set_generic(ctx, &key, val, &o)?;
    Ok(Reply::ok())
}

/// `GETSET key value`
fn getset(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let val = args.next_bytes()?;
    let o = SetOptions {
        get: true,
        ..SetOptions::plain()
    };
    let out = set_generic(ctx, &key, val, &o)?;
    Ok(Reply::opt_bulk(out.old.flatten().as_deref()))
}

/// `GETDEL key`
fn getdel(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(v) = ctx.read::<StrValue>(&key)?.map(|v| v.to_bytes()) else {
        return Ok(Reply::Nil);
    };
    ctx.delete(&key);
    ctx.notify(EV_GENERIC, "del", &key);
    Ok(Reply::Bulk(v))
}

/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
fn getex(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let (o, persist) = parse_set_options(&mut args, OptFor::GetEx)?;
    let o = GetExOptions {
        persist,
        expire: o.expire,
    };
    // Unlike SET, GETEX looks the key up before it checks the expiry value.
    let Some(v) = ctx.read::<StrValue>(&key)?.map(|v| v.to_bytes()) else {
        return Ok(Reply::Nil);
    };
    let at = match &o.expire {
        Some(e) => Some(e.resolve(ctx.now_ms(), "getex")?),
        None => None,
    };
    let absolute = o
        .expire
        .as_ref()
        .is_some_and(|e| matches!(e.kind, ExpireKind::ExAt | ExpireKind::PxAt));
    match at {
        Some(at) if absolute && at <= ctx.now_ms() => {
            ctx.delete(&key);
            ctx.notify(EV_GENERIC, "del", &key);
        }
        Some(at) => {
            ctx.db().set_expiry(&key, at);
            ctx.touched(&key);
            ctx.notify(EV_GENERIC, "expire", &key);
        }
        None if o.persist && ctx.db().persist(&key) => {
            ctx.touched(&key);
            ctx.notify(EV_GENERIC, "persist", &key);
        }
        None => {}
    }
    Ok(Reply::Bulk(v))
}

/// `MGET key [key ...]`
fn mget(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut out = Vec::with_capacity(args.remaining());
    for k in args {
        out.push(match ctx.lookup(&k) {
            Some(Value::Str(s)) => Reply::Bulk(s.to_bytes()),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// Key/value pairs of MSET and MSETNX.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Splits MSET/MSETNX arguments into pairs (an odd count is a wrong-arity error).
fn pairs(mut args: Args) -> Result<Pairs, CmdError> {
    if args.remaining() % 2 != 0 {
        return Err(CmdError::WrongArity(args.name.into()));
    }
    let mut items = args.rest().into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn store_pairs(ctx: &mut Ctx, pairs: Pairs) {
    for (k, v) in pairs {
        ctx.db().set(&k, Value::Str(StrValue::from_bytes(v)));
        ctx.touched(&k);
        ctx.notify(EV_STRING, "set", &k);
    }
}

/// `MSET key value [key value ...]`
fn mset(ctx: &mut Ctx, args: Args) -> CmdResult {
    let pairs = pairs(args)?;
    store_pairs(ctx, pairs);
    Ok(Reply::ok())
}

/// `MSETNX key value [key value ...]`
fn msetnx(ctx: &mut Ctx, args: Args) -> CmdResult {
    let pairs = pairs(args)?;
    for (k, _) in &pairs {
        if ctx.exists(k) {
            return Ok(Reply::Int(0));
        }
    }
    store_pairs(ctx, pairs);
    Ok(Reply::Int(1))
}

/// The shared body of INCR, DECR, INCRBY and DECRBY. The TTL is kept.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let current = match ctx.read::<StrValue>(key)? {
        Some(v) => Some(v.as_i64().ok_or(CmdError::NotInteger)?),
        None => None,
    };
    let new = current
        .unwrap_or(0)
        .checked_add(by)
        .ok_or(CmdError::Overflow)?;
    match ctx.write::<StrValue>(key)? {
        Some(v) => *v = StrValue::Int(new),
        None => ctx.db().set(key, Value::Str(StrValue::Int(new))),
    }
    ctx.touched(key);
    ctx.notify(EV_STRING, "incrby", key);
    Ok(Reply::Int(new))
}

/// `INCR key`
fn incr(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    incr_by(ctx, &key, 1)
}

/// `DECR key`
fn decr(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    incr_by(ctx, &key, -1)
}

/// `INCRBY key increment`
fn incrby(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_i64()?;
    incr_by(ctx, &key, by)
}

/// `DECRBY key decrement`
fn decrby(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_i64()?;
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::err("decrement would overflow"))?;
    incr_by(ctx, &key, by)
}

/// `INCRBYFLOAT key increment`
fn incrbyfloat(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let by = args.next_bytes()?;
    let current = ctx.read::<StrValue>(&key)?.map(|v| v.to_bytes());
    let new = add_floats(current.as_deref(), &by).map_err(|e| match e {
        FloatError::NotFloat => CmdError::NotFloat,
        FloatError::NanOrInfinity => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    // Redis stores the printed text as a plain string (never the `int` encoding).
    let value = StrValue::raw(&new);
    match ctx.write::<StrValue>(&key)? {
        Some(v) => *v = value,
        None => ctx.db().set(&key, Value::Str(value)),
    }
    ctx.touched(&key);
    ctx.notify(EV_STRING, "incrbyfloat", &key);
    Ok(Reply::Bulk(new))
}

/// Redis's limit on strings built by APPEND and SETRANGE.
fn check_string_length(size: u64, append: u64) -> Result<(), CmdError> {
    match size.checked_add(append) {
        Some(total) if total <= MAX_STRING_LEN => Ok(()),
        _ => Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// `APPEND key value`
fn append(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let val = args.next_bytes()?;
    let len = match ctx.write::<StrValue>(&key)? {
        Some(v) => {
            check_string_length(v.len() as u64, val.len() as u64)?;
            let bytes = v.make_raw();
            bytes.extend_from_slice(&val);
            bytes.len()
        }
        None => {
            let len = val.len();
            ctx.db().set(&key, Value::Str(StrValue::from_bytes(val)));
            len
        }
    };
    ctx.touched(&key);
    ctx.notify(EV_STRING, "append", &key);
    Ok(Reply::Int(len as i64))
}

/// `STRLEN key`
fn strlen(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<StrValue>(&key)?.map_or(0, |v| v.len() as i64),
    ))
}

/// `GETRANGE key start end` (and its old name `SUBSTR key start end`)
fn getrange(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    let Some(v) = ctx.read::<StrValue>(&key)? else {
        return Ok(Reply::Bulk(Vec::new()));
    };
    Ok(Reply::Bulk(
        v.with_bytes(|b| byte_range(b, start, end).to_vec()),
    ))
}

/// The bytes GETRANGE returns: negative indexes count from the end, both ends are clamped.
fn byte_range(b: &[u8], start: i64, end: i64) -> &[u8] {
    let len = b.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return &[];
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        (len + end).max(0)
    } else {
        end.min(len - 1)
    };
    if start > end {
        return &[];
    }
    b.get(start as usize..=end as usize).unwrap_or(&[])
}

/// `SETRANGE key offset value`
fn setrange(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let offset = args.next_i64()?;
    let val = args.next_bytes()?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let len = match ctx.write::<StrValue>(&key)? {
        Some(v) => {
            if val.is_empty() {
                return Ok(Reply::Int(v.len() as i64));
            }
            check_string_length(offset, val.len() as u64)?;
            write_at(v.make_raw(), offset as usize, &val)
        }
        None => {
            if val.is_empty() {
                return Ok(Reply::Int(0));
            }
            check_string_length(offset, val.len() as u64)?;
            let mut bytes = Vec::new();
            let len = write_at(&mut bytes, offset as usize, &val);
            ctx.db().set(&key, Value::Str(StrValue::Grown(bytes)));
            len
        }
    };
    ctx.touched(&key);
    ctx.notify(EV_STRING, "setrange", &key);
    Ok(Reply::Int(len as i64))
}

/// Writes `val` at `offset`, padding with zero bytes; returns the new length.
fn write_at(bytes: &mut Vec<u8>, offset: usize, val: &[u8]) -> usize {
    let end = offset + val.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(val);
    bytes.len()
}

/// Options of LCS.
struct LcsOptions {
    len: bool,
    idx: bool,
    min_match_len: u64,
    with_match_len: bool,
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
fn lcs(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let k1 = args.next_bytes()?;
    let k2 = args.next_bytes()?;
    // Redis checks the key types before the options.
    let wrong = CmdError::err("The specified keys must contain string values");
    let a = match ctx.lookup(&k1) {
        None => Vec::new(),
        Some(Value::Str(s)) => s.to_bytes(),
        Some(_) => return Err(wrong),
    };
    let b = match ctx.lookup(&k2) {
        None => Vec::new(),
        Some(Value::Str(s)) => s.to_bytes(),
        Some(_) => return Err(wrong),
    };
    let mut o = LcsOptions {
        len: false,
        idx: false,
        min_match_len: 0,
        with_match_len: false,
    };
    while let Some(opt) = args.next_opt() {
        if eq_kw(&opt, "IDX") {
            o.idx = true;
        } else if eq_kw(&opt, "LEN") {
            o.len = true;
        } else if eq_kw(&opt, "WITHMATCHLEN") {
            o.with_match_len = true;
        } else if eq_kw(&opt, "MINMATCHLEN") && args.peek().is_some() {
            o.min_match_len = args.next_i64()?.max(0) as u64;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if o.idx && o.len {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let cells = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1);
    if cells.saturating_mul(4) > MAX_STRING_LEN {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    Ok(lcs_reply(&a, &b, &o))
}

/// Fills the dynamic-programming table, then walks it back from the end collecting the common
/// subsequence and its matching ranges (last ones first, as Redis reports them).
fn lcs_reply(a: &[u8], b: &[u8], o: &LcsOptions) -> Reply {
    let w = b.len() + 1;
    let mut dp = vec![0u32; (a.len() + 1) * w];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            dp[i * w + j] = if a[i - 1] == b[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[a.len() * w + b.len()];
    if o.len && !o.idx {
        return Reply::Int(total as i64);
    }
    let mut seq = vec![0u8; total as usize];
    let mut matches = Vec::new();
    // Current range as (a_start, a_end, b_start, b_end), inclusive.
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j, mut k) = (a.len(), b.len(), total as usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            seq[k - 1] = a[i - 1];
            range = match range {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                Some((as_, ae, bs, be)) if as_ == i && bs == j => Some((as_ - 1, ae, bs - 1, be)),
                Some(r) => {
                    emit = true;
                    Some(r)
                }
            };
            if range.is_some_and(|(as_, _, bs, _)| as_ == 0 || bs == 0) {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if range.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some((as_, ae, bs, be)) = range.take() {
                let mlen = (ae - as_ + 1) as u64;
                if o.idx && (o.min_match_len == 0 || mlen >= o.min_match_len) {
                    let mut m = vec![
                        Reply::Array(vec![Reply::Int(as_ as i64), Reply::Int(ae as i64)]),
                        Reply::Array(vec![Reply::Int(bs as i64), Reply::Int(be as i64)]),
                    ];
                    if o.with_match_len {
                        m.push(Reply::Int(mlen as i64));
                    }
                    matches.push(Reply::Array(m));
                }
            }
        }
    }
    if o.idx {
        Reply::Map(vec![
            (Reply::bulk(b"matches"), Reply::Array(matches)),
            (Reply::bulk(b"len"), Reply::Int(total as i64)),
        ])
    } else {
        Reply::Bulk(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_clamps_like_getrange() {
        let s = b"Hello World";
        assert_eq!(byte_range(s, 0, 3), b"Hell");
        assert_eq!(byte_range(s, -3, -1), b"rld");
        assert_eq!(byte_range(s, 0, -1), s);
        assert_eq!(byte_range(s, 10, 100), b"d");
        assert_eq!(byte_range(s, -1, -5), b"");
        assert_eq!(byte_range(s, 5, 3), b"");
        assert_eq!(byte_range(s, i64::MIN, i64::MAX), s);
        assert_eq!(byte_range(b"", 0, -1), b"");
    }

    #[test]
    fn lcs_finds_the_common_subsequence() {
        let o = LcsOptions {
            len: false,
            idx: false,
            min_match_len: 0,
            with_match_len: false,
        };
        assert_eq!(
            lcs_reply(b"ohmytext", b"mynewtext", &o),
            Reply::Bulk(b"mytext".to_vec())
        );
    }
}
