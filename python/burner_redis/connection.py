"""Connections that answer redis-py from the in-process engine instead of a socket.

Both classes subclass redis-py's own ``AbstractConnection`` (async and sync), so every attribute
the client reads exists on every supported version, and override only the I/O: commands run in
the engine when sent, and their typed replies are queued until ``read_response``.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from redis.asyncio.connection import AbstractConnection as _AsyncBase
from redis.connection import AbstractConnection as _SyncBase
from redis.exceptions import ConnectionError as RedisConnectionError

from . import _engine
from ._compat import SETS_AS_SET, effective_protocol
from ._wake import wake as _wake
from .resp import parse_packed

_BLOCKED = _engine.BLOCKED


class _Batch(list):
    """What our ``pack_command(s)`` return: the argument tuples themselves, no RESP."""

    __slots__ = ()


class _ParserShim:
    """Stands where redis-py keeps its socket parser; holds the push handlers PubSub installs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pubsub_push_handler_func = None
        self.invalidation_push_handler_func = None

    def set_push_handler(self, func):  # redis-py 5.0.x name
        self.pubsub_push_handler_func = func

    def set_pubsub_push_handler(self, func):
        self.pubsub_push_handler_func = func

    def set_invalidation_push_handler(self, func):
        self.invalidation_push_handler_func = func

    def set_maint_push_handler(self, func):
        pass

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
        if s is not None:
            s.close()

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
        if s is not None and (s.pending() or s.killed):
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
        r = s.read(disable_decoding)
        if r is _BLOCKED:
            try:
                r = await self._wait_blocked(s, disable_decoding)
            except BaseException:
                if disconnect_on_error:
                    self._drop_session()
                raise
        return r

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
        s.execute(args)

    def send_packed_command(self, command, check_health: bool = True) -> None:
        if self._session is None:
            self.connect()
        self._send_packed(command)

    def can_read(self, timeout: float = 0) -> bool:
        return False

    def read_response(self, disable_decoding: bool = False, *, timeout=None, disconnect_on_error: bool = True, push_request: bool = False):
        s = self._session
        if s is None:
            raise RedisConnectionError("Connection closed by server.")
        r = s.read(disable_decoding)
        if r is _BLOCKED:
            try:
                r = s.block_wait(disable_decoding)
            except BaseException:
                if disconnect_on_error:
                    self._drop_session()
                raise
        return r
