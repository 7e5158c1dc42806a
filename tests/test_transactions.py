"""MULTI / EXEC / DISCARD / WATCH / UNWATCH through redis-py's Pipeline, compared with redis-server."""

import asyncio

import pytest
import redis
import redis.asyncio
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import engine_async_client, engine_client, real_client


def _pair(diff):
    """Two more clients on each side: one to run the transaction, one to interfere."""
    return diff


def test_multi_exec_raw(diff):
    assert diff("MULTI") in (True, b"OK", "OK")
    assert diff("SET", "a", "1") is False  # redis-py's SET callback reads "QUEUED" as not-OK
    assert diff("GET", "a") in (b"QUEUED", "QUEUED")
    assert diff("EXEC") in ([True, b"1"], [True, "1"], [b"OK", b"1"], ["OK", "1"])


def test_exec_without_multi_and_nesting(diff):
    assert diff.error("EXEC") == "EXEC without MULTI"
    assert diff.error("DISCARD") == "DISCARD without MULTI"
    diff("MULTI")
    assert diff.error("MULTI") == "MULTI calls can not be nested"
    assert diff.error("WATCH", "x") == "WATCH inside MULTI is not allowed"
    diff("DISCARD")


def test_queued_error_aborts_exec(diff):
    diff("MULTI")
    diff("SET", "a", "1")
    diff.error("GET")  # wrong arity: rejected at queue time
    msg = diff.error("EXEC")
    assert msg.startswith("Transaction discarded because of previous errors")
    assert diff("EXISTS", "a") == 0


def test_unknown_command_in_multi_aborts(diff):
    diff("MULTI")
    diff.error("NOSUCH")
    diff.error("EXEC")


def test_runtime_error_inside_exec_is_inline(diff):
    diff("SET", "s", "x")
    res = diff.call(lambda c: c.pipeline(transaction=True).set("a", "1").lpush("s", "x").get("a").execute(raise_on_error=False))
    assert res[0] is True
    assert isinstance(res[1], redis.exceptions.ResponseError)
    assert "WRONGTYPE" in str(res[1])
    assert res[2] in (b"1", "1")


def test_pipeline_transaction_and_plain(diff):
    def run(c):
        with c.pipeline(transaction=True) as p:
            p.set("k1", "v1").get("k1").exists("k1", "k2").delete("k1")
            return p.execute()

    assert diff.call(run)[2] == 1

    def plain(c):
        with c.pipeline(transaction=False) as p:
            p.set("k", "v").get("k").get("missing")
            return p.execute()

    assert diff.call(plain)[1] in (b"v", "v")


@pytest.fixture(params=[2, 3])
def two_clients(request, redis_server_socket):
    """(watcher, intruder) client pairs on burner and, when present, redis-server."""
    proto = request.param
    e = Engine()
    pairs = [
        (
            engine_client(e, protocol=proto),
            engine_client(e, protocol=proto),
        )
    ]
    if redis_server_socket:
        a = real_client(redis_server_socket, protocol=proto)
        a.flushall()
        pairs.append((a, real_client(redis_server_socket, protocol=proto)))
    return pairs


def test_watch_conflict_raises_watcherror(two_clients):
    for watcher, intruder in two_clients:
        watcher.set("balance", "10")
        with watcher.pipeline() as p:
            p.watch("balance")
            v = int(p.get("balance"))
            intruder.set("balance", "99")
            p.multi()
            p.set("balance", v + 1)
            with pytest.raises(redis.exceptions.WatchError):
                p.execute()
        assert watcher.get("balance") == b"99"


def test_watch_no_conflict_commits(two_clients):
    for watcher, intruder in two_clients:
        watcher.set("n", "1")
        intruder.set("other", "x")  # a different key does not conflict

        def txn(p):
            v = int(p.get("n"))
            p.multi()
            p.set("n", v + 1)

        assert watcher.transaction(txn, "n") == [True]
        assert watcher.get("n") == b"2"


def test_watch_then_delete_and_flush_conflict(two_clients):
    for watcher, intruder in two_clients:
        watcher.set("w", "1")
        for interfere in (lambda i=intruder: i.delete("w"), lambda i=intruder: i.flushdb()):
            watcher.set("w", "1")
            with watcher.pipeline() as p:
                p.watch("w")
                interfere()
                p.multi()
                p.set("w", "2")
                with pytest.raises(redis.exceptions.WatchError):
                    p.execute()


def test_watched_key_expiring_aborts_exec():
    e = Engine(manual_clock_ms=1_000_000)
    c = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    c.execute_command("SET", "t", "1")
    c.execute_command("PEXPIREAT", "t", 1_000_500) if _has(c, "PEXPIREAT") else pytest.skip("PEXPIREAT not built yet")
    with c.pipeline() as p:
        p.watch("t")
        e.advance_clock(1000)
        p.multi()
        p.set("t", "2")
        with pytest.raises(redis.exceptions.WatchError):
            p.execute()


def _has(c, name):
    try:
        c.execute_command(name)
    except redis.exceptions.ResponseError as err:
        return "unknown command" not in str(err)
    return True


def test_unwatch_and_discard_clear_watches(two_clients):
    for watcher, intruder in two_clients:
        watcher.set("u", "1")
        assert watcher.execute_command("WATCH", "u") in (True, b"OK")
        assert watcher.execute_command("UNWATCH") in (True, b"OK")
        intruder.set("u", "2")
        with watcher.pipeline() as p:
            p.multi()
            p.set("u", "3")
            assert p.execute() == [True]


async def test_async_transaction_with_watch_conflict():
    e = Engine()
    a = engine_async_client(e)
    b = engine_async_client(e)
    await a.set("k", "0")
    async with a.pipeline() as p:
        await p.watch("k")
        await b.set("k", "x")
        p.multi()
        p.set("k", "1")
        with pytest.raises(redis.exceptions.WatchError):
            await p.execute()

    async def incr(p):
        v = int(await p.get("k") or 0) if (await p.get("k")) != b"x" else 0
        p.multi()
        p.set("k", v + 1)

    assert await a.transaction(incr, "k") == [True]
    assert await a.get("k") == b"1"


async def test_concurrent_async_transactions_are_atomic():
    e = Engine()
    clients = [engine_async_client(e) for _ in range(5)]
    await clients[0].set("counter", "0")

    async def bump(c):
        for _ in range(20):
            async def txn(p):
                v = int(await p.get("counter"))
                await asyncio.sleep(0)
                p.multi()
                p.set("counter", v + 1)

            await c.transaction(txn, "counter")

    await asyncio.gather(*(bump(c) for c in clients))
    assert await clients[0].get("counter") == b"100"
