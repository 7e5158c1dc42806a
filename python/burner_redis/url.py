"""``burner://[name]/[db]?decode_responses=...&protocol=...`` URLs.

A URL names an engine: every pool or client in this process built from ``burner://jobs`` shares
the engine called ``jobs``; ``burner://`` (no name) makes a fresh, private engine each time.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from . import _engine

_named: dict[str, Any] = {}
_named_lock = threading.Lock()

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}


def _to_bool(v: str) -> bool:
    s = v.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"invalid boolean value {v!r} in burner URL")


def named_engine(name: str):
    """The process-wide engine called ``name`` (created on first use)."""
    with _named_lock:
        e = _named.get(name)
        if e is None:
            e = _named[name] = _engine.Engine()
        return e


def pool_kwargs_from_url(url: str, overrides: dict) -> dict:
    p = urlparse(url)
    if p.scheme != "burner":
        raise ValueError(f"burner URLs start with burner:// (got {url!r})")
    kw: dict[str, Any] = {}
    name = unquote(p.netloc or "")
    path = (p.path or "").strip("/")
    if path:
        try:
            kw["db"] = int(path)
        except ValueError:
            raise ValueError(f"invalid database number {path!r} in burner URL") from None
    for key, values in parse_qs(p.query, keep_blank_values=True).items():
        v = values[-1]
        if key in ("decode_responses",):
            kw[key] = _to_bool(v)
        elif key in ("protocol", "db", "databases"):
            kw[key] = int(v)
        elif key in ("encoding", "encoding_errors", "client_name"):
            kw[key] = v
        else:
            raise ValueError(f"unknown burner URL option {key!r}")
    kw.update(overrides)
    if "engine" not in kw and name:
        kw["engine"] = named_engine(name)
    return kw
