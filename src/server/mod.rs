//! The socket front door: a RESP2/RESP3 server on a unix socket and/or loopback TCP, sharing the
//! engine (keyspace, blocked clients, pub/sub) with the in-process clients.
//!
//! Each connection is a tokio task with its own engine [`Client`]; commands go through the same
//! dispatcher as every other front door. Blocking commands wait on a tokio `Notify` woken by the
//! engine's per-key signal, while the task keeps reading the socket so a client that disconnects
//! mid-block is noticed (its wait is cancelled and nothing is consumed for it).

pub mod resp;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use crate::engine::pubsub::OutboxState;
use crate::engine::waker::Waker;
use crate::engine::{BlockStep, Client, Engine};
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("burner-server")
        .enable_all()
        .build()?;
    let (stop2, stopped2, opts2) = (stop_rx, stopped.clone(), Arc::new(opts.clone()));
    let thread = std::thread::Builder::new().name("burner-server-main".into()).spawn(move || {
        rt.block_on(async move {
            let mut tasks = tokio::task::JoinSet::new();
            if let Some(l) = unix {
                if let Ok(l) = tokio::net::UnixListener::from_std(l) {
                    let (engine, opts, mut stop, stopped) = (engine.clone(), opts2.clone(), stop2.clone(), stopped2.clone());
                    tasks.spawn(async move {
                        let mut conns = tokio::task::JoinSet::new();
                        loop {
                            tokio::select! {
                                _ = stop.wait_for(|v| *v) => break,
                                r = l.accept() => if let Ok((s, _)) = r {
                                    let addr = format!("unix:{}", opts.unix_socket.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
                                    conns.spawn(handle(engine.clone(), s, addr, opts.clone(), stopped.clone()));
                                },
                            }
                            if stopped.load(Ordering::SeqCst) { break; }
                        }
                        conns.abort_all();
                    });
                }
            }
            if let Some(l) = tcp {
                if let Ok(l) = tokio::net::TcpListener::from_std(l) {
                    let (engine, opts, mut stop, stopped) = (engine.clone(), opts2.clone(), stop2.clone(), stopped2.clone());
                    tasks.spawn(async move {
                        let mut conns = tokio::task::JoinSet::new();
                        loop {
                            tokio::select! {
                                _ = stop.wait_for(|v| *v) => break,
                                r = l.accept() => if let Ok((s, peer)) = r {
                                    let _ = s.set_nodelay(true);
                                    conns.spawn(handle(engine.clone(), s, peer.to_string(), opts.clone(), stopped.clone()));
                                },
                            }
                            if stopped.load(Ordering::SeqCst) { break; }
                        }
                        conns.abort_all();
                    });
                }
            }
            while tasks.join_next().await.is_some() {}
        });
    })?;
    Ok(ServerHandle {
        stop,
        stopped,
        thread: Some(thread),
        tcp_port,
        unix_socket: opts.unix_socket,
    })
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
        self.engine.close_client(&mut self.client);
    }
}

async fn handle<S>(
    engine: Arc<Engine>,
    stream: S,
    addr: String,
    opts: Arc<ServeOptions>,
    stopped: Arc<AtomicBool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut g = ClientGuard {
        client: engine.open_client(),
        engine: engine.clone(),
    };
    g.client.authenticated = opts.password.is_none();
    engine.set_client_addr(&g.client, &addr);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
    let notify = Arc::new(Notify::new());
    let killed = Arc::new(Notify::new());
    let pushed = Arc::new(Notify::new());
    engine.set_kill_waker(&g.client, Arc::new(NotifyWaker(killed.clone())));
    'conn: loop {
        let mut start = 0;
        loop {
            match parse(&buf[start..], opts.max_bulk) {
                Parsed::Incomplete => break,
                Parsed::Empty(n) => start += n,
                Parsed::Error(e) => {
                    encode(&Reply::Error(format!("ERR {e}")), g.client.resp, &mut out);
                    let _ = wr.write_all(&out).await;
                    break 'conn;
                }
                Parsed::Command(args, used) => {
                    start += used;
                    let quit = args
                        .first()
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"QUIT"));
                    let reply = match execute_with_pushes(&engine, &mut g.client, args, &mut out) {
                        Some(r) => r,
                        None => {
                            // Flush what came before, then wait for the blocked command.
                            if !out.is_empty() && wr.write_all(&out).await.is_err() {
                                break 'conn;
                            }
                            out.clear();
                            match wait_blocked(
                                &engine,
                                &mut g.client,
                                &notify,
                                &mut rd,
                                &mut buf,
                                start,
                            )
                            .await
                            {
                                Some(r) => r,
                                None => break 'conn,
                            }
                        }
                    };
                    encode(&reply, g.client.resp, &mut out);
                    if quit || g.client.killed.load(Ordering::Acquire) {
                        let _ = wr.write_all(&out).await;
                        break 'conn;
                    }
                    if out.len() > opts.output_limit {
                        break 'conn;
                    }
                }
            }
        }
        buf.drain(..start);
        if !out.is_empty() {
            if wr.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
        }
        if stopped.load(Ordering::SeqCst) || g.client.killed.load(Ordering::Acquire) {
            break;
        }
        // Pub/sub messages published while idle: send what is buffered, then arm the waker
        // (the counter taken first means a message in between is not missed).
        let sub = g.client.pubsub.clone();
        if let Some(sub) = sub.as_ref() {
            let seq = sub.seq();
            let mut sent = false;
            while let Some(p) = sub.pop() {
                encode(&p.into_reply(), g.client.resp, &mut out);
                sent = true;
            }
            if sub.state() == OutboxState::Overflowed {
                break;
            }
            if sent {
                if wr.write_all(&out).await.is_err() {
                    break;
                }
                out.clear();
                continue;
            }
            sub.set_waker_if_unchanged(seq, Arc::new(NotifyWaker(pushed.clone())));
        }
        tokio::select! {
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            _ = killed.notified() => break,
            _ = pushed.notified(), if sub.is_some() => {}
        }
    }
    let _ = wr.shutdown().await;
}

/// Runs one command and encodes, ahead of its reply, the pub/sub messages this client was sent
/// before it (taken under the engine lock, so nothing published later can jump the reply).
fn execute_with_pushes(
    engine: &Engine,
    client: &mut Client,
    args: Vec<Vec<u8>>,
    out: &mut Vec<u8>,
) -> Option<Reply> {
    let mut env = engine.env();
    let r = {
        let mut store = engine.lock();
        let r = engine.execute_locked(&mut store, client, args, &mut env);
        if let Some(sub) = client.pubsub.as_ref() {
            for p in sub.drain() {
                encode(&p.into_reply(), client.resp, out);
            }
        }
        r
    };
    env.wakes.run();
    r
}

/// Waits for a blocked command while still reading the socket (pipelined input is kept in `buf`;
/// EOF cancels the wait). Returns None when the client went away.
async fn wait_blocked<R: AsyncRead + Unpin>(
    engine: &Arc<Engine>,
    client: &mut Client,
    notify: &Arc<Notify>,
    rd: &mut R,
    buf: &mut Vec<u8>,
    consumed: usize,
) -> Option<Reply> {
    // Keep only unparsed input; the caller's offset is relative to the buffer it had.
    let mut pending: Vec<u8> = buf[consumed..].to_vec();
    let mut eof = false;
    let result = loop {
        if let Some(b) = client.blocked.as_ref() {
            b.waiter.set_waker(Arc::new(NotifyWaker(notify.clone())));
        }
        match engine.block_step(client) {
            BlockStep::Done(r) => break Some(r),
            BlockStep::Waiting(left) => {
                if client.killed.load(Ordering::Acquire) {
                    engine.cancel_block(client);
                    break None;
                }
                let sleep = async {
                    match left {
                        Some(ms) => {
                            tokio::time::sleep(Duration::from_millis(ms.max(0) as u64 + 1)).await
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                let mut chunk = [0u8; 4096];
                tokio::select! {
                    _ = notify.notified() => {}
                    _ = sleep => {}
                    r = rd.read(&mut chunk), if !eof => match r {
                        Ok(0) | Err(_) => { eof = true; engine.cancel_block(client); break None; }
                        Ok(n) => pending.extend_from_slice(&chunk[..n]),
                    },
                }
            }
        }
    };
    // Put unparsed input back where the caller expects it.
    buf.truncate(consumed);
    buf.extend_from_slice(&pending);
    let _ = eof;
    result
}
