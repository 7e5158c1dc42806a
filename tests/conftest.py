"""Shared fixtures.

* ``engine``: a fresh engine per test.
* ``r`` / ``rs``: async / sync redis-py clients on a fresh engine, for every protocol and decode
  mode combination that changes reply shapes.
* ``diff``: runs each command against burner *and* a real redis-server (started here on a unix
  socket when the binary is installed) and asserts both replies (or both errors) are equal; it
  returns burner's reply so tests also assert exact values without a server.

With ``BURNER_VIA_SOCKET=1`` the burner side of ``diff``, ``r``, ``rs`` (and pub/sub's wire pairs,
through :func:`burner_client`) is a stock redis-py client on the unix socket of an engine served
for that test, so the differential suite also checks the socket server. Tests that only make
sense in-process are marked ``in_process_only`` and skipped in that mode.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine

VIA_SOCKET = os.environ.get("BURNER_VIA_SOCKET") == "1"

def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group="pytest11")
    except TypeError:  # Python < 3.10
        eps = entry_points().get("pytest11", [])
    return any(ep.value.startswith("burner_redis.pytest_plugin") for ep in eps)


# Our pytest plugin: loaded by its `pytest11` entry point when the wheel is installed, else here
# (loading it twice is an error).
if not _plugin_installed():
    pytest_plugins = ["burner_redis.pytest_plugin"]


REDIS_SERVER = os.environ.get("BURNER_REDIS_SERVER", shutil.which("redis-server"))

PROTOCOL_MODES = [
    pytest.param((2, False), id="resp2"),
    pytest.param((3, False), id="resp3"),
    pytest.param((3, True), id="resp3-decoded"),
    pytest.param((2, True), id="resp2-decoded"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(tmp: str):
    sock = os.path.join(tmp, "redis.sock")
    port = _free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--unixsocket", sock,
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", tmp,
            "--enable-debug-command", "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        if os.path.exists(sock):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                s.close()
                _REF["port"] = port
                return proc, sock
            except OSError:
                pass
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server_socket():
    """Unix socket path of a private redis-server (also on a loopback TCP port, see
    :func:`real_client`), or None when redis-server is not installed."""
    if not REDIS_SERVER:
        if os.environ.get("CI"):
            pytest.fail("CI must run the differential tests: redis-server is not installed")
        yield None
        return
    tmp = tempfile.mkdtemp(prefix="burner-ref-")
    proc, sock = _start_server(tmp)
    try:
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "in_process_only(reason): skipped when BURNER_VIA_SOCKET=1 (needs the in-process API)"
    )


def pytest_collection_modifyitems(config, items):
    if not VIA_SOCKET:
        return
    for item in items:
        m = item.get_closest_marker("in_process_only")
        if m is not None:
            reason = m.args[0] if m.args else m.kwargs.get("reason", "in-process only")
            item.add_marker(pytest.mark.skip(reason=f"in-process only: {reason}"))


@pytest.fixture
def engine():
    return Engine()


@pytest.fixture
def served_engine():
    """In socket mode, an engine served on a private unix socket for this test; else None.

    One engine per test keeps tests isolated (CONFIG, client names, scripts, subscriptions) at
    about a millisecond of setup."""
    if not VIA_SOCKET:
        yield None
        return
    e = Engine()
    tmp = tempfile.mkdtemp(prefix="burner-via-")
    srv = e.serve(unix_socket=os.path.join(tmp, "b.sock"))
    yield srv
    srv.close()
    shutil.rmtree(tmp, ignore_errors=True)


_ON_DEMAND: dict = {}


@pytest.fixture(autouse=True)
def _close_on_demand_servers():
    yield
    while _ON_DEMAND:
        _key, (_e, srv, tmp) = _ON_DEMAND.popitem()
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _socket_of(e) -> str:
    """Serves engine ``e`` (once per test) and returns its unix socket path."""
    hit = _ON_DEMAND.get(id(e))
    if hit is None:
        tmp = tempfile.mkdtemp(prefix="burner-via-")
        hit = (e, e.serve(unix_socket=os.path.join(tmp, "b.sock")), tmp)
        _ON_DEMAND[id(e)] = hit
    return hit[1].unix_socket


def pool_connection(pool):
    """A connection from a sync redis-py pool: 5.0-5.2 require a command name, 5.3+ take none."""
    import inspect

    params = inspect.signature(pool.get_connection).parameters
    first = next(iter(params.values()), None)
    needs_name = first is not None and first.kind is first.POSITIONAL_OR_KEYWORD and first.default is first.empty
    return pool.get_connection("_") if needs_name else pool.get_connection()


def unix_client(path: str, **kw) -> redis.Redis:
    """A stock redis-py client on a unix socket.

    redis-py 7.x's RESP3 handshake asks for maintenance notifications, which need a host, and its
    ``Redis(unix_socket_path=...)`` gives no way to turn them off: there the pool is built here
    with them off."""
    try:
        from redis.maint_notifications import MaintNotificationsConfig
    except ImportError:
        MaintNotificationsConfig = None
    if MaintNotificationsConfig is None or redis.__version__.split(".")[0] != "7":
        return redis.Redis(unix_socket_path=path, **kw)
    single = kw.pop("single_connection_client", False)
    pool = redis.ConnectionPool(
        connection_class=redis.UnixDomainSocketConnection,
        path=path,
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **kw,
    )
    client = redis.Redis(connection_pool=pool, single_connection_client=single)
    client.auto_close_connection_pool = True
    return client


def early_in_a_second() -> None:
    """Waits, if need be, until 0.2-0.6 s past a wall-clock second. Redis's LRU clock counts whole
    seconds and its 10 Hz cron refreshes the cached value, so a key written and then asked for
    OBJECT IDLETIME reads 1 instead of 0 when that clock ticks in between; started here, both
    commands read the same second on every server."""
    frac = time.time() % 1
    if not 0.2 <= frac <= 0.6:
        time.sleep((1.2 - frac) % 1)


def engine_client(e, **kw) -> redis.Redis:
    """A sync client of engine ``e``: in-process, or over its socket in socket mode."""
    if not VIA_SOCKET:
        return redis.Redis(connection_pool=BurnerSyncConnectionPool(e, **kw))
    return unix_client(_socket_of(e), **kw)


def engine_async_client(e, **kw) -> redis.asyncio.Redis:
    """An asyncio client of engine ``e``: in-process, or over its socket in socket mode."""
    if not VIA_SOCKET:
        return redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, **kw))
    return redis.asyncio.Redis(unix_socket_path=_socket_of(e), **kw)


def burner_client(served, **kw) -> redis.Redis:
    """The burner side of a differential test: in-process, or over ``served``'s socket."""
    if served is None:
        return redis.Redis(connection_pool=BurnerSyncConnectionPool(**kw))
    return unix_client(served.unix_socket, **kw)


@pytest.fixture(params=PROTOCOL_MODES)
async def r(request, served_engine):
    protocol, decode = request.param
    if served_engine is None:
        pool = BurnerConnectionPool(protocol=protocol, decode_responses=decode)
        client = redis.asyncio.Redis(connection_pool=pool)
    else:
        client = redis.asyncio.Redis(unix_socket_path=served_engine.unix_socket, protocol=protocol, decode_responses=decode)
    yield client
    await client.connection_pool.aclose() if hasattr(client.connection_pool, "aclose") else None


@pytest.fixture(params=PROTOCOL_MODES)
def rs(request, served_engine):
    protocol, decode = request.param
    client = burner_client(served_engine, protocol=protocol, decode_responses=decode)
    yield client
    client.connection_pool.disconnect()


_REF: dict = {}


def real_client(server_socket: str, **kw) -> redis.Redis:
    """A stock redis-py client on the reference server (pass the ``redis_server_socket`` fixture).

    It connects over the server's loopback TCP port: redis-py 7.x's RESP3 handshake fails on unix
    sockets (its maint-notification check wants a host)."""
    assert server_socket, "no reference server"
    return redis.Redis(host="127.0.0.1", port=_REF["port"], **kw)


def _comparable(v):
    """Inline errors (EXEC, pipelines) compare by type and text, not identity."""
    if isinstance(v, Exception):
        return ("exc", type(v).__name__, str(v))
    if isinstance(v, list):
        return [_comparable(x) for x in v]
    if isinstance(v, tuple) and v and v[0] == "ok":
        return ("ok", _comparable(v[1]))
    return v


def _outcome(fn):
    try:
        return ("ok", fn())
    except redis.exceptions.RedisError as e:
        return ("err", type(e).__name__, str(e))


def normalize(v):
    """Makes replies comparable where order is unspecified by Redis (sets)."""
    if isinstance(v, set):
        return sorted(v, key=repr)
    return v


class Diff:
    """Calls the same command on burner and (when present) redis-server and compares."""

    def __init__(self, burner: redis.Redis, real: redis.Redis | None):
        self.burner = burner
        self.real = real

    def __call__(self, *args, unordered: bool = False, **options):
        return self.call(lambda c: c.execute_command(*args, **options), unordered=unordered, label=args)

    def call(self, fn, *, unordered: bool = False, label=None):
        """Runs ``fn(client)`` on both clients; fn may use any redis-py method."""
        got = _outcome(lambda: fn(self.burner))
        if self.real is not None:
            want = _outcome(lambda: fn(self.real))
            g, w = _comparable(got), _comparable(want)
            if unordered and g[0] == "ok" and w[0] == "ok":
                g = ("ok", sorted(g[1], key=repr) if isinstance(g[1], (list, set)) else g[1])
                w = ("ok", sorted(w[1], key=repr) if isinstance(w[1], (list, set)) else w[1])
            assert g == w, f"{label}: burner {g!r} != redis-server {w!r}"
        if got[0] == "err":
            raise getattr(redis.exceptions, got[1], redis.exceptions.ResponseError)(got[2])
        return got[1]

    def error(self, *args) -> str:
        """Asserts the command fails on both sides and returns burner's message."""
        with pytest.raises(redis.exceptions.RedisError) as ei:
            self(*args)
        return str(ei.value)


@pytest.fixture(params=PROTOCOL_MODES)
def diff(request, redis_server_socket, served_engine):
    protocol, decode = request.param
    burner = burner_client(served_engine, protocol=protocol, decode_responses=decode)
    real = None
    if redis_server_socket:
        real = real_client(redis_server_socket, protocol=protocol, decode_responses=decode)
        real.flushall()
        real.script_flush()
        real.config_set("notify-keyspace-events", "")
    d = Diff(burner, real)
    yield d
    burner.connection_pool.disconnect()
    if real is not None:
        real.close()
