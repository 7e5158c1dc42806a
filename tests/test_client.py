"""BurnerRedis / BurnerSyncRedis: redis-py clients with their own engine and a direct path."""

import asyncio
import threading

import pytest
import redis
from burner_redis import BurnerRedis, BurnerSyncRedis, Engine


async def test_fresh_isolated_engines_and_callbacks():
    a, b = BurnerRedis(), BurnerRedis()
    assert await a.set("k", "v") is True
    assert await a.get("k") == b"v"
    assert await b.get("k") is None  # each instance is its own engine
    await a.hset("h", mapping={"f": "1"})
    assert await a.hgetall("h") == {b"f": b"1"}  # response callbacks still apply
    assert await a.exists("k", "nope") == 1
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
        await a.execute_command("NOPE")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        await a.lpush("h", "x")
    await a.aclose()
    await b.aclose()


async def test_shared_engine_blocking_pipeline_and_pubsub():
    e = Engine()
    a, b = BurnerRedis(engine=e, decode_responses=True), BurnerRedis(engine=e, decode_responses=True)
    waiter = asyncio.create_task(a.blpop("q", timeout=5))  # blocking commands take the pool path
    await asyncio.sleep(0.01)
    await b.rpush("q", "job")
    assert tuple(await waiter) == ("q", "job")  # a tuple with redis-py 8 RESP3 callbacks
    async with a.pipeline(transaction=True) as p:
        p.incr("n").incr("n")
        assert await p.execute() == [1, 2]
    ps = a.pubsub()
    await ps.subscribe("ch")
    assert (await ps.get_message(timeout=1))["type"] == "subscribe"
    assert await b.publish("ch", "hi") == 1
    assert (await ps.get_message(timeout=1))["data"] == "hi"
    await ps.aclose()
    await a.aclose()
    await b.aclose()


def test_aclose_from_another_loop():
    holder = {}

    async def make():
        c = BurnerRedis()
        await c.set("k", "v")
        holder["c"] = c

    asyncio.run(make())
    asyncio.run(holder["c"].aclose())  # pydocket may close clients on another loop


def test_sync_twin_and_threads():
    c = BurnerSyncRedis(decode_responses=True)
    assert c.set("k", "v") is True
    assert c.get("k") == "v"

    def bump():
        for _ in range(200):
            c.incr("n")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.get("n") == "800"
    other = BurnerSyncRedis(engine=c.engine)
    assert other.get("k") == b"v"
    c.close()
    other.close()


@pytest.mark.parametrize("protocol", [2, 3])
async def test_set_fast_path_matches_redis_py_and_keeps_callbacks(protocol):
    c = BurnerRedis(protocol=protocol)
    assert await c.set("k", "v") is True  # no options: sent as ("SET", k, v) directly
    assert await c.set("k", "w", get=True) == b"v"  # options: redis-py's own set()
    assert await c.set("k", "x", nx=True) is None
    assert await c.set("k", 7, px=5000) is True and 0 < await c.pttl("k") <= 5000
    with pytest.raises(redis.exceptions.DataError):
        await c.set("k", None)
    # Refused by redis-py's own set() (6.x+) or, as it sends both flags, by the engine (5.0).
    with pytest.raises((redis.exceptions.DataError, redis.exceptions.ResponseError)):
        await c.set("k", "v", nx=True, xx=True)
    # A callback the user installs is honoured on the direct path, whatever the name's case.
    c.set_response_callback("SET", lambda r, **o: ("custom", r))
    assert await c.set("k", "v") == ("custom", b"OK")
    assert await c.execute_command("set", "k", "v") == ("custom", b"OK")

    async def awaitable_callback(r, **o):
        return ("awaited", r)

    c.set_response_callback("GET", awaitable_callback)
    assert await c.get("k") == ("awaited", b"v")
    async with c.pipeline() as p:  # pipelines keep redis-py's set() and their own callbacks
        p.set("p", "1").get("p")
        assert await p.execute() == [("custom", b"OK"), ("awaited", b"1")]
    await c.aclose()


def test_sync_set_fast_path():
    c = BurnerSyncRedis(decode_responses=True)
    assert c.set("k", "v") is True
    assert c.set("k", "w", get=True) == "v"
    assert c.set("k", "x", xx=True, keepttl=True) is True
    with pytest.raises(redis.exceptions.DataError):
        c.set("k", object())
    c.set_response_callback("SET", lambda r, **o: r)
    assert c.set("k", "v") == "OK"
    c.close()
