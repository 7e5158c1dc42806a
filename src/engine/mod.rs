//! The engine: all databases and shared state behind one lock, and the entry points the front
//! doors call.
//!
//! Locking rule (see ARCHITECTURE.md): whoever holds the engine lock never touches Python and never
//! waits for anything but the lock's own release. Wake-ups gathered under the lock run after it is
//! released.

pub mod access;
pub mod blocking;
pub mod client;
pub mod clock;
pub mod cow;
pub mod db;
pub mod evict;
pub mod expiry;
pub mod pubsub;
pub mod stats;
pub mod waker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::{Mutex, MutexGuard};

use crate::cmd::dispatch;
use crate::reply::Reply;
use blocking::Blocking;
pub use client::{Client, ClientInfo};
pub use clock::{Clock, ManualClock, SystemClock};
pub use db::Db;
pub use stats::Stats;
use waker::Wakes;

/// The locked store.
pub type MutexGuardStore<'a> = MutexGuard<'a, Store>;

/// Engine settings fixed at creation.
pub struct EngineOptions {
    /// Number of databases (SELECT range).
    pub databases: usize,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Run the background active-expiry thread.
    pub active_expiry: bool,
    /// Snapshot + log persistence (used by [`Engine::open`]).
    pub persistence: Option<crate::persistence::Config>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            databases: 16,
            clock: Arc::new(SystemClock),
            active_expiry: true,
            persistence: None,
        }
    }
}

/// A client watching a key: its id and the flag EXEC checks.
pub type Watcher = (u64, Arc<AtomicBool>);

/// Everything the engine lock protects.
pub struct Store {
    /// The databases.
    pub dbs: Vec<Db>,
    /// Access clock and LFU parameters shared by the databases.
    pub access: Arc<access::AccessClock>,
    /// `maxmemory` settings and the eviction pool.
    pub evict: evict::Eviction,
    /// The allocator's count when the engine started (`used_memory_startup`).
    pub startup_allocated: usize,
    /// Clients blocked on keys.
    pub blocking: Blocking,
    /// WATCHed keys: (db, key) -> dirty flags of the watching clients.
    pub watched: HashMap<(usize, Vec<u8>), Vec<Watcher>>,
    /// Connected clients, by id.
    pub clients: HashMap<u64, ClientInfo>,
    /// Pub/sub registry.
    pub pubsub: pubsub::PubSub,
    /// Writes since the last save.
    pub dirty: u64,
    /// Counters.
    pub stats: Stats,
    /// SLOWLOG entries and settings.
    pub slowlog: stats::SlowLog,
    /// CONFIG values that are not typed fields elsewhere, by lower-case name.
    pub config: HashMap<String, Vec<u8>>,
    /// Engine start, Unix ms.
    pub started_ms: i64,
    /// Write commands of the running top-level command, for the append-only log.
    pub oplog: crate::persistence::OpLog,
    /// Attached persistence (data files, log writer), if any.
    pub persist: Option<crate::persistence::Attached>,
    /// The Lua scripting state (VM and script cache), created on first use. Opaque here: it
    /// belongs to the `scripting` front door, which the engine must not depend on.
    pub scripting: Option<Box<dyn std::any::Any + Send>>,
    /// The running script's flags, shared with [`Engine`] so they can be read without the lock.
    pub script_ctl: Arc<ScriptControl>,
}

impl Store {
    pub(crate) fn new(opts: &EngineOptions) -> Store {
        let access = Arc::new(access::AccessClock::default());
        access.set_now(opts.clock.now_ms());
        Store {
            dbs: (0..opts.databases)
                .map(|_| Db::new(access.clone()))
                .collect(),
            access,
            evict: Default::default(),
            startup_allocated: crate::alloc::allocated(),
            blocking: Blocking::default(),
            watched: HashMap::new(),
            clients: HashMap::new(),
            pubsub: pubsub::PubSub::default(),
            dirty: 0,
            stats: Stats::default(),
            slowlog: Default::default(),
            config: pubsub::DEFAULT_CONFIG
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            started_ms: opts.clock.now_ms(),
            oplog: Default::default(),
            persist: None,
            scripting: None,
            script_ctl: Arc::default(),
        }
    }
}

/// What other threads may know about a running Lua script without taking the engine lock: the
/// script holds it for its whole run, so BUSY replies and SCRIPT KILL are answered from here.
#[derive(Default)]
pub struct ScriptControl {
    /// A script is running.
    pub running: AtomicBool,
    /// The running script passed the busy threshold: other callers get BUSY instead of waiting.
    pub busy: AtomicBool,
    /// SCRIPT KILL asked the running script to stop.
    pub kill: AtomicBool,
    /// The running script executed a write command (it can no longer be killed).
    pub wrote: AtomicBool,
}

/// The reply to anything but SCRIPT KILL while a script is busy (Redis 7.2's text for EVAL).
pub const BUSY_ERROR: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// Commands Redis still runs while a script is busy (its `allow-busy` flag) that need the store:
/// front doors wait for the lock for these instead of replying BUSY (HELLO only when it
/// authenticates or names the client).
const WAIT_WHEN_BUSY: &[&str] = &[
    "auth", "hello", "multi", "discard", "watch", "unwatch", "quit", "reset",
];

/// True for commands that may run a Lua script (the EVAL family, or EXEC with one queued): front
/// doors run them where holding the lock for a long time stalls nobody else (Python threads
/// with the GIL released, socket tasks off the async worker threads).
pub fn may_run_script(args: &[Vec<u8>]) -> bool {
    args.first().is_some_and(|n| {
        n.len() >= 4 && n[..4].eq_ignore_ascii_case(b"eval")
            || n.eq_ignore_ascii_case(b"exec")
            || n.eq_ignore_ascii_case(b"fcall")
            || n.eq_ignore_ascii_case(b"fcall_ro")
    })
}

/// Per-call execution environment: frozen time and the wake-ups to run after unlocking.
pub struct Env {
    /// Time of this call in Unix ms (frozen for the whole command, EXEC or script).
    pub now_ms: i64,
    /// Same instant in microseconds.
    pub now_us: i64,
    /// Wake-ups to run once the lock is released.
    pub wakes: Wakes,
    /// Running inside EXEC.
    pub in_exec: bool,
    /// Running inside a Lua script.
    pub in_script: bool,
    /// Re-running a blocked command after a signal.
    pub block_retry: bool,
    /// The blocked command's deadline passed: reply with the timeout reply.
    pub block_timed_out: bool,
    /// The waiter whose command is being re-run (see `Ctx::touched`).
    pub retrying: Option<Arc<blocking::Waiter>>,
    /// `redis.log` messages (level 0-3, text), handed to the front door's logger after unlocking.
    pub script_logs: Vec<(u8, Vec<u8>)>,
    /// Memory was over `maxmemory` (and could not be freed) when the top-level command started:
    /// a script may then not start writing with a command that grows memory.
    pub oom: bool,
    /// How long the last command dispatched with this environment ran (µs), so a front door
    /// running a batch can advance its clock without reading it again.
    pub took_us: u64,
    /// When the command dispatched next started (the previous one's end, from a front door
    /// running a batch); read from the clock when None.
    pub started: Option<std::time::Instant>,
    /// When the last command dispatched with this environment ended.
    pub ended: Option<std::time::Instant>,
}

impl Env {
    /// An environment at time `now_us`.
    pub fn new(now_us: i64) -> Env {
        Env {
            now_ms: now_us / 1000,
            now_us,
            wakes: Wakes::default(),
            in_exec: false,
            in_script: false,
            block_retry: false,
            block_timed_out: false,
            retrying: None,
            script_logs: Vec::new(),
            oom: false,
            took_us: 0,
            started: None,
            ended: None,
        }
    }
}

/// Where a blocked client stands.
pub enum BlockStep {
    /// The command completed (served, timed out or unblocked).
    Done(Reply),
    /// Still blocked; `Some(ms)` is the time left before the deadline.
    Waiting(Option<i64>),
    /// CLIENT KILL ended the wait: the connection is to be closed.
    Killed,
}

/// An engine: shared by every client that should see the same data.
pub struct Engine {
    store: Mutex<Store>,
    clock: Arc<dyn Clock>,
    next_client_id: AtomicU64,
    expiry: Arc<expiry::ExpiryControl>,
    script_ctl: Arc<ScriptControl>,
    /// Clients opened but not yet in `Store::clients`: opening a connection must not wait for
    /// the store lock, which a long script may hold. Moved in by whoever locks next.
    pending_clients: Mutex<Vec<(u64, ClientInfo)>>,
    has_pending_clients: AtomicBool,
}

impl Engine {
    /// Creates an engine (and its active-expiry thread when enabled). `opts.persistence` is
    /// ignored: use [`Engine::open`] for that.
    pub fn new(opts: EngineOptions) -> Arc<Engine> {
        let store = Store::new(&opts);
        Engine::from_store(store, &opts)
    }

    /// Wraps a prepared store and starts the active-expiry thread when enabled.
    fn from_store(store: Store, opts: &EngineOptions) -> Arc<Engine> {
        let script_ctl = store.script_ctl.clone();
        let engine = Arc::new(Engine {
            store: Mutex::new(store),
            clock: opts.clock.clone(),
            next_client_id: AtomicU64::new(1),
            expiry: Arc::default(),
            script_ctl,
            pending_clients: Mutex::new(Vec::new()),
            has_pending_clients: AtomicBool::new(false),
        });
        if opts.active_expiry {
            expiry::spawn(&engine);
        }
        engine
    }

    /// Creates an engine and, with `opts.persistence`, loads its data files first (snapshot, then
    /// log replay). Returns warnings to report (a torn log tail, files moved aside).
    pub fn open(
        mut opts: EngineOptions,
    ) -> Result<(Arc<Engine>, Vec<String>), crate::persistence::PersistError> {
        let Some(cfg) = opts.persistence.take() else {
            return Ok((Engine::new(opts), Vec::new()));
        };
        let mut store = Store::new(&opts);
        let warnings = crate::persistence::open(cfg, &mut store, opts.clock.now_ms())?;
        let engine = Engine::from_store(store, &opts);
        crate::persistence::spawn(&engine);
        engine.expiry.note_ttls(&engine.lock());
        Ok((engine, warnings))
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Locks the store (blocking).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.admit_clients(self.store.lock())
    }

    /// Locks the store if it is free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, Store>> {
        self.store.try_lock().map(|g| self.admit_clients(g))
    }

    /// Locks the store if it becomes free within `d`.
    pub fn try_lock_for(&self, d: std::time::Duration) -> Option<MutexGuard<'_, Store>> {
        self.store.try_lock_for(d).map(|g| self.admit_clients(g))
    }

    /// Moves clients opened meanwhile into `Store::clients` (CLIENT LIST, CLIENT KILL).
    fn admit_clients<'a>(&self, mut store: MutexGuard<'a, Store>) -> MutexGuard<'a, Store> {
        if self.has_pending_clients.load(Ordering::Acquire) {
            let mut pending = self.pending_clients.lock();
            self.has_pending_clients.store(false, Ordering::Release);
            for (id, info) in pending.drain(..) {
                store.stats.connections_received += 1;
                store.clients.insert(id, info);
            }
        }
        store
    }

    /// Locks the store, unless a script holding it has run past its busy threshold (then None:
    /// the caller replies with [`Engine::busy_reply`] instead of waiting).
    pub fn lock_unless_busy(&self) -> Option<MutexGuard<'_, Store>> {
        loop {
            if let Some(g) = self.store.try_lock_for(std::time::Duration::from_millis(5)) {
                return Some(self.admit_clients(g));
            }
            if self.script_ctl.busy.load(Ordering::Acquire) {
                return None;
            }
        }
    }

    /// True while a script holding the lock has run past its busy threshold.
    pub fn script_busy(&self) -> bool {
        self.script_ctl.busy.load(Ordering::Acquire)
    }

    /// The reply to `args` from `client` while a script is busy, without the lock, in Redis's
    /// order: unknown commands, wrong arity and missing AUTH are refused as usual (not counted in
    /// the stats, which need the lock); SCRIPT KILL is served from the script's flags (the script
    /// itself stops at its next hook check); EXEC aborts the transaction; anything else gets BUSY
    /// (and fails an open transaction). None for the commands Redis still runs while busy (AUTH,
    /// MULTI, WATCH, ...): the caller waits for the lock and runs them.
    pub fn busy_reply(&self, client: &mut Client, args: &[Vec<u8>]) -> Option<Reply> {
        let refuse = |client: &mut Client, e: String| {
            if let Some(m) = client.multi.as_mut() {
                m.aborted = true;
            }
            Some(Reply::Error(e))
        };
        let Some(name) = args.first() else {
            return Some(Reply::Error("ERR empty command".into()));
        };
        let Some(spec) = crate::cmd::table().get(name) else {
            return refuse(client, dispatch::unknown_command(args).text());
        };
        if !spec.arity_ok(args.len()) {
            let e = crate::error::CmdError::WrongArity(spec.name.into()).text();
            return refuse(client, e);
        }
        if spec.name == "hello" && args.len() <= 2 && client.authenticated {
            // Every new redis-py 8 connection starts with HELLO 3: answered from the client alone.
            use crate::commands::connection::{hello_protover, hello_reply};
            if let Some(v) = args.get(1) {
                match hello_protover(v) {
                    Ok(resp) => client.resp = resp,
                    Err(e) => return Some(Reply::Error(e.text())),
                }
            }
            return Some(hello_reply(client.id, client.resp));
        }
        if WAIT_WHEN_BUSY.contains(&spec.name) {
            return None;
        }
        if !client.authenticated {
            return Some(Reply::Error("NOAUTH Authentication required.".into()));
        }
        let sub = |w: &str| {
            args.get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
        };
        if spec.name == "script" && sub("KILL") && args.len() == 2 {
            let ctl = &self.script_ctl;
            if !ctl.running.load(Ordering::Acquire) {
                return Some(Reply::Error(
                    "NOTBUSY No scripts in execution right now.".into(),
                ));
            }
            if ctl.wrote.load(Ordering::Acquire) {
                return Some(Reply::Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into()));
            }
            ctl.kill.store(true, Ordering::Release);
            return Some(Reply::ok());
        }
        if spec.name == "exec" {
            // Redis refuses EXEC itself while busy, discarding the transaction.
            client.multi = None;
            return Some(Reply::Error(format!(
                "EXECABORT Transaction discarded because of: {BUSY_ERROR}"
            )));
        }
        if let Some(m) = client.multi.as_mut() {
            m.aborted = true;
        }
        Some(Reply::Error(BUSY_ERROR.into()))
    }

    /// A fresh environment at the current time.
    pub fn env(&self) -> Env {
        Env::new(self.clock.now_us())
    }

    /// Opens a client session and registers it for CLIENT LIST.
    pub fn open_client(&self) -> Client {
        self.open_client_resp(2)
    }

    /// Opens a client session speaking `resp`, without waiting for the store lock (it joins
    /// `Store::clients` at the next lock).
    pub fn open_client_resp(&self, resp: u8) -> Client {
        self.open_client_with(resp, String::new(), None)
    }

    /// [`Engine::open_client_resp`] for a client with an address (shown by CLIENT LIST) and a
    /// waker CLIENT KILL calls, as a socket connection has; never waits for the store lock.
    pub fn open_client_with(
        &self,
        resp: u8,
        addr: String,
        kill_waker: Option<Arc<dyn waker::Waker>>,
    ) -> Client {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let mut client = Client::new(id);
        client.resp = resp;
        let now = self.clock.now_ms();
        let info = ClientInfo {
            created_ms: now,
            last_ms: now,
            resp,
            killed: client.killed.clone(),
            addr,
            kill_waker,
            ..ClientInfo::default()
        };
        self.pending_clients.lock().push((id, info));
        self.has_pending_clients.store(true, Ordering::Release);
        client
    }

    /// Mirrors a client's protocol into CLIENT LIST.
    pub fn set_client_resp(&self, client: &Client) {
        if let Some(info) = self.lock().clients.get_mut(&client.id) {
            info.resp = client.resp;
        }
    }

    /// Closes a client: unblocks it, forgets its WATCHes, subscriptions and CLIENT LIST entry.
    pub fn close_client(&self, client: &mut Client) {
        let mut env = self.env();
        {
            let mut store = self.lock();
            self.close_client_locked(&mut store, client, &mut env);
        }
        env.wakes.run();
    }

    /// [`Engine::close_client`] on an already locked store; the caller runs `env.wakes` after
    /// unlocking.
    pub fn close_client_locked(&self, store: &mut Store, client: &mut Client, env: &mut Env) {
        reset_client_state(store, client, env);
        store.clients.remove(&client.id);
        self.settle(store, env);
    }

    /// After engine work outside a command (a hand-back, a closed client): logs what changed.
    fn settle(&self, store: &mut Store, env: &mut Env) {
        blocking::serve_ready(store, env);
        self.expiry.note_ttls(store);
        // Nobody to tell of a failed log write here; the next command's reply will.
        let _ = crate::persistence::after_command(store, env.now_us);
    }

    /// Runs one command under the lock. Returns None when the client blocked (its state is then in
    /// `client.blocked`; call [`Engine::block_step`] to wait for it).
    pub fn execute(&self, client: &mut Client, args: Vec<Vec<u8>>) -> Option<Reply> {
        let mut env = self.env();
        let r = {
            let mut store = self.lock();
            self.execute_locked(&mut store, client, args, &mut env)
        };
        env.wakes.run();
        r
    }

    /// Runs one command on an already locked store; the caller runs `env.wakes` after unlocking.
    pub fn execute_locked(
        &self,
        store: &mut Store,
        client: &mut Client,
        args: Vec<Vec<u8>>,
        env: &mut Env,
    ) -> Option<Reply> {
        if store.persist.is_some() || store.oplog.closed {
            if let Some(refused) = crate::persistence::refuse_write(store, &args) {
                return Some(refused);
            }
        }
        let mut r = dispatch::dispatch(store, client, args, env);
        // What follows the command is cheap unless it serves blocked clients or waits for an
        // fsync: then the next command's time is read afresh rather than chained to this end.
        if store.blocking.has_ready() || crate::persistence::fsyncs_each_write(store) {
            env.ended = None;
        }
        // Clients blocked on keys this command made ready are served now, before anybody else's
        // command (and logged in the same batch).
        blocking::serve_ready(store, env);
        crate::alloc::note_peak();
        self.expiry.note_ttls(store);
        if let Err(e) = crate::persistence::after_command(store, env.now_us) {
            // Not durable, so not acknowledged: the client sees why (Redis's MISCONF).
            if r.is_some() {
                r = Some(Reply::Error(e));
            }
        }
        r
    }

    /// Where a blocked client stands: completed (served, unblocked, killed), timed out (then
    /// its command runs once more for the timeout reply), or still waiting.
    pub fn block_step(&self, client: &mut Client) -> BlockStep {
        if let Some(step) = Engine::block_take(client) {
            return step;
        }
        let mut env = self.env();
        let step = {
            let mut store = self.lock();
            self.block_step_locked(&mut store, client, &mut env)
        };
        env.wakes.run();
        step
    }

    /// The blocked client's outcome if another client's command already completed it; needs no
    /// lock. None while it still waits (its deadline is checked by [`Engine::block_step`]).
    pub fn block_take(client: &mut Client) -> Option<BlockStep> {
        let outcome = client.blocked.as_ref()?.waiter.take_outcome()?;
        client.blocked = None;
        Some(match outcome {
            blocking::Outcome::Reply(r, _) => BlockStep::Done(r),
            blocking::Outcome::Killed => BlockStep::Killed,
        })
    }

    /// [`Engine::block_step`] on an already locked store.
    pub fn block_step_locked(
        &self,
        store: &mut Store,
        client: &mut Client,
        env: &mut Env,
    ) -> BlockStep {
        if let Some(step) = Engine::block_take(client) {
            return step;
        }
        let Some(b) = client.blocked.as_ref() else {
            return BlockStep::Done(Reply::Error("ERR client is not blocked".into()));
        };
        if b.deadline_ms.is_none_or(|d| env.now_ms < d) {
            return BlockStep::Waiting(b.deadline_ms.map(|d| d - env.now_ms));
        }
        // Timed out: the command runs once more to give its timeout reply.
        let w = b.waiter.clone();
        store.blocking.unregister(&w);
        client.blocked = None;
        let saved = (env.block_retry, env.block_timed_out, env.retrying.take());
        env.block_retry = true;
        env.block_timed_out = true;
        env.retrying = Some(w.clone());
        let r = dispatch::dispatch(store, client, w.args.clone(), env);
        (env.block_retry, env.block_timed_out, env.retrying) = saved;
        blocking::serve_ready(store, env);
        let r = match crate::persistence::after_command(store, env.now_us) {
            Err(e) if r.is_some() => Some(Reply::Error(e)),
            _ => r,
        };
        BlockStep::Done(r.unwrap_or(Reply::NilArray))
    }

    /// Gives up a blocked command (cancellation, disconnect). Nothing was consumed for it.
    pub fn cancel_block(&self, client: &mut Client) {
        let mut env = self.env();
        if client.blocked.is_some() {
            let mut store = self.lock();
            self.cancel_block_locked(&mut store, client, &mut env);
        }
        env.wakes.run();
    }

    /// [`Engine::cancel_block`] on an already locked store; the caller runs `env.wakes` after
    /// unlocking. A reply another client's write already parked for it is handed back.
    pub fn cancel_block_locked(&self, store: &mut Store, client: &mut Client, env: &mut Env) {
        if let Some(b) = client.blocked.take() {
            blocking::abandon(store, &b.waiter, env);
            self.settle(store, env);
        }
    }

    /// Drops MULTI, WATCH, blocking and subscriptions (RESET, reconnect after an error).
    pub fn reset_client(&self, client: &mut Client) {
        let mut env = self.env();
        {
            let mut store = self.lock();
            self.reset_client_locked(&mut store, client, &mut env);
        }
        env.wakes.run();
    }

    /// [`Engine::reset_client`] on an already locked store; the caller runs `env.wakes` after
    /// unlocking.
    pub fn reset_client_locked(&self, store: &mut Store, client: &mut Client, env: &mut Env) {
        reset_client_state(store, client, env);
        self.settle(store, env);
    }
}

/// Clears a client's transaction, watches, blocking and subscriptions.
pub fn reset_client_state(store: &mut Store, client: &mut Client, env: &mut Env) {
    client.multi = None;
    crate::commands::transactions::unwatch_all(store, client);
    if let Some(b) = client.blocked.take() {
        blocking::abandon(store, &b.waiter, env);
    }
    crate::commands::pubsub::unsubscribe_all(store, client, env);
}
