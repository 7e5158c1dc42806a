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
import threading
import time

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import unix_client


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
    over_unix = unix_client(srv.unix_socket, protocol=protocol)
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
    run = lambda *a: subprocess.run(["redis-cli", "-s", srv.unix_socket, *a], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    assert run("SET", "greeting", "hello world") == "OK"
    assert run("GET", "greeting") == "hello world"
    assert run("PING") == "PONG"
    assert "unknown command" in run("NOPE")
    assert run("-3", "HELLO", "3").startswith("server redis")


def test_requirepass(tmp_path):
    e = Engine()
    srv = e.serve(unix_socket=str(tmp_path / "p.sock"), password="s3cret")
    try:
        anon = unix_client(srv.unix_socket)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anon.get("x")
        with pytest.raises(redis.exceptions.AuthenticationError):
            unix_client(srv.unix_socket, password="wrong").get("x")
        ok = unix_client(srv.unix_socket, password="s3cret")
        assert ok.set("x", "1") is True
        ok3 = unix_client(srv.unix_socket, password="s3cret", protocol=3)
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
    assert unix_client(srv.unix_socket).ping() is True


def test_quit_and_pipelined_input(served):
    _e, srv = served
    out = raw(srv.unix_socket, b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nQUIT\r\n")
    assert out == b"+OK\r\n$1\r\n1\r\n+OK\r\n"


def test_client_kill_closes_socket_client(served):
    e, srv = served
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    victim = unix_client(srv.unix_socket, single_connection_client=True, retry=Retry(NoBackoff(), 0))
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
    c = unix_client(srv.unix_socket)
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
        c = unix_client(sock)
        assert c.set("k", "v") is True
        p.terminate()
        assert p.wait(10) == 0
        assert not os.path.exists(sock)
    finally:
        if p.poll() is None:
            p.kill()


# --- blocking across the socket and in-process ------------------------------------------------


def _until(pred, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def _blocked_count(local) -> int:
    return local.info("clients")["blocked_clients"]


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


@pytest.mark.parametrize("protocol", [2, 3])
def test_socket_blpop_woken_by_inprocess_push_and_back(served, protocol):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, protocol=protocol))
    remote = unix_client(srv.unix_socket, protocol=protocol)
    t, box = _in_thread(lambda: remote.blpop(["q"], 10))
    assert _until(lambda: _blocked_count(local) == 1)
    assert local.rpush("q", "from-local") == 1
    t.join(5)
    assert list(box["value"]) == [b"q", b"from-local"]  # a tuple in RESP2
    assert local.exists("q") == 0

    t, box = _in_thread(lambda: local.blpop(["q2"], 10))
    assert _until(lambda: _blocked_count(local) == 1)
    assert remote.rpush("q2", "from-socket") == 1
    t.join(5)
    assert list(box["value"]) == [b"q2", b"from-socket"]
    assert remote.exists("q2") == 0


def test_socket_xreadgroup_block_woken_both_ways(served):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, decode_responses=True))
    remote = unix_client(srv.unix_socket, decode_responses=True)
    local.xgroup_create("s", "g", id="$", mkstream=True)
    t, box = _in_thread(lambda: remote.xreadgroup("g", "c1", {"s": ">"}, count=1, block=10000))
    assert _until(lambda: _blocked_count(local) == 1)
    local.xadd("s", {"f": "v"}, id="1-1")
    t.join(5)
    assert box == {"value": [["s", [("1-1", {"f": "v"})]]]}

    t, box = _in_thread(lambda: local.xreadgroup("g", "c2", {"s": ">"}, count=1, block=10000))
    assert _until(lambda: _blocked_count(local) == 1)
    remote.xadd("s", {"f": "w"}, id="2-1")
    t.join(5)
    assert box == {"value": [["s", [("2-1", {"f": "w"})]]]}
    assert local.xpending("s", "g")["pending"] == 2


def _raw_blocked(path: str, cmd: bytes) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(cmd)
    return s


def test_socket_disconnect_mid_block_consumes_nothing(served):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    s = _raw_blocked(srv.unix_socket, b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
    assert _until(lambda: _blocked_count(local) == 1)
    s.close()
    assert _until(lambda: len(local.client_list()) == 1)  # only `local` is left
    assert local.rpush("q", "kept") == 1
    assert local.lrange("q", 0, -1) == [b"kept"]

    # Next in line gets the element when the first waiter went away.
    first = _raw_blocked(srv.unix_socket, b"*3\r\n$5\r\nBLPOP\r\n$1\r\nw\r\n$1\r\n0\r\n")
    assert _until(lambda: _blocked_count(local) == 1)
    remote = unix_client(srv.unix_socket)
    t, box = _in_thread(lambda: remote.blpop(["w"], 10))
    assert _until(lambda: _blocked_count(local) == 2)
    first.close()
    assert _until(lambda: _blocked_count(local) == 1)
    local.rpush("w", "x")
    t.join(5)
    assert list(box["value"]) == [b"w", b"x"]


def test_socket_disconnect_mid_xreadgroup_leaves_nothing_pending(served):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    local.xgroup_create("s", "g", id="$", mkstream=True)
    cmd = b"*9\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$1\r\nc\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n>\r\n"
    s = _raw_blocked(srv.unix_socket, cmd)
    assert _until(lambda: _blocked_count(local) == 1)
    s.close()
    assert _until(lambda: len(local.client_list()) == 1)
    local.xadd("s", {"f": "v"}, id="1-1")
    assert local.xpending("s", "g")["pending"] == 0
    assert local.xreadgroup("g", "other", {"s": ">"}) == [[b"s", [(b"1-1", {b"f": b"v"})]]]


# --- slow readers and output limits ------------------------------------------------------------


def _closed_by_server(s: socket.socket, timeout=10.0) -> bool:
    """Reads (and throws away) until EOF; True when the server closed the connection."""
    s.settimeout(timeout)
    try:
        while s.recv(1 << 20):
            pass
        return True
    except (socket.timeout, ConnectionResetError):
        return False


def test_subscriber_that_never_reads_is_cut_at_the_pubsub_limit(served):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    local.config_set("client-output-buffer-limit", "pubsub 1mb 0 0")
    s = socket.socket(socket.AF_UNIX)
    s.connect(srv.unix_socket)
    s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
    assert _until(lambda: local.pubsub_numsub("ch") == [(b"ch", 1)])
    payload = b"x" * 10_000
    delivered = 0
    for _ in range(2000):  # 20 MB: far past the kernel's socket buffers plus the 1 MB limit
        delivered += local.publish("ch", payload)
        if delivered and local.pubsub_numsub("ch") == [(b"ch", 0)]:
            break
    assert local.pubsub_numsub("ch") == [(b"ch", 0)]
    assert _closed_by_server(s)
    assert _until(lambda: len(local.client_list()) == 1)
    # Everyone else is still served.
    assert unix_client(srv.unix_socket).ping() is True


def test_client_not_reading_a_huge_reply_is_cut_at_the_normal_limit(served):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    local.config_set("client-output-buffer-limit", "normal 4mb 0 0")
    local.set("big", b"v" * 1_000_000)
    s = socket.socket(socket.AF_UNIX)
    s.connect(srv.unix_socket)
    get = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"
    s.sendall(get * 64)  # 64 MB of replies, never read
    assert _until(lambda: len(local.client_list()) == 1)
    assert _closed_by_server(s)
    s.close()
    # One reply larger than the limit is cut too.
    local.rpush("l", *([b"y" * 1000] * 6000))
    s = socket.socket(socket.AF_UNIX)
    s.connect(srv.unix_socket)
    s.sendall(b"*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n")
    assert _until(lambda: len(local.client_list()) == 1)
    s.close()
    assert unix_client(srv.unix_socket).get("big") == b"v" * 1_000_000


def test_long_pipeline_without_reading_does_not_deadlock(served):
    # redis-py writes a whole pipeline before reading: the server must keep reading input while
    # its replies wait to be written (no output limit for normal clients by default).
    _e, srv = served
    c = unix_client(srv.unix_socket)
    c.set("v", b"z" * 1000)
    with c.pipeline(transaction=False) as p:
        for _ in range(20000):
            p.get("v")
        replies = p.execute()
    assert len(replies) == 20000 and replies[-1] == b"z" * 1000


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _fuzz_round(path: str, rng: random.Random, seconds: float) -> int:
    good = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        kind = rng.random()
        if kind < 0.4:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        elif kind < 0.7:
            data = good[: rng.randint(1, len(good))]
        elif kind < 0.8:
            # Large declared lengths that never arrive.
            data = b"*2\r\n$3\r\nGET\r\n$" + str(rng.randint(1, 500_000_000)).encode() + b"\r\nabc"
        else:
            data = bytearray(good * 3)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(0.02)
        s.connect(path)
        try:
            s.sendall(data)
            s.recv(4096)
        except OSError:
            pass
        s.close()
        n += 1
    return n


def test_fuzz_keeps_memory_flat_and_other_clients_served(served):
    _e, srv = served
    rng = random.Random(99)
    stop = threading.Event()
    served_ok = []

    def bystander():
        c = unix_client(srv.unix_socket, socket_timeout=5)
        i = 0
        while not stop.is_set():
            c.set(f"by{i % 10}", i)
            assert c.get(f"by{i % 10}") == str(i).encode()
            served_ok.append(i)
            i += 1
            time.sleep(0.001)

    t, box = _in_thread(bystander)
    assert _fuzz_round(srv.unix_socket, rng, 1.5) > 20  # warm-up: allocator pools, runtime
    time.sleep(0.2)
    before = _rss_kb()
    n = _fuzz_round(srv.unix_socket, rng, 2.0)
    time.sleep(0.2)
    after = _rss_kb()
    stop.set()
    t.join(10)
    assert "error" not in box, box
    assert n > 20
    assert len(served_ok) > 50
    assert after - before < 32 * 1024, f"RSS grew {after - before} kB over {n} fuzz connections"


# --- BUSY while a script runs -------------------------------------------------------------------

BUSY_TEXT = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def _busy_error(c):
    try:
        c.ping()
    except redis.exceptions.ResponseError as exc:
        return str(exc)
    return None


def _start_long_script(runner):
    t, box = _in_thread(lambda: runner.eval("while true do end", 0))
    return t, box


@pytest.mark.parametrize("script_from", ["in-process", "socket"])
def test_socket_clients_get_busy_and_script_kill_works_over_the_socket(served, script_from):
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    local.config_set("busy-reply-threshold", "100")
    runner = local if script_from == "in-process" else unix_client(srv.unix_socket)
    t, box = _start_long_script(runner)
    try:
        probe = unix_client(srv.unix_socket)
        assert _until(lambda: _busy_error(probe) == BUSY_TEXT)
        # More clients than the server has worker threads, each on its own new connection, all
        # answered at once: none of them waits on the lock the script holds.
        answers = []

        def ask(i):
            c = unix_client(srv.unix_socket) if i % 2 else redis.Redis(host="127.0.0.1", port=srv.port)
            try:
                answers.append(_busy_error(c))
            finally:
                c.close()

        askers = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for a in askers:
            a.start()
        for a in askers:
            a.join(5)
        assert answers == [BUSY_TEXT] * 8
        with probe.pipeline(transaction=False) as p:
            p.get("x").execute_command("NOPE").set("y", "1")
            got = p.execute(raise_on_error=False)
        assert [str(g) for g in got] == [BUSY_TEXT, "unknown command 'NOPE', with args beginning with: ", BUSY_TEXT]
        if shutil.which("redis-cli"):
            out = subprocess.run(["redis-cli", "-s", srv.unix_socket, "GET", "x"], check=False, capture_output=True, text=True, timeout=10).stdout
            assert out.strip() == BUSY_TEXT
        assert probe.script_kill() is True
    finally:
        if t.is_alive():
            try:
                local.script_kill()
            except redis.exceptions.ResponseError:
                pass
        t.join(10)
    assert "Script killed by user with SCRIPT KILL" in str(box["error"])
    assert probe.ping() is True
    assert local.ping() is True
    with pytest.raises(redis.exceptions.ResponseError, match="^NOTBUSY"):
        probe.script_kill()


def test_socket_commands_redis_runs_while_busy_wait_for_the_script(served):
    """MULTI (like AUTH, WATCH, QUIT) is one of the commands Redis still runs during a busy
    script; a socket client sending it waits for the script's end, then runs it in order."""
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    local.config_set("busy-reply-threshold", "100")
    t, _box = _start_long_script(local)
    probe = unix_client(srv.unix_socket)
    try:
        assert _until(lambda: _busy_error(probe) == BUSY_TEXT)
        c = unix_client(srv.unix_socket)
        tx, txbox = _in_thread(lambda: c.pipeline(transaction=True).set("k", "v").get("k").execute())
        time.sleep(0.2)
        assert tx.is_alive()
        assert probe.script_kill() is True
        tx.join(5)
        assert txbox["value"] == [True, b"v"]
    finally:
        if t.is_alive():
            local.script_kill()
        t.join(10)


def test_slow_script_below_the_threshold_delays_but_does_not_stall_socket_clients(served):
    """A script holding the lock (below busy-reply-threshold) makes socket commands wait, as in
    Redis; once it ends every waiting client is answered, however many there were."""
    e, srv = served
    local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    t, box = _in_thread(lambda: local.eval("local i = 0 while i < 3e7 do i = i + 1 end return 1", 0))
    time.sleep(0.05)
    answers = []

    def ask(i):
        c = unix_client(srv.unix_socket)
        answers.append(c.incr("n"))
        c.close()

    askers = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for a in askers:
        a.start()
    for a in askers:
        a.join(10)
    t.join(10)
    assert box["value"] == 1
    assert sorted(answers) == list(range(1, 9))
