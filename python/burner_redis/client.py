"""``BurnerRedis``: a ``redis.asyncio.Redis`` over its own engine, with a direct command path.

``BurnerRedis()`` keeps the original burner-redis quick start (``db = BurnerRedis(); await
db.set(...)``) and is what pydocket's ``memory://`` mode instantiates: every instance is a fresh,
isolated engine unless one is passed. Its ``execute_command`` skips the pool round trip, the retry
wrapper and redis-py's observability hooks for non-blocking commands (they cannot fail the way a
socket does) while keeping redis-py's response callbacks, options and exceptions; blocking
commands, pipelines and PubSub take redis-py's normal path.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

import redis
import redis.asyncio
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, CaseInsensitiveDict
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from . import _engine
from .pool import BurnerConnectionPool, BurnerSyncConnectionPool

_BLOCKED = _engine.BLOCKED

# Commands that may block (or change a connection's mode): they need a connection of their own.
_SLOW_PATH = frozenset(
    name
    for n in (
        "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
        "XREAD", "XREADGROUP", "WAIT", "WAITAOF", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE",
        "MONITOR", "MULTI", "WATCH", "SELECT", "HELLO", "RESET", "QUIT", "CLIENT KILL",
    )
    for name in (n, n.lower())
)


_NO_REPLY = object()

# Reply types that are never awaitable: checking for them first skips `inspect.isawaitable`'s ABC
# lookup on every command (a callback returning an awaitable is rare but allowed).
_PLAIN = frozenset((bytes, str, int, float, bool, list, dict, set, tuple, type(None)))


_dict_get = dict.get


def _callback_for(callbacks, name):
    """``callbacks.get(name)``. redis-py's table is a CaseInsensitiveDict holding upper-case keys
    whose ``get`` upper-cases every name in Python; the upper-case names redis-py's own methods
    send are looked up directly, with the same result."""
    if type(callbacks) is CaseInsensitiveDict and type(name) is str and name.isupper():
        return _dict_get(callbacks, name)
    return callbacks.get(name)


def _run_direct(s, args, options):
    """Runs one command on a session and reads its reply as redis-py's ``parse_response`` does:
    NEVER_DECODE, EMPTY_RESPONSE on a ResponseError, and the ``keys`` option removed. Returns
    ``(reply, options)``, or ``(EMPTY_RESPONSE value, _NO_REPLY)`` when that short-circuits."""
    s.execute(args)
    if not options:
        return s.read(False), options
    try:
        if NEVER_DECODE in options:
            response = s.read(True)
            options.pop(NEVER_DECODE)
        else:
            response = s.read(False)
    except ResponseError:
        if EMPTY_RESPONSE in options:
            return options[EMPTY_RESPONSE], _NO_REPLY
        raise
    options.pop(EMPTY_RESPONSE, None)
    options.pop("keys", None)
    return response, options


def _pool_kwargs(persistence_path, kwargs: dict) -> dict:
    if persistence_path is not None:
        kwargs["persistence_path"] = persistence_path
    return kwargs


class BurnerRedis(redis.asyncio.Redis):
    """An asyncio Redis client on an in-process engine (a fresh one unless ``engine=`` is given)."""

    def __init__(self, persistence_path: str | None = None, *, engine: Any = None, connection_pool: Any = None, **kwargs: Any):
        own_pool = connection_pool is None
        if own_pool:
            connection_pool = BurnerConnectionPool(engine, **_pool_kwargs(persistence_path, kwargs))
        super().__init__(connection_pool=connection_pool)
        self.auto_close_connection_pool = own_pool
        self._direct = None

    @property
    def engine(self):
        """The engine behind this client."""
        return self.connection_pool.engine

    async def _direct_session(self):
        conn = self._direct
        if conn is None:
            conn = self._direct = self.connection_pool.make_connection()
        if conn._session is None:
            await conn.connect()
        return conn._session

    async def execute_command(self, *args, **options):
        name = args[0]
        if self.single_connection_client or name in _SLOW_PATH:
            return await super().execute_command(*args, **options)
        s = self._direct._session if self._direct is not None else None
        if s is None:
            s = await self._direct_session()
        try:
            response, options = _run_direct(s, args, options)
        except RedisConnectionError:
            if not s.killed:
                raise
            # CLIENT KILL closed the direct session: a new one, as redis-py's retry reconnects.
            self._direct._drop_session()
            s = await self._direct_session()
            response, options = _run_direct(s, args, options)
        if options is _NO_REPLY:
            return response
        if response is _BLOCKED:  # pragma: no cover - every blocking command is on the slow path
            response = await self._direct._wait_blocked(s, False)
        callback = _callback_for(self.response_callbacks, name)
        if callback is not None:
            retval = callback(response, **options) if options else callback(response)
            if type(retval) in _PLAIN or not inspect.isawaitable(retval):
                return retval
            return await retval
        return response

    def set(self, name, value, *args, **kwargs):
        # redis-py's `set` spends ~2 us checking and assembling options; with none given it sends
        # exactly ("SET", name, value), so send that directly.
        if args or kwargs:
            return super().set(name, value, *args, **kwargs)
        return self.execute_command("SET", name, value)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self._direct is not None:
            self._direct._drop_session()
        closer = getattr(super(), "aclose", None) or super().close
        await closer(close_connection_pool)

    async def save(self, path: str | None = None) -> bool:
        """Writes a snapshot now (to ``path``, or the configured persistence file)."""
        return await self.connection_pool.save(path)


class BurnerSyncRedis(redis.Redis):
    """The sync twin of :class:`BurnerRedis`."""

    def __init__(self, persistence_path: str | None = None, *, engine: Any = None, connection_pool: Any = None, **kwargs: Any):
        own_pool = connection_pool is None
        if own_pool:
            connection_pool = BurnerSyncConnectionPool(engine, **_pool_kwargs(persistence_path, kwargs))
        super().__init__(connection_pool=connection_pool)
        self.auto_close_connection_pool = own_pool
        self._direct = None
        self._direct_lock = threading.Lock()

    @property
    def engine(self):
        """The engine behind this client."""
        return self.connection_pool.engine

    def execute_command(self, *args, **options):
        name = args[0]
        if self.connection is not None or name in _SLOW_PATH:
            return super().execute_command(*args, **options)
        with self._direct_lock:
            conn = self._direct
            if conn is None:
                conn = self._direct = self.connection_pool.make_connection()
            if conn._session is None:
                conn.connect()
            s = conn._session
            try:
                response, options = _run_direct(s, args, options)
            except RedisConnectionError:
                if not s.killed:
                    raise
                # CLIENT KILL closed the direct session: a new one, as redis-py's retry reconnects.
                conn._drop_session()
                conn.connect()
                s = conn._session
                response, options = _run_direct(s, args, options)
            if options is _NO_REPLY:
                return response
            if response is _BLOCKED:  # pragma: no cover - every blocking command is on the slow path
                response = s.block_wait(False)
        callback = _callback_for(self.response_callbacks, name)
        if callback is not None:
            return callback(response, **options) if options else callback(response)
        return response

    def set(self, name, value, *args, **kwargs):
        # See BurnerRedis.set: without options redis-py sends exactly ("SET", name, value).
        if args or kwargs:
            return super().set(name, value, *args, **kwargs)
        return self.execute_command("SET", name, value)

    def close(self) -> None:
        if self._direct is not None:
            self._direct._drop_session()
        super().close()

    def save(self, path: str | None = None) -> bool:
        """Writes a snapshot now (to ``path``, or the configured persistence file)."""
        return self.connection_pool.save(path)
