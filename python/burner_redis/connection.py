"""Connections that answer redis-py from the in-process engine instead of a socket.

Both classes subclass redis-py's own ``AbstractConnection`` (async and sync), so every attribute
the client reads exists on every supported version, and override only the I/O: commands run in
the engine when sent, and their typed replies are queued until ``read_response``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import threading
import time
from typing import Any

from redis.asyncio.connection import AbstractConnection as _AsyncBase
from redis.connection import AbstractConnection as _SyncBase
from redis.exceptions import ConnectionError as RedisConnectionError

from . import _engine
from ._compat import SETS_AS_SET, effective_protocol
from ._wake import wake as _wake
from .resp import parse_packed

_BLOCKED = _engine.BLOCKED
_EMPTY = _engine.EMPTY


def _deadline_after(now: float, timeout) -> float | None:
    """Absolute deadline for a read ``timeout`` (None, inf or redis-py's SENTINEL wait forever)."""
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout != math.inf:
        return now + max(0.0, float(timeout))
    return None


class _Batch(list):
    """What our ``pack_command(s)`` return: the argument tuples themselves, no RESP."""

    __slots__ = ()


class _ParserShim:
    """Stands where redis-py keeps its socket parser; holds the push handlers PubSub installs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pubsub_push_handler_func = None
        self.invalidation_push_handler_func = None
        # Maintenance-notification handlers (redis-py 7.x/8.x): an engine never sends those pushes.
        self.node_moving_push_handler_func = None
        self.maintenance_push_handler_func = None
        self.oss_cluster_maint_push_handler_func = None

    def set_push_handler(self, func):  # redis-py 5.0.x name
        self.pubsub_push_handler_func = func

    def set_pubsub_push_handler(self, func):
        self.pubsub_push_handler_func = func

    def set_invalidation_push_handler(self, func):
        self.invalidation_push_handler_func = func

    def handle_pubsub_push_response(self, response):
        # redis-py 8.2's PubSub reset puts this back as the handler once its own is removed:
        # a push with no user handler is returned to the reader as it is.
        return response

    def set_maint_push_handler(self, func):
        pass

    def set_node_moving_push_handler(self, func):
        self.node_moving_push_handler_func = func

    def set_maintenance_push_handler(self, func):
        self.maintenance_push_handler_func = func

    def set_oss_cluster_maint_push_handler(self, func):
        self.oss_cluster_maint_push_handler_func = func

    def on_connect(self, connection):
        pass

    def on_disconnect(self):
        pass

    def can_read(self, timeout=0):
        return False


_DROP = (
    "host",
    "port",
    "socket_keepalive",
    "socket_keepalive_options",
    "socket_type",
    "path",
    "ssl",
    "connection_class",
    "max_connections",
    "single_connection_client",
    "engine",
    "persistence_path",
)


class _NoLock:
    """Async connections are used from one loop thread at a time: nothing to serialise."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NOLOCK = _NoLock()


def _base_kwargs(kwargs: dict) -> dict:
    kw = {k: v for k, v in kwargs.items() if k not in _DROP}
    kw["parser_class"] = _ParserShim
    # Our reads never touch a socket: redis-py 8's default 5 s socket timeout must not bound
    # a BLOCK 60000, and health checks have nothing to check.
    kw["socket_timeout"] = None
    kw["socket_connect_timeout"] = None
    kw.setdefault("health_check_interval", 0)
    return kw


class _SessionMixin:
    """The parts both connection flavours share."""

    _engine_obj: Any
    _session: Any
    _waiter: Any = None
    _io_lock: Any = None
    _pool_ref: Any = None

    def _open_session(self):
        self._session = self._engine_obj.session(
            protocol=effective_protocol(getattr(self, "protocol", None)),
            decode_responses=self.encoder.decode_responses,
            encoding=self.encoder.encoding,
            encoding_errors=self.encoder.encoding_errors,
            sets_as_set=SETS_AS_SET,
        )
        return self._session

    def _handshake_commands(self):
        cmds = []
        if self.password or getattr(self, "username", None):
            if self.username:
                cmds.append(("AUTH", self.username, self.password))
            else:
                cmds.append(("AUTH", self.password))
        if self.client_name:
            cmds.append(("CLIENT", "SETNAME", self.client_name))
        if self.db:
            cmds.append(("SELECT", self.db))
        return cmds

    def _run_handshake(self):
        s = self._session
        for cmd in self._handshake_commands():
            s.execute(cmd)
            try:
                s.read(False)
            except BaseException:
                self._drop_session()
                raise

    def _drop_session(self):
        s = self._session
        self._session = None
        self._waiter = None
        if s is not None:
            s.close()

    def _push_waiter(self, s):
        w = self._waiter
        if w is None:
            w = self._waiter = s.push_waiter()
        return w

    def register_connect_callback(self, callback):
        # Only PubSub registers connect callbacks: it holds this connection for a long time,
        # so the pool keeps it weakly (a garbage-collected PubSub then leaves no subscription
        # behind), and sync access is serialised because a PubSub worker thread may read while
        # another thread subscribes.
        super().register_connect_callback(callback)
        if self._io_lock is None:
            self._io_lock = self._make_io_lock()
        pool = self._pool_ref() if self._pool_ref is not None else None
        if pool is not None:
            pool._hold_weakly(self)

    def _make_io_lock(self):
        return _NoLock()

    def repr_pieces(self):
        pieces = [("engine", "burner"), ("db", self.db)]
        if self.client_name:
            pieces.append(("client_name", self.client_name))
        return pieces

    def _host_error(self):
        return "burner engine"

    def getpeername(self):
        return None

    @property
    def is_connected(self):
        return self._session is not None

    def pack_command(self, *args):
        return _Batch((args,))

    def pack_commands(self, commands):
        return _Batch(tuple(c) for c in commands)

    def _send_packed(self, command):
        s = self._session
        if isinstance(command, _Batch):
            if len(command) == 1:
                s.execute(command[0])
            else:
                s.execute_many(command)
            return
        # Raw RESP from third-party code: parse it into commands.
        for args in parse_packed(command):
            s.execute(args)

    def _reset_if_dirty(self):
        """A connection returned to the pool with unread replies is reset (as a socket would
        be after an interrupted exchange)."""
        s = self._session
        if s is not None and s.needs_reset:
            self._drop_session()


class BurnerConnection(_SessionMixin, _AsyncBase):
    """An asyncio connection to a burner engine."""

    def __init__(self, *, engine, **kwargs):
        self._engine_obj = engine
        self._session = None
        super().__init__(**_base_kwargs(kwargs))

    async def _connect(self):  # pragma: no cover - connect() is overridden
        pass

    async def connect(self, *args, **kwargs):
        if self._session is not None:
            return
        self._open_session()
        self._run_handshake()
        for ref in list(self._connect_callbacks):
            callback = ref()
            if callback is None:
                continue
            task = callback(self)
            if task and inspect.isawaitable(task):
                await task

    async def connect_check_health(self, *args, **kwargs):
        await self.connect()

    async def on_connect(self, *args, **kwargs):
        pass

    async def disconnect(self, nowait: bool = False, error=None, failure_count=None, health_check_failed=False, **kwargs):
        self._drop_session()

    async def _close(self):
        self._drop_session()

    async def check_health(self):
        pass

    async def send_command(self, *args: Any, **kwargs: Any) -> None:
        s = self._session
        if s is None:
            await self.connect()
            s = self._session
        s.execute(args)

    async def send_packed_command(self, command, check_health: bool = True) -> None:
        if self._session is None:
            await self.connect()
        self._send_packed(command)

    async def can_read_destructive(self):
        return False

    async def can_read(self, timeout=0):
        return False

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,
        *,
        disconnect_on_error: bool = True,
        push_request: bool | None = False,
    ):
        s = self._session
        if s is None:
            raise RedisConnectionError("Connection closed by server.")
        try:
            r = s.read(disable_decoding)
        except RedisConnectionError:
            self._drop_session()
            raise
        if r is _BLOCKED:
            try:
                r = await self._wait_blocked(s, disable_decoding)
            except BaseException:
                if disconnect_on_error:
                    self._drop_session()
                raise
        elif r is _EMPTY or type(r) is tuple:
            return await self._read_push(s, r, disable_decoding, timeout, push_request, disconnect_on_error)
        return r

    async def _read_push(self, s, r, disable_decoding, timeout, push_request, disconnect_on_error):
        """Reads on a connection that receives pushes: waits (no polling) for a message, hands
        RESP3 push frames to the push handler, and returns None when ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        deadline = _deadline_after(loop.time(), timeout)
        w = self._push_waiter(s)
        while True:
            if type(r) is tuple:
                res = await self._handle_push(r[0])
                if push_request:
                    self._note_read(loop)
                    return res
            elif r is not _EMPTY:
                self._note_read(loop)
                return r
            else:
                if deadline is not None and loop.time() >= deadline:
                    return None
                seq = w.seq()
                if s.readable():
                    r = self._read_or_drop(s, disable_decoding)
                    continue
                fut = loop.create_future()
                if w.register(seq, fut, loop):
                    timer = loop.call_later(deadline - loop.time(), _wake, fut) if deadline is not None else None
                    try:
                        await fut
                    except BaseException:
                        w.clear()
                        if disconnect_on_error:
                            self._drop_session()
                        raise
                    finally:
                        if timer is not None:
                            timer.cancel()
                if self._session is not s:
                    raise RedisConnectionError("Connection closed by server.")
            r = self._read_or_drop(s, disable_decoding)

    def _read_or_drop(self, s, disable_decoding):
        try:
            return s.read(disable_decoding)
        except RedisConnectionError:
            self._drop_session()
            raise

    async def _handle_push(self, msg):
        handler = self._parser.pubsub_push_handler_func
        if handler is None:
            return msg
        res = handler(msg)
        if inspect.isawaitable(res):
            res = await res
        return res

    def _note_read(self, loop):
        if self.health_check_interval:
            self.next_health_check = loop.time() + self.health_check_interval

    async def _wait_blocked(self, s, disable_decoding):
        loop = asyncio.get_running_loop()
        while True:
            fut = loop.create_future()
            r = s.block_step(fut, loop, disable_decoding)
            if type(r) is not tuple:
                return r
            secs = r[1]
            timer = loop.call_later(secs, _wake, fut) if secs is not None else None
            try:
                await fut
            except BaseException:
                # Cancelled (or interrupted): nothing was taken for this waiter.
                s.cancel_block()
                raise
            finally:
                if timer is not None:
                    timer.cancel()


class BurnerSyncConnection(_SessionMixin, _SyncBase):
    """A thread-safe-by-pool sync connection to a burner engine."""

    def __init__(self, *, engine, **kwargs):
        self._engine_obj = engine
        self._session = None
        super().__init__(**_base_kwargs(kwargs))

    def _connect(self):  # pragma: no cover - connect() is overridden
        return None

    @property
    def host(self):  # redis-py 8.1 marks it abstract; None keeps maint notifications off
        return None

    @host.setter
    def host(self, value):
        pass

    def connect(self, *args, **kwargs):
        if self._session is not None:
            return
        self._open_session()
        self._run_handshake()
        for ref in list(self._connect_callbacks):
            callback = ref()
            if callback is not None:
                callback(self)

    def connect_check_health(self, *args, **kwargs):
        self.connect()

    def on_connect(self, *args, **kwargs):
        pass

    def disconnect(self, *args, **kwargs):
        self._drop_session()

    def _close(self):
        self._drop_session()

    def check_health(self):
        pass

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        s = self._session
        if s is None:
            self.connect()
            s = self._session
        lock = self._io_lock
        if lock is None:
            s.execute(args)
        else:
            with lock:
                s.execute(args)

    def send_packed_command(self, command, check_health: bool = True) -> None:
        if self._session is None:
            self.connect()
        lock = self._io_lock
        if lock is None:
            self._send_packed(command)
        else:
            with lock:
                self._send_packed(command)

    def _make_io_lock(self):
        return threading.RLock()

    def _drop_session(self):
        lock = self._io_lock
        if lock is None:
            super()._drop_session()
        else:
            with lock:
                super()._drop_session()

    def can_read(self, timeout: float | None = 0) -> bool:
        """True once a reply or pushed message is waiting; waits up to ``timeout`` seconds (None:
        forever) with the GIL released, woken by the publisher rather than by polling."""
        s = self._session
        if s is None:
            self.connect()
            s = self._session
        deadline = _deadline_after(time.monotonic(), timeout)
        lock = self._io_lock or _NOLOCK
        with lock:
            w = self._push_waiter(s)
        while True:
            seq = w.seq()
            with lock:
                if self._session is not s:
                    # Closed by another thread (PubSub.close() while a worker waits): nothing
                    # to read, so a stopped PubSubWorkerThread ends quietly.
                    return False
                if s.readable():
                    return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            if not w.wait(seq, left):
                return False

    def _read_locked(self, s, disable_decoding):
        lock = self._io_lock
        try:
            if lock is None:
                return s.read(disable_decoding)
            with lock:
                return s.read(disable_decoding)
        except RedisConnectionError:
            self._drop_session()
            raise

    def read_response(self, disable_decoding: bool = False, *, timeout=None, disconnect_on_error: bool = True, push_request: bool = False):
        s = self._session
        if s is None:
            raise RedisConnectionError("Connection closed by server.")
        r = self._read_locked(s, disable_decoding)
        if r is _BLOCKED:
            try:
                r = s.block_wait(disable_decoding)
            except BaseException:
                if disconnect_on_error:
                    self._drop_session()
                raise
        elif r is _EMPTY or type(r) is tuple:
            return self._read_push(s, r, disable_decoding, timeout, push_request)
        return r

    def _read_push(self, s, r, disable_decoding, timeout, push_request):
        deadline = _deadline_after(time.monotonic(), timeout)
        lock = self._io_lock or _NOLOCK
        with lock:
            w = self._push_waiter(s)
        while True:
            if type(r) is tuple:
                res = self._handle_push(r[0])
                if push_request:
                    self._note_read()
                    return res
            elif r is not _EMPTY:
                self._note_read()
                return r
            else:
                seq = w.seq()
                with lock:
                    ready = self._session is not s or s.readable()
                if not ready:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return None
                    w.wait(seq, left)
                if self._session is not s:
                    raise RedisConnectionError("Connection closed by server.")
            r = self._read_locked(s, disable_decoding)

    def _handle_push(self, msg):
        handler = self._parser.pubsub_push_handler_func
        return msg if handler is None else handler(msg)

    def _note_read(self):
        if self.health_check_interval:
            self.next_health_check = time.monotonic() + self.health_check_interval
