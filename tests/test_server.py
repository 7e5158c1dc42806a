"""The socket server: shared keyspace with in-process clients, RESP2/3, AUTH, protocol errors,
disconnects, and a bounded fuzz run."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import redis

from burner_redis import BurnerSyncConnectionPool, Engine


@pytest.fixture
def served():
    e = Engine()
    d = tempfile.mkdtemp(prefix="burner-srv-")
    srv = e.serve(unix_socket=os.path.join(d, "b.sock"), port=0)
    yield e, srv
    srv.close()
    shutil.rmtree(d, ignore_errors=True)


def raw(path: str, data: bytes, read_until_close: bool = True, timeout: float = 2.0) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_until_close:
                break
    except socket.timeout:
        pass
    s.close()
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_socket_and_inprocess_share_keyspace(served, protocol):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, protocol=protocol))
    over_unix = redis.Redis(unix_socket_path=srv.unix_socket, protocol=protocol)
    over_tcp = redis.Redis(host="127.0.0.1", port=srv.port, protocol=protocol)
    local.set("k", "1")
    assert over_unix.get("k") == b"1"
    over_tcp.set("k2", "2")
    assert local.get("k2") == b"2"
    with over_unix.pipeline(transaction=True) as p:
        p.set("a", "x").get("a").exists("a", "k")
        assert p.execute() == [True, b"x", 2]
    assert over_tcp.ping() is True
    over_unix.select(3) if False else None
    assert over_unix.execute_command("SELECT", 3) in (True, b"OK")


def test_socket_permissions_and_cleanup(served):
    _e, srv = served
    assert os.stat(srv.unix_socket).st_mode & 0o777 == 0o700
    path = srv.unix_socket
    srv.close()
    assert not os.path.exists(path)


def test_redis_cli(served):
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli not installed")
    _e, srv = served
    run = lambda *a: subprocess.run(["redis-cli", "-s", srv.unix_socket, *a], capture_output=True, text=True, timeout=10).stdout.strip()
    assert run("SET", "greeting", "hello world") == "OK"
    assert run("GET", "greeting") == "hello world"
    assert run("PING") == "PONG"
    assert "unknown command" in run("NOPE")
    assert run("-3", "HELLO", "3").startswith("server redis")


def test_requirepass(tmp_path):
    e = Engine()
    srv = e.serve(unix_socket=str(tmp_path / "p.sock"), password="s3cret")
    try:
        anon = redis.Redis(unix_socket_path=srv.unix_socket)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anon.get("x")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(unix_socket_path=srv.unix_socket, password="wrong").get("x")
        ok = redis.Redis(unix_socket_path=srv.unix_socket, password="s3cret")
        assert ok.set("x", "1") is True
        ok3 = redis.Redis(unix_socket_path=srv.unix_socket, password="s3cret", protocol=3)
        assert ok3.get("x") == b"1"
        # In-process clients are trusted and need no password.
        assert redis.Redis(connection_pool=BurnerSyncConnectionPool(e)).get("x") == b"1"
    finally:
        srv.close()


def test_non_loopback_needs_password(tmp_path):
    e = Engine()
    with pytest.raises(OSError, match="password"):
        e.serve(port=0, host="0.0.0.0")


def test_protocol_errors_close_only_that_connection(served):
    _e, srv = served
    out = raw(srv.unix_socket, b"*1\r\n$999999999999\r\n")
    assert out.startswith(b"-ERR Protocol error: invalid bulk length")
    out = raw(srv.unix_socket, b"*9999999999\r\n")
    assert out.startswith(b"-ERR Protocol error: invalid multibulk length")
    out = raw(srv.unix_socket, b"*1\r\n+x\r\n")
    assert out.startswith(b"-ERR Protocol error: expected '$'")
    # Inline commands work, as redis-cli and telnet send them.
    assert raw(srv.unix_socket, b"PING\r\n", read_until_close=False) == b"+PONG\r\n"
    assert redis.Redis(unix_socket_path=srv.unix_socket).ping() is True


def test_quit_and_pipelined_input(served):
    _e, srv = served
    out = raw(srv.unix_socket, b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nQUIT\r\n")
    assert out == b"+OK\r\n$1\r\n1\r\n+OK\r\n"


def test_client_kill_closes_socket_client(served):
    e, srv = served
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    victim = redis.Redis(unix_socket_path=srv.unix_socket, single_connection_client=True, retry=Retry(NoBackoff(), 0))
    vid = victim.client_id()
    admin = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    assert admin.client_kill_filter(_id=vid) == 1
    with pytest.raises(redis.exceptions.ConnectionError):
        victim.execute_command("PING")  # single connection, no retry: the kill is visible


def test_fuzz_random_and_truncated_resp(served):
    _e, srv = served
    rng = random.Random(1234)
    good = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
    deadline = time.time() + 2.0
    n = 0
    while time.time() < deadline:
        kind = rng.random()
        if kind < 0.4:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        elif kind < 0.7:
            data = good[: rng.randint(1, len(good))]
        else:
            data = bytearray(good * 3)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(0.02)
        s.connect(srv.unix_socket)
        try:
            s.sendall(data)
            s.recv(4096)
        except OSError:
            pass
        s.close()
        n += 1
    assert n > 20
    c = redis.Redis(unix_socket_path=srv.unix_socket)
    assert c.ping() is True
    assert c.set("after", "fuzz") is True


def test_cli_serve_runs_until_sigterm(tmp_path):
    sock = str(tmp_path / "cli.sock")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__), "..", "python") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-m", "burner_redis", "serve", "--unix-socket", sock], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        assert "serving on unix://" in line
        c = redis.Redis(unix_socket_path=sock)
        assert c.set("k", "v") is True
        p.terminate()
        assert p.wait(10) == 0
        assert not os.path.exists(sock)
    finally:
        if p.poll() is None:
            p.kill()
