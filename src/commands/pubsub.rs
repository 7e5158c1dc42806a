//! Pub/sub commands and keyspace notifications: PUBLISH, SPUBLISH, (P|S)SUBSCRIBE,
//! (P|S)UNSUBSCRIBE, PUBSUB introspection, and the delivery of `ctx.notify` events.
//!
//! A (un)subscribe command answers with one confirmation per name. The last one is the command's
//! reply; the ones before it go into the client's outbox, which the front door empties ahead of
//! that reply, so confirmations arrive in order and before any message published afterwards.

use std::sync::Arc;

use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::engine::pubsub::{Kind, OutputLimit, Subscriber};
use crate::engine::{Client, Env, Store};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// Keyspace-event classes (CONFIG notify-keyspace-events letters).
pub const EV_KEYSPACE: u32 = 1 << 0; // K
/// E
pub const EV_KEYEVENT: u32 = 1 << 1;
/// g: generic commands (DEL, EXPIRE, RENAME, ...).
pub const EV_GENERIC: u32 = 1 << 2;
/// $: string commands.
pub const EV_STRING: u32 = 1 << 3;
/// l: list commands.
pub const EV_LIST: u32 = 1 << 4;
/// s: set commands.
pub const EV_SET: u32 = 1 << 5;
/// h: hash commands.
pub const EV_HASH: u32 = 1 << 6;
/// z: sorted-set commands.
pub const EV_ZSET: u32 = 1 << 7;
/// x: expired events.
pub const EV_EXPIRED: u32 = 1 << 8;
/// e: evicted events.
pub const EV_EVICTED: u32 = 1 << 9;
/// t: stream commands.
pub const EV_STREAM: u32 = 1 << 10;
/// n: new-key events.
pub const EV_NEW: u32 = 1 << 11;
/// m: key-miss events.
pub const EV_MISS: u32 = 1 << 12;
/// d: module events (accepted for compatibility; no module emits any).
pub const EV_MODULE: u32 = 1 << 13;
/// A: alias for "g$lshzxetd".
pub const EV_ALL: u32 = EV_GENERIC
    | EV_STRING
    | EV_LIST
    | EV_SET
    | EV_HASH
    | EV_ZSET
    | EV_EXPIRED
    | EV_EVICTED
    | EV_STREAM
    | EV_MODULE;

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("publish", 3, PUBSUB | FAST, 0, 0, 0, publish),
    command!("spublish", 3, PUBSUB | FAST, 1, 1, 1, spublish),
    command!(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        0,
        0,
        0,
        subscribe
    ),
    command!(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        0,
        0,
        0,
        unsubscribe
    ),
    command!(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        0,
        0,
        0,
        psubscribe
    ),
    command!(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        0,
        0,
        0,
        punsubscribe
    ),
    command!(
        "ssubscribe",
        -2,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        1,
        -1,
        1,
        ssubscribe
    ),
    command!(
        "sunsubscribe",
        -1,
        PUBSUB | NOSCRIPT | SUBSCRIBED_OK,
        1,
        -1,
        1,
        sunsubscribe
    ),
    command!("pubsub", -2, PUBSUB, 0, 0, 0, pubsub),
];

/// `PUBLISH channel message`
fn publish(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let channel = args.next_bytes()?;
    let message = args.next_bytes()?;
    let now = ctx.env.now_ms;
    let n = ctx
        .store
        .pubsub
        .publish(&channel, &message, now, &mut ctx.env.wakes);
    Ok(Reply::Int(n as i64))
}

/// `SPUBLISH shardchannel message`
fn spublish(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let channel = args.next_bytes()?;
    let message = args.next_bytes()?;
    let now = ctx.env.now_ms;
    let n = ctx
        .store
        .pubsub
        .spublish(&channel, &message, now, &mut ctx.env.wakes);
    Ok(Reply::Int(n as i64))
}

/// `SUBSCRIBE channel [channel ...]`
fn subscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel)
}

/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern)
}

/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard)
}

/// `UNSUBSCRIBE [channel [channel ...]]`
fn unsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel)
}

/// `PUNSUBSCRIBE [pattern [pattern ...]]`
fn punsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern)
}

/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard)
}

fn confirm_word(kind: Kind, sub: bool) -> &'static [u8] {
    match (kind, sub) {
        (Kind::Channel, true) => b"subscribe",
        (Kind::Pattern, true) => b"psubscribe",
        (Kind::Shard, true) => b"ssubscribe",
        (Kind::Channel, false) => b"unsubscribe",
        (Kind::Pattern, false) => b"punsubscribe",
        (Kind::Shard, false) => b"sunsubscribe",
    }
}

/// The count a confirmation carries: shard subscriptions are counted apart from the others.
fn confirm_count(sub: &Subscriber, kind: Kind) -> i64 {
    (if kind == Kind::Shard {
        sub.shard_count()
    } else {
        sub.count()
    }) as i64
}

fn confirmation(word: &[u8], name: Option<Vec<u8>>, count: i64) -> Reply {
    Reply::Push(vec![
        Reply::bulk(word),
        name.map(Reply::Bulk).unwrap_or(Reply::Nil),
        Reply::Int(count),
    ])
}

/// The client's subscriber, created on first use.
fn subscriber_of(client: &mut Client) -> Arc<Subscriber> {
    let id = client.id;
    client
        .pubsub
        .get_or_insert_with(|| Subscriber::new(id))
        .clone()
}

/// Sends all confirmations but the last through the outbox and returns the last as the reply.
fn confirm_all(ctx: &mut Ctx, sub: &Subscriber, mut replies: Vec<Reply>) -> CmdResult {
    let last = replies.pop().unwrap_or(Reply::NilArray);
    for r in replies {
        sub.push_reply(r, &mut ctx.env.wakes);
    }
    Ok(last)
}

fn subscribe_kind(ctx: &mut Ctx, args: Args, kind: Kind) -> CmdResult {
    let sub = subscriber_of(ctx.client);
    let word = confirm_word(kind, true);
    let mut replies = Vec::with_capacity(args.remaining());
    for name in args {
        ctx.store.pubsub.subscribe(kind, &sub, &name);
        replies.push(confirmation(word, Some(name), confirm_count(&sub, kind)));
    }
    confirm_all(ctx, &sub, replies)
}

fn unsubscribe_kind(ctx: &mut Ctx, args: Args, kind: Kind) -> CmdResult {
    let sub = subscriber_of(ctx.client);
    let word = confirm_word(kind, false);
    let names: Vec<Vec<u8>> = if args.is_empty() {
        sub.names(kind)
    } else {
        args.collect()
    };
    if names.is_empty() {
        return Ok(confirmation(word, None, confirm_count(&sub, kind)));
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        ctx.store.pubsub.unsubscribe(kind, &sub, &name);
        replies.push(confirmation(word, Some(name), confirm_count(&sub, kind)));
    }
    confirm_all(ctx, &sub, replies)
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
/// SHARDNUMSUB [shardchannel ...] | HELP`
fn pubsub(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let lower = String::from_utf8_lossy(&sub).to_lowercase();
    let rest = args.rest();
    let syntax = || {
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&sub)
        ))
    };
    let ps = &ctx.store.pubsub;
    match lower.as_str() {
        "channels" | "shardchannels" => {
            if rest.len() > 1 {
                return Err(syntax());
            }
            let kind = if lower == "channels" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            Ok(Reply::bulks(
                ps.active(kind, rest.first().map(|p| p.as_slice())),
            ))
        }
        "numsub" | "shardnumsub" => {
            let kind = if lower == "numsub" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            // A flat array even in RESP3, as Redis sends it.
            let mut out = Vec::with_capacity(rest.len() * 2);
            for name in rest {
                let n = ps.numsub(kind, &name);
                out.push(Reply::Bulk(name));
                out.push(Reply::Int(n as i64));
            }
            Ok(Reply::Array(out))
        }
        "numpat" => {
            if !rest.is_empty() {
                return Err(CmdError::WrongArity("pubsub|numpat".into()));
            }
            Ok(Reply::Int(ps.numpat() as i64))
        }
        "help" => {
            if !rest.is_empty() {
                return Err(syntax());
            }
            Ok(Reply::Array(
                PUBSUB_HELP
                    .iter()
                    .map(|s| Reply::Status((*s).into()))
                    .collect(),
            ))
        }
        _ => Err(CmdError::UnknownSubcommand {
            cmd: "pubsub".into(),
            sub: String::from_utf8_lossy(&sub).into_owned(),
        }),
    }
}

/// Publishes a keyspace notification if the configured classes include `class`:
/// `__keyspace@<db>__:<key>` carries the event name, `__keyevent@<db>__:<event>` the key.
pub fn notify_keyspace_event(
    store: &mut Store,
    env: &mut Env,
    class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    let flags = store.pubsub.notify_flags;
    if flags & class == 0 || flags & (EV_KEYSPACE | EV_KEYEVENT) == 0 || store.pubsub.is_idle() {
        return;
    }
    if flags & EV_KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{}__:", db).into_bytes();
        ch.extend_from_slice(key);
        store
            .pubsub
            .publish(&ch, event.as_bytes(), env.now_ms, &mut env.wakes);
    }
    if flags & EV_KEYEVENT != 0 {
        let ch = format!("__keyevent@{}__:{}", db, event).into_bytes();
        store.pubsub.publish(&ch, key, env.now_ms, &mut env.wakes);
    }
}

/// Redis 7 container commands: errors name them as `parent|sub`.
const CONTAINERS: &[&str] = &[
    "acl", "client", "cluster", "command", "config", "function", "latency", "memory", "module",
    "object", "pubsub", "script", "slowlog", "xgroup", "xinfo",
];

/// In RESP2 subscribed mode only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET are
/// allowed; returns Redis's error for any other command.
pub fn check_subscribed_mode(
    client: &Client,
    spec: &CommandSpec,
    args: &[Vec<u8>],
) -> Option<CmdError> {
    if client.resp != 2 || spec.has(SUBSCRIBED_OK) || !resp2_subscribed(client) {
        return None;
    }
    let name = match args.get(1) {
        Some(sub) if CONTAINERS.contains(&spec.name) => {
            format!(
                "{}|{}",
                spec.name,
                String::from_utf8_lossy(sub).to_lowercase()
            )
        }
        _ => spec.name.to_string(),
    };
    Some(CmdError::err(format!(
        "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        name
    )))
}

/// True for a RESP2 client with at least one subscription (PING then answers `[pong, msg]`).
pub fn resp2_subscribed(client: &Client) -> bool {
    client.resp == 2 && client.pubsub.as_ref().is_some_and(|s| s.is_subscribed())
}

/// Drops every subscription of `client` (RESET, disconnect). Buffered messages stay readable.
pub fn unsubscribe_all(store: &mut Store, client: &mut Client, _env: &mut Env) {
    if let Some(sub) = client.pubsub.as_ref() {
        store.pubsub.unsubscribe_all(sub);
    }
}

/// Validates and applies a pub/sub-owned CONFIG SET. Returns None for parameters pub/sub does
/// not own, else the canonical value CONFIG GET should echo (or Redis's error).
pub fn apply_config(
    store: &mut Store,
    name: &str,
    value: &[u8],
) -> Option<Result<Vec<u8>, CmdError>> {
    let failed = |msg: &str| {
        CmdError::err(format!(
            "CONFIG SET failed (possibly related to argument '{}') - {}",
            name, msg
        ))
    };
    match name {
        "notify-keyspace-events" => Some(match parse_notify_flags(value) {
            Some(flags) => {
                store.pubsub.notify_flags = flags;
                Ok(notify_flags_string(flags).into_bytes())
            }
            None => Err(failed(
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            )),
        }),
        "client-output-buffer-limit" => Some(match parse_buffer_limits(value) {
            Ok(classes) => {
                let current = store.config.get(name).cloned().unwrap_or_default();
                let mut merged = parse_buffer_limits(&current).unwrap_or_default();
                for (class, lim) in classes {
                    match merged.iter_mut().find(|(c, _)| *c == class) {
                        Some(slot) => slot.1 = lim,
                        None => merged.push((class, lim)),
                    }
                }
                if let Some((_, lim)) = merged.iter().find(|(c, _)| c == "pubsub") {
                    store.pubsub.limit = *lim;
                }
                if let Some((_, lim)) = merged.iter().find(|(c, _)| c == "normal") {
                    store.pubsub.normal_hard_limit = lim.hard;
                }
                let order = ["normal", "slave", "pubsub"];
                let text: Vec<String> = order
                    .iter()
                    .filter_map(|c| merged.iter().find(|(m, _)| m == c))
                    .map(|(c, l)| format!("{} {} {} {}", c, l.hard, l.soft, l.soft_secs))
                    .collect();
                Ok(text.join(" ").into_bytes())
            }
            Err(msg) => Err(failed(msg)),
        }),
        _ => None,
    }
}

/// Parses notify-keyspace-events letters; None on an unknown letter.
pub fn parse_notify_flags(v: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for c in v {
        flags |= match c {
            b'A' => EV_ALL,
            b'g' => EV_GENERIC,
            b'$' => EV_STRING,
            b'l' => EV_LIST,
            b's' => EV_SET,
            b'h' => EV_HASH,
            b'z' => EV_ZSET,
            b'x' => EV_EXPIRED,
            b'e' => EV_EVICTED,
            b't' => EV_STREAM,
            b'd' => EV_MODULE,
            b'n' => EV_NEW,
            b'm' => EV_MISS,
            b'K' => EV_KEYSPACE,
            b'E' => EV_KEYEVENT,
            _ => return None,
        };
    }
    Some(flags)
}

/// Redis's canonical spelling of a flag set ("A" when every class of 'A' is on).
pub fn notify_flags_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & EV_ALL == EV_ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (EV_GENERIC, 'g'),
            (EV_STRING, '$'),
            (EV_LIST, 'l'),
            (EV_SET, 's'),
            (EV_HASH, 'h'),
            (EV_ZSET, 'z'),
            (EV_EXPIRED, 'x'),
            (EV_EVICTED, 'e'),
            (EV_STREAM, 't'),
            (EV_MODULE, 'd'),
            (EV_NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    // Redis prints 'n' only without 'A' (so "An" reads back as "A"); followed here.
    for (bit, c) in [(EV_KEYSPACE, 'K'), (EV_KEYEVENT, 'E'), (EV_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Parses Redis's memory units: `b`, `k`/`m`/`g` (powers of 1000), `kb`/`mb`/`gb` (of 1024).
fn parse_memory(v: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(v).ok()?.to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return None;
    }
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Parses `<class> <hard> <soft> <soft seconds>` groups.
fn parse_buffer_limits(v: &[u8]) -> Result<Vec<(String, OutputLimit)>, &'static str> {
    let words: Vec<&[u8]> = v.split(|c| *c == b' ').filter(|w| !w.is_empty()).collect();
    if words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut out = Vec::new();
    for g in words.chunks(4) {
        let class = String::from_utf8_lossy(g[0]).to_lowercase();
        let class = match class.as_str() {
            "normal" | "pubsub" => class,
            "slave" | "replica" => "slave".to_string(),
            _ => return Err("Invalid client class specified in buffer limit configuration."),
        };
        let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(g[1]).ok_or(bad)?;
        let soft = parse_memory(g[2]).ok_or(bad)?;
        let secs = crate::cmd::args::parse_i64_opt(g[3])
            .filter(|s| *s >= 0)
            .ok_or(bad)? as u64;
        out.push((
            class,
            OutputLimit {
                hard,
                soft,
                soft_secs: secs,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_flags_round_trip_like_redis() {
        for (input, canon) in [
            ("", ""),
            ("KEA", "AKE"),
            ("Ag", "A"),
            ("KEg$lshzxetdn", "AKE"),
            ("KEnm", "nKEm"),
            ("KEd", "dKE"),
            ("g$lshzxetKE", "g$lshzxetKE"),
        ] {
            let f = parse_notify_flags(input.as_bytes()).unwrap();
            assert_eq!(notify_flags_string(f), canon, "{input}");
        }
        assert!(parse_notify_flags(b"Axyz").is_none());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1g"), Some(1_000_000_000));
        assert_eq!(parse_memory(b"1mb"), Some(1 << 20));
        assert_eq!(parse_memory(b"512KB"), Some(512 * 1024));
        assert_eq!(parse_memory(b"x"), None);
        assert_eq!(parse_memory(b"99999999999999999999gb"), None);
        assert!(parse_buffer_limits(b"pubsub 1 1").is_err());
        assert!(parse_buffer_limits(b"foo 1 1 1").is_err());
        assert!(parse_buffer_limits(b"pubsub 1 1 -1").is_err());
    }
}
