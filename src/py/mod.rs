//! Python bindings (`burner_redis._engine`): the only module that imports pyo3.
//!
//! GIL rule: Python threads take the engine lock with the GIL held only through
//! [`session::lock_engine`], which waits with the GIL released when the lock is contended; the
//! engine never calls Python while holding its lock (wake-ups run after release).

pub mod convert;
mod persist_glue;
pub mod server;
pub mod session;
pub mod waker;

use std::sync::Arc;

use pyo3::prelude::*;

use crate::engine::{Engine, EngineOptions, ManualClock};
use convert::Decode;
use session::{BlockedMarker, EmptyMarker, PushWaiter, Session};

/// An engine handle; sessions made from the same handle share data.
#[pyclass(frozen, weakref, name = "Engine", module = "burner_redis._engine")]
pub struct PyEngine {
    inner: Arc<Engine>,
    manual_clock: Option<Arc<ManualClock>>,
}

/// Applies `{name: value}` with CONFIG SET's checks (maxmemory, maxmemory-policy, ...); a bad
/// name or value is a ValueError carrying Redis's message.
fn apply_config(engine: &Engine, cfg: &Bound<'_, pyo3::types::PyDict>) -> PyResult<()> {
    let mut args: Vec<Vec<u8>> = vec![b"CONFIG".to_vec(), b"SET".to_vec()];
    for (k, v) in cfg.iter() {
        let name: String = k.str()?.extract()?;
        let value: String = if let Ok(b) = v.extract::<bool>() {
            (if b { "yes" } else { "no" }).to_string()
        } else {
            v.str()?.extract()?
        };
        args.push(name.into_bytes());
        args.push(value.into_bytes());
    }
    if args.len() == 2 {
        return Ok(());
    }
    let mut client = engine.open_client();
    let reply = engine.execute(&mut client, args);
    engine.close_client(&mut client);
    match reply {
        Some(crate::reply::Reply::Error(e)) => Err(pyo3::exceptions::PyValueError::new_err(e)),
        _ => Ok(()),
    }
}

#[pymethods]
impl PyEngine {
    /// `Engine(databases=16, manual_clock_ms=None, persistence_path=None, ...)`: an engine,
    /// empty or loaded from `persistence_path` (see `persistence::Config` for the options). With
    /// `manual_clock_ms`, time only moves through `advance_clock` (tests).
    #[new]
    #[pyo3(signature = (databases=16, manual_clock_ms=None, persistence_path=None, appendonly=true, appendfsync="everysec", save_rules=None, auto_rewrite_percentage=100, auto_rewrite_min_size=64*1024*1024, start_on_damage=false, config=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        databases: usize,
        manual_clock_ms: Option<i64>,
        persistence_path: Option<std::path::PathBuf>,
        appendonly: bool,
        appendfsync: &str,
        save_rules: Option<&Bound<'_, PyAny>>,
        auto_rewrite_percentage: u64,
        auto_rewrite_min_size: u64,
        start_on_damage: bool,
        config: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
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
        if let Some(path) = persistence_path {
            let mut cfg = crate::persistence::Config::new(path);
            cfg.appendonly = appendonly;
            cfg.fsync = crate::persistence::FsyncPolicy::parse(appendfsync).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(
                    "appendfsync must be 'always', 'everysec' or 'no'",
                )
            })?;
            if let Some(rules) = save_rules {
                cfg.save_rules = persist_glue::save_rules(rules)?;
            }
            cfg.auto_rewrite_percentage = auto_rewrite_percentage;
            cfg.auto_rewrite_min_size = auto_rewrite_min_size;
            cfg.start_on_damage = start_on_damage;
            opts.persistence = Some(cfg);
        }
        // Loading may take a while: other Python threads run meanwhile.
        let opened = py.detach(|| Engine::open(opts));
        let (inner, warnings) = opened.map_err(|e| persist_glue::error(py, &e))?;
        persist_glue::warn(py, &warnings)?;
        if let Some(cfg) = config {
            apply_config(&inner, cfg)?;
        }
        Ok(PyEngine {
            inner,
            manual_clock,
        })
    }

    /// Writes a snapshot now: to the engine's own file (folding its log) when `path` is None,
    /// else an export to `path`. Other threads keep being served while it is written. Returns
    /// True.
    #[pyo3(signature = (path=None))]
    fn save(&self, py: Python<'_>, path: Option<std::path::PathBuf>) -> PyResult<bool> {
        let engine = self.inner.clone();
        py.detach(move || crate::persistence::save(&engine, path.as_deref()))
            .map_err(persist_glue::command_error)?;
        Ok(true)
    }

    /// Final save, then releases the data files (and their lock); later writes are refused.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let engine = self.inner.clone();
        py.detach(move || crate::persistence::close(&engine))
            .map_err(persist_glue::command_error)
    }

    /// Unix time (seconds) of the last successful save.
    #[getter]
    fn lastsave(&self, py: Python<'_>) -> i64 {
        let store = session::lock_engine(py, &self.inner);
        match &store.persist {
            Some(a) => a.shared.lastsave_ms() / 1000,
            None => store.started_ms / 1000,
        }
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
    m.add_function(wrap_pyfunction!(
        persist_glue::_close_persistent_engines,
        m
    )?)?;
    Ok(())
}
