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
use crate::engine::waker::CondvarWaker;
use crate::engine::{BlockStep, Client, Engine, MutexGuardStore};
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

impl Session {
    /// A session on `engine`.
    pub fn create(py: Python<'_>, engine: Arc<Engine>, resp: u8, dec: Decode) -> PyResult<Session> {
        let mut client = engine.open_client();
        client.resp = resp;
        engine.set_client_resp(&client);
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

    /// Runs `cmds` in order under one lock; commands after one that blocks are deferred.
    fn run_batch(&mut self, py: Python<'_>, cmds: Vec<Vec<Vec<u8>>>) {
        let mut env = self.engine.env();
        {
            let mut store = lock_engine(py, &self.engine);
            for args in cmds {
                if self.blocked_now() {
                    self.queue.push_back(Pending::Deferred(args));
                    continue;
                }
                match self
                    .engine
                    .execute_locked(&mut store, &mut self.client, args, &mut env)
                {
                    Some(r) => self.queue.push_back(Pending::Ready(r, self.client.resp)),
                    None => self.queue.push_back(Pending::Blocked),
                }
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

    /// Re-runs the blocked command if it was signalled or timed out, taking the engine lock by
    /// the GIL rule ([`lock_engine`]).
    fn step(&mut self, py: Python<'_>) -> BlockStep {
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
}

#[pymethods]
impl Session {
    /// Runs one command (a tuple of redis-py arguments) and queues its reply.
    fn execute(&mut self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if self.closed {
            return Err(PyRuntimeError::new_err("session is closed"));
        }
        let args = command_args(py, args, &self.dec)?;
        if self.blocked_now()
            || !self.queue.is_empty() && self.queue.iter().any(|p| !matches!(p, Pending::Ready(..)))
        {
            self.queue.push_back(Pending::Deferred(args));
            return Ok(());
        }
        let mut env = self.engine.env();
        let r = {
            let mut store = lock_engine(py, &self.engine);
            self.engine
                .execute_locked(&mut store, &mut self.client, args, &mut env)
        };
        if !env.wakes.is_empty() {
            env.wakes.run();
        }
        match r {
            Some(r) => self.queue.push_back(Pending::Ready(r, self.client.resp)),
            None => self.queue.push_back(Pending::Blocked),
        }
        Ok(())
    }

    /// Runs several commands (a pipeline) under one lock.
    fn execute_many(&mut self, py: Python<'_>, cmds: &Bound<'_, PyList>) -> PyResult<()> {
        if self.closed {
            return Err(PyRuntimeError::new_err("session is closed"));
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
            match self.queue.front() {
                None => {
                    return Err(PyRuntimeError::new_err(
                        "no reply pending: read without a command",
                    ))
                }
                Some(Pending::Blocked) => return Ok(self.blocked_marker.clone_ref(py).into_any()),
                Some(Pending::Ready(..)) => {
                    let Some(Pending::Ready(r, resp)) = self.queue.pop_front() else {
                        unreachable!()
                    };
                    return self.convert(py, &r, resp, disable_decoding);
                }
                Some(Pending::Deferred(_)) => {
                    let Some(Pending::Deferred(args)) = self.queue.pop_front() else {
                        unreachable!()
                    };
                    // Run it now, in its original place in the queue.
                    let mut env = self.engine.env();
                    let r = {
                        let mut store = lock_engine(py, &self.engine);
                        self.engine
                            .execute_locked(&mut store, &mut self.client, args, &mut env)
                    };
                    env.wakes.run();
                    match r {
                        Some(r) => self.queue.push_front(Pending::Ready(r, self.client.resp)),
                        None => self.queue.push_front(Pending::Blocked),
                    }
                }
            }
        }
    }

    /// Number of replies not read yet.
    fn pending(&self) -> usize {
        self.queue.len()
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
    fn reset(&mut self) {
        self.queue.clear();
        self.engine.reset_client(&mut self.client);
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

    /// Closes the session for good.
    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.queue.clear();
            self.engine.close_client(&mut self.client);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.closed {
            self.engine.close_client(&mut self.client);
        }
    }
}
