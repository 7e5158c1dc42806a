//! Set commands: SADD, SREM, SMEMBERS, SPOP, SRANDMEMBER, the SINTER/SUNION/SDIFF family,
//! SINTERCARD, SMOVE, SSCAN, ...

use crate::cmd::args::{eq_kw, parse_i64_opt};
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::commands::hash::{
    distinct_positions, parse_cursor, parse_rand_count, scan_reply, ScanOptions, MAX_RANDOM_REPLY,
};
use crate::commands::pubsub::{EV_GENERIC, EV_SET};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;
use crate::types::{SetValue, Value};

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("sadd", -3, WRITE | DENYOOM | FAST, 1, 1, 1, sadd),
    command!("srem", -3, WRITE | FAST, 1, 1, 1, srem),
    command!("smembers", 2, READONLY, 1, 1, 1, smembers),
    command!("sismember", 3, READONLY | FAST, 1, 1, 1, sismember),
    command!("smismember", -3, READONLY | FAST, 1, 1, 1, smismember),
    command!("scard", 2, READONLY | FAST, 1, 1, 1, scard),
    command!("spop", -2, WRITE | FAST, 1, 1, 1, spop),
    command!("srandmember", -2, READONLY, 1, 1, 1, srandmember),
    command!("sinter", -2, READONLY, 1, -1, 1, sinter),
    command!("sinterstore", -3, WRITE | DENYOOM, 1, -1, 1, sinterstore),
    command!("sunion", -2, READONLY, 1, -1, 1, sunion),
    command!("sunionstore", -3, WRITE | DENYOOM, 1, -1, 1, sunionstore),
    command!("sdiff", -2, READONLY, 1, -1, 1, sdiff),
    command!("sdiffstore", -3, WRITE | DENYOOM, 1, -1, 1, sdiffstore),
    command!(
        "sintercard",
        -3,
        READONLY | MOVABLE_KEYS,
        0,
        0,
        0,
        sintercard
    ),
    command!("smove", 4, WRITE | FAST, 1, 2, 1, smove),
    command!("sscan", -3, READONLY, 1, 1, 1, sscan),
];

/// `SADD key member [member ...]`
fn sadd(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let members = args.rest();
    let s = ctx.write_or_create::<SetValue>(&key)?;
    // A new set picks its encoding from the first member and the member count, as Redis does.
    s.prepare(members.first().map(|m| m.as_slice()), members.len());
    let added = members.iter().filter(|m| s.insert(m)).count();
    if added > 0 {
        ctx.touched(&key);
        ctx.notify(EV_SET, "sadd", &key);
    }
    Ok(Reply::Int(added as i64))
}

/// `SREM key member [member ...]`
fn srem(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let Some(s) = ctx.write::<SetValue>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for m in args {
        if s.remove(&m) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        ctx.notify(EV_SET, "srem", &key);
        ctx.remove_if_empty(&key);
        ctx.touched(&key);
    }
    Ok(Reply::Int(removed))
}

/// `SMEMBERS key`
fn smembers(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let s = ctx.read::<SetValue>(&key)?;
    Ok(Reply::bulk_set(s.into_iter().flat_map(|s| s.iter())))
}

/// `SISMEMBER key member`
fn sismember(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let m = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<SetValue>(&key)?.is_some_and(|s| s.contains(&m)) as i64,
    ))
}

/// `SMISMEMBER key member [member ...]`
fn smismember(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let s = ctx.read::<SetValue>(&key)?;
    Ok(Reply::Array(
        args.map(|m| Reply::Int(s.is_some_and(|s| s.contains(&m)) as i64))
            .collect(),
    ))
}

/// `SCARD key`
fn scard(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<SetValue>(&key)?.map_or(0, |s| s.len() as i64),
    ))
}

/// `SPOP key [count]`
fn spop(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let count = match args.next_opt() {
        None => None,
        Some(c) => {
            args.finish()?;
            // Redis gives the same message for a non-integer count as for a negative one.
            let n = parse_i64_opt(&c)
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?;
            Some(n as u64)
        }
    };
    let mut rng = rand::thread_rng();
    let Some(s) = ctx.write::<SetValue>(&key)? else {
        return Ok(if count.is_some() {
            Reply::Set(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let popped: Vec<crate::types::Bytes> = match count {
        Some(0) => return Ok(Reply::Set(Vec::new())),
        None => {
            let i = s.random_index(&mut rng);
            s.remove_index(i).into_iter().collect()
        }
        Some(n) if n >= s.len() as u64 => {
            let all = s.iter().map(crate::types::Bytes::new).collect();
            *s = SetValue::default();
            all
        }
        Some(n) => (0..n)
            .filter_map(|_| {
                let i = s.random_index(&mut rng);
                s.remove_index(i)
            })
            .collect(),
    };
    ctx.notify(EV_SET, "spop", &key);
    ctx.remove_if_empty(&key);
    ctx.touched(&key);
    Ok(match count {
        None => Reply::opt_bulk(popped.first().map(|m| &**m)),
        Some(_) => Reply::bulk_set(popped),
    })
}

/// `SRANDMEMBER key [count]`
fn srandmember(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let mut rng = rand::thread_rng();
    let Some(count) = args.next_opt() else {
        return Ok(match ctx.read::<SetValue>(&key)? {
            Some(s) => Reply::opt_bulk(s.get_index(s.random_index(&mut rng))),
            None => Reply::Nil,
        });
    };
    args.finish()?;
    let count = parse_rand_count(&count)?;
    let Some(s) = ctx.read::<SetValue>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let positions: Vec<usize> = if count < 0 {
        if count.unsigned_abs() > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        (0..count.unsigned_abs())
            .map(|_| s.random_index(&mut rng))
            .collect()
    } else if count as u64 >= s.len() as u64 {
        (0..s.len()).collect()
    } else {
        distinct_positions(s.len(), count as usize, &mut rng)
    };
    Ok(Reply::bulks(
        positions.into_iter().filter_map(|i| s.get_index(i)),
    ))
}

/// Type-checks (and lazily expires) every key, then borrows the sets; a missing key is `None`.
fn load_sets<'c>(
    ctx: &'c mut Ctx,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<&'c SetValue>>, CmdError> {
    for k in keys {
        ctx.check_type::<SetValue>(k)?;
    }
    let db = &ctx.store.dbs[ctx.client.db];
    Ok(keys
        .iter()
        .map(|k| match db.get(k) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect())
}

/// Which set operation.
#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// Members of the intersection of `sets`, in the order of the smallest set, stopping after
/// `limit` members (0 = no limit).
fn intersection<'s>(sets: &[Option<&'s SetValue>], limit: usize) -> Vec<&'s [u8]> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(m)) {
            out.push(m);
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

/// The result of a set operation, built as Redis builds its result set (starting as an intset),
/// so encoding and small-set order follow Redis.
fn compute(op: SetOp, sets: &[Option<&SetValue>]) -> SetValue {
    let mut out = SetValue::default();
    match op {
        SetOp::Inter => {
            for m in intersection(sets, 0) {
                out.insert(m);
            }
        }
        SetOp::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    out.insert(m);
                }
            }
        }
        SetOp::Diff => {
            if let Some(Some(first)) = sets.first() {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out
}

/// SINTER / SUNION / SDIFF.
fn set_op(ctx: &mut Ctx, mut args: Args, op: SetOp) -> CmdResult {
    let keys = args.rest();
    let sets = load_sets(ctx, &keys)?;
    if let SetOp::Inter = op {
        // Replied straight from the smallest set, as Redis does when not storing.
        return Ok(Reply::bulk_set(intersection(&sets, 0)));
    }
    Ok(Reply::bulk_set(compute(op, &sets).iter()))
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE.
fn set_op_store(ctx: &mut Ctx, mut args: Args, op: SetOp, event: &str) -> CmdResult {
    let dst = args.next_bytes()?;
    let keys = args.rest();
    let result = compute(op, &load_sets(ctx, &keys)?);
    let n = result.len() as i64;
    if result.is_empty() {
        if ctx.delete(&dst) {
            ctx.notify(EV_GENERIC, "del", &dst);
        }
    } else {
        ctx.expire_if_needed(&dst);
        ctx.db().set(&dst, Value::Set(Box::new(result)));
        ctx.touched(&dst);
        ctx.notify(EV_SET, event, &dst);
    }
    Ok(Reply::Int(n))
}

/// `SINTER key [key ...]`
fn sinter(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, SetOp::Inter)
}

/// `SUNION key [key ...]`
fn sunion(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, SetOp::Union)
}

/// `SDIFF key [key ...]`
fn sdiff(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, SetOp::Diff)
}

/// `SINTERSTORE destination key [key ...]`
fn sinterstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op_store(ctx, args, SetOp::Inter, "sinterstore")
}

/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op_store(ctx, args, SetOp::Union, "sunionstore")
}

/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op_store(ctx, args, SetOp::Diff, "sdiffstore")
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let numkeys = parse_i64_opt(&args.next_bytes()?)
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys as u64 > args.remaining() as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let keys: Vec<Vec<u8>> = (0..numkeys).filter_map(|_| args.next_opt()).collect();
    let mut limit = 0usize;
    while let Some(opt) = args.next_opt() {
        if eq_kw(&opt, "LIMIT") && !args.is_empty() {
            let n = parse_i64_opt(&args.next_bytes()?)
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
            limit = usize::try_from(n).unwrap_or(usize::MAX);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let sets = load_sets(ctx, &keys)?;
    Ok(Reply::Int(intersection(&sets, limit).len() as i64))
}

/// `SMOVE source destination member`
fn smove(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let member = args.next_bytes()?;
    // A missing source replies 0 before the destination's type is looked at, as in Redis.
    if !ctx.check_type::<SetValue>(&src)? {
        return Ok(Reply::Int(0));
    }
    ctx.check_type::<SetValue>(&dst)?;
    if src == dst {
        let found = ctx
            .read::<SetValue>(&src)?
            .is_some_and(|s| s.contains(&member));
        return Ok(Reply::Int(found as i64));
    }
    let removed = ctx
        .write::<SetValue>(&src)?
        .is_some_and(|s| s.remove(&member));
    if !removed {
        return Ok(Reply::Int(0));
    }
    ctx.notify(EV_SET, "srem", &src);
    ctx.remove_if_empty(&src);
    ctx.touched(&src);
    let d = ctx.write_or_create::<SetValue>(&dst)?;
    d.prepare(Some(&member), 1);
    if d.insert(&member) {
        ctx.touched(&dst);
        ctx.notify(EV_SET, "sadd", &dst);
    }
    Ok(Reply::Int(1))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Small (intset/listpack) sets are returned whole, cursor 0, as Redis does.
fn sscan(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let key = args.next_bytes()?;
    let cursor = parse_cursor(&args.next_bytes()?)?;
    let Some(s) = ctx.read::<SetValue>(&key)? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOptions::parse(&mut args)?;
    let mut items = Vec::new();
    let mut emit = |m: &[u8]| {
        if opts.matches(m) {
            items.push(Reply::bulk(m));
        }
    };
    let next = if s.scans_whole() {
        s.iter().for_each(&mut emit);
        0
    } else {
        crate::engine::db::scan_positions(s.len(), cursor, opts.count, |i| {
            if let Some(m) = s.get_index(i) {
                emit(m)
            }
        })
    };
    Ok(scan_reply(next, items))
}
