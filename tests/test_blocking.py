"""Blocking list commands: wake-ups, timeouts, fairness, threads and loops, cancellation.

No timed performance assertions: the only clocks checked are the commands' own timeouts.
"""

import asyncio
import os
import random
import signal
import sys
import threading
import time

import pytest
import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine
from conftest import engine_async_client, engine_client


def b(x):
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (list, tuple)):
        return [b(i) for i in x]
    return x


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def engine_and_proto(request):
    return Engine(), request.param


@pytest.fixture
def ar(engine_and_proto):
    e, proto = engine_and_proto
    return engine_async_client(e, protocol=proto)


@pytest.fixture
def sr(engine_and_proto):
    e, proto = engine_and_proto
    c = engine_client(e, protocol=proto)
    yield c
    c.connection_pool.disconnect()


async def until_blocked(r, n=1, timeout=5.0):
    """Waits until `n` clients are blocked (CLIENT LIST's blocked count is not needed: the tasks
    block synchronously when they first run, so yielding a few times is enough)."""
    for _ in range(5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


# --- served by another client -------------------------------------------------------------------


async def test_async_blocking_commands_are_served_by_a_push(ar):
    t = asyncio.create_task(ar.blpop(["a", "b"], 0))
    await until_blocked(ar)
    assert not t.done()
    assert await ar.rpush("b", "1") == 1
    assert b(await t) == [b"b", b"1"]
    assert await ar.exists("b") == 0

    t = asyncio.create_task(ar.brpop(["a"], 5))
    await until_blocked(ar)
    await ar.rpush("a", "x", "y")
    assert b(await t) == [b"a", b"y"]

    t = asyncio.create_task(ar.blmove("src", "dst", 5, "LEFT", "RIGHT"))
    await until_blocked(ar)
    await ar.rpush("src", "m")
    assert b(await t) == b"m"
    assert b(await ar.lrange("dst", 0, -1)) == [b"m"]

    t = asyncio.create_task(ar.brpoplpush("src", "dst", 5))
    await until_blocked(ar)
    await ar.rpush("src", "n")
    assert b(await t) == b"n"
    assert b(await ar.lrange("dst", 0, -1)) == [b"n", b"m"]

    t = asyncio.create_task(ar.execute_command("BLMPOP", 5, 2, "p", "q", "RIGHT", "COUNT", 5))
    await until_blocked(ar)
    await ar.rpush("q", "1", "2", "3")
    assert b(await t) == [b"q", [b"3", b"2", b"1"]]
    assert await ar.exists("q") == 0
    assert b(await ar.lrange("a", 0, -1)) == [b"x"]


def test_sync_blocked_wait_released_by_another_thread(sr):
    def push():
        time.sleep(0.1)
        sr.rpush("k", "v")

    t = threading.Thread(target=push)
    t.start()
    assert b(sr.blpop(["k"], 0)) == [b"k", b"v"]
    t.join()
    threading.Thread(target=push).start()
    assert b(sr.blmove("k", "d", 0, "RIGHT", "LEFT")) == b"v"
    threading.Thread(target=push).start()
    assert b(sr.execute_command("BLMPOP", 0, 1, "k", "LEFT")) == [b"k", [b"v"]]
    assert sr.exists("k") == 0


# --- timeouts -------------------------------------------------------------------------------------


async def test_async_timeouts_return_none(ar):
    t0 = time.monotonic()
    assert await ar.blpop(["a"], 0.1) is None
    assert await ar.brpop(["a", "b"], 0.1) is None
    assert await ar.blmove("a", "b", 0.1, "LEFT", "LEFT") is None
    assert await ar.brpoplpush("a", "b", 0.1) is None
    assert await ar.execute_command("BLMPOP", 0.1, 1, "a", "LEFT") is None
    assert time.monotonic() - t0 >= 0.5
    assert await ar.exists("a", "b") == 0
    # The connection is usable afterwards, and a later push is not taken by anyone.
    await ar.rpush("a", "x")
    assert await ar.llen("a") == 1


def test_sync_timeouts_return_none(sr):
    t0 = time.monotonic()
    assert sr.blpop(["a"], 0.1) is None
    assert sr.brpoplpush("a", "b", 0.1) is None
    assert sr.execute_command("BLMPOP", 0.1, 1, "a", "LEFT") is None
    assert time.monotonic() - t0 >= 0.3
    sr.rpush("a", "x")
    assert sr.llen("a") == 1


async def test_timeout_zero_waits_until_a_push(ar):
    t = asyncio.create_task(ar.blpop(["k"], 0))
    await asyncio.sleep(0.3)
    assert not t.done()
    await ar.lpush("k", "late")
    assert b(await t) == [b"k", b"late"]


@pytest.mark.in_process_only("checks the in-process asyncio wait (timers, threads)")
async def test_blocked_async_wait_is_a_future_not_a_poll(ar):
    """Nothing polls while blocked: no timer at all with timeout 0, one deadline timer otherwise,
    and no helper thread."""
    loop = asyncio.get_running_loop()
    threads = threading.active_count()
    t = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    assert len(loop._scheduled) == 0
    assert threading.active_count() == threads
    t2 = asyncio.create_task(ar.blpop(["k2"], 30))
    await until_blocked(ar)
    assert len(loop._scheduled) == 1
    await ar.rpush("k", "1")
    await ar.rpush("k2", "2")
    assert b(await t) == [b"k", b"1"] and b(await t2) == [b"k2", b"2"]


async def test_socket_timeout_does_not_bound_a_long_block(engine_and_proto):
    """redis-py 8 defaults socket_timeout to 5 s; a BLPOP with a longer timeout must not be cut
    (async and sync at once, so the test takes ~5.5 s once)."""
    e, proto = engine_and_proto
    if proto == 3:
        pytest.skip("one protocol is enough for a 5 s test")
    ar = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, socket_timeout=5))
    sr = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, socket_timeout=5))
    conn = await ar.connection_pool.get_connection()
    assert conn.socket_timeout is None
    await ar.connection_pool.release(conn)
    sync_result = []
    th = threading.Thread(target=lambda: sync_result.append(sr.blpop(["s"], 10)))
    th.start()
    t = asyncio.create_task(ar.blpop(["a"], 10))
    await asyncio.sleep(5.5)
    assert not t.done() and th.is_alive()
    await ar.rpush("a", "1")
    await ar.rpush("s", "2")
    assert b(await t) == [b"a", b"1"]
    await asyncio.to_thread(th.join)
    assert b(sync_result[0]) == [b"s", b"2"]


# --- ordering and fairness ------------------------------------------------------------------------


async def test_fifo_among_three_waiters_one_push(ar):
    tasks = []
    for _ in range(3):
        tasks.append(asyncio.create_task(ar.blpop(["q"], 0)))
        await until_blocked(ar)
    await ar.rpush("q", "a", "b", "c")
    assert [b(await t)[1] for t in tasks] == [b"a", b"b", b"c"]


async def test_fifo_among_three_waiters_separate_pushes(ar):
    tasks = []
    for _ in range(3):
        tasks.append(asyncio.create_task(ar.brpop(["q"], 0)))
        await until_blocked(ar)
    for v in ("a", "b", "c"):
        await ar.lpush("q", v)
    assert [b(await t)[1] for t in tasks] == [b"a", b"b", b"c"]


async def test_push_serves_the_waiter_before_the_next_command(ar):
    """Redis serves a blocked client right after the command that made its key ready: an LPOP
    sent in the same loop iteration as the push finds nothing to take."""
    first = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    second = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    await ar.rpush("k", "one")
    assert await ar.lpop("k") is None
    assert b(await first) == [b"k", b"one"]
    assert not second.done()
    await ar.rpush("k", "two")
    assert b(await second) == [b"k", b"two"]


async def test_waiter_on_several_keys_is_served_by_any(ar):
    t = asyncio.create_task(ar.blpop(["k1", "k2", "k3"], 0))
    await until_blocked(ar)
    await ar.rpush("k3", "v3")
    assert b(await t) == [b"k3", b"v3"]


async def test_wrong_type_write_does_not_release_a_list_waiter(ar):
    t = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    await ar.set("k", "string")
    await asyncio.sleep(0.05)
    assert not t.done()
    await ar.delete("k")
    await ar.rpush("k", "v")
    assert b(await t) == [b"k", b"v"]


class ParkCounter:
    """Counts the futures blocked reads create on this loop: one per park or retry."""

    def __init__(self, loop):
        self.loop = loop
        self.n = 0
        self.create = loop.create_future

    def __enter__(self):
        def counting_create_future():
            if sys._getframe(1).f_code.co_name == "_wait_blocked":
                self.n += 1
            return self.create()

        self.loop.create_future = counting_create_future
        return self

    def __exit__(self, *exc):
        del self.loop.create_future


@pytest.mark.in_process_only("counts the in-process connection's parked futures")
async def test_serving_a_waiter_does_not_wake_the_next_for_nothing(ar):
    with ParkCounter(asyncio.get_running_loop()) as parks:
        tasks = []
        for _ in range(3):
            tasks.append(asyncio.create_task(ar.blpop(["q"], 0)))
            await until_blocked(ar)
        for i, t in enumerate(tasks):
            await ar.rpush("q", i)
            assert b(await t) == [b"q", str(i).encode()]
        # Three parks, three retries: emptying the list did not send the next waiter a retry.
        assert parks.n == 6


@pytest.mark.in_process_only("counts the in-process connection's parked futures")
async def test_300_waiters_on_300_keys_each_woken_only_by_its_key(ar):
    n = 300
    with ParkCounter(asyncio.get_running_loop()) as parks:
        tasks = [asyncio.create_task(ar.blpop([f"key:{i}"], 0)) for i in range(n)]
        await until_blocked(ar)
        assert parks.n == n
        order = list(range(n))
        random.Random(7).shuffle(order)
        for step, i in enumerate(order):
            await ar.rpush(f"key:{i}", f"v{i}")
            assert b(await tasks[i]) == [f"key:{i}".encode(), f"v{i}".encode()]
            if step % 50 == 0:
                pending = [j for j in order[step + 1 :] if tasks[j].done()]
                assert pending == []
        # Each waiter made one future to park and one for the retry its own push caused: no
        # waiter was ever woken by another key's push.
        assert parks.n == 2 * n


# --- threads and loops ----------------------------------------------------------------------------


def _run_loop_in_thread(coro_factory, results, key):
    def main():
        results[key] = asyncio.run(coro_factory())

    th = threading.Thread(target=main)
    th.start()
    return th


def test_waiters_on_two_loops_in_two_threads(engine_and_proto):
    e, proto = engine_and_proto
    results = {}

    def reader(key):
        async def go():
            r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, protocol=proto))
            return b(await r.blpop([key], 10))

        return go

    threads = [_run_loop_in_thread(reader(k), results, k) for k in ("l1", "l2")]
    time.sleep(0.2)
    assert all(t.is_alive() for t in threads)

    # A writer on a third loop wakes both readers on theirs.
    async def writer():
        w = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, protocol=proto))
        await w.rpush("l2", "two")
        await w.rpush("l1", "one")

    asyncio.run(writer())
    for t in threads:
        t.join(10)
    assert results == {"l1": [b"l1", b"one"], "l2": [b"l2", b"two"]}


async def test_writer_thread_wakes_async_reader(ar, engine_and_proto):
    e, proto = engine_and_proto
    sync = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, protocol=proto))

    def push():
        time.sleep(0.1)
        sync.rpush("k", "from-thread")

    t = asyncio.create_task(ar.blpop(["k"], 10))
    th = threading.Thread(target=push)
    th.start()
    assert b(await t) == [b"k", b"from-thread"]
    th.join()


async def test_async_reader_on_other_loop_and_sync_readers_fifo(engine_and_proto):
    """Readers of one key on a loop thread and on plain threads are served first come first served."""
    e, proto = engine_and_proto
    sync = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, protocol=proto))
    got = {}

    def sync_reader(name):
        got[name] = b(sync.blpop(["k"], 10))

    r1 = threading.Thread(target=sync_reader, args=("first",))
    r1.start()
    await asyncio.sleep(0.1)
    r2 = threading.Thread(target=sync_reader, args=("second",))
    r2.start()
    await asyncio.sleep(0.1)
    w = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, protocol=proto))
    await w.rpush("k", "a")
    await asyncio.to_thread(r1.join, 5)
    await w.rpush("k", "b")
    await asyncio.to_thread(r2.join, 5)
    assert got == {"first": [b"k", b"a"], "second": [b"k", b"b"]}


def test_sync_wait_releases_the_gil(sr):
    """While one thread is blocked, other Python threads keep running."""
    th = threading.Thread(target=lambda: sr.blpop(["k"], 1))
    th.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 0.2:
        n += 1
    assert th.is_alive() and n > 1000
    sr.rpush("k", "x")
    th.join(5)
    assert not th.is_alive()
    assert sr.exists("k") == 0


def test_ctrl_c_interrupts_a_sync_wait_and_consumes_nothing(sr):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sr.blpop(["k"], 0)
    timer.join()
    sr.rpush("k", "kept")
    time.sleep(0.05)
    assert b(sr.lrange("k", 0, -1)) == [b"kept"]
    assert b(sr.blpop(["k"], 1)) == [b"k", b"kept"]


# --- cancellation ---------------------------------------------------------------------------------


@pytest.mark.in_process_only("over a socket, as with Redis, a reply already in flight when the task is cancelled is lost with the connection")
async def test_cancel_right_after_push_never_loses_an_element(ar):
    delivered = kept = 0
    for i in range(300):
        t = asyncio.create_task(ar.blpop(["k"], 0))
        await until_blocked(ar) if i == 0 else await asyncio.sleep(0)
        await asyncio.sleep(0)
        # Push and cancel land in the same loop iteration (neither call yields).
        await ar.rpush("k", f"v{i}")
        t.cancel()
        try:
            got = await t
        except asyncio.CancelledError:
            got = None
        if got is not None:
            assert b(got) == [b"k", f"v{i}".encode()]
            delivered += 1
        else:
            assert b(await ar.lpop("k")) == f"v{i}".encode()
            kept += 1
        assert await ar.exists("k") == 0
    assert delivered + kept == 300
    assert kept > 0  # the race was really exercised
    # The client is still usable, blocking included.
    t = asyncio.create_task(ar.blpop(["k"], 5))
    await until_blocked(ar)
    await ar.rpush("k", "after")
    assert b(await t) == [b"k", b"after"]


@pytest.mark.in_process_only("over a socket a cancel reaches the server only as a later disconnect; a push that lands first is served to the departing client and lost with it, as with Redis")
async def test_cancel_before_push_in_same_iteration(ar):
    for i in range(100):
        t = asyncio.create_task(ar.blpop(["k"], 0))
        await asyncio.sleep(0)
        t.cancel()
        await ar.rpush("k", "v")
        with pytest.raises(asyncio.CancelledError):
            await t
        assert b(await ar.lpop("k")) == b"v"


@pytest.mark.in_process_only("over a socket a cancel reaches the server only as a later disconnect; a push that lands first is served to the departing client and lost with it, as with Redis")
async def test_cancel_races_a_push_from_another_thread(ar, engine_and_proto):
    e, proto = engine_and_proto
    sync = redis.Redis(connection_pool=BurnerSyncConnectionPool(e, protocol=proto))
    total = 200
    delivered = 0
    for i in range(total):
        t = asyncio.create_task(ar.blpop(["k"], 0))
        await asyncio.sleep(0)
        th = threading.Thread(target=sync.rpush, args=("k", "v"))
        th.start()
        await asyncio.sleep(random.random() / 2000)
        t.cancel()
        try:
            if await t is not None:
                delivered += 1
        except asyncio.CancelledError:
            pass
        await asyncio.to_thread(th.join)
    assert delivered + await ar.llen("k") == total


@pytest.mark.in_process_only("over a socket a cancel reaches the server only as a later disconnect; a push that lands first is served to the departing client and lost with it, as with Redis")
async def test_wait_for_timeout_racing_a_push_never_loses_an_element(ar):
    loop = asyncio.get_running_loop()
    total = 200
    delivered = 0
    for i in range(total):
        loop.call_later(0.002, lambda: asyncio.ensure_future(ar.rpush("k", "v")))
        try:
            if await asyncio.wait_for(ar.blpop(["k"], 0), timeout=0.002) is not None:
                delivered += 1
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(0.003)
    assert delivered + await ar.llen("k") == total


@pytest.mark.in_process_only("over a socket a cancel reaches the server only as a later disconnect; a push that lands first is served to the departing client and lost with it, as with Redis")
async def test_cancelled_waiter_passes_its_turn_on(ar):
    first = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    second = asyncio.create_task(ar.blpop(["k"], 0))
    await until_blocked(ar)
    await ar.rpush("k", "x")  # signals `first` ...
    first.cancel()  # ... which gives up before taking it: `second` must get it.
    with pytest.raises(asyncio.CancelledError):
        await first
    assert b(await asyncio.wait_for(second, 5)) == [b"k", b"x"]


async def _cancel_after_service(task, serve):
    """Runs `serve` (which serves `task`'s blocked command) and cancels `task` before it runs
    again: the reply was parked for it but never taken."""
    await serve()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.in_process_only("cancels a served in-process waiter before it takes its reply")
async def test_served_then_cancelled_waiters_hand_back_what_they_took(ar):
    t = asyncio.create_task(ar.blmpop(0, 1, "k", direction="RIGHT", count=2))
    await until_blocked(ar)
    await _cancel_after_service(t, lambda: ar.rpush("k", "a", "b", "c"))
    assert b(await ar.lrange("k", 0, -1)) == [b"a", b"b", b"c"]

    t = asyncio.create_task(ar.brpop(["k2"], 0))
    await until_blocked(ar)
    await _cancel_after_service(t, lambda: ar.rpush("k2", "x", "y"))
    assert b(await ar.lrange("k2", 0, -1)) == [b"x", b"y"]

    t = asyncio.create_task(ar.bzpopmax(["z"], 0))
    await until_blocked(ar)
    await _cancel_after_service(t, lambda: ar.zadd("z", {"m": 2.5, "n": 1}))
    assert b(await ar.zrange("z", 0, -1, withscores=True)) in ([[b"n", 1.0], [b"m", 2.5]], [(b"n", 1.0), (b"m", 2.5)])

    t = asyncio.create_task(ar.blmove("src", "dst", 0, "LEFT", "RIGHT"))
    await until_blocked(ar)
    await _cancel_after_service(t, lambda: ar.rpush("src", "x", "y"))
    assert b(await ar.lrange("src", 0, -1)) == [b"x", b"y"]
    assert await ar.exists("dst") == 0


@pytest.mark.in_process_only("cancels a served in-process waiter before it takes its reply")
async def test_served_then_cancelled_xreadgroup_rewinds_the_group_unless_read_past(ar, engine_and_proto):
    await ar.xgroup_create("s", "g", "$", mkstream=True)
    before = await ar.xinfo_groups("s")
    t = asyncio.create_task(ar.xreadgroup("g", "a", {"s": ">"}, block=0))
    await until_blocked(ar)
    await _cancel_after_service(t, lambda: ar.xadd("s", {"f": "1"}, id="1-1"))
    after = await ar.xinfo_groups("s")
    assert [{k: v for k, v in g.items() if k not in ("consumers", b"consumers")} for g in after] == [
        {k: v for k, v in g.items() if k not in ("consumers", b"consumers", "lag", b"lag")} | {k: 1 for k in g if k in ("lag", b"lag")}
        for g in before
    ]
    assert (await ar.xpending("s", "g"))["pending"] == 0

    # The entry is there for the group again.
    got = await ar.xreadgroup("g", "z", {"s": ">"})
    assert got in ([[b"s", [(b"1-1", {b"f": b"1"})]]], {b"s": [[(b"1-1", {b"f": b"1"})]]})
    await ar.xack("s", "g", "1-1")

    # Read past by another consumer before the cancel: the entry stays pending for `a`.
    t = asyncio.create_task(ar.xreadgroup("g", "a", {"s": ">"}, block=0, count=1))
    await until_blocked(ar)

    other = engine_client(engine_and_proto[0])

    async def serve_and_read_past():
        await ar.xadd("s", {"f": "2"}, id="2-1")
        # Without yielding to the loop (a sync client): the served task cannot run meanwhile.
        other.xadd("s", {"f": "3"}, id="3-1")
        other.xreadgroup("g", "b", {"s": ">"})

    await _cancel_after_service(t, serve_and_read_past)
    pending = [(b(e["message_id"]), b(e["consumer"])) for e in await ar.xpending_range("s", "g", "-", "+", 10)]
    assert pending == [(b"2-1", b"a"), (b"3-1", b"b")]


# --- transactions and pipelines -------------------------------------------------------------------


async def test_blocking_inside_multi_returns_at_once(ar):
    async with ar.pipeline(transaction=True) as p:
        p.blpop(["none"], 0).brpoplpush("none", "d", 0).execute_command("BLMPOP", 0, 1, "none", "LEFT")
        assert await p.execute() == [None, None, None]


async def test_commands_pipelined_after_a_blocked_command_run_after_it(ar):
    async def pipe():
        async with ar.pipeline(transaction=False) as p:
            p.blpop(["k"], 10).set("after", "1").lpush("k", "again")
            return await p.execute()

    t = asyncio.create_task(pipe())
    await until_blocked(ar)
    assert await ar.get("after") is None  # deferred behind the blocked BLPOP
    await ar.rpush("k", "v")
    res = await t
    assert b(res[0]) == [b"k", b"v"]
    assert res[1] is True and res[2] == 1
    assert b(await ar.lrange("k", 0, -1)) == [b"again"]


def test_sync_pipeline_after_blocked_command(sr):
    def push():
        time.sleep(0.1)
        assert sr.get("after") is None
        sr.rpush("k", "v")

    th = threading.Thread(target=push)
    th.start()
    with sr.pipeline(transaction=False) as p:
        res = p.blpop(["k"], 5).set("after", "1").execute()
    th.join()
    assert b(res[0]) == [b"k", b"v"] and res[1] is True


# --- served first: differential order checks --------------------------------------------------
#
# Each scenario runs with its own connections of the `diff` client's pool (burner in-process or
# over the socket, and the reference redis-server alike), blocking clients in threads.


def _wait_blocked(c, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while int(c.info("clients")["blocked_clients"]) < n:
        assert time.monotonic() < deadline, "clients never blocked"
        time.sleep(0.005)


def _block(c, n, call):
    """Starts `call(client)` on a new connection in a thread once `n - 1` others are blocked;
    returns a function giving its result."""
    # One connection for the whole call, so CLIENT ID names the connection that blocks.
    other = redis.Redis(connection_pool=c.connection_pool, single_connection_client=True)
    out = {}

    def run():
        try:
            out["r"] = call(other)
        except redis.RedisError as e:
            out["r"] = ("error", str(e))

    th = threading.Thread(target=run)
    th.start()
    _wait_blocked(c, n)

    def result():
        th.join(10)
        assert not th.is_alive(), "blocked client was never served"
        other.close()
        return out["r"]

    return result


def _pipe(c, *cmds):
    with c.pipeline(transaction=False) as p:
        for cmd in cmds:
            p.execute_command(*cmd)
        return p.execute(raise_on_error=False)


def _norm(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {_norm(k): _norm(x) for k, x in v.items()}
    return v


def test_blocked_client_is_served_before_the_next_pipelined_command(diff):
    def scenario(c):
        got = _block(c, 1, lambda o: o.blpop(["k"], 5))
        res = _pipe(c, ("LPUSH", "k", "a"), ("LPOP", "k"))
        return _norm([got(), res])

    assert diff.call(scenario) == [["k", "a"], [1, None]]


def test_one_push_serves_every_waiter_in_order_before_the_next_command(diff):
    def scenario(c):
        first = _block(c, 1, lambda o: o.blpop(["k"], 5))
        second = _block(c, 2, lambda o: o.brpop(["k"], 5))
        res = _pipe(c, ("RPUSH", "k", "a", "b", "c"), ("LRANGE", "k", 0, -1))
        return _norm([first(), second(), res])

    assert diff.call(scenario) == [["k", "a"], ["k", "c"], [3, ["b"]]]


def test_transaction_runs_whole_before_blocked_clients_are_served(diff):
    def scenario(c):
        got = _block(c, 1, lambda o: o.blpop(["k"], 5))
        with c.pipeline(transaction=True) as p:
            p.rpush("k", "x", "y").lpop("k")
            res = p.execute()
        return _norm([got(), res, c.llen("k")])

    assert diff.call(scenario) == [["k", "y"], [2, "x"], 0]


def test_blmove_chain_serves_the_next_waiter_in_the_same_step(diff):
    def scenario(c):
        mover = _block(c, 1, lambda o: o.blmove("src", "dst", 5, "LEFT", "RIGHT"))
        popper = _block(c, 2, lambda o: o.blpop(["dst"], 5))
        res = _pipe(c, ("RPUSH", "src", "v"), ("LLEN", "dst"), ("LLEN", "src"))
        return _norm([mover(), popper(), res])

    assert diff.call(scenario) == ["v", ["dst", "v"], [1, 0, 0]]


def test_bzpopmin_is_served_before_the_next_pipelined_command(diff):
    def scenario(c):
        got = _block(c, 1, lambda o: o.bzpopmin(["z"], 5))
        res = _pipe(c, ("ZADD", "z", 1.5, "a"), ("ZPOPMIN", "z"))
        r = got()
        return _norm([[r[0], r[1], float(r[2])], res])

    assert diff.call(scenario) == [["z", "a", 1.5], [1, []]]


def test_blocked_xreadgroup_is_served_before_another_consumer_reads(diff):
    def scenario(c):
        c.xgroup_create("s", "g", "$", mkstream=True)
        got = _block(c, 1, lambda o: o.xreadgroup("g", "blocked", {"s": ">"}, block=5000))
        res = _pipe(
            c,
            ("XADD", "s", "1-1", "f", "v"),
            ("XREADGROUP", "GROUP", "g", "other", "STREAMS", "s", ">"),
        )
        pending = [(e["message_id"], e["consumer"]) for e in c.xpending_range("s", "g", "-", "+", 10)]
        r = _norm(got())
        entries = r["s"][0] if isinstance(r, dict) else r[0][1]
        return [entries, _norm(res[1]) in (None, [], {}), _norm(pending)]

    assert diff.call(scenario) == [[["1-1", {"f": "v"}]], True, [["1-1", "blocked"]]]


# --- CLIENT UNBLOCK and CLIENT KILL of blocked clients --------------------------------------------


def _blocked_with_id(c, n, call):
    ids = {}

    def run(o):
        ids["id"] = o.client_id()
        return call(o)

    return _block(c, n, run), ids


def test_client_unblock_gives_the_timeout_reply_or_the_unblocked_error(diff):
    def scenario(c):
        got, ids = _blocked_with_id(c, 1, lambda o: o.blpop(["k"], 5))
        first = [c.client_unblock(ids["id"]), got(), c.client_unblock(ids["id"])]
        got, ids = _blocked_with_id(c, 1, lambda o: o.blmove("a", "b", 5, "LEFT", "LEFT"))
        second = [c.client_unblock(ids["id"], error=True), got()]
        c.xgroup_create("s", "g", "$", mkstream=True)
        got, ids = _blocked_with_id(c, 1, lambda o: o.xreadgroup("g", "c", {"s": ">"}, block=5000))
        third = [c.execute_command("CLIENT", "UNBLOCK", ids["id"], "TIMEOUT"), _norm(got()) or None]
        # Nothing was consumed, and the unblocked clients are gone from the key queues.
        c.rpush("k", "v")
        return [first, second, third, c.lrange("k", 0, -1), int(c.info("clients")["blocked_clients"])]

    assert _norm(diff.call(scenario)) == [
        [True, None, False],
        [True, ["error", "UNBLOCKED client unblocked via CLIENT UNBLOCK"]],
        [1, None],
        ["v"],
        0,
    ]


def test_client_unblock_errors(diff):
    assert diff("CLIENT", "UNBLOCK", 999999) == 0
    assert diff.error("CLIENT", "UNBLOCK") == "wrong number of arguments for 'client|unblock' command"
    assert diff.error("CLIENT", "UNBLOCK", "x") == "value is not an integer or out of range"
    assert diff.error("CLIENT", "UNBLOCK", 1, "later") == "CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    assert diff.error("CLIENT", "UNBLOCK", 1, 2, 3) == (
        "unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP."
    )


def _no_retry_sync(e):
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if os.environ.get("BURNER_VIA_SOCKET") == "1":
        from conftest import _socket_of

        return redis.Redis(unix_socket_path=_socket_of(e), retry=Retry(NoBackoff(), 0))
    return redis.Redis(connection_pool=BurnerSyncConnectionPool(e, retry=Retry(NoBackoff(), 0)))


def test_client_kill_of_a_blocked_sync_client_raises_connection_error(engine_and_proto):
    e, _proto = engine_and_proto
    victim = _no_retry_sync(e)
    admin = engine_client(e)
    vid = victim.client_id()
    box = {}

    def run():
        try:
            box["r"] = victim.blpop(["k"], 10)
        except redis.ConnectionError as exc:
            box["err"] = exc

    th = threading.Thread(target=run)
    th.start()
    _wait_blocked(admin, 1)
    assert admin.client_kill_filter(_id=vid) == 1
    th.join(5)
    assert not th.is_alive() and "err" in box
    assert int(admin.info("clients")["blocked_clients"]) == 0
    admin.rpush("k", "v")
    assert admin.lrange("k", 0, -1) == [b"v"]  # the killed waiter took nothing
    assert victim.ping() is True  # a new connection works


async def test_client_kill_of_a_blocked_async_client_raises_connection_error(engine_and_proto):
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    e, proto = engine_and_proto
    if os.environ.get("BURNER_VIA_SOCKET") == "1":
        from conftest import _socket_of

        victim = redis.asyncio.Redis(unix_socket_path=_socket_of(e), protocol=proto, retry=Retry(NoBackoff(), 0))
    else:
        victim = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e, protocol=proto, retry=Retry(NoBackoff(), 0)))
    admin = engine_async_client(e, protocol=proto)
    vid = await victim.client_id()
    t = asyncio.create_task(victim.blpop(["k"], 10))
    for _ in range(200):
        await asyncio.sleep(0.005)
        if int((await admin.info("clients"))["blocked_clients"]) == 1:
            break
    assert await admin.client_kill_filter(_id=vid) == 1
    with pytest.raises(redis.ConnectionError):
        await asyncio.wait_for(t, 5)
    await admin.rpush("k", "v")
    assert await admin.lrange("k", 0, -1) == [b"v"]
    assert await victim.ping() is True
    await victim.aclose()
    await admin.aclose()


@pytest.mark.in_process_only("kills an in-process engine's process and reopens its files")
def test_served_and_handed_back_writes_reach_the_log(tmp_path):
    """A blocked client served by another's push, and a served waiter cancelled before taking
    its reply (handed back), both change data: after a kill -9 the log replays to the same."""
    code = """
import asyncio, sys
import redis.asyncio
from burner_redis import BurnerConnectionPool

async def main():
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(persistence_path=sys.argv[1], appendfsync="always", save_rules=""))
    t = asyncio.create_task(r.blpop(["q"], 0))
    for _ in range(10):
        await asyncio.sleep(0.01)
    await r.rpush("q", "a", "b")
    await t
    t = asyncio.create_task(r.bzpopmin(["z"], 0))
    for _ in range(10):
        await asyncio.sleep(0.01)
    await r.zadd("z", {"m": 1, "n": 2})
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        pass
    print("done", await r.lrange("q", 0, -1), await r.zrange("z", 0, -1), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    import subprocess
    import sys as _sys

    path = tmp_path / "data.burner"
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "python"))
    p = subprocess.Popen([_sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        assert line.strip() == "done [b'b'] [b'm', b'n']"
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    e = Engine(persistence_path=str(path), save_rules="")
    try:
        c = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
        assert c.lrange("q", 0, -1) == [b"b"]
        assert c.zrange("z", 0, -1, withscores=True) == [(b"m", 1.0), (b"n", 2.0)]
    finally:
        e.close()


def test_client_kill_of_an_idle_pooled_client_gives_it_a_new_connection(engine_and_proto):
    """As redis-py replaces a pooled socket the server closed: the next command runs on a new
    connection (even without retries)."""
    e, _proto = engine_and_proto
    victim = _no_retry_sync(e)
    admin = engine_client(e)
    vid = victim.client_id()
    assert admin.client_kill_filter(_id=vid) == 1
    assert victim.ping() is True
    assert victim.client_id() != vid


def test_client_kill_of_a_single_connection_client_fails_its_next_command(engine_and_proto):
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    e, _proto = engine_and_proto
    if os.environ.get("BURNER_VIA_SOCKET") == "1":
        from conftest import _socket_of

        victim = redis.Redis(unix_socket_path=_socket_of(e), single_connection_client=True, retry=Retry(NoBackoff(), 0))
    else:
        pool = BurnerSyncConnectionPool(e, retry=Retry(NoBackoff(), 0))
        victim = redis.Redis(connection_pool=pool, single_connection_client=True)
    admin = engine_client(e)
    assert admin.client_kill_filter(_id=victim.client_id()) == 1
    with pytest.raises(redis.ConnectionError):
        victim.ping()


@pytest.mark.in_process_only("BurnerRedis's direct session")
async def test_burner_redis_direct_path_survives_client_kill():
    from burner_redis import BurnerRedis

    r = BurnerRedis()
    other = BurnerRedis(engine=r.engine)
    await r.set("k", "v")
    direct = await r.client_id()
    assert await other.client_kill_filter(_id=direct) == 1
    assert await r.get("k") == b"v"
    assert await r.client_id() != direct
    await other.aclose()
    await r.aclose()
