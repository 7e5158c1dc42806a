//! Python side of persistence: option parsing, exceptions from `burner_redis.persistence`, and
//! load warnings sent to the `logging` module (not `warnings`: test suites run with
//! `filterwarnings=error`).

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::persistence::{parse_save_rules, ErrorKind, PersistError};

/// `save_rules` as Redis's string (`"3600 1 300 100"`, `""` for none) or pairs of ints.
pub fn save_rules(v: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, u64)>> {
    if let Ok(s) = v.cast::<PyString>() {
        return parse_save_rules(s.to_str()?).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(
                "save_rules must be pairs of '<seconds> <changes>'",
            )
        });
    }
    v.extract::<Vec<(u64, u64)>>()
}

/// The `burner_redis.persistence` exception for `e`.
pub fn error(py: Python<'_>, e: &PersistError) -> PyErr {
    let class = match e.kind {
        ErrorKind::Corrupt => "CorruptDataError",
        ErrorKind::Locked => "DataLockedError",
        ErrorKind::Io => "PersistenceError",
    };
    let made = py
        .import("burner_redis.persistence")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((e.to_string(),)));
    match made {
        Ok(inst) => PyErr::from_value(inst),
        Err(err) => err,
    }
}

/// A failed save/close (its text is a Redis error reply) as a `PersistenceError`.
pub fn command_error(msg: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("burner_redis.persistence")
            .and_then(|m| m.getattr("PersistenceError"))
            .and_then(|c| c.call1((msg.clone(),)));
        match made {
            Ok(inst) => PyErr::from_value(inst),
            Err(err) => err,
        }
    })
}

/// Reports load warnings through `logging.getLogger("burner_redis.persistence")`.
pub fn warn(py: Python<'_>, warnings: &[String]) -> PyResult<()> {
    if warnings.is_empty() {
        return Ok(());
    }
    let logger = py
        .import("logging")?
        .call_method1("getLogger", ("burner_redis.persistence",))?;
    for w in warnings {
        logger.call_method1("warning", (w.as_str(),))?;
    }
    Ok(())
}

/// `_close_persistent_engines()`: the final save of every engine of this process that still has
/// persistence attached, made or not by a pool (called at interpreter exit). Returns the
/// failures as texts, for the caller to log.
#[pyfunction]
pub fn _close_persistent_engines(py: Python<'_>) -> Vec<String> {
    py.detach(crate::persistence::close_all)
}
