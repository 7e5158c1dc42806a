"""Connection pools that hand redis-py clients connections to a burner engine.

A pool owns (or is given) an :class:`Engine`; two pools share data only when given the same
engine. The pools implement exactly what redis-py's clients call on a pool (see ARCHITECTURE.md)
and nothing that would cost time per command: no locks in the async pool, no health checks.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

from redis._parsers.encoders import Encoder

from . import _engine, persistence
from ._compat import effective_protocol
from .connection import BurnerConnection, BurnerSyncConnection

Engine = _engine.Engine

_ENGINE_KWARGS = ("databases", *persistence.ENGINE_KWARGS)


#: Pool arguments that become CONFIG parameters of a new engine.
_CONFIG_KWARGS = {"maxmemory": "maxmemory", "maxmemory_policy": "maxmemory-policy"}


def _split_kwargs(kwargs: dict) -> tuple[dict, dict]:
    engine_kw = {k: kwargs.pop(k) for k in _ENGINE_KWARGS if k in kwargs}
    config = dict(kwargs.pop("config", None) or {})
    for arg, name in _CONFIG_KWARGS.items():
        if arg in kwargs:
            value = kwargs.pop(arg)
            if value is not None:
                config[name] = value
    if config:
        engine_kw["config"] = config
    return engine_kw, kwargs


class _PoolBase:
    connection_class: type

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        db: int = 0,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        protocol: int | None = None,
        client_name: str | None = None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        engine_kw, rest = _split_kwargs(dict(kwargs))
        self.engine = engine if engine is not None else Engine(**engine_kw)
        # A pool that made a persistent engine owns it: closing the pool saves and releases it.
        self._owns_persistence = engine is None and engine_kw.get("persistence_path") is not None
        ck: dict[str, Any] = {
            "db": int(db),
            "decode_responses": bool(decode_responses),
            "encoding": encoding,
            "encoding_errors": encoding_errors,
            "client_name": client_name,
            "username": username,
            "password": password,
        }
        if protocol is not None:
            effective_protocol(protocol)  # validate early, with redis-py's error
            ck["protocol"] = int(protocol)
        for k in ("retry", "retry_on_error", "retry_on_timeout", "legacy_responses", "health_check_interval", "lib_name", "lib_version", "driver_info", "credential_provider"):
            if k in rest:
                ck[k] = rest.pop(k)
        # Socket-only options are accepted and ignored, so URL- or settings-built kwargs work.
        self.connection_kwargs = ck
        self._encoder = Encoder(encoding, encoding_errors, bool(decode_responses))
        self._available: list = []
        self._in_use: set = set()
        # Connections held by a PubSub: weakly, so a PubSub dropped without close() lets its
        # connection (and the engine session's subscriptions) be collected.
        self._in_use_weak: weakref.WeakSet = weakref.WeakSet()
        self.pid = os.getpid()
        self.cache = None

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__}(db={self.connection_kwargs['db']})>"

    def get_encoder(self) -> Encoder:
        return self._encoder

    def get_protocol(self):
        return self.connection_kwargs.get("protocol")

    def set_retry(self, retry) -> None:
        self.connection_kwargs["retry"] = retry
        for c in list(self._available) + list(self._in_use) + list(self._in_use_weak):
            c.retry = retry

    def get_connection_count(self):
        return []

    def make_connection(self):
        conn = self.connection_class(engine=self.engine, **self.connection_kwargs)
        conn._pool_ref = weakref.ref(self)
        return conn

    def _hold_weakly(self, conn) -> None:
        if conn in self._in_use:
            self._in_use.discard(conn)
            self._in_use_weak.add(conn)

    def _take(self):
        try:
            conn = self._available.pop()
            # Killed (CLIENT KILL) while idle in the pool: a fresh session, as redis-py replaces
            # a pooled socket it finds closed.
            conn._reset_if_dirty()
        except IndexError:
            conn = self.make_connection()
        self._in_use.add(conn)
        return conn

    def _give_back(self, conn) -> None:
        if conn in self._in_use or conn in self._in_use_weak:
            self._in_use.discard(conn)
            self._in_use_weak.discard(conn)
            conn._reset_if_dirty()
            self._available.append(conn)

    def _disconnect_all(self, inuse_connections: bool = True) -> None:
        conns = list(self._available)
        if inuse_connections:
            conns += list(self._in_use) + list(self._in_use_weak)
        for c in conns:
            c._drop_session()

    def _close_owned_engine(self) -> None:
        if self._owns_persistence:
            self._owns_persistence = False
            persistence.close_engine(self.engine)

    def reset(self) -> None:
        self._disconnect_all()
        self._available = []
        self._in_use = set()
        self._in_use_weak = weakref.WeakSet()
        self.pid = os.getpid()


class BurnerConnectionPool(_PoolBase):
    """Pool for ``redis.asyncio.Redis(connection_pool=BurnerConnectionPool())``."""

    connection_class = BurnerConnection

    async def get_connection(self, *args: Any, **kwargs: Any):
        conn = self._take()
        if conn._session is None:
            try:
                await conn.connect()
            except BaseException:
                self._in_use.discard(conn)
                raise
        return conn

    async def release(self, connection) -> None:
        self._give_back(connection)

    async def disconnect(self, inuse_connections: bool = True) -> None:
        self._disconnect_all(inuse_connections)
        self._close_owned_engine()

    async def aclose(self) -> None:
        self._disconnect_all()
        self._close_owned_engine()

    async def save(self, path: str | None = None) -> bool:
        """Writes a snapshot now (to ``path``, or the engine's persistence file)."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.engine.save, path)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> BurnerConnectionPool:
        from .url import pool_kwargs_from_url

        return cls(**pool_kwargs_from_url(url, kwargs))


class BurnerSyncConnectionPool(_PoolBase):
    """Thread-safe pool for ``redis.Redis(connection_pool=BurnerSyncConnectionPool())``."""

    connection_class = BurnerSyncConnection

    def __init__(self, engine: Engine | None = None, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self._lock = threading.Lock()

    def _check_pid(self) -> None:
        if self.pid != os.getpid():
            # After fork the parent's sessions belong to the parent: start over.
            with self._lock:
                if self.pid != os.getpid():
                    self._available = []
                    self._in_use = set()
                    self._in_use_weak = weakref.WeakSet()
                    self.pid = os.getpid()

    def get_connection(self, *args: Any, **kwargs: Any):
        self._check_pid()
        with self._lock:
            conn = self._take()
        if conn._session is None:
            try:
                conn.connect()
            except BaseException:
                with self._lock:
                    self._in_use.discard(conn)
                raise
        return conn

    def _hold_weakly(self, conn) -> None:
        with self._lock:
            super()._hold_weakly(conn)

    def release(self, connection) -> None:
        if self.pid != os.getpid():
            return
        with self._lock:
            self._give_back(connection)

    def disconnect(self, inuse_connections: bool = True) -> None:
        with self._lock:
            self._disconnect_all(inuse_connections)
        self._close_owned_engine()

    def save(self, path: str | None = None) -> bool:
        """Writes a snapshot now (to ``path``, or the engine's persistence file)."""
        return self.engine.save(path)

    def close(self) -> None:
        self.disconnect()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> BurnerSyncConnectionPool:
        from .url import pool_kwargs_from_url

        return cls(**pool_kwargs_from_url(url, kwargs))
