//! `Session`: one in-process connection's engine client plus its queue of replies.
//!
//! Commands run when they are sent (`execute`) and their typed replies queue until redis-py reads
//! them (`read`). A command sent while an earlier one is blocked waits its turn (as a socket client
//! would), so replies always come back in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use super::convert::{command_args, error_instance, reply_to_py, Decode};
use super::waker::FutureWaker;
use crate::engine::pubsub::{OutboxState, Subscriber};
use crate::engine::waker::{CondvarWaker, Wakes};
use crate::engine::{BlockStep, Client, Engine, Env, MutexGuardStore};
use crate::reply::Reply;

enum Pending {
    /// A reply and the protocol it is to be shaped for.
    Ready(Reply, u8),
    /// The client is blocked on the command that produced this entry.
    Blocked,
    /// Sent after a blocked command; runs once that one completes.
    Deferred(Vec<Vec<u8>>),
}

/// Marker returned by `read`/`block_step` while the head command is blocked.
#[pyclass(frozen, name = "Blocked", module = "burner_redis._engine")]
pub struct BlockedMarker;

static MARKER: pyo3::sync::PyOnceLock<Py<BlockedMarker>> = pyo3::sync::PyOnceLock::new();

/// The one `Blocked` marker object (`burner_redis._engine.BLOCKED`).
pub fn blocked_marker(py: Python<'_>) -> PyResult<Py<BlockedMarker>> {
    MARKER
        .get_or_try_init(py, || Py::new(py, BlockedMarker))
        .map(|m| m.clone_ref(py))
}

/// Marker returned by `read` when nothing is queued on a connection that may receive pushes.
#[pyclass(frozen, name = "Empty", module = "burner_redis._engine")]
pub struct EmptyMarker;

static EMPTY: pyo3::sync::PyOnceLock<Py<EmptyMarker>> = pyo3::sync::PyOnceLock::new();

/// The one `Empty` marker object (`burner_redis._engine.EMPTY`).
pub fn empty_marker(py: Python<'_>) -> PyResult<Py<EmptyMarker>> {
    EMPTY
        .get_or_try_init(py, || Py::new(py, EmptyMarker))
        .map(|m| m.clone_ref(py))
}

static CONNECTION_ERROR: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// redis-py's `ConnectionError` with `msg` (what a closed socket raises).
fn connection_error(py: Python<'_>, msg: &str) -> PyErr {
    match CONNECTION_ERROR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("redis.exceptions")?
            .getattr("ConnectionError")?
            .unbind())
    }) {
        Ok(cls) => match cls.bind(py).call1((msg,)) {
            Ok(inst) => PyErr::from_value(inst),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// Text of the error a killed connection's reads raise (what redis-py says of a closed socket).
const KILLED_MESSAGE: &str = "Connection closed by server.";

/// Text of the error a reader gets when its subscription was dropped for being too slow.
pub const OVERFLOW_MESSAGE: &str =
    "Connection closed by server: pubsub output buffer limit reached (client-output-buffer-limit pubsub)";

/// One connection's state in the engine.
#[pyclass(module = "burner_redis._engine")]
pub struct Session {
    engine: Arc<Engine>,
    client: Client,
    queue: VecDeque<Pending>,
    dec: Decode,
    closed: bool,
    blocked_marker: Py<BlockedMarker>,
}

/// Locks the engine following the GIL rule: try without blocking; when contended, release the
/// GIL while waiting, so whoever holds the engine lock can never be waiting for us.
pub fn lock_engine<'a>(py: Python<'_>, engine: &'a Engine) -> MutexGuardStore<'a> {
    if let Some(g) = engine.try_lock() {
        return g;
    }
    py.detach(|| engine.lock())
}

/// [`lock_engine`] for running commands: None when a script holding the lock has run past its
/// busy threshold, so the caller replies with `Engine::busy_reply` instead of waiting.
pub fn lock_engine_or_busy<'a>(py: Python<'_>, engine: &'a Engine) -> Option<MutexGuardStore<'a>> {
    if let Some(g) = engine.try_lock() {
        return Some(g);
    }
    py.detach(|| engine.lock_unless_busy())
}

/// Runs `cmds` in order on the locked store (or answers them from the busy state when `store`
/// is None, taking the lock with `relock` for the commands Redis runs even then), queueing the
/// outcomes; commands after one that blocks are deferred.
fn run_cmds_locked<'a>(
    engine: &'a Engine,
    client: &mut Client,
    queue: &mut VecDeque<Pending>,
    mut store: Option<MutexGuardStore<'a>>,
    relock: &mut dyn FnMut() -> MutexGuardStore<'a>,
    cmds: Vec<Vec<Vec<u8>>>,
    env: &mut Env,
) {
    for args in cmds {
        if client.blocked.is_some() {
            queue.push_back(Pending::Deferred(args));
            continue;
        }
        if store.is_none() {
            match engine.busy_reply(client, &args) {
                Some(r) => {
                    queue.push_back(Pending::Ready(r, client.resp));
                    continue;
                }
                None => store = Some(relock()),
            }
        }
        if let Some(store) = store.as_mut() {
            let r = engine.execute_locked(store, client, args, env);
            queue_result(queue, client, r, &mut env.wakes);
        }
    }
}

/// Hands `redis.log` lines to the `burner_redis.lua` logger (after the engine lock is released).
fn emit_script_logs(py: Python<'_>, logs: &mut Vec<(u8, Vec<u8>)>) {
    if logs.is_empty() {
        return;
    }
    let lines = std::mem::take(logs);
    let logger = match py
        .import("logging")
        .and_then(|m| m.call_method1("getLogger", ("burner_redis.lua",)))
    {
        Ok(l) => l,
        Err(_) => return,
    };
    for (level, msg) in lines {
        // Redis's debug, verbose, notice and warning levels.
        let py_level = match level {
            0 | 1 => 10,
            2 => 20,
            _ => 30,
        };
        let text = String::from_utf8_lossy(&msg).into_owned();
        if let Err(e) = logger.call_method1("log", (py_level, text)) {
            e.write_unraisable(py, None);
        }
    }
}

/// Queues a command's outcome. Runs under the engine lock: messages already in the client's
/// outbox were published before the reply was made, so they move ahead of it; a reader waiting
/// on the outbox (another task or thread) is told a reply arrived.
fn queue_result(
    queue: &mut VecDeque<Pending>,
    client: &Client,
    r: Option<Reply>,
    wakes: &mut Wakes,
) {
    if let Some(sub) = client.pubsub.as_ref() {
        for p in sub.drain() {
            queue.push_back(Pending::Ready(p.into_reply(), client.resp));
        }
        sub.notify(wakes);
    }
    match r {
        Some(r) => queue.push_back(Pending::Ready(r, client.resp)),
        None => queue.push_back(Pending::Blocked),
    }
}

impl Session {
    /// A session on `engine`.
    pub fn create(py: Python<'_>, engine: Arc<Engine>, resp: u8, dec: Decode) -> PyResult<Session> {
        let client = engine.open_client_resp(resp);
        Ok(Session {
            engine,
            client,
            queue: VecDeque::new(),
            dec,
            closed: false,
            blocked_marker: blocked_marker(py)?,
        })
    }

    fn blocked_now(&self) -> bool {
        self.client.blocked.is_some()
    }

    /// Runs `cmds` in order under one lock; commands after one that blocks are deferred. When one
    /// may run a script, the whole batch runs with the GIL released.
    fn run_batch(&mut self, py: Python<'_>, cmds: Vec<Vec<Vec<u8>>>) {
        let (engine, client, queue) = (&*self.engine, &mut self.client, &mut self.queue);
        let mut env = if cmds.iter().any(|c| crate::engine::may_run_script(c)) {
            py.detach(|| {
                let mut env = engine.env();
                let store = engine.lock_unless_busy();
                let mut relock = || engine.lock();
                run_cmds_locked(engine, client, queue, store, &mut relock, cmds, &mut env);
                env
            })
        } else {
            let mut env = engine.env();
            let store = lock_engine_or_busy(py, engine);
            let mut relock = || lock_engine(py, engine);
            run_cmds_locked(engine, client, queue, store, &mut relock, cmds, &mut env);
            env
        };
        if !env.wakes.is_empty() {
            env.wakes.run();
        }
        emit_script_logs(py, &mut env.script_logs);
    }

    /// The client's subscriber (created on first use, so a reader can wait before subscribing).
    fn subscriber(&mut self) -> Arc<Subscriber> {
        let id = self.client.id;
        self.client
            .pubsub
            .get_or_insert_with(|| Subscriber::new(id))
            .clone()
    }

    /// Converts a popped reply; RESP3 push frames come back wrapped in a 1-tuple so the
    /// connection can hand them to redis-py's push handler.
    fn convert_ready(&self, py: Python<'_>, r: &Reply, resp: u8, raw: bool) -> PyResult<Py<PyAny>> {
        let v = self.convert(py, r, resp, raw)?;
        if resp == 3 && matches!(r, Reply::Push(_)) {
            return Ok(PyTuple::new(py, [v])?.into_any().unbind());
        }
        Ok(v)
    }

    /// Ends this session's engine client, taking the engine lock by the GIL rule.
    fn close_client(&mut self, py: Python<'_>) {
        let mut env = self.engine.env();
        {
            let mut store = lock_engine(py, &self.engine);
            self.engine
                .close_client_locked(&mut store, &mut self.client, &mut env);
            if let Some(sub) = self.client.pubsub.as_ref() {
                sub.close(&mut env.wakes);
            }
        }
        env.wakes.run();
    }

    fn convert(&self, py: Python<'_>, r: &Reply, resp: u8, raw: bool) -> PyResult<Py<PyAny>> {
        if let Reply::Error(e) = r {
            return Err(PyErr::from_value(error_instance(py, e)?));
        }
        Ok(reply_to_py(py, r, resp, &self.dec, raw)?.unbind())
    }

    /// The blocked command's outcome if another client's write served it (no lock needed), or,
    /// past its deadline, its timeout reply (taking the engine lock by the GIL rule).
    fn step(&mut self, py: Python<'_>) -> BlockStep {
        if let Some(step) = Engine::block_take(&mut self.client) {
            return step;
        }
        let mut env = self.engine.env();
        let step = {
            let mut store = lock_engine(py, &self.engine);
            self.engine
                .block_step_locked(&mut store, &mut self.client, &mut env)
        };
        env.wakes.run();
        step
    }

    /// Finishes the blocked head entry with `reply`.
    fn complete_head(&mut self, py: Python<'_>, reply: Reply, raw: bool) -> PyResult<Py<PyAny>> {
        debug_assert!(matches!(self.queue.front(), Some(Pending::Blocked)));
        self.queue.pop_front();
        let resp = self.client.resp;
        self.convert(py, &reply, resp, raw)
    }

    /// CLIENT KILL ended the blocked head command: what a closed socket would raise.
    fn killed_head(&mut self, py: Python<'_>) -> PyErr {
        self.queue.clear();
        connection_error(py, KILLED_MESSAGE)
    }

    fn is_killed(&self) -> bool {
        self.client
            .killed
            .load(std::sync::atomic::Ordering::Acquire)
    }
}

#[pymethods]
impl Session {
    /// Runs one command (a tuple of redis-py arguments) and queues its reply.
    fn execute(&mut self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if self.closed {
            return Err(PyRuntimeError::new_err("session is closed"));
        }
        if self.is_killed() {
            return Err(connection_error(py, KILLED_MESSAGE));
        }
        let args = command_args(py, args, &self.dec)?;
        if self.blocked_now()
            || !self.queue.is_empty() && self.queue.iter().any(|p| !matches!(p, Pending::Ready(..)))
        {
            self.queue.push_back(Pending::Deferred(args));
            return Ok(());
        }
        self.run_batch(py, vec![args]);
        Ok(())
    }

    /// Runs several commands (a pipeline) under one lock.
    fn execute_many(&mut self, py: Python<'_>, cmds: &Bound<'_, PyList>) -> PyResult<()> {
        if self.closed {
            return Err(PyRuntimeError::new_err("session is closed"));
        }
        if self.is_killed() {
            return Err(connection_error(py, KILLED_MESSAGE));
        }
        let mut all = Vec::with_capacity(cmds.len());
        for c in cmds.iter() {
            all.push(command_args(py, c.cast::<PyTuple>()?, &self.dec)?);
        }
        self.run_batch(py, all);
        Ok(())
    }

    /// Pops the next reply. Raises a top-level error reply as redis-py's exception; returns the
    /// `Blocked` marker while the head command waits.
    #[pyo3(signature = (disable_decoding=false))]
    fn read(&mut self, py: Python<'_>, disable_decoding: bool) -> PyResult<Py<PyAny>> {
        loop {
            if self.is_killed() && !matches!(self.queue.front(), Some(Pending::Ready(..))) {
                // CLIENT KILL: replies sent before it can still be read, then the socket is gone.
                return Err(self.killed_head(py));
            }
            match self.queue.front() {
                None => return self.read_outbox(py, disable_decoding),
                Some(Pending::Blocked) => return Ok(self.blocked_marker.clone_ref(py).into_any()),
                Some(Pending::Ready(..)) => {
                    let Some(Pending::Ready(r, resp)) = self.queue.pop_front() else {
                        unreachable!()
                    };
                    return self.convert_ready(py, &r, resp, disable_decoding);
                }
                Some(Pending::Deferred(_)) => {
                    let Some(Pending::Deferred(args)) = self.queue.pop_front() else {
                        unreachable!()
                    };
                    // Run it now, in its original place: ahead of the commands deferred after it.
                    let later = std::mem::take(&mut self.queue);
                    self.run_batch(py, vec![args]);
                    self.queue.extend(later);
                }
            }
        }
    }

    /// Number of replies not read yet.
    fn pending(&self) -> usize {
        self.queue.len()
    }

    /// True when a pool must not hand this session out again as it is: replies were left
    /// unread (an interrupted exchange) or CLIENT KILL targeted it. One call on the release path.
    #[getter]
    fn needs_reset(&self) -> bool {
        !self.queue.is_empty()
            || self
                .client
                .killed
                .load(std::sync::atomic::Ordering::Acquire)
    }

    /// True when `read` would return something now (a reply, a pushed message, or the error of
    /// a connection the engine closed), as a socket with unread bytes would be readable.
    fn readable(&self) -> bool {
        match self.queue.front() {
            Some(Pending::Blocked) => false,
            Some(_) => true,
            None => self.client.pubsub.as_ref().is_some_and(|s| s.has_news()),
        }
    }

    /// The object a reader waits on for pushed messages (see `PushWaiter`).
    fn push_waiter(&mut self) -> PushWaiter {
        PushWaiter {
            sub: self.subscriber(),
        }
    }

    /// Async blocking step: installs `fut` (on `event_loop`) as the waker, then retries the
    /// blocked command. Returns the reply when done, else `(Blocked, seconds_left or None)`.
    #[pyo3(signature = (fut, event_loop, disable_decoding=false))]
    fn block_step(
        &mut self,
        py: Python<'_>,
        fut: Py<PyAny>,
        event_loop: Py<PyAny>,
        disable_decoding: bool,
    ) -> PyResult<Py<PyAny>> {
        let Some(b) = self.client.blocked.as_ref() else {
            return Err(PyRuntimeError::new_err("not blocked"));
        };
        // The waker goes in before the check, so a signal in between is never lost.
        b.waiter
            .set_waker(Arc::new(FutureWaker::new(fut, event_loop)));
        match self.step(py) {
            BlockStep::Done(reply) => self.complete_head(py, reply, disable_decoding),
            BlockStep::Killed => Err(self.killed_head(py)),
            BlockStep::Waiting(left) => {
                let secs: Option<f64> = left.map(|ms| ms.max(0) as f64 / 1000.0);
                Ok(PyTuple::new(
                    py,
                    [
                        self.blocked_marker.clone_ref(py).into_any(),
                        secs.into_pyobject(py)?.into_any().unbind(),
                    ],
                )?
                .into_any()
                .unbind())
            }
        }
    }

    /// Sync blocking wait: waits with the GIL released until the blocked command completes;
    /// Ctrl-C (a pending signal) cancels the wait and consumes nothing.
    #[pyo3(signature = (disable_decoding=false))]
    fn block_wait(&mut self, py: Python<'_>, disable_decoding: bool) -> PyResult<Py<PyAny>> {
        let cv = CondvarWaker::new();
        loop {
            let Some(b) = self.client.blocked.as_ref() else {
                return Err(PyRuntimeError::new_err("not blocked"));
            };
            b.waiter.set_waker(cv.clone());
            match self.step(py) {
                BlockStep::Done(reply) => return self.complete_head(py, reply, disable_decoding),
                BlockStep::Killed => return Err(self.killed_head(py)),
                BlockStep::Waiting(left) => {
                    let slice = Duration::from_millis(
                        left.map(|ms| ms.clamp(0, 100) as u64).unwrap_or(100),
                    );
                    let cvc = cv.clone();
                    py.detach(move || cvc.wait(slice));
                    if let Err(e) = py.check_signals() {
                        self.cancel_block(py);
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Gives up the blocked head command (cancelled read); nothing is consumed for it.
    fn cancel_block(&mut self, py: Python<'_>) {
        let mut env = self.engine.env();
        if self.client.blocked.is_some() {
            let mut store = lock_engine(py, &self.engine);
            self.engine
                .cancel_block_locked(&mut store, &mut self.client, &mut env);
        }
        env.wakes.run();
        if matches!(self.queue.front(), Some(Pending::Blocked)) {
            self.queue.pop_front();
        }
    }

    /// Drops queued replies and all connection state (a disconnect): MULTI, WATCH, blocking,
    /// subscriptions. The session stays usable, like a fresh connection.
    fn reset(&mut self, py: Python<'_>) {
        self.queue.clear();
        let mut env = self.engine.env();
        {
            let mut store = lock_engine(py, &self.engine);
            self.engine
                .reset_client_locked(&mut store, &mut self.client, &mut env);
            if let Some(sub) = self.client.pubsub.as_ref() {
                // A dropped connection loses what it had not read yet.
                sub.drain();
            }
        }
        env.wakes.run();
    }

    /// The protocol replies are shaped for.
    #[getter]
    fn protocol(&self) -> u8 {
        self.client.resp
    }

    /// CLIENT ID of this session.
    #[getter]
    fn client_id(&self) -> u64 {
        self.client.id
    }

    /// True once CLIENT KILL targeted this session.
    #[getter]
    fn killed(&self) -> bool {
        self.client
            .killed
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Closes the session for good: drops its subscriptions and wakes a reader waiting on it.
    fn close(&mut self, py: Python<'_>) {
        if !self.closed {
            self.closed = true;
            self.queue.clear();
            self.close_client(py);
        }
    }
}

impl Session {
    /// `read` with nothing queued: the next pushed message, `Empty`, or the error of a
    /// subscription the engine dropped.
    fn read_outbox(&mut self, py: Python<'_>, raw: bool) -> PyResult<Py<PyAny>> {
        let Some(sub) = self.client.pubsub.as_ref() else {
            return Err(PyRuntimeError::new_err(
                "no reply pending: read without a command",
            ));
        };
        if let Some(p) = sub.pop() {
            let resp = self.client.resp;
            return self.convert_ready(py, &p.into_reply(), resp, raw);
        }
        match sub.state() {
            OutboxState::Open => Ok(empty_marker(py)?.into_any()),
            OutboxState::Overflowed => Err(connection_error(py, OVERFLOW_MESSAGE)),
            OutboxState::Closed => Err(connection_error(py, "Connection closed by server.")),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.closed {
            // A garbage-collected connection leaves no subscription behind.
            Python::attach(|py| self.close_client(py));
        }
    }
}

/// What a reader waits on for pushed messages, without holding the session: a sync reader
/// blocks on it with the GIL released while another thread may use the session (redis-py's
/// PubSub worker thread reads while the main thread subscribes).
///
/// Protocol: take `seq()`, check the session (`readable`/`read`), then wait with that `seq`;
/// any push, reply or close after the check moves the counter, so no wake-up is lost.
#[pyclass(frozen, name = "PushWaiter", module = "burner_redis._engine")]
pub struct PushWaiter {
    sub: Arc<Subscriber>,
}

#[pymethods]
impl PushWaiter {
    /// The change counter.
    fn seq(&self) -> u64 {
        self.sub.seq()
    }

    /// Sync wait until the counter moves past `seq` (True) or `timeout` seconds pass (False;
    /// None waits forever). Waits with the GIL released; a pending signal (Ctrl-C) raises.
    #[pyo3(signature = (seq, timeout=None))]
    fn wait(&self, py: Python<'_>, seq: u64, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = timeout
            .and_then(|t| Duration::try_from_secs_f64(t.max(0.0)).ok())
            .and_then(|d| std::time::Instant::now().checked_add(d));
        // Wake up now and then only to let Python handle signals.
        let slice_max = Duration::from_millis(100);
        loop {
            let slice = match deadline {
                None => slice_max,
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    left.min(slice_max)
                }
            };
            let sub = self.sub.clone();
            if py.detach(move || sub.wait_change(seq, slice)) {
                return Ok(true);
            }
            py.check_signals()?;
        }
    }

    /// Async wait: resolves `fut` (on `event_loop`) at the next change. Returns False, installing
    /// nothing, when the counter already moved past `seq`.
    fn register(&self, seq: u64, fut: Py<PyAny>, event_loop: Py<PyAny>) -> bool {
        self.sub
            .set_waker_if_unchanged(seq, Arc::new(FutureWaker::new(fut, event_loop)))
    }

    /// Forgets a registered future (its read was cancelled or timed out).
    fn clear(&self) {
        self.sub.clear_waker();
    }

    /// Bytes of pushed messages waiting to be read.
    #[getter]
    fn buffered_bytes(&self) -> usize {
        self.sub.buffered_bytes()
    }
}
