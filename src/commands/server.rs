//! Server commands: FLUSHDB, FLUSHALL, DBSIZE, SWAPDB, TIME, CONFIG, DEBUG, ROLE, LOLWUT.
//!
//! INFO, COMMAND, SLOWLOG and MEMORY (reading the engine's state back) are in `introspection.rs`.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("flushdb", -1, WRITE, 0, 0, 0, flushdb),
    command!("flushall", -1, WRITE, 0, 0, 0, flushall),
    command!("dbsize", 1, READONLY | FAST, 0, 0, 0, dbsize),
    command!("time", 1, FAST, 0, 0, 0, time),
    command!("swapdb", 3, WRITE | FAST, 0, 0, 0, swapdb),
    command!("config", -2, ADMIN | NOSCRIPT, 0, 0, 0, config),
    command!("debug", -2, ADMIN | NOSCRIPT, 0, 0, 0, debug),
    command!("role", 1, NOSCRIPT | FAST, 0, 0, 0, role),
    command!("lolwut", -1, READONLY | FAST, 0, 0, 0, lolwut),
];

fn flush_mode(args: &mut Args) -> Result<(), CmdError> {
    if let Some(m) = args.next_opt() {
        if !(eq_kw(&m, "ASYNC") || eq_kw(&m, "SYNC")) {
            return Err(CmdError::Syntax);
        }
    }
    args.finish()
}

/// `FLUSHDB [ASYNC|SYNC]`
fn flushdb(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    flush_mode(&mut args)?;
    let db = ctx.client.db;
    crate::commands::transactions::touch_all_watched(ctx.store, Some(db));
    ctx.store.dirty += ctx.store.dbs[db].len() as u64 + 1;
    ctx.store.dbs[db].clear();
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC|SYNC]`
fn flushall(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    flush_mode(&mut args)?;
    crate::commands::transactions::touch_all_watched(ctx.store, None);
    for db in ctx.store.dbs.iter_mut() {
        db.clear();
    }
    ctx.store.dirty += 1;
    Ok(Reply::ok())
}

/// `DBSIZE`
fn dbsize(ctx: &mut Ctx, _args: Args) -> CmdResult {
    Ok(Reply::Int(ctx.db().len() as i64))
}

/// `TIME`
fn time(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let us = ctx.env.now_us;
    Ok(Reply::Array(vec![
        Reply::Bulk((us / 1_000_000).to_string().into_bytes()),
        Reply::Bulk((us % 1_000_000).to_string().into_bytes()),
    ]))
}

/// `SWAPDB index1 index2`
fn swapdb(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let a = crate::cmd::args::parse_i64(&args.next_bytes()?)
        .map_err(|_| CmdError::err("invalid first DB index"))?;
    let b = crate::cmd::args::parse_i64(&args.next_bytes()?)
        .map_err(|_| CmdError::err("invalid second DB index"))?;
    let n = ctx.store.dbs.len() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        ctx.store.dbs.swap(a, b);
        // Watchers of either db see their keys change, and blocked clients may now be served.
        crate::commands::transactions::touch_all_watched(ctx.store, Some(a));
        crate::commands::transactions::touch_all_watched(ctx.store, Some(b));
        for db in [a, b] {
            let keys: Vec<Vec<u8>> = ctx.store.dbs[db]
                .iter()
                .filter(|(k, _)| ctx.store.blocking.has_waiters(db, k))
                .map(|(k, _)| k.to_vec())
                .collect();
            for k in keys {
                ctx.store.blocking.signal(db, &k, &mut ctx.env.wakes);
            }
        }
        ctx.store.dirty += 1;
    }
    Ok(Reply::ok())
}

/// `ROLE`: always a master without replicas.
fn role(_ctx: &mut Ctx, _args: Args) -> CmdResult {
    Ok(Reply::Array(vec![
        Reply::bulk(b"master"),
        Reply::Int(0),
        Reply::Array(vec![]),
    ]))
}

/// `LOLWUT [VERSION version]`: no art here, only the line naming the version.
fn lolwut(_ctx: &mut Ctx, mut args: Args) -> CmdResult {
    if let Some(a) = args.next_opt() {
        if eq_kw(&a, "VERSION") {
            args.next_i64()?;
        }
    }
    Ok(Reply::Verbatim(
        format!(
            "burner-redis ver. {}\n",
            crate::commands::connection::REDIS_VERSION
        )
        .into_bytes(),
    ))
}

/// `DEBUG SLEEP seconds | OBJECT key | JMAP | ...`: the harmless subset.
fn debug(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let unknown = || {
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&sub)
        ))
    };
    if eq_kw(&sub, "SLEEP") && args.remaining() == 1 {
        // The engine lock is held here: only a zero sleep is allowed, which Redis's test
        // suites use as a no-op round trip.
        let secs = args.next_f64()?;
        if secs != 0.0 {
            return Err(CmdError::err(
                "DEBUG SLEEP with a non-zero time is not supported (it would stall every client)",
            ));
        }
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "OBJECT") && args.remaining() == 1 {
        let key = args.next_bytes()?;
        let Some(v) = ctx.lookup(&key) else {
            return Err(CmdError::NoSuchKey);
        };
        let enc = v.encoding();
        let size = crate::commands::introspection::value_size(v);
        return Ok(Reply::Status(
            format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:0 lru_seconds_idle:0",
                enc, size
            )
            .into(),
        ));
    }
    if eq_kw(&sub, "SET-ACTIVE-EXPIRE") && args.remaining() == 1 {
        return Ok(Reply::ok());
    }
    Err(unknown())
}

/// What CONFIG SET accepts for a parameter.
#[derive(Clone, Copy)]
enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer in a range.
    Int(i64, i64),
    /// A memory amount (`1mb`, `2g`...) in a range, shown in bytes.
    Memory(i64, i64),
    /// One of these words (case-insensitive), shown as written here.
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// `save` rules: pairs of seconds and changes.
    Save,
    /// Validated by its owner (the pub/sub module).
    PubSub,
}

/// One configuration parameter the engine knows.
struct Param {
    name: &'static str,
    /// Redis 7's older spelling, also answered by CONFIG GET/SET.
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
    immutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        immutable: false,
    }
}

const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Param {
    Param {
        name,
        alias: Some(alias),
        kind,
        default,
        immutable: false,
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// Redis's eviction policy names.
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// The parameters CONFIG GET/SET know, with Redis 7.2's defaults.
const PARAMS: &[Param] = &[
    Param {
        name: "databases",
        alias: None,
        kind: Kind::Int(1, INT_MAX),
        default: "16",
        immutable: true,
    },
    p("maxmemory", Kind::Memory(0, LONG_MAX), "0"),
    p(
        "maxmemory-policy",
        Kind::Enum(MAXMEMORY_POLICIES),
        "noeviction",
    ),
    p("maxmemory-samples", Kind::Int(1, 64), "5"),
    p("notify-keyspace-events", Kind::PubSub, ""),
    p("client-output-buffer-limit", Kind::PubSub, ""),
    p("hz", Kind::Int(0, INT_MAX), "10"),
    p("requirepass", Kind::Str, ""),
    p("save", Kind::Save, ""),
    p("appendonly", Kind::Bool, "no"),
    p(
        "appendfsync",
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    aliased(
        "busy-reply-threshold",
        "lua-time-limit",
        Kind::Int(0, LONG_MAX),
        "5000",
    ),
    // Burner's own: a cap on the Lua VM's memory (bytes, 0 = none); see the scripting module.
    p("lua-memory-limit", Kind::Memory(0, LONG_MAX), "0"),
    p(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, LONG_MAX),
        "536870912",
    ),
    aliased(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        Kind::Int(0, LONG_MAX),
        "512",
    ),
    aliased(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        Kind::Int(0, LONG_MAX),
        "64",
    ),
    p("set-max-intset-entries", Kind::Int(0, LONG_MAX), "512"),
    p("set-max-listpack-entries", Kind::Int(0, LONG_MAX), "128"),
    p("set-max-listpack-value", Kind::Int(0, LONG_MAX), "64"),
    aliased(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        Kind::Int(0, LONG_MAX),
        "128",
    ),
    aliased(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        Kind::Int(0, LONG_MAX),
        "64",
    ),
    aliased(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Kind::Int(i32::MIN as i64, INT_MAX),
        "-2",
    ),
    p("list-compress-depth", Kind::Int(0, INT_MAX), "0"),
    p("stream-node-max-bytes", Kind::Memory(0, LONG_MAX), "4096"),
    p("stream-node-max-entries", Kind::Int(0, LONG_MAX), "100"),
    p("timeout", Kind::Int(0, INT_MAX), "0"),
    p("tcp-keepalive", Kind::Int(0, INT_MAX), "300"),
    p("slowlog-log-slower-than", Kind::Int(-1, LONG_MAX), "10000"),
    p("slowlog-max-len", Kind::Int(0, LONG_MAX), "128"),
    p("lfu-log-factor", Kind::Int(0, INT_MAX), "10"),
    p("lfu-decay-time", Kind::Int(0, INT_MAX), "1"),
];

/// Finds a parameter by its name or alias (any case); returns it and the spelling matched.
fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name == name || p.alias == Some(name))
}

/// The value CONFIG GET shows for `p`.
fn current_value(store: &crate::engine::Store, p: &Param) -> Vec<u8> {
    let persist = store.persist.as_ref().map(|a| &a.shared.cfg);
    match (p.name, persist) {
        ("databases", _) => return store.dbs.len().to_string().into_bytes(),
        ("appendonly", Some(c)) => return bool_word(c.appendonly).into(),
        ("appendfsync", Some(c)) => {
            return match c.fsync {
                crate::persistence::FsyncPolicy::Always => b"always".to_vec(),
                crate::persistence::FsyncPolicy::EverySec => b"everysec".to_vec(),
                crate::persistence::FsyncPolicy::No => b"no".to_vec(),
            }
        }
        ("save", Some(c)) => {
            let words: Vec<String> = c
                .save_rules
                .iter()
                .flat_map(|(s, n)| [s.to_string(), n.to_string()])
                .collect();
            return words.join(" ").into_bytes();
        }
        _ => {}
    }
    store
        .config
        .get(p.name)
        .cloned()
        .unwrap_or_else(|| p.default.as_bytes().to_vec())
}

fn bool_word(b: bool) -> &'static [u8] {
    if b {
        b"yes"
    } else {
        b"no"
    }
}

/// Checks `value` for `p` and returns the canonical spelling CONFIG GET echoes, or the reason
/// Redis gives after `CONFIG SET failed (possibly related to argument '...') - `.
fn canonical(p: &Param, value: &[u8]) -> Result<Vec<u8>, String> {
    if p.immutable {
        return Err("can't set immutable config".into());
    }
    let text = std::str::from_utf8(value).unwrap_or("");
    let range = |n: i64, min: i64, max: i64| {
        if n < min || n > max {
            Err(format!(
                "argument must be between {} and {} inclusive",
                min, max
            ))
        } else {
            Ok(n.to_string().into_bytes())
        }
    };
    match p.kind {
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            "yes" => Ok(b"yes".to_vec()),
            "no" => Ok(b"no".to_vec()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n = crate::cmd::args::parse_i64_opt(value)
                .ok_or("argument couldn't be parsed into an integer")?;
            range(n, min, max)
        }
        Kind::Memory(min, max) => {
            let n = parse_memory(text).ok_or("argument must be a memory value")?;
            range(n, min, max)
        }
        Kind::Enum(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(text))
            .map(|w| w.as_bytes().to_vec())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                )
            }),
        Kind::Str | Kind::PubSub => Ok(value.to_vec()),
        Kind::Save => {
            let rules = crate::persistence::parse_save_rules(text)
                .filter(|r| r.iter().all(|&(s, _)| s > 0))
                .ok_or("Invalid save parameters")?;
            let words: Vec<String> = rules
                .iter()
                .flat_map(|(s, n)| [s.to_string(), n.to_string()])
                .collect();
            Ok(words.join(" ").into_bytes())
        }
    }
}

/// Redis's memory values: a number with an optional `b`, `k`, `kb`, `m`, `mb`, `g`, `gb` unit
/// (k/m/g are powers of 1000, kb/mb/gb of 1024); a leading `-` is allowed.
fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    crate::cmd::args::parse_i64_opt(num.as_bytes())?.checked_mul(mul)
}

/// Applies a validated value: parameters the engine acts on are mirrored into their owners.
fn apply(store: &mut crate::engine::Store, p: &Param, value: Vec<u8>) -> Result<(), String> {
    let num = || {
        std::str::from_utf8(&value)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let value = match p.name {
        "slowlog-log-slower-than" => {
            store.slowlog.slower_than_us = num();
            value
        }
        "slowlog-max-len" => {
            store.slowlog.max_len = usize::try_from(num()).unwrap_or(usize::MAX);
            store.slowlog.trim();
            value
        }
        // Redis keeps hz within 1..=500 whatever is asked for, and shows the clamped value.
        "hz" => num().clamp(1, 500).to_string().into_bytes(),
        "appendonly" | "appendfsync" | "save" => {
            // Persistence settings are fixed when an engine is opened; setting the value it
            // already has (such as `save ""` without persistence) is accepted.
            let p_current = current_value(store, p);
            if p_current != value {
                return Err(
                    "persistence settings are fixed when the engine is opened (pass them to Engine/open)"
                        .into(),
                );
            }
            value
        }
        _ => value,
    };
    store.config.insert(p.name.to_string(), value);
    Ok(())
}

fn config_failed(name: &str, msg: &str) -> CmdError {
    CmdError::err(format!(
        "CONFIG SET failed (possibly related to argument '{}') - {}",
        name, msg
    ))
}

/// `CONFIG GET parameter [parameter ...] | SET parameter value [parameter value ...] |
/// RESETSTAT | REWRITE | HELP`
fn config(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    if eq_kw(&sub, "GET") {
        let pats = args.rest();
        if pats.is_empty() {
            return Err(CmdError::WrongArity("config|get".into()));
        }
        let mut out = vec![];
        for p in PARAMS {
            for name in std::iter::once(p.name).chain(p.alias) {
                if pats
                    .iter()
                    .any(|pat| crate::glob::glob_match(pat, name.as_bytes(), true))
                {
                    out.push((
                        Reply::bulk(name.as_bytes()),
                        Reply::Bulk(current_value(ctx.store, p)),
                    ));
                }
            }
        }
        return Ok(Reply::Map(out));
    }
    if eq_kw(&sub, "SET") {
        let a = args.rest();
        if a.is_empty() || a.len() % 2 != 0 {
            return Err(CmdError::WrongArity("config|set".into()));
        }
        // All or nothing, as in Redis: every pair is checked before any is applied.
        let mut plan: Vec<(&'static Param, &str, Vec<u8>)> = Vec::new();
        for pair in a.chunks(2) {
            let asked = String::from_utf8_lossy(&pair[0]).to_lowercase();
            let Some(p) = find_param(&asked) else {
                return Err(CmdError::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(&pair[0])
                )));
            };
            if plan.iter().any(|(q, _, _)| q.name == p.name) {
                return Err(config_failed(&asked, "duplicate parameter"));
            }
            let value = canonical(p, &pair[1]).map_err(|m| config_failed(&asked, &m))?;
            plan.push((p, p.alias.filter(|a| *a == asked).unwrap_or(p.name), value));
        }
        let saved = ctx.store.config.clone();
        let saved_slowlog = (ctx.store.slowlog.slower_than_us, ctx.store.slowlog.max_len);
        for (p, asked, value) in plan {
            let res = if matches!(p.kind, Kind::PubSub) {
                match crate::commands::pubsub::apply_config(ctx.store, p.name, &value) {
                    Some(Ok(v)) => {
                        ctx.store.config.insert(p.name.to_string(), v);
                        Ok(())
                    }
                    Some(Err(e)) => Err(Err(e)),
                    None => Ok(()),
                }
            } else {
                apply(ctx.store, p, value).map_err(Ok)
            };
            if let Err(e) = res {
                ctx.store.config = saved;
                (ctx.store.slowlog.slower_than_us, ctx.store.slowlog.max_len) = saved_slowlog;
                crate::engine::evict::reload(ctx.store);
                return Err(match e {
                    Ok(msg) => config_failed(asked, &msg),
                    Err(cmd_err) => cmd_err,
                });
            }
        }
        crate::engine::evict::reload(ctx.store);
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "RESETSTAT") {
        args.finish()
            .map_err(|_| CmdError::WrongArity("config|resetstat".into()))?;
        ctx.store.stats = Default::default();
        return Ok(Reply::ok());
    }
    if eq_kw(&sub, "REWRITE") {
        return Err(CmdError::err("The server is running without a config file"));
    }
    if eq_kw(&sub, "HELP") {
        return Ok(Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Status((*l).into()))
            .collect(),
        ));
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "config".into(),
        sub: String::from_utf8_lossy(&sub).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_canonicalised_like_redis() {
        let get = |n: &str| find_param(n).unwrap();
        assert_eq!(canonical(get("maxmemory"), b"1mb").unwrap(), b"1048576");
        assert_eq!(canonical(get("maxmemory"), b"1m").unwrap(), b"1000000");
        assert_eq!(
            canonical(get("maxmemory-policy"), b"ALLKEYS-LRU").unwrap(),
            b"allkeys-lru"
        );
        assert_eq!(
            canonical(get("timeout"), b"-1").unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(canonical(get("save"), b" 10  5 ").unwrap(), b"10 5");
        assert!(canonical(get("save"), b"10").is_err());
        assert!(canonical(get("databases"), b"3").is_err());
        assert_eq!(get("lua-time-limit").name, "busy-reply-threshold");
        assert_eq!(parse_memory("99999999999999999999gb"), None);
    }
}
