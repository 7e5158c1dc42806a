//! The socket front door: a RESP2/RESP3 server on a unix socket and/or loopback TCP, sharing the
//! engine (keyspace, blocked clients, pub/sub) with the in-process clients.
//!
//! Each connection is a tokio task with its own engine [`Client`]; commands go through the same
//! dispatcher as every other front door. A blocked command waits on a tokio `Notify` woken when
//! another client's write served it (the reply is parked in its waiter), while the task keeps
//! reading the socket so a client that disconnects mid-block is noticed (its wait is cancelled;
//! a reply parked but not yet sent is handed back).
//!
//! No runtime worker thread sleeps on the engine lock for long: a task that cannot take it
//! within a millisecond waits for the [`LockGate`] (while still reading its socket); commands that
//! may run a Lua script run in `block_in_place`; and while a script is past
//! `busy-reply-threshold` commands are answered from the engine's busy state (BUSY, SCRIPT KILL)
//! without the lock, as in-process clients are.

pub mod resp;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use crate::engine::pubsub::OutboxState;
use crate::engine::waker::Waker;
use crate::engine::waker::Wakes;
use crate::engine::{BlockStep, Client, Engine, Env, MutexGuardStore};
use crate::reply::Reply;
use resp::{encode, parse, Parsed};

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Unix socket path.
    pub unix_socket: Option<PathBuf>,
    /// Permissions of the unix socket (default 0o700).
    pub unix_perm: u32,
    /// TCP address to bind (host, port); port 0 picks a free port.
    pub tcp: Option<(String, u16)>,
    /// `requirepass`: clients must AUTH first.
    pub password: Option<Vec<u8>>,
    /// `proto-max-bulk-len`.
    pub max_bulk: i64,
    /// Largest reply backlog (bytes) a client may leave unread before it is disconnected.
    pub output_limit: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            unix_socket: None,
            unix_perm: 0o700,
            tcp: None,
            password: None,
            max_bulk: 512 * 1024 * 1024,
            output_limit: 256 * 1024 * 1024,
        }
    }
}

/// A running server; dropping it (or `close`) stops accepting and closes every connection.
pub struct ServerHandle {
    stop: tokio::sync::watch::Sender<bool>,
    stopped: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    gate: Arc<LockGate>,
    gate_thread: Option<std::thread::JoinHandle<()>>,
    /// The bound TCP port, if any.
    pub tcp_port: Option<u16>,
    /// The unix socket path, if any.
    pub unix_socket: Option<PathBuf>,
}

impl ServerHandle {
    /// Stops the server and waits for its thread.
    pub fn close(&mut self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            // A watch channel keeps the value, so a listener that was not waiting yet still sees it.
            let _ = self.stop.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.gate.stop();
        if let Some(t) = self.gate_thread.take() {
            let _ = t.join();
        }
        if let Some(p) = &self.unix_socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.close();
    }
}

/// Starts serving `engine`. Binding errors are returned at once.
pub fn serve(engine: Arc<Engine>, opts: ServeOptions) -> io::Result<ServerHandle> {
    if opts.unix_socket.is_none() && opts.tcp.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nothing to listen on",
        ));
    }
    if let Some((host, _)) = &opts.tcp {
        let loopback =
            matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") || host.starts_with("127.");
        if !loopback && opts.password.as_ref().is_none_or(|p| p.is_empty()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "refusing to listen on a non-loopback address without a password",
            ));
        }
    }
    let unix = match &opts.unix_socket {
        Some(path) => {
            if path.exists() {
                // A stale socket from a dead process is replaced; a live one is an error.
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("{} is in use", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            let l = std::os::unix::net::UnixListener::bind(path)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(opts.unix_perm))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };
    let tcp = match &opts.tcp {
        Some((host, port)) => {
            let l = std::net::TcpListener::bind((host.as_str(), *port))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };
    let tcp_port = tcp
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = Arc::new(AtomicBool::new(false));
    let gate = LockGate::new(engine.clone());
    let gate_thread = {
        let gate = gate.clone();
        std::thread::Builder::new()
            .name("burner-server-gate".into())
            .spawn(move || gate.run())?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        // One worker, as Redis has one event loop: the engine lock serialises commands anyway,
        // and a second worker only contended for it and for the cores the clients need
        // (redis-benchmark -P 16 ran 10-15% faster with one, same build, same run).
        // Scripts and other long waits leave it through `block_in_place`.
        .worker_threads(1)
        .thread_name("burner-server")
        .enable_all()
        .build()?;
    let (stop2, stopped2, opts2) = (stop_rx, stopped.clone(), Arc::new(opts.clone()));
    let gate2 = gate.clone();
    let thread = std::thread::Builder::new()
        .name("burner-server-main".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                if let Some(l) = unix.and_then(|l| tokio::net::UnixListener::from_std(l).ok()) {
                    let l = Arc::new(l);
                    let addr = format!(
                        "unix:{}",
                        opts2
                            .unix_socket
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    );
                    let accept = move || {
                        let (l, addr) = (l.clone(), addr.clone());
                        async move { l.accept().await.map(|(s, _)| (s, addr)) }
                    };
                    tasks.spawn(accept_loop(
                        accept,
                        engine.clone(),
                        gate2.clone(),
                        opts2.clone(),
                        stop2.clone(),
                        stopped2.clone(),
                    ));
                }
                if let Some(l) = tcp.and_then(|l| tokio::net::TcpListener::from_std(l).ok()) {
                    let l = Arc::new(l);
                    let accept = move || {
                        let l = l.clone();
                        async move {
                            let (s, peer) = l.accept().await?;
                            let _ = s.set_nodelay(true);
                            Ok((s, peer.to_string()))
                        }
                    };
                    tasks.spawn(accept_loop(
                        accept,
                        engine.clone(),
                        gate2.clone(),
                        opts2.clone(),
                        stop2.clone(),
                        stopped2.clone(),
                    ));
                }
                while tasks.join_next().await.is_some() {}
            });
        })?;
    Ok(ServerHandle {
        stop,
        stopped,
        thread: Some(thread),
        gate,
        gate_thread: Some(gate_thread),
        tcp_port,
        unix_socket: opts.unix_socket,
    })
}

/// Accepts connections (unix or TCP alike) until the stop signal, one task per connection; the
/// connections are aborted when the loop ends.
async fn accept_loop<S, F, Fut>(
    mut accept: F,
    engine: Arc<Engine>,
    gate: Arc<LockGate>,
    opts: Arc<ServeOptions>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    stopped: Arc<AtomicBool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = io::Result<(S, String)>>,
{
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            r = accept() => if let Ok((s, addr)) = r {
                conns.spawn(handle(
                    engine.clone(),
                    gate.clone(),
                    s,
                    addr,
                    opts.clone(),
                    stopped.clone(),
                ));
            },
        }
        if stopped.load(Ordering::SeqCst) {
            break;
        }
    }
    conns.abort_all();
}

struct NotifyWaker(Arc<Notify>);

impl Waker for NotifyWaker {
    fn wake(&self) {
        self.0.notify_one();
    }
}

/// Closes the client's engine state when the connection task ends (or is aborted).
struct ClientGuard {
    engine: Arc<Engine>,
    client: Client,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let (engine, client) = (&*self.engine, &mut self.client);
        let mut env = engine.env();
        match engine.try_lock_for(Duration::from_millis(1)) {
            Some(mut store) => engine.close_client_locked(&mut store, client, &mut env),
            // Held for long (a script): wait off the async worker threads.
            None => tokio::task::block_in_place(|| {
                let mut store = engine.lock();
                engine.close_client_locked(&mut store, client, &mut env)
            }),
        }
        env.wakes.run();
    }
}

/// Wakes socket tasks that found the engine lock held for long (a script, a big KEYS, a
/// snapshot capture) once it is free again, or once a script holding it turns busy (its clients
/// are then answered without the lock), so that no runtime worker thread sleeps on the lock and
/// other connections keep being read. One thread per server waits on the lock for all of them.
pub struct LockGate {
    engine: Arc<Engine>,
    /// Bumped at each release: tasks wait for it to change.
    generation: tokio::sync::watch::Sender<u64>,
    wanted: Mutex<bool>,
    cv: Condvar,
    stopping: AtomicBool,
}

impl LockGate {
    fn new(engine: Arc<Engine>) -> Arc<LockGate> {
        Arc::new(LockGate {
            engine,
            generation: tokio::sync::watch::channel(0).0,
            wanted: Mutex::new(false),
            cv: Condvar::new(),
            stopping: AtomicBool::new(false),
        })
    }

    /// A receiver that changes at the next release. Subscribe after a failed attempt and try
    /// again once it changes: a release in between still changes it.
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        let rx = self.generation.subscribe();
        *self.wanted.lock() = true;
        self.cv.notify_one();
        rx
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _g = self.wanted.lock();
        self.cv.notify_one();
    }

    fn run(&self) {
        loop {
            {
                let mut wanted = self.wanted.lock();
                while !*wanted && !self.stopping.load(Ordering::SeqCst) {
                    self.cv.wait(&mut wanted);
                }
                *wanted = false;
            }
            // A script that is busy already does not end the wait (its BUSY answers are given
            // without the lock); one turning busy does.
            let was_busy = self.engine.script_busy();
            loop {
                if self.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if self.engine.try_lock_for(Duration::from_millis(5)).is_some()
                    || (!was_busy && self.engine.script_busy())
                {
                    break;
                }
            }
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

/// The engine lock as a socket task may take it.
enum Locked<'a> {
    Got(MutexGuardStore<'a>),
    /// A script holding it is past its busy threshold.
    Busy,
    /// Held for longer than a task should wait on a worker thread: wait for the [`LockGate`].
    Contended,
}

/// Takes the engine lock if it is free within a millisecond; `may_block` (off the async worker
/// threads) waits for it, or for the script holding it to turn busy.
fn lock_engine(engine: &Engine, may_block: bool) -> Locked<'_> {
    if let Some(g) = engine.try_lock() {
        return Locked::Got(g);
    }
    if may_block {
        return match engine.lock_unless_busy() {
            Some(g) => Locked::Got(g),
            None => Locked::Busy,
        };
    }
    if engine.script_busy() {
        return Locked::Busy;
    }
    if let Some(g) = engine.try_lock_for(Duration::from_millis(1)) {
        return Locked::Got(g);
    }
    if engine.script_busy() {
        Locked::Busy
    } else {
        Locked::Contended
    }
}

/// Commands run per engine-lock acquisition: a pipeline shares one lock, bounded so other
/// clients (and in-process callers) are not starved behind a long pipeline.
const BATCH_MAX: usize = 256;
/// Unsent output beyond which no more commands run until some of it is written (the socket is
/// still read meanwhile, so a client that pipelines without reading never deadlocks with us).
const OUT_HIGH_WATER: usize = 1024 * 1024;
/// Redis's `client-query-buffer-limit`: unparsed input a client may leave before it is cut.
const QUERY_LIMIT: usize = 1024 * 1024 * 1024;
/// Buffers grown past this are given back once empty, so a burst does not pin memory.
const KEEP_CAPACITY: usize = 64 * 1024;

/// What the command runner found.
#[derive(PartialEq)]
enum Ran {
    /// Ran everything it could; wait for input or output progress.
    Idle,
    /// The client is blocked on its last command.
    Blocked,
    /// Reply sent (or queued), then close: QUIT, protocol error, killed by its own command.
    Close,
    /// The engine lock is held for long: try again when the [`LockGate`] says it is free.
    Contended,
}

/// One socket client: input and output buffers and the parsed-but-not-run commands.
struct Conn {
    engine: Arc<Engine>,
    g: ClientGuard,
    buf: Vec<u8>,
    /// Bytes of `buf` already parsed.
    start: usize,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    sent: usize,
    /// Commands parsed ahead of a blocked command, run once it completes.
    queue: std::collections::VecDeque<Item>,
    /// Effective hard output limit (bytes of unsent output), refreshed under the lock.
    out_limit: usize,
    max_bulk: i64,
    cap_limit: usize,
    notify: Arc<Notify>,
}

enum Item {
    Cmd(Vec<Vec<u8>>),
    /// A protocol error after the commands before it: reply with it, then close.
    Bad(String),
}

impl Conn {
    fn pending_out(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Parses whatever complete requests the input holds (at most a batch).
    fn parse_input(&mut self) {
        while self.queue.len() < BATCH_MAX {
            match parse(&self.buf[self.start..], self.max_bulk) {
                Parsed::Incomplete => break,
                Parsed::Empty(n) => self.start += n,
                Parsed::Command(args, used) => {
                    self.start += used;
                    self.queue.push_back(Item::Cmd(args));
                }
                Parsed::Error(e) => {
                    // Nothing after a protocol error is read: the connection closes.
                    self.start = self.buf.len();
                    self.queue.push_back(Item::Bad(format!("ERR {e}")));
                    break;
                }
            }
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::with_capacity(16 * 1024);
            }
        } else if self.start > KEEP_CAPACITY {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Runs queued commands under one engine lock, encoding each reply (after the pub/sub
    /// messages this client was sent before it, taken under the same lock so nothing published
    /// later can jump ahead of the reply). Batches that may run a script run off the async worker
    /// threads; while a script is busy, commands are answered from its busy state.
    fn run_queued(&mut self) -> Ran {
        if self.queue.is_empty() {
            return Ran::Idle;
        }
        let scripted = self
            .queue
            .iter()
            .any(|i| matches!(i, Item::Cmd(a) if crate::engine::may_run_script(a)));
        if scripted {
            tokio::task::block_in_place(|| self.run_queued_now(true))
        } else {
            self.run_queued_now(false)
        }
    }

    fn run_queued_now(&mut self, may_block: bool) -> Ran {
        let engine = self.engine.clone();
        let engine = &*engine;
        let mut store = match lock_engine(engine, may_block) {
            Locked::Got(g) => g,
            Locked::Busy => return self.answer_busy(),
            Locked::Contended => return Ran::Contended,
        };
        let mut wakes = Wakes::default();
        let mut ran = Ran::Idle;
        let client = &mut self.g.client;
        // One clock read per batch: each command's time is the batch's start plus what the
        // commands before it took (a batch runs in microseconds unless one of them is slow).
        let mut now_us = engine.clock().now_us();
        let mut ended = None;
        while let Some(item) = self.queue.pop_front() {
            let args = match item {
                Item::Cmd(a) => a,
                Item::Bad(e) => {
                    encode(&Reply::Error(e), client.resp, &mut self.out);
                    ran = Ran::Close;
                    break;
                }
            };
            let quit = args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"QUIT"));
            let mut env = Env::new(now_us);
            env.wakes = std::mem::take(&mut wakes);
            env.started = ended;
            let r = engine.execute_locked(&mut store, client, args, &mut env);
            wakes = std::mem::take(&mut env.wakes);
            // Chained while what ran was only the command; read afresh (like the timing, see
            // `execute_locked`) after one that served blocked clients or waited for an fsync.
            ended = env.ended;
            now_us = match ended {
                Some(_) => now_us + env.took_us as i64,
                None => engine.clock().now_us(),
            };
            if let Some(sub) = client.pubsub.as_ref() {
                for p in sub.drain() {
                    encode(&p.into_reply(), client.resp, &mut self.out);
                }
            }
            let Some(r) = r else {
                ran = Ran::Blocked;
                break;
            };
            encode(&r, client.resp, &mut self.out);
            if quit || client.killed.load(Ordering::Acquire) {
                ran = Ran::Close;
                break;
            }
            if self.out.len() - self.sent > OUT_HIGH_WATER {
                break;
            }
        }
        self.out_limit = match store.pubsub.normal_hard_limit {
            0 => self.cap_limit,
            n => (n as usize).min(self.cap_limit),
        };
        drop(store);
        wakes.run();
        if ran == Ran::Close {
            self.queue.clear();
        }
        ran
    }

    /// Answers queued commands while a script is busy, without the lock: BUSY, SCRIPT KILL, ...
    /// Stops at a command Redis runs even then (it waits for the lock).
    fn answer_busy(&mut self) -> Ran {
        while let Some(item) = self.queue.front() {
            let r = match item {
                Item::Cmd(args) => match self.engine.busy_reply(&mut self.g.client, args) {
                    Some(r) => r,
                    None => return Ran::Contended,
                },
                Item::Bad(e) => {
                    encode(&Reply::Error(e.clone()), self.g.client.resp, &mut self.out);
                    self.queue.clear();
                    return Ran::Close;
                }
            };
            self.queue.pop_front();
            encode(&r, self.g.client.resp, &mut self.out);
            if self.out.len() - self.sent > OUT_HIGH_WATER {
                break;
            }
        }
        Ran::Idle
    }

    /// Delivers the blocked command's reply if another client's write served it, or its timeout
    /// reply once the deadline passed. Needs the lock only for a timeout.
    fn step_block(&mut self) -> Blocked {
        let step = match Engine::block_take(&mut self.g.client) {
            Some(step) => step,
            None => {
                let Some(b) = self.g.client.blocked.as_ref() else {
                    return Blocked::Done;
                };
                let now = self.engine.clock().now_ms();
                match b.deadline_ms {
                    Some(d) if now >= d => {}
                    left => {
                        return Blocked::Until(left.map(|d| {
                            tokio::time::Instant::now()
                                + Duration::from_millis((d - now).max(0) as u64 + 1)
                        }))
                    }
                }
                let engine = self.engine.clone();
                let mut store = match lock_engine(&engine, false) {
                    Locked::Got(g) => g,
                    // The timeout reply needs the store: wait for the lock like any command.
                    Locked::Busy | Locked::Contended => return Blocked::Contended,
                };
                let mut env = engine.env();
                let step = engine.block_step_locked(&mut store, &mut self.g.client, &mut env);
                drop(store);
                env.wakes.run();
                step
            }
        };
        match step {
            BlockStep::Done(r) => {
                encode(&r, self.g.client.resp, &mut self.out);
                Blocked::Done
            }
            BlockStep::Killed => Blocked::Killed,
            BlockStep::Waiting(_) => Blocked::Contended,
        }
    }

    /// Moves buffered pub/sub messages to the output once earlier output is written (so a
    /// subscriber that stops reading fills its bounded outbox, not our buffer). Returns false
    /// when the subscriber was dropped for exceeding its limit; `arm` is set when nothing was
    /// buffered and the push waker is installed.
    fn take_pushes(&mut self, pushed: &Arc<Notify>, arm: &mut bool) -> bool {
        *arm = false;
        let Some(sub) = self.g.client.pubsub.clone() else {
            return true;
        };
        if self.pending_out() > 0 {
            return sub.state() != OutboxState::Overflowed;
        }
        let seq = sub.seq();
        let mut any = false;
        while self.out.len() < OUT_HIGH_WATER {
            let Some(p) = sub.pop() else { break };
            encode(&p.into_reply(), self.g.client.resp, &mut self.out);
            any = true;
        }
        if sub.state() == OutboxState::Overflowed {
            return false;
        }
        if !any {
            *arm = sub.set_waker_if_unchanged(seq, Arc::new(NotifyWaker(pushed.clone())));
            if !*arm {
                // Something arrived in between: come round again at once.
                pushed.notify_one();
                *arm = true;
            }
        }
        true
    }
}

async fn handle<S>(
    engine: Arc<Engine>,
    gate: Arc<LockGate>,
    stream: S,
    addr: String,
    opts: Arc<ServeOptions>,
    stopped: Arc<AtomicBool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let killed = Arc::new(Notify::new());
    let pushed = Arc::new(Notify::new());
    // Registered without the store lock, so a connection opens even while a script runs.
    let kill_waker: Arc<dyn Waker> = Arc::new(NotifyWaker(killed.clone()));
    let mut g = ClientGuard {
        client: engine.open_client_with(2, addr, Some(kill_waker)),
        engine: engine.clone(),
    };
    g.client.authenticated = opts.password.is_none();
    let mut c = Conn {
        engine,
        g,
        buf: Vec::with_capacity(16 * 1024),
        start: 0,
        out: Vec::with_capacity(16 * 1024),
        sent: 0,
        queue: Default::default(),
        out_limit: opts.output_limit,
        max_bulk: opts.max_bulk,
        cap_limit: opts.output_limit,
        notify: Arc::new(Notify::new()),
    };
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut closing = false;
    let mut deadline: Option<tokio::time::Instant> = None;
    // Set while waiting for the engine lock to be released (see `LockGate`).
    let mut contended: Option<tokio::sync::watch::Receiver<u64>> = None;
    // The blocked command may have completed (woken, or its deadline passed).
    let mut check_block = false;
    'conn: loop {
        // Run what the input holds, a few batches at a time so one busy client does not hold a
        // worker thread for long.
        let mut more = false;
        let out_before = c.out.len();
        if !closing && contended.is_none() && check_block && c.g.client.blocked.is_some() {
            check_block = false;
            match c.step_block() {
                Blocked::Done => {}
                Blocked::Until(d) => deadline = d,
                Blocked::Contended => {
                    contended = Some(gate.subscribe());
                    check_block = true;
                }
                Blocked::Killed => break 'conn,
            }
        }
        if !closing && contended.is_none() && c.g.client.blocked.is_none() {
            let mut rounds = 0;
            loop {
                c.parse_input();
                if c.queue.is_empty() {
                    break;
                }
                match c.run_queued() {
                    Ran::Idle => {}
                    Ran::Close => {
                        closing = true;
                        break;
                    }
                    Ran::Contended => {
                        contended = Some(gate.subscribe());
                        break;
                    }
                    Ran::Blocked => {
                        if let Some(b) = c.g.client.blocked.as_ref() {
                            // Installed before the first check, so a service in between wakes us.
                            b.waiter.set_waker(Arc::new(NotifyWaker(c.notify.clone())));
                        }
                        match c.step_block() {
                            Blocked::Done => {}
                            Blocked::Until(d) => {
                                deadline = d;
                                break;
                            }
                            Blocked::Contended => {
                                contended = Some(gate.subscribe());
                                check_block = true;
                                break;
                            }
                            Blocked::Killed => break 'conn,
                        }
                    }
                }
                rounds += 1;
                if rounds == 8 {
                    more = true;
                    break;
                }
            }
        }
        if c.pending_out() > c.out_limit {
            break; // Cut: the client is not reading what it asked for.
        }
        let mut arm_push = false;
        if !closing && !c.take_pushes(&pushed, &mut arm_push) {
            break;
        }
        if c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
            if c.out.capacity() > KEEP_CAPACITY {
                c.out = Vec::with_capacity(16 * 1024);
            }
            if closing {
                break;
            }
        }
        if stopped.load(Ordering::SeqCst)
            || (!closing && c.g.client.killed.load(Ordering::Acquire))
            || c.buf.len() - c.start > QUERY_LIMIT
        {
            break;
        }
        if c.out.len() > out_before && !closing {
            // Fresh replies wait until the other ready connections have run theirs, and are
            // then written one after another, as Redis writes its replies before it sleeps: a
            // client process woken by the first write reads the rest without sleeping again,
            // where a write after each connection's commands woke it (a cross-core wake-up) once
            // per connection.
            tokio::task::yield_now().await;
        }
        let blocked = c.g.client.blocked.is_some();
        if c.buf.capacity() - c.buf.len() < 4096 {
            c.buf.reserve(16 * 1024);
        }
        let writing = c.sent < c.out.len();
        let timed = blocked && deadline.is_some();
        let sleep_to = deadline.unwrap_or_else(tokio::time::Instant::now);
        let waiting_gate = contended.is_some();
        let ev = {
            let (out, buf) = (&c.out[c.sent..], &mut c.buf);
            let gate_open = async {
                match contended.as_mut() {
                    Some(rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = killed.notified(), if !closing => Ev::Gone,
                r = wr.write(out), if writing => match r {
                    Ok(0) | Err(_) => Ev::Gone,
                    Ok(n) => Ev::Wrote(n),
                },
                // EOF: a blocked command is cancelled when the guard closes the client (a reply
                // parked for it but not sent is handed back).
                r = rd.read_buf(buf), if !closing => match r {
                    Ok(0) | Err(_) => Ev::Gone,
                    Ok(_) => Ev::Other,
                },
                _ = c.notify.notified(), if blocked => Ev::Retry,
                _ = tokio::time::sleep_until(sleep_to), if timed => Ev::Retry,
                _ = gate_open, if waiting_gate => Ev::Gate,
                _ = pushed.notified(), if arm_push => Ev::Other,
                _ = tokio::task::yield_now(), if more => Ev::Other,
            }
        };
        match ev {
            Ev::Gone => break,
            Ev::Wrote(n) => c.sent += n,
            Ev::Retry => check_block = true,
            Ev::Gate => contended = None,
            Ev::Other => {}
        }
    }
    let _ = wr.shutdown().await;
}

/// Where a blocked command stands after [`Conn::step_block`].
enum Blocked {
    /// Its reply is in the output.
    Done,
    /// Still waiting, until the deadline if any.
    Until(Option<tokio::time::Instant>),
    /// Timed out, but the lock is held for long: try again when the gate opens.
    Contended,
    /// CLIENT KILL.
    Killed,
}

/// What woke a connection.
enum Ev {
    Gone,
    Wrote(usize),
    Retry,
    /// The engine lock was released (or a script turned busy).
    Gate,
    Other,
}
