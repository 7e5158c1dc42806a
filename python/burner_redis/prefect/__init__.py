"""Prefect server components on an in-process burner engine: a self-hosted server with no Redis.

Prefect chooses each Redis-capable server component by module path from its settings. Point them
at these modules (``python -m burner_redis prefect-env`` prints the block)::

    PREFECT_MESSAGING_BROKER=burner_redis.prefect.messaging
    PREFECT_MESSAGING_CACHE=burner_redis.prefect.messaging
    PREFECT_SERVER_EVENTS_CAUSAL_ORDERING=burner_redis.prefect.ordering
    PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE=burner_redis.prefect.lease_storage
    PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE=burner_redis.prefect.cleanup_queue

Each module is prefect-redis's implementation of that component running on a client of one
engine per process, shared by all components. Settings (environment, ``.env`` or
``prefect.toml`` table ``[burner]``, as Prefect reads its own):

- ``PREFECT_BURNER_PERSISTENCE_PATH``: keep the engine's data in this file (snapshot plus
  append-only log, loaded at start, saved at exit); unset means memory only.
- ``PREFECT_BURNER_APPENDFSYNC``: ``everysec`` (default), ``always`` or ``no``.
- ``PREFECT_BURNER_UNIX_SOCKET``: also serve the engine on this unix socket, so other processes
  (Prefect services started separately, ``redis-cli``) reach it with ``unix://PATH``.

Of prefect-redis's own settings, the ones that mean something in process are honoured:
``PREFECT_REDIS_MESSAGING_DB`` and ``_PROTOCOL`` (also for ordering and lease storage),
``PREFECT_REDIS_WORKER_CLEANUP_QUEUE_DB``/``_PROTOCOL``/``_KEY_PREFIX``, and every
``PREFECT_REDIS_MESSAGING_PUBLISHER_*`` / ``_CONSUMER_*`` tuning value (read by prefect-redis's
classes themselves). Host, port, URL, password, TLS and socket timeouts do not apply.

This package imports nothing from Prefect; the component modules import prefect and
prefect-redis when Prefect loads them.
"""

from __future__ import annotations

import asyncio
import atexit
import shlex
import threading
import weakref
from typing import Any

__all__ = ["COMPONENTS", "client", "engine", "environment"]

#: Prefect setting -> the module of this package that implements it.
COMPONENTS = {
    "PREFECT_MESSAGING_BROKER": "burner_redis.prefect.messaging",
    "PREFECT_MESSAGING_CACHE": "burner_redis.prefect.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "burner_redis.prefect.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "burner_redis.prefect.lease_storage",
    "PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE": "burner_redis.prefect.cleanup_queue",
}

# The same components from prefect-redis, for a process that reaches the engine over its socket.
_REDIS_COMPONENTS = {
    "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
    "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
    "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
    "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    "PREFECT_SERVER_WORKER_CHANNEL_CLEANUP_QUEUE_STORAGE": "prefect_redis.cleanup_queue",
}

_lock = threading.Lock()
_engine: Any = None
_server: Any = None
# Clients per event loop (prefect-redis caches its clients the same way), plus one for callers
# outside any loop; all of them on the one engine.
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_loopless: dict = {}


def _settings() -> Any:
    """This package's settings, read the way Prefect reads its own (env, .env, prefect.toml)."""
    # Prefect needs Python 3.11+, so ``str | None`` evaluates wherever this runs.
    from prefect.settings.base import PrefectBaseSettings, build_settings_config
    from pydantic import Field

    class BurnerSettings(PrefectBaseSettings):
        model_config = build_settings_config(("burner",))
        persistence_path: str | None = Field(default=None)
        appendfsync: str = Field(default="everysec")
        unix_socket: str | None = Field(default=None)

    return BurnerSettings()


def engine() -> Any:
    """The process-wide engine behind every component (created, loaded and served on first use)."""
    global _engine, _server
    if _engine is not None:
        return _engine
    with _lock:
        if _engine is None:
            from .._engine import Engine

            s = _settings()
            if s.persistence_path:
                # The engine registers itself for the final save at exit (burner_redis.persistence).
                e = Engine(persistence_path=s.persistence_path, appendfsync=s.appendfsync)
            else:
                e = Engine()
            if s.unix_socket:
                _server = e.serve(unix_socket=s.unix_socket)
                atexit.register(_close_server)
            _engine = e
    return _engine


def _close_server() -> None:
    if _server is not None:
        _server.close()


def client(db: int = 0, protocol: int = 2) -> Any:
    """A ``BurnerRedis`` (``decode_responses=True``, as prefect-redis uses) on the shared engine,
    one per event loop and (db, protocol)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    key = (db, protocol)
    with _lock:
        per_loop = _loopless if loop is None else _clients.setdefault(loop, {})
        c = per_loop.get(key)
    if c is None:
        from ..client import BurnerRedis

        c = BurnerRedis(engine=engine(), db=db, protocol=protocol, decode_responses=True)
        with _lock:
            c = per_loop.setdefault(key, c)
    return c


def environment(unix_socket: str | None = None, persistence_path: str | None = None, role: str = "server") -> dict:
    """The environment for a Prefect process.

    ``role="server"``: the process owning the engine (``prefect server start``); with
    ``unix_socket`` it also serves the engine there, and Docket goes through that socket too so
    that a second process can share it. ``role="client"``: a process that reaches that engine
    over ``unix_socket`` with prefect-redis's own components (e.g. ``prefect server services
    start`` next to ``prefect server start --no-services``).
    """
    if role == "server":
        env = dict(COMPONENTS)
        if persistence_path:
            env["PREFECT_BURNER_PERSISTENCE_PATH"] = persistence_path
        if unix_socket:
            env["PREFECT_BURNER_UNIX_SOCKET"] = unix_socket
            env["PREFECT_SERVER_DOCKET_URL"] = f"unix://{unix_socket}?db=1"
        return env
    if role == "client":
        if not unix_socket:
            raise ValueError("role='client' needs the unix socket of the process that serves the engine")
        env = dict(_REDIS_COMPONENTS)
        url = f"unix://{unix_socket}"
        env["PREFECT_REDIS_MESSAGING_URL"] = f"{url}?db=0"
        env["PREFECT_REDIS_WORKER_CLEANUP_QUEUE_URL"] = f"{url}?db=0"
        env["PREFECT_SERVER_DOCKET_URL"] = f"{url}?db=1"
        return env
    raise ValueError(f"unknown role {role!r} (server or client)")


def format_environment(env: dict) -> str:
    """``export NAME=value`` lines, for ``eval "$(python -m burner_redis prefect-env)"``."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def _settings_int(cls_path: str, field: str, default: int) -> int:
    """A field of one of prefect-redis's settings classes (``module:Class``)."""
    import importlib

    mod, _, name = cls_path.partition(":")
    try:
        return int(getattr(getattr(importlib.import_module(mod), name)(), field))
    except (ImportError, AttributeError):
        return default


def private_copy(module: str, **globals_: Any) -> Any:
    """Runs ``module``'s source once more as a private module of this package, then replaces the
    given globals in it. prefect-redis's messaging functions look their client factory up as a
    module global at call time; a private copy hands them ours without changing ``module``
    itself for anyone else in the process."""
    import importlib.util
    import sys

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or spec.loader is None:
        raise ImportError(f"{module} is not installed (pip install prefect-redis)")
    name = f"{__name__}._private_{module.replace('.', '_')}"
    with _lock:
        mod = sys.modules.get(name)
        if mod is None:
            private = importlib.util.spec_from_file_location(name, spec.origin)
            assert private is not None and private.loader is not None
            mod = importlib.util.module_from_spec(private)
            # Registered before it runs: dataclasses and pydantic resolve annotations through it.
            sys.modules[name] = mod
            try:
                private.loader.exec_module(mod)
            except BaseException:
                del sys.modules[name]
                raise
            for k, v in globals_.items():
                if not hasattr(mod, k):
                    raise ImportError(f"{module} has no {k}: this prefect-redis version is not supported")
                setattr(mod, k, v)
    return mod


def messaging_client() -> Any:
    """The client for messaging, ordering and lease storage: ``PREFECT_REDIS_MESSAGING_DB`` and
    ``_PROTOCOL`` apply."""
    cls = "prefect_redis.client:RedisMessagingSettings"
    return client(db=_settings_int(cls, "db", 0), protocol=_settings_int(cls, "protocol", 2))
