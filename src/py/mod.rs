//! Python bindings (`burner_redis._engine`): the only module that imports pyo3.
//!
//! GIL rule: Python threads take the engine lock with the GIL held only through
//! [`session::lock_engine`], which waits with the GIL released when the lock is contended; the
//! engine never calls Python while holding its lock (wake-ups run after release).

pub mod convert;
pub mod server;
pub mod session;
pub mod waker;

use std::sync::Arc;

use pyo3::prelude::*;

use crate::engine::{Engine, EngineOptions, ManualClock};
use convert::Decode;
use session::{BlockedMarker, EmptyMarker, PushWaiter, Session};

/// An engine handle; sessions made from the same handle share data.
#[pyclass(frozen, name = "Engine", module = "burner_redis._engine")]
pub struct PyEngine {
    inner: Arc<Engine>,
    manual_clock: Option<Arc<ManualClock>>,
}

#[pymethods]
impl PyEngine {
    /// `Engine(databases=16, manual_clock_ms=None)`: a fresh, empty engine. With
    /// `manual_clock_ms`, time only moves through `advance_clock` (tests).
    #[new]
    #[pyo3(signature = (databases=16, manual_clock_ms=None))]
    fn new(databases: usize, manual_clock_ms: Option<i64>) -> PyResult<Self> {
        if databases == 0 || databases > 1_000_000 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "databases must be between 1 and 1000000",
            ));
        }
        let mut opts = EngineOptions {
            databases,
            ..EngineOptions::default()
        };
        let manual_clock = manual_clock_ms.map(|ms| Arc::new(ManualClock::new(ms)));
        if let Some(c) = &manual_clock {
            opts.clock = c.clone();
        }
        Ok(PyEngine {
            inner: Engine::new(opts),
            manual_clock,
        })
    }

    /// Opens a session (one connection's state).
    #[pyo3(signature = (protocol=2, decode_responses=false, encoding="utf-8", encoding_errors="strict", sets_as_set=false))]
    fn session(
        &self,
        py: Python<'_>,
        protocol: u8,
        decode_responses: bool,
        encoding: &str,
        encoding_errors: &str,
        sets_as_set: bool,
    ) -> PyResult<Session> {
        let enc = encoding.to_ascii_lowercase().replace('_', "-");
        let dec = Decode {
            decode: decode_responses,
            fast_utf8: (enc == "utf-8" || enc == "utf8") && encoding_errors == "strict",
            encoding: encoding.to_string(),
            errors: encoding_errors.to_string(),
            sets_as_set,
        };
        Session::create(
            py,
            self.inner.clone(),
            if protocol == 3 { 3 } else { 2 },
            dec,
        )
    }

    /// Serves this engine over RESP on a unix socket and/or TCP (loopback by default; another
    /// host needs a password). Returns a `Server`; in-process clients keep their direct path.
    #[pyo3(signature = (unix_socket=None, port=None, host="127.0.0.1".to_string(), password=None, unixsocketperm=0o700, max_bulk_len=512*1024*1024))]
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        py: Python<'_>,
        unix_socket: Option<String>,
        port: Option<u16>,
        host: String,
        password: Option<String>,
        unixsocketperm: u32,
        max_bulk_len: i64,
    ) -> PyResult<server::PyServer> {
        server::start(
            py,
            self.inner.clone(),
            unix_socket,
            port,
            host,
            password,
            unixsocketperm,
            max_bulk_len,
        )
    }

    /// Moves a manual clock forward (engines made with `manual_clock_ms` only).
    fn advance_clock(&self, ms: i64) -> PyResult<()> {
        match &self.manual_clock {
            Some(c) => {
                c.advance_ms(ms);
                Ok(())
            }
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "engine uses the real clock",
            )),
        }
    }
}

/// The compiled module.
#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<Session>()?;
    m.add_class::<BlockedMarker>()?;
    m.add_class::<server::PyServer>()?;
    m.add("BLOCKED", session::blocked_marker(m.py())?)?;
    m.add_class::<EmptyMarker>()?;
    m.add_class::<PushWaiter>()?;
    m.add("EMPTY", session::empty_marker(m.py())?)?;
    Ok(())
}
