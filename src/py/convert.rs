//! Conversions at the Python edge: redis-py arguments in, typed replies out.
//!
//! Replies become exactly the objects redis-py's own pure-Python parsers produce for the
//! connection's protocol (see `shared/notes/redis-py-integration.md` §4): RESP2 flattens maps and
//! stringifies doubles; RESP3 gives dicts, floats, bools. Errors become the installed redis-py's
//! exception instances through its `parse_error`, so every version maps prefixes its own way.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PySet, PyString,
    PyTuple,
};

use crate::reply::{format_double, Reply};

/// How replies are decoded for one connection.
#[derive(Clone)]
pub struct Decode {
    /// `decode_responses=True`.
    pub decode: bool,
    /// Encoding is UTF-8 with strict errors: decode in Rust.
    pub fast_utf8: bool,
    /// The encoding name (for the slow path).
    pub encoding: String,
    /// The error handler name (for the slow path).
    pub errors: String,
    /// redis-py 5.0.x turns RESP3 sets into Python sets.
    pub sets_as_set: bool,
}

static PARSE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATA_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn parse_error(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    PARSE_ERROR
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            let m = py.import("redis._parsers.base")?;
            Ok(m.getattr("BaseParser")?.getattr("parse_error")?.unbind())
        })
        .map(|o| o.bind(py))
}

/// Raises redis-py's `DataError` with `msg`.
pub fn data_error(py: Python<'_>, msg: String) -> PyErr {
    match DATA_ERROR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("redis.exceptions")?
            .getattr("DataError")?
            .unbind())
    }) {
        Ok(cls) => match cls.bind(py).call1((msg,)) {
            Ok(inst) => PyErr::from_value(inst),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// The exception instance redis-py builds for an error reply.
pub fn error_instance<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    parse_error(py)?.call1((text,))
}

/// Converts one argument as redis-py's `Encoder.encode` would.
pub fn arg_to_bytes(py: Python<'_>, obj: &Bound<'_, PyAny>, dec: &Decode) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        if dec.fast_utf8 {
            return Ok(s.to_str()?.as_bytes().to_vec());
        }
        let b = s.call_method1("encode", (&dec.encoding, &dec.errors))?;
        return Ok(b.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    if obj.is_instance_of::<PyBool>() {
        return Err(data_error(py, invalid_input(obj)));
    }
    if obj.is_instance_of::<PyInt>() {
        // Fast path for machine-size ints (their repr is their decimal text); big ints and int
        // subclasses with their own repr fall through to repr() below.
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(v) = obj.extract::<i64>() {
                return Ok(v.to_string().into_bytes());
            }
        }
        return Ok(obj.repr()?.to_str()?.as_bytes().to_vec());
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(obj.repr()?.to_str()?.as_bytes().to_vec());
    }
    if let Ok(m) = obj.cast::<PyMemoryView>() {
        let b = m.call_method0("tobytes")?;
        return Ok(b.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(data_error(py, invalid_input(obj)))
}

fn invalid_input(obj: &Bound<'_, PyAny>) -> String {
    let tn = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    format!(
        "Invalid input of type: '{}'. Convert to a bytes, string, int or float first.",
        tn
    )
}

/// Converts a command tuple (`("SET", "k", 1)`) into argument bytes; a first argument with spaces
/// ("SCRIPT LOAD") is split as redis-py's `pack_command` does.
pub fn command_args(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    dec: &Decode,
) -> PyResult<Vec<Vec<u8>>> {
    let n = args.len();
    if n == 0 {
        return Err(PyTypeError::new_err("empty command"));
    }
    let mut out = Vec::with_capacity(n + 1);
    let first = arg_to_bytes(py, &args.get_item(0)?, dec)?;
    if first.contains(&b' ') {
        out.extend(
            first
                .split(|c| *c == b' ')
                .filter(|p| !p.is_empty())
                .map(|p| p.to_vec()),
        );
    } else {
        out.push(first);
    }
    for i in 1..n {
        out.push(arg_to_bytes(py, &args.get_item(i)?, dec)?);
    }
    Ok(out)
}

fn text<'py>(py: Python<'py>, b: &[u8], dec: &Decode, raw: bool) -> PyResult<Bound<'py, PyAny>> {
    if raw || !dec.decode {
        return Ok(PyBytes::new(py, b).into_any());
    }
    if dec.fast_utf8 {
        if let Ok(s) = std::str::from_utf8(b) {
            return Ok(PyString::new(py, s).into_any());
        }
    }
    // Slow path: let Python decode, so errors (and error handlers) are exactly redis-py's.
    PyBytes::new(py, b).call_method1("decode", (&dec.encoding, &dec.errors))
}

/// Converts a reply to what redis-py's parser would return for `resp`. Nested errors become
/// exception instances; the caller raises a top-level one.
pub fn reply_to_py<'py>(
    py: Python<'py>,
    r: &Reply,
    resp: u8,
    dec: &Decode,
    raw: bool,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match r {
        Reply::Status(s) => text(py, s.as_bytes(), dec, raw)?,
        Reply::Bulk(b) => text(py, b, dec, raw)?,
        Reply::Verbatim(b) => text(py, b, dec, raw)?,
        Reply::Int(i) => i.into_pyobject(py)?.into_any(),
        Reply::Nil | Reply::NilArray => py.None().into_bound(py),
        Reply::Error(e) => error_instance(py, e)?,
        Reply::Array(items) | Reply::Push(items) => list(py, items, resp, dec, raw)?,
        Reply::Set(items) => {
            if resp == 3 && dec.sets_as_set {
                let l = list(py, items, resp, dec, raw)?;
                match PySet::new(py, l.cast::<PyList>()?.iter()) {
                    Ok(s) => s.into_any(),
                    Err(_) => l,
                }
            } else {
                list(py, items, resp, dec, raw)?
            }
        }
        Reply::Map(pairs) => {
            if resp == 3 {
                let d = PyDict::new(py);
                for (k, v) in pairs {
                    d.set_item(
                        reply_to_py(py, k, resp, dec, raw)?,
                        reply_to_py(py, v, resp, dec, raw)?,
                    )?;
                }
                d.into_any()
            } else {
                let l = PyList::empty(py);
                for (k, v) in pairs {
                    l.append(reply_to_py(py, k, resp, dec, raw)?)?;
                    l.append(reply_to_py(py, v, resp, dec, raw)?)?;
                }
                l.into_any()
            }
        }
        Reply::Double(d) => {
            if resp == 3 {
                PyFloat::new(py, *d).into_any()
            } else {
                text(py, format_double(*d).as_bytes(), dec, raw)?
            }
        }
        Reply::Bool(b) => {
            if resp == 3 {
                PyBool::new(py, *b).to_owned().into_any()
            } else {
                (*b as i64).into_pyobject(py)?.into_any()
            }
        }
        Reply::BigNumber(s) => {
            if resp == 3 {
                py.import("builtins")?
                    .getattr("int")?
                    .call1((s.as_str(),))?
            } else {
                text(py, s.as_bytes(), dec, raw)?
            }
        }
    })
}

fn list<'py>(
    py: Python<'py>,
    items: &[Reply],
    resp: u8,
    dec: &Decode,
    raw: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let l = PyList::empty(py);
    for it in items {
        l.append(reply_to_py(py, it, resp, dec, raw)?)?;
    }
    Ok(l.into_any())
}
