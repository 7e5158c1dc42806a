//! Lua scripting: the runtime behind EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//!
//! One Lua 5.1 VM per engine, created on first use and kept in `Store::scripting`. A script is
//! compiled once, keyed by the SHA1 of its body, and runs entirely under the engine lock, so it is
//! atomic. `redis.call` goes back through the dispatcher with a script client of its own (the
//! caller's database, `env.in_script` set, time frozen at the start of the script).
//!
//! Errors follow Redis 7: every error raised in a script becomes an error table (`{err=...}`)
//! in the message handler, which also records where it happened; the reply is then
//! `<err> script: <sha>, on <source>:<line>.`. Errors raised from Rust with [`RedisError`] are
//! such tables already (`redis.call` failures, `redis.log` misuse); plain Rust errors are Lua
//! string errors, which the handler prefixes with `ERR `.
//!
//! The sandbox (read-only globals and libraries) is in `sandbox.rs`; the libraries Redis adds
//! to Lua (cjson, cmsgpack, struct, bit) are implemented in Rust in `libs/`.

mod api;
mod convert;
pub mod libs;
mod sandbox;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbrown::HashMap;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

use crate::cmd::args::{eq_kw, parse_i64};
use crate::cmd::{Args, Ctx};
use crate::engine::{Client, Env, ScriptControl, Store};
use crate::error::{CmdError, CmdResult};
use crate::reply::Reply;

/// Instructions between two checks of the time limit and the kill flag.
const HOOK_EVERY: u32 = 10_000;
/// Default busy threshold (Redis's `busy-reply-threshold`, formerly `lua-time-limit`).
const DEFAULT_BUSY_MS: u64 = 5000;

/// An error raised from Rust that Lua code sees as a Redis error table (`{err = text}`), the
/// way Redis raises `redis.call` failures. `text` carries its error code (`ERR ...`).
#[derive(Debug, Clone)]
pub struct RedisError(pub String);

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedisError {}

/// A Redis error table raised from Rust.
pub(crate) fn redis_error(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(RedisError(text.into()))
}

/// A plain Lua error (a string, as `luaL_error` raises from C functions).
pub(crate) fn lua_error(text: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(text.into())
}

/// What an error raised from Rust means to the script.
pub(crate) enum RaisedError {
    /// A Redis error table with this `err` text.
    Table(String),
    /// A Lua string error.
    Plain(String),
}

/// Classifies an mlua error seen inside Lua (callbacks wrap errors in `CallbackError`).
pub(crate) fn classify(e: &mlua::Error) -> RaisedError {
    match e {
        mlua::Error::CallbackError { cause, .. } => classify(cause),
        mlua::Error::ExternalError(x) => match x.downcast_ref::<RedisError>() {
            Some(r) => RaisedError::Table(r.0.clone()),
            None => RaisedError::Plain(x.to_string()),
        },
        mlua::Error::RuntimeError(s) => RaisedError::Plain(s.clone()),
        mlua::Error::MemoryError(s) => RaisedError::Plain(s.clone()),
        other => RaisedError::Plain(other.to_string()),
    }
}

/// A compiled script.
struct Script {
    func: Function,
    /// The source, kept so snapshots can carry the script cache.
    body: Vec<u8>,
    /// Its shebang flags.
    flags: ShebangFlags,
}

/// What a `#!lua flags=...` line says (all false without a shebang: Redis's EVAL compatibility
/// mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ShebangFlags {
    /// The script has a shebang line.
    shebang: bool,
    /// `no-writes`.
    no_writes: bool,
    /// `allow-oom`.
    allow_oom: bool,
}

/// The state of the script being run, kept in the VM's app data for `redis.*` and the hook.
pub(crate) struct Run {
    store: *mut Store,
    env: *mut Env,
    /// The client `redis.call` runs commands with.
    pub client: Client,
    /// EVAL_RO / EVALSHA_RO / `no-writes`: write commands are refused.
    pub read_only: bool,
    /// `allow-oom`: commands that grow memory run even over `maxmemory`.
    pub allow_oom: bool,
    /// Protocol of replies handed to Lua (`redis.setresp`).
    pub resp: u8,
    pub ctl: Arc<ScriptControl>,
    started: Instant,
    busy_after: Duration,
}

// SAFETY: `store` and `env` point at values borrowed mutably by `Scripting::run` for exactly the
// duration of one script, on the thread that holds the engine lock; the `Run` is removed from the
// VM before that borrow ends, and the VM only ever runs on the thread that holds the lock.
unsafe impl Send for Run {}

impl Run {
    /// The locked store, the caller's environment and the script client, for one `redis.call`.
    pub(crate) fn parts(&mut self) -> (&mut Store, &mut Env, &mut Client) {
        // SAFETY: see the `Send` impl above; nothing else touches them while the script runs
        // (the Scripting state itself was taken out of the store for the run).
        unsafe { (&mut *self.store, &mut *self.env, &mut self.client) }
    }

    /// The caller's environment (for `redis.log`).
    pub(crate) fn env(&mut self) -> &mut Env {
        // SAFETY: as in `parts`.
        unsafe { &mut *self.env }
    }
}

/// One engine's Lua VM and script cache.
pub struct Scripting {
    lua: Lua,
    scripts: HashMap<String, Script>,
    /// The real globals table, behind the read-only proxy scripts see; KEYS and ARGV live here.
    globals: Table,
    /// The message handler every script runs under.
    handler: Function,
    /// The protected-call primitive used to run scripts.
    xpcall: Function,
    memory_limit: usize,
}

/// How a script is selected: by body (EVAL) or by SHA1 (EVALSHA).
#[derive(Clone, Copy, PartialEq)]
pub enum Source {
    /// EVAL / EVAL_RO.
    Body,
    /// EVALSHA / EVALSHA_RO.
    Sha,
}

/// SHA1 of `data` as 40 lower-case hex digits.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in digest.iter() {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    s
}

impl Scripting {
    /// A fresh VM with Redis's libraries and sandbox.
    pub fn new() -> Result<Scripting, CmdError> {
        Self::build().map_err(|e| CmdError::err(format!("Lua initialisation failed: {e}")))
    }

    fn build() -> mlua::Result<Scripting> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        // The plain xpcall: the sandbox replaces the one scripts see.
        let xpcall: Function = lua.globals().raw_get("xpcall")?;
        let (globals, handler) = sandbox::install(&lua)?;
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), hook)?;
        Ok(Scripting {
            lua,
            scripts: HashMap::new(),
            globals,
            handler,
            xpcall,
            memory_limit: 0,
        })
    }

    /// Applies `lua-memory-limit` (bytes, 0 for none) from the engine's config.
    fn apply_memory_limit(&mut self, store: &Store) {
        let limit = config_u64(store, &["lua-memory-limit"]).unwrap_or(0) as usize;
        if limit != self.memory_limit {
            // An error keeps the old limit; the setter only fails on allocators mlua does not own.
            if self.lua.set_memory_limit(limit).is_ok() {
                self.memory_limit = limit;
            }
        }
    }

    /// Compiles `body` (if not cached yet) and returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            let script = self.compile(body)?;
            self.scripts.insert(sha.clone(), script);
        }
        Ok(sha)
    }

    fn compile(&self, body: &[u8]) -> Result<Script, CmdError> {
        let (flags, code) = parse_shebang(body)?;
        let func = self
            .lua
            .load(&code[..])
            .set_name("@user_script")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                CmdError::err(format!(
                    "Error compiling script (new function): {}",
                    msg.trim_end()
                ))
            })?;
        Ok(Script {
            func,
            body: body.to_vec(),
            flags,
        })
    }

    /// True when a script with this SHA1 (any case) is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
    }

    /// Runs a cached script. `caller` gives the database the script starts in.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        sha: &str,
        store: &mut Store,
        env: &mut Env,
        caller_db: usize,
        keys: Vec<Vec<u8>>,
        argv: Vec<Vec<u8>>,
        read_only: bool,
    ) -> Reply {
        let Some(script) = self.scripts.get(sha) else {
            return Reply::Error(NOSCRIPT.into());
        };
        let func = script.func.clone();
        let flags = script.flags;
        let read_only = read_only || flags.no_writes;
        // A script declaring its flags is refused up front when it may write and memory is over
        // the limit; one without (compatibility mode) only when it first tries to grow memory.
        if env.oom && flags.shebang && !flags.no_writes && !flags.allow_oom {
            return Reply::Error(CmdError::Oom.text());
        }
        let busy_after = Duration::from_millis(
            config_u64(store, &["busy-reply-threshold", "lua-time-limit"])
                .unwrap_or(DEFAULT_BUSY_MS),
        );
        if let Err(e) = self.set_keys_argv(&keys, &argv) {
            return Reply::Error(format!("ERR {e}"));
        }
        let ctl = store.script_ctl.clone();
        ctl.wrote.store(false, Ordering::Release);
        ctl.kill.store(false, Ordering::Release);
        ctl.running.store(true, Ordering::Release);
        let mut client = Client::new(0);
        client.is_script = true;
        client.db = caller_db;
        let was_in_script = env.in_script;
        env.in_script = true;
        self.lua.set_app_data(Run {
            store: store as *mut Store,
            env: env as *mut Env,
            client,
            read_only,
            allow_oom: flags.allow_oom,
            resp: 2,
            ctl: ctl.clone(),
            started: Instant::now(),
            busy_after,
        });
        let outcome = self
            .xpcall
            .call::<(bool, Value)>((func, self.handler.clone()));
        let run = self.lua.remove_app_data::<Run>();
        env.in_script = was_in_script;
        let resp = run.as_ref().map(|r| r.resp).unwrap_or(2);
        let reply = match outcome {
            Ok((true, v)) => convert::lua_to_reply(&v, resp, 0),
            Ok((false, Value::Table(t))) => Reply::Error(convert::error_table_text(&t, Some(sha))),
            Ok((false, v)) => Reply::Error(format!("ERR {}", convert::display(&v))),
            Err(e) => Reply::Error(match classify(&e) {
                RaisedError::Table(t) => t,
                RaisedError::Plain(p) => format!("ERR {p}"),
            }),
        };
        if reply.is_error() && self.memory_limit > 0 {
            // A script that hit the memory limit leaves garbage behind: reclaim it now, so the
            // next script (or compilation) does not fail for it.
            let _ = self.lua.gc_collect();
        }
        ctl.running.store(false, Ordering::Release);
        ctl.busy.store(false, Ordering::Release);
        ctl.kill.store(false, Ordering::Release);
        ctl.wrote.store(false, Ordering::Release);
        // Redis drops KEYS/ARGV references with the call frame; do the same so big arguments
        // do not stay alive until the next script.
        let _ = self.globals.raw_set("KEYS", Value::Nil);
        let _ = self.globals.raw_set("ARGV", Value::Nil);
        reply
    }

    fn set_keys_argv(&self, keys: &[Vec<u8>], argv: &[Vec<u8>]) -> mlua::Result<()> {
        let k = self.lua.create_table_with_capacity(keys.len(), 0)?;
        for (i, key) in keys.iter().enumerate() {
            k.raw_set(i + 1, self.lua.create_string(key)?)?;
        }
        let a = self.lua.create_table_with_capacity(argv.len(), 0)?;
        for (i, arg) in argv.iter().enumerate() {
            a.raw_set(i + 1, self.lua.create_string(arg)?)?;
        }
        self.globals.raw_set("KEYS", k)?;
        self.globals.raw_set("ARGV", a)?;
        Ok(())
    }
}

/// The VM hook, every [`HOOK_EVERY`] instructions: stops a killed script and marks a slow one
/// busy, so other callers get BUSY instead of waiting.
fn hook(lua: &Lua, _debug: &mlua::debug::Debug) -> mlua::Result<VmState> {
    let Some(run) = lua.app_data_ref::<Run>() else {
        return Ok(VmState::Continue);
    };
    if run.ctl.kill.load(Ordering::Acquire) {
        // The flag stays set until the script ends, so a pcall in the script cannot swallow it.
        return Err(redis_error("ERR Script killed by user with SCRIPT KILL..."));
    }
    if !run.ctl.busy.load(Ordering::Relaxed) && run.started.elapsed() >= run.busy_after {
        run.ctl.busy.store(true, Ordering::Release);
    }
    Ok(VmState::Continue)
}

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn config_u64(store: &Store, names: &[&str]) -> Option<u64> {
    names
        .iter()
        .find_map(|n| store.config.get(*n))
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
}

/// Splits a `#!lua [flags=...]` first line off `body`. Returns the flags and the code to compile,
/// with the shebang line blanked so line numbers stay those of the body.
fn parse_shebang(body: &[u8]) -> Result<(ShebangFlags, std::borrow::Cow<'_, [u8]>), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((ShebangFlags::default(), std::borrow::Cow::Borrowed(body)));
    }
    let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {line}"
        )));
    }
    let mut flags = ShebangFlags {
        shebang: true,
        ..ShebangFlags::default()
    };
    for opt in parts {
        let Some(list) = opt.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {opt}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                _ => {
                    return Err(CmdError::err(format!(
                        "Unexpected flag in script shebang: {flag}"
                    )))
                }
            }
        }
    }
    Ok((flags, std::borrow::Cow::Owned(body[end..].to_vec())))
}

/// Takes the engine's scripting state out of the store (creating it on first use). It must be
/// put back with [`put_back`]; while it is out, `redis.call` can borrow the store freely.
fn take(store: &mut Store) -> Result<Box<Scripting>, CmdError> {
    match store.scripting.take().map(|b| b.downcast::<Scripting>()) {
        Some(Ok(s)) => Ok(s),
        _ => Ok(Box::new(Scripting::new()?)),
    }
}

fn put_back(store: &mut Store, s: Box<Scripting>) {
    store.scripting = Some(s);
}

/// The bodies of every cached script (for snapshots), in SHA1 order.
pub fn cached_bodies(store: &Store) -> Vec<Vec<u8>> {
    let Some(s) = store
        .scripting
        .as_ref()
        .and_then(|b| b.downcast_ref::<Scripting>())
    else {
        return Vec::new();
    };
    let mut shas: Vec<&String> = s.scripts.keys().collect();
    shas.sort();
    shas.iter()
        .map(|sha| s.scripts[*sha].body.clone())
        .collect()
}

/// Refills the script cache from a snapshot; a body that no longer compiles is skipped.
pub fn preload(store: &mut Store, bodies: Vec<Vec<u8>>) {
    if bodies.is_empty() {
        return;
    }
    let Ok(mut s) = take(store) else { return };
    for b in bodies {
        let _ = s.load(&b);
    }
    put_back(store, s);
}

/// `EVAL script numkeys [key ...] [arg ...]` and its `EVALSHA` / `_RO` variants.
pub fn eval_command(ctx: &mut Ctx, mut args: Args, source: Source, read_only: bool) -> CmdResult {
    let script = args.next_bytes()?;
    let numkeys = parse_i64(&args.next_bytes()?)?;
    if numkeys < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let mut rest = args.rest();
    if numkeys as u64 > rest.len() as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let argv = rest.split_off(numkeys as usize);
    let keys = rest;
    let mut s = take(ctx.store)?;
    s.apply_memory_limit(ctx.store);
    let sha = match source {
        Source::Body => s.load(&script),
        Source::Sha => {
            let sha = String::from_utf8_lossy(&script).to_ascii_lowercase();
            if s.scripts.contains_key(&sha) {
                Ok(sha)
            } else {
                Err(CmdError::raw(NOSCRIPT))
            }
        }
    };
    let reply = match sha {
        Ok(sha) => Ok(s.run(
            &sha,
            ctx.store,
            ctx.env,
            ctx.client.db,
            keys,
            argv,
            read_only,
        )),
        Err(e) => Err(e),
    };
    put_back(ctx.store, s);
    reply
}

/// `SCRIPT LOAD script`
pub fn script_load(ctx: &mut Ctx, body: &[u8]) -> CmdResult {
    let mut s = take(ctx.store)?;
    s.apply_memory_limit(ctx.store);
    let r = s.load(body);
    put_back(ctx.store, s);
    Ok(Reply::Bulk(r?.into_bytes()))
}

/// `SCRIPT EXISTS sha1 [sha1 ...]`
pub fn script_exists(ctx: &mut Ctx, shas: &[Vec<u8>]) -> CmdResult {
    let out = match ctx
        .store
        .scripting
        .as_ref()
        .and_then(|b| b.downcast_ref::<Scripting>())
    {
        Some(s) => shas
            .iter()
            .map(|h| Reply::Int(s.exists(h) as i64))
            .collect(),
        None => shas.iter().map(|_| Reply::Int(0)).collect(),
    };
    Ok(Reply::Array(out))
}

/// `SCRIPT FLUSH [ASYNC|SYNC]`: forgets every script and starts a fresh VM (as Redis does).
pub fn script_flush(ctx: &mut Ctx, mode: Option<&[u8]>) -> CmdResult {
    if let Some(m) = mode {
        if !(eq_kw(m, "ASYNC") || eq_kw(m, "SYNC")) {
            return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
        }
    }
    ctx.store.scripting = None;
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests;
