//! Connection commands: PING, ECHO, SELECT, HELLO, AUTH, CLIENT, QUIT, RESET.

use crate::cmd::args::eq_kw;
use crate::cmd::{flags::*, Args, CommandSpec, Ctx};
use crate::command;
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// The version we report; behaviour follows Redis 7.2.
pub const REDIS_VERSION: &str = "7.2.4";

/// This group's part of the command table.
pub const COMMANDS: &[CommandSpec] = &[
    command!("ping", -1, FAST | SUBSCRIBED_OK, 0, 0, 0, ping),
    command!("echo", 2, FAST, 0, 0, 0, echo),
    command!("select", 2, FAST | CONNECTION, 0, 0, 0, select),
    command!(
        "hello",
        -1,
        NO_AUTH | FAST | NOSCRIPT | CONNECTION | NO_QUEUE,
        0,
        0,
        0,
        hello
    ),
    command!(
        "auth",
        -2,
        NO_AUTH | FAST | NOSCRIPT | CONNECTION | NO_QUEUE,
        0,
        0,
        0,
        auth
    ),
    command!("client", -2, NOSCRIPT | CONNECTION, 0, 0, 0, client),
    command!(
        "quit",
        -1,
        NO_AUTH | FAST | NOSCRIPT | CONNECTION | NO_QUEUE | SUBSCRIBED_OK,
        0,
        0,
        0,
        quit
    ),
    command!(
        "reset",
        1,
        NO_AUTH | FAST | NOSCRIPT | CONNECTION | NO_QUEUE | SUBSCRIBED_OK,
        0,
        0,
        0,
        reset
    ),
];

/// `PING [message]`
fn ping(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    if args.remaining() > 1 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    // A RESP2 subscriber can only receive arrays, so Redis answers `[pong, message]`.
    if crate::commands::pubsub::resp2_subscribed(ctx.client) {
        return Ok(Reply::Array(vec![
            Reply::bulk(b"pong"),
            Reply::Bulk(args.next_opt().unwrap_or_default()),
        ]));
    }
    Ok(match args.next_opt() {
        None => Reply::status("PONG"),
        Some(m) => Reply::Bulk(m),
    })
}

/// `ECHO message`
fn echo(_ctx: &mut Ctx, mut args: Args) -> CmdResult {
    Ok(Reply::Bulk(args.next_bytes()?))
}

/// `SELECT index`
fn select(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let idx = args.next_i64()?;
    if idx < 0 || idx as usize >= ctx.store.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.db = idx as usize;
    if let Some(info) = ctx.store.clients.get_mut(&ctx.client.id) {
        info.db = idx as usize;
    }
    Ok(Reply::ok())
}

/// HELLO's `protover` argument.
pub fn hello_protover(v: &[u8]) -> Result<u8, CmdError> {
    match crate::cmd::args::parse_i64_opt(v) {
        Some(n @ (2 | 3)) => Ok(n as u8),
        Some(_) => Err(CmdError::raw("NOPROTO unsupported protocol version")),
        None => Err(CmdError::err(
            "Protocol version is not an integer or out of range",
        )),
    }
}

/// HELLO's reply for client `id` speaking `resp`.
pub fn hello_reply(id: u64, resp: u8) -> Reply {
    Reply::Map(vec![
        (Reply::bulk(b"server"), Reply::bulk(b"redis")),
        (
            Reply::bulk(b"version"),
            Reply::bulk(REDIS_VERSION.as_bytes()),
        ),
        (Reply::bulk(b"proto"), Reply::Int(resp as i64)),
        (Reply::bulk(b"id"), Reply::Int(id as i64)),
        (Reply::bulk(b"mode"), Reply::bulk(b"standalone")),
        (Reply::bulk(b"role"), Reply::bulk(b"master")),
        (Reply::bulk(b"modules"), Reply::Array(vec![])),
    ])
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let mut resp = ctx.client.resp;
    if let Some(v) = args.next_opt() {
        resp = hello_protover(&v)?;
    }
    let mut name = None;
    let authenticating = args.as_slice().iter().any(|a| eq_kw(a, "AUTH"));
    if !ctx.client.authenticated && !authenticating {
        return Err(CmdError::raw("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    while let Some(opt) = args.next_opt() {
        if eq_kw(&opt, "AUTH") && args.remaining() >= 2 {
            let user = args.next_bytes()?;
            let pass = args.next_bytes()?;
            check_auth(ctx, Some(&user), &pass)?;
            ctx.client.authenticated = true;
        } else if eq_kw(&opt, "SETNAME") && args.remaining() >= 1 {
            let n = args.next_bytes()?;
            validate_client_name(&n)?;
            name = Some(n);
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&opt)
            )));
        }
    }
    ctx.client.resp = resp;
    let id = ctx.client.id;
    if let Some(info) = ctx.store.clients.get_mut(&id) {
        info.resp = resp;
        if let Some(n) = name {
            info.name = if n.is_empty() { None } else { Some(n) };
        }
    }
    Ok(hello_reply(id, resp))
}

/// Checks a password against `requirepass` (the only user is `default`).
fn check_auth(ctx: &mut Ctx, user: Option<&[u8]>, pass: &[u8]) -> Result<(), CmdError> {
    let required = ctx
        .store
        .config
        .get("requirepass")
        .filter(|p| !p.is_empty())
        .cloned();
    match required {
        None => {
            if user.is_some_and(|u| u != b"default") {
                return Err(CmdError::raw(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                ));
            }
            if user.is_none() {
                return Err(CmdError::err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
            }
            Ok(())
        }
        Some(p) => {
            if user.is_some_and(|u| u != b"default") || p != pass {
                return Err(CmdError::raw(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                ));
            }
            Ok(())
        }
    }
}

/// `AUTH [username] password`
fn auth(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let a = args.rest();
    match a.len() {
        1 => check_auth(ctx, None, &a[0])?,
        2 => check_auth(ctx, Some(&a[0]), &a[1])?,
        _ => return Err(CmdError::Syntax),
    }
    ctx.client.authenticated = true;
    Ok(Reply::ok())
}

fn validate_client_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// `CLIENT <subcommand> ...`
fn client(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let sub = args.next_bytes()?;
    let lower = String::from_utf8_lossy(&sub).to_lowercase();
    let arity_err = || CmdError::WrongArity(format!("client|{}", lower));
    let id = ctx.client.id;
    match lower.as_str() {
        "id" => {
            args.finish().map_err(|_| arity_err())?;
            Ok(Reply::Int(id as i64))
        }
        "setname" => {
            if args.remaining() != 1 {
                return Err(arity_err());
            }
            let n = args.next_bytes()?;
            validate_client_name(&n)?;
            if let Some(info) = ctx.store.clients.get_mut(&id) {
                info.name = if n.is_empty() { None } else { Some(n) };
            }
            Ok(Reply::ok())
        }
        "getname" => {
            args.finish().map_err(|_| arity_err())?;
            let name = ctx.store.clients.get(&id).and_then(|i| i.name.clone());
            Ok(name.map(Reply::Bulk).unwrap_or(Reply::Nil))
        }
        "setinfo" => {
            if args.remaining() != 2 {
                return Err(arity_err());
            }
            let attr = args.next_bytes()?;
            let val = args.next_bytes()?;
            let is_name = eq_kw(&attr, "LIB-NAME");
            if !is_name && !eq_kw(&attr, "LIB-VER") {
                return Err(CmdError::err(format!(
                    "Unrecognized option '{}'",
                    String::from_utf8_lossy(&attr)
                )));
            }
            if val.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
                return Err(CmdError::err(format!(
                    "{} cannot contain spaces, newlines or special characters.",
                    if is_name { "lib-name" } else { "lib-ver" }
                )));
            }
            if let Some(info) = ctx.store.clients.get_mut(&id) {
                let v = if val.is_empty() { None } else { Some(val) };
                if is_name {
                    info.lib_name = v;
                } else {
                    info.lib_ver = v;
                }
            }
            Ok(Reply::ok())
        }
        "info" => {
            args.finish().map_err(|_| arity_err())?;
            let line = client_line(ctx, id);
            Ok(Reply::Verbatim(line.into_bytes()))
        }
        "list" => {
            let mut ids: Vec<u64> = ctx.store.clients.keys().copied().collect();
            ids.sort_unstable();
            let mut out = String::new();
            for cid in ids {
                out.push_str(&client_line(ctx, cid));
            }
            Ok(Reply::Verbatim(out.into_bytes()))
        }
        "kill" => client_kill(ctx, args),
        "unblock" => client_unblock(ctx, &sub, args),
        "no-evict" | "no-touch" => {
            let v = args.next_bytes().map_err(|_| arity_err())?;
            if !(eq_kw(&v, "ON") || eq_kw(&v, "OFF")) {
                return Err(CmdError::Syntax);
            }
            Ok(Reply::ok())
        }
        "help" => Ok(Reply::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "SETINFO <option> <value>",
                "INFO",
                "LIST",
                "KILL <option> <value> [<option> <value> [...]]",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "NO-EVICT (ON|OFF)",
                "NO-TOUCH (ON|OFF)",
            ]
            .iter()
            .map(|s| Reply::Status((*s).to_string().into()))
            .collect(),
        )),
        _ => Err(CmdError::UnknownSubcommand {
            cmd: "client".into(),
            sub: String::from_utf8_lossy(&sub).into_owned(),
        }),
    }
}

/// One CLIENT LIST line.
fn client_line(ctx: &Ctx, id: u64) -> String {
    let Some(info) = ctx.store.clients.get(&id) else {
        return String::new();
    };
    let now = ctx.env.now_ms;
    let s = |v: &Option<Vec<u8>>| {
        v.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    format!(
        "id={} addr={} laddr= fd=-1 name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        id,
        if info.addr.is_empty() { "in-process:0" } else { &info.addr },
        s(&info.name),
        (now - info.created_ms).max(0) / 1000,
        (now - info.last_ms).max(0) / 1000,
        info.db,
        if info.last_cmd.is_empty() { "NULL" } else { &info.last_cmd },
        info.resp,
        s(&info.lib_name),
        s(&info.lib_ver),
    )
}

/// `CLIENT KILL ID id | ADDR addr | ... [SKIPME yes|no]`
fn client_kill(ctx: &mut Ctx, mut args: Args) -> CmdResult {
    let a = args.rest();
    if a.len() == 1 {
        // Old form: CLIENT KILL addr:port
        let addr = String::from_utf8_lossy(&a[0]).into_owned();
        let victim = ctx
            .store
            .clients
            .iter()
            .find(|(_, i)| i.addr == addr)
            .map(|(id, _)| *id);
        return match victim {
            Some(v) => {
                kill(ctx, v);
                Ok(Reply::ok())
            }
            None => Err(CmdError::err("No such client")),
        };
    }
    if a.len() % 2 != 0 || a.is_empty() {
        return Err(CmdError::Syntax);
    }
    let mut ids: Vec<u64> = ctx.store.clients.keys().copied().collect();
    let mut skipme = true;
    for pair in a.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        if eq_kw(k, "ID") {
            let want = crate::cmd::args::parse_i64_opt(v)
                .filter(|x| *x > 0)
                .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
            ids.retain(|i| *i as i64 == want);
        } else if eq_kw(k, "ADDR") {
            let addr = String::from_utf8_lossy(v).into_owned();
            ids.retain(|i| ctx.store.clients.get(i).is_some_and(|c| c.addr == addr));
        } else if eq_kw(k, "SKIPME") {
            skipme = if eq_kw(v, "YES") {
                true
            } else if eq_kw(v, "NO") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if eq_kw(k, "USER") {
            if v.as_slice() != b"default" {
                ids.clear();
            }
        } else if eq_kw(k, "TYPE") || eq_kw(k, "LADDR") || eq_kw(k, "MAXAGE") {
            // Accepted; every in-process client is a "normal" client with no local address.
            if eq_kw(k, "LADDR") {
                ids.clear();
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if skipme {
        let me = ctx.client.id;
        ids.retain(|i| *i != me);
    }
    for id in &ids {
        kill(ctx, *id);
    }
    Ok(Reply::Int(ids.len() as i64))
}

fn kill(ctx: &mut Ctx, id: u64) {
    if let Some(info) = ctx.store.clients.get(&id) {
        info.killed
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(w) = &info.kill_waker {
            ctx.env.wakes.push(w.clone());
        }
        // A blocked client learns at once, whatever its front door waits on.
        crate::engine::blocking::kill(ctx.store, id, ctx.env);
    }
}

/// `CLIENT UNBLOCK client-id [TIMEOUT | ERROR]`
fn client_unblock(ctx: &mut Ctx, sub: &[u8], mut args: Args) -> CmdResult {
    let a = args.rest();
    if a.is_empty() {
        return Err(CmdError::WrongArity("client|unblock".into()));
    }
    if a.len() > 2 {
        return Err(CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    let mut error = false;
    if let Some(reason) = a.get(1) {
        if eq_kw(reason, "ERROR") {
            error = true;
        } else if !eq_kw(reason, "TIMEOUT") {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    let id = crate::cmd::args::parse_i64(&a[0])?;
    let msg = error.then_some("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    let done = u64::try_from(id)
        .is_ok_and(|id| crate::engine::blocking::unblock(ctx.store, id, msg, ctx.env));
    Ok(Reply::Int(done as i64))
}

/// `QUIT`
fn quit(_ctx: &mut Ctx, _args: Args) -> CmdResult {
    Ok(Reply::ok())
}

/// `RESET`: back to a fresh connection's state.
fn reset(ctx: &mut Ctx, _args: Args) -> CmdResult {
    crate::engine::reset_client_state(ctx.store, ctx.client, ctx.env);
    ctx.client.db = 0;
    ctx.client.resp = 2;
    let id = ctx.client.id;
    if let Some(info) = ctx.store.clients.get_mut(&id) {
        info.db = 0;
        info.resp = 2;
        info.name = None;
    }
    Ok(Reply::status("RESET"))
}
