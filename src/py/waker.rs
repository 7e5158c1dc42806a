//! Wakers that reach Python: an asyncio future on its own loop.

use std::thread::ThreadId;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::engine::waker::Waker;

static WAKE_FN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `burner_redis._wake(fut)`: sets the future's result unless it is already done.
fn wake_fn(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    WAKE_FN
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("burner_redis._wake")?.getattr("wake")?.unbind())
        })
        .map(|o| o.bind(py))
}

/// Resolves an asyncio future: directly when called on the loop's own thread, through
/// `call_soon_threadsafe` from any other thread.
pub struct FutureWaker {
    fut: Py<PyAny>,
    event_loop: Py<PyAny>,
    thread: ThreadId,
}

impl FutureWaker {
    /// A waker for `fut`, created on the loop's thread.
    pub fn new(fut: Py<PyAny>, event_loop: Py<PyAny>) -> FutureWaker {
        FutureWaker {
            fut,
            event_loop,
            thread: std::thread::current().id(),
        }
    }
}

impl Waker for FutureWaker {
    fn wake(&self) {
        // Nothing to wake once the interpreter is shutting down.
        let _ = Python::try_attach(|py| -> PyResult<()> {
            let f = wake_fn(py)?;
            if std::thread::current().id() == self.thread {
                f.call1((self.fut.bind(py),))?;
            } else {
                self.event_loop
                    .bind(py)
                    .call_method1("call_soon_threadsafe", (f, self.fut.bind(py)))?;
            }
            Ok(())
        });
    }
}
