//! Python handle for the socket server (`Engine.serve(...)`).

use std::path::PathBuf;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::server::{serve, ServeOptions, ServerHandle};

/// A running RESP server over an engine; `close()` (or garbage collection) stops it.
#[pyclass(name = "Server", module = "burner_redis._engine")]
pub struct PyServer {
    handle: Option<ServerHandle>,
}

#[pymethods]
impl PyServer {
    /// The bound TCP port, if serving TCP.
    #[getter]
    fn port(&self) -> Option<u16> {
        self.handle.as_ref().and_then(|h| h.tcp_port)
    }

    /// The unix socket path, if serving one.
    #[getter]
    fn unix_socket(&self) -> Option<String> {
        self.handle
            .as_ref()
            .and_then(|h| h.unix_socket.as_ref().map(|p| p.display().to_string()))
    }

    /// Stops accepting, closes every connection and removes the socket file.
    fn close(&mut self, py: Python<'_>) {
        if let Some(mut h) = self.handle.take() {
            py.detach(move || h.close());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&mut self, py: Python<'_>, _a: Py<PyAny>, _b: Py<PyAny>, _c: Py<PyAny>) {
        self.close(py);
    }
}

/// Starts a server for `engine` (see `Engine.serve`).
#[allow(clippy::too_many_arguments)]
pub fn start(
    py: Python<'_>,
    engine: std::sync::Arc<crate::engine::Engine>,
    unix_socket: Option<String>,
    port: Option<u16>,
    host: String,
    password: Option<String>,
    unixsocketperm: u32,
    max_bulk_len: i64,
) -> PyResult<PyServer> {
    let opts = ServeOptions {
        unix_socket: unix_socket.map(PathBuf::from),
        unix_perm: unixsocketperm,
        tcp: port.map(|p| (host, p)),
        password: password.map(|p| p.into_bytes()),
        max_bulk: max_bulk_len,
        ..ServeOptions::default()
    };
    if let Some(p) = &opts.password {
        engine.lock().config.insert("requirepass".into(), p.clone());
    }
    let handle = py
        .detach(move || serve(engine, opts))
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(PyServer {
        handle: Some(handle),
    })
}
