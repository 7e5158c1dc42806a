"""Pub/Sub through redis-py's own PubSub, and keyspace notifications.

Wire-level cases run the same commands on a burner connection and on a real redis-server
connection and compare every frame read back (subscribe confirmations, messages, errors), for
RESP2/RESP3 with and without decoding. The rest drives redis-py's PubSub (async and sync) the
way applications do and asserts exact messages.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest
import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine
from conftest import PROTOCOL_MODES, burner_client, pool_connection, real_client, unix_client


def _b(x):
    return x.encode() if isinstance(x, str) else x


def _norm(v):
    """Frames compared as bytes, so decoded and raw modes share expectations."""
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, str):
        return v.encode()
    return v


class Wire:
    """One raw connection: send a command, then read every frame that arrives."""

    def __init__(self, conn):
        self.conn = conn

    def __call__(self, *args, wait=0.05):
        self.conn.send_command(*args)
        return self.drain(wait)

    def drain(self, wait=0.05):
        out = []
        while self.conn.can_read(timeout=wait):
            try:
                out.append(_norm(self.conn.read_response(push_request=True)))
            except redis.exceptions.ResponseError as e:
                out.append(("err", str(e)))
        return out


class WirePair:
    """The same raw exchange on burner and (when installed) on redis-server."""

    def __init__(self, protocol, decode, server, served=None):
        self.burner = burner_client(served, protocol=protocol, decode_responses=decode)
        self.pool = self.burner.connection_pool
        self.real = real_client(server, protocol=protocol, decode_responses=decode) if server else None
        if self.real is not None:
            self.real.flushall()
            self.real.config_set("notify-keyspace-events", "")

    def conns(self):
        b = Wire(pool_connection(self.pool))
        r = Wire(pool_connection(self.real.connection_pool)) if self.real is not None else None
        return b, r

    def both(self, pair, *args, compare=True):
        b, r = pair
        got = b(*args)
        if r is not None and compare:
            want = r(*args)
            assert got == want, f"{args}: burner {got!r} != redis-server {want!r}"
        elif r is not None:
            r(*args)
        return got

    def drained(self, pair):
        b, r = pair
        got = b.drain()
        if r is not None:
            want = r.drain()
            assert got == want, f"burner {got!r} != redis-server {want!r}"
        return got

    def close(self):
        self.pool.disconnect()
        if self.real is not None:
            self.real.config_set("notify-keyspace-events", "")
            self.real.close()


@pytest.fixture(params=PROTOCOL_MODES)
def wire(request, redis_server_socket, served_engine):
    protocol, decode = request.param
    w = WirePair(protocol, decode, redis_server_socket, served_engine)
    w.protocol = protocol
    yield w
    w.close()


def test_subscribe_confirmations_and_messages(wire):
    sub = wire.conns()
    pub = wire.conns()
    assert wire.both(sub, "UNSUBSCRIBE") == [[b"unsubscribe", None, 0]]
    assert wire.both(sub, "PUNSUBSCRIBE") == [[b"punsubscribe", None, 0]]
    assert wire.both(sub, "SUNSUBSCRIBE") == [[b"sunsubscribe", None, 0]]
    assert wire.both(sub, "SUBSCRIBE", "a", "b", "a") == [
        [b"subscribe", b"a", 1],
        [b"subscribe", b"b", 2],
        [b"subscribe", b"a", 2],
    ]
    assert wire.both(sub, "PSUBSCRIBE", "p*") == [[b"psubscribe", b"p*", 3]]
    assert wire.both(sub, "SSUBSCRIBE", "s1") == [[b"ssubscribe", b"s1", 1]]
    assert wire.both(pub, "PUBLISH", "a", "m1") == [1]
    assert wire.both(pub, "PUBLISH", "pq", "m2") == [1]
    assert wire.both(pub, "PUBLISH", "nobody", "m") == [0]
    assert wire.both(pub, "SPUBLISH", "s1", "m3") == [1]
    assert wire.drained(sub) == [
        [b"message", b"a", b"m1"],
        [b"pmessage", b"p*", b"pq", b"m2"],
        [b"smessage", b"s1", b"m3"],
    ]
    assert wire.both(sub, "PING") == ([[b"pong", b""]] if wire.protocol == 2 else [b"PONG"])
    if wire.protocol == 2:
        err = "Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        assert wire.both(sub, "GET", "k") == [("err", err)]
        assert wire.both(sub, "PING", "hi") == [[b"pong", b"hi"]]
        got = wire.both(sub, "PUBSUB", "NUMPAT")
        assert got == [("err", err.replace("'get'", "'pubsub|numpat'"))]
    else:
        # RESP3 subscribers may run anything; a message to themselves arrives before the reply.
        assert wire.both(sub, "GET", "k") == [None]
        assert wire.both(sub, "PUBLISH", "a", "self") == [[b"message", b"a", b"self"], 1]
    assert wire.both(sub, "UNSUBSCRIBE", "b") == [[b"unsubscribe", b"b", 2]]
    assert wire.both(sub, "PUNSUBSCRIBE") == [[b"punsubscribe", b"p*", 1]]
    # Redis 7.0 sends a malformed RESP3 frame here; 7.2 sends this.
    assert wire.both(sub, "SUNSUBSCRIBE", compare=wire.protocol == 2) == [[b"sunsubscribe", b"s1", 0]]
    assert wire.both(sub, "UNSUBSCRIBE") == [[b"unsubscribe", b"a", 0]]
    # Out of subscribed mode again: ordinary commands work in RESP2 too.
    assert wire.both(sub, "GET", "k") == [None]


def test_messages_arrive_in_order_after_confirmations(wire):
    sub = wire.conns()
    pub = wire.conns()
    wire.both(sub, "SUBSCRIBE", "c")
    for i in range(200):
        pub[0]("PUBLISH", "c", str(i), wait=0)
    got = sub[0].drain()
    assert got == [[b"message", b"c", str(i).encode()] for i in range(200)]


def test_reset_leaves_subscribed_mode(wire):
    sub = wire.conns()
    wire.both(sub, "SUBSCRIBE", "a")
    wire.both(sub, "PSUBSCRIBE", "x*")
    assert wire.both(sub, "RESET") == [b"RESET"]
    assert wire.both(sub, "PUBSUB", "NUMSUB", "a") == [[b"a", 0]]
    assert wire.both(sub, "PUBSUB", "NUMPAT") == [0]


def test_pubsub_introspection(diff):
    subs = []
    for client in (diff.burner, diff.real):
        if client is None:
            continue
        a, b = Wire(pool_connection(client.connection_pool)), Wire(pool_connection(client.connection_pool))
        a("SUBSCRIBE", "news", "sport")
        a("PSUBSCRIBE", "n*", "x?")
        b("SUBSCRIBE", "news")
        b("PSUBSCRIBE", "n*")
        b("SSUBSCRIBE", "shard1")
        subs += [a, b]
    got = diff.call(lambda c: sorted(_norm(c.pubsub_channels())))
    assert got == [b"news", b"sport"]
    assert _norm(diff.call(lambda c: sorted(_norm(c.pubsub_channels("n*"))))) == [b"news"]
    assert [_norm(list(x)) for x in diff.call(lambda c: c.pubsub_numsub("news", "sport", "none"))] == [
        [b"news", 2], [b"sport", 1], [b"none", 0]
    ]
    assert diff("PUBSUB", "NUMSUB") == []
    assert diff.call(lambda c: c.pubsub_numpat()) == 2
    assert _norm(diff("PUBSUB", "SHARDCHANNELS")) == [b"shard1"]
    assert _norm(diff("PUBSUB", "SHARDCHANNELS", "x*")) == []
    assert _norm(diff("PUBSUB", "SHARDNUMSUB", "shard1", "other")) == [b"shard1", 1, b"other", 0]
    assert diff("PUBLISH", "news", "hi") == 4  # two channel subscribers, two `n*` pattern subscriptions
    assert diff("SPUBLISH", "shard1", "hi") == 1
    assert "unknown subcommand 'FOO'" in diff.error("PUBSUB", "FOO")
    assert "wrong number of arguments for 'CHANNELS'" in diff.error("PUBSUB", "CHANNELS", "a", "b")
    assert diff.error("PUBSUB", "NUMPAT", "x") == "wrong number of arguments for 'pubsub|numpat' command"
    assert diff.error("PUBLISH", "a") == "wrong number of arguments for 'publish' command"
    assert diff.error("SPUBLISH", "a", "b", "c") == "wrong number of arguments for 'spublish' command"
    help_lines = _norm(diff("PUBSUB", "HELP"))
    assert help_lines[0].startswith(b"PUBSUB <subcommand>")
    for w in subs:
        w.conn.disconnect()


def test_publish_in_multi_counts_receivers(diff):
    conns = []
    for client in (diff.burner, diff.real):
        if client is None:
            continue
        w = Wire(pool_connection(client.connection_pool))
        w("SUBSCRIBE", "t")
        conns.append(w)

    def tx(c):
        p = c.pipeline(transaction=True)
        p.publish("t", "1").publish("none", "2")
        return p.execute()

    assert diff.call(tx) == [1, 0]
    for w in conns:
        assert w.drain() == [[b"message", b"t", b"1"]]


def test_publish_from_lua(diff):
    if "unknown command" in _eval_probe(diff.burner):
        pytest.skip("EVAL not available in this build")
    w = Wire(pool_connection(diff.burner.connection_pool))
    w("SUBSCRIBE", "lua")
    assert diff.burner.eval("return redis.call('publish', 'lua', ARGV[1])", 0, "x") == 1
    assert w.drain() == [[b"message", b"lua", b"x"]]


def _eval_probe(client) -> str:
    try:
        client.eval("return 1", 0)
        return ""
    except redis.exceptions.ResponseError as e:
        return str(e)


@pytest.mark.parametrize(
    "value,canonical",
    [("", ""), ("KEA", "AKE"), ("Ag", "A"), ("KEg$lshzxetdn", "AKE"), ("KEnm", "nKEm"), ("g$lshzxetKE", "g$lshzxetKE"), ("Kx", "xK")],
)
def test_notify_keyspace_events_config(diff, value, canonical):
    assert diff.call(lambda c: c.config_set("notify-keyspace-events", value)) is True
    got = diff.call(lambda c: c.config_get("notify-keyspace-events"))
    assert _norm(list(got.values())) == [canonical.encode()]


def test_config_errors_and_buffer_limits(diff):
    msg = diff.error("CONFIG", "SET", "notify-keyspace-events", "Axyz")
    assert "Invalid event class character" in msg
    try:
        assert diff.call(lambda c: c.config_set("client-output-buffer-limit", "pubsub 1mb 512kb 10")) is True
        got = diff.call(lambda c: c.config_get("client-output-buffer-limit"))
        assert _norm(list(got.values())) == [b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"]
        for bad in ("pubsub 1mb 512kb", "foo 1 1 1", "pubsub x 1 1", "pubsub 1 1 -1"):
            assert "buffer limit configuration" in diff.error("CONFIG", "SET", "client-output-buffer-limit", bad)
    finally:
        for c in (diff.burner, diff.real):
            if c is not None:
                c.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")


def test_keyspace_notifications(wire):
    b, r = wire.conns()
    for w, client in ((b, wire.burner), (r, wire.real)):
        if w is None:
            continue
        client.config_set("notify-keyspace-events", "KEA")
        w("PSUBSCRIBE", "__key*@0__:*")
    for c in (wire.burner, wire.real):
        if c is None:
            continue
        c.set("k", "v")
        c.delete("k")
        c.delete("missing")
    expected = [
        [b"pmessage", b"__key*@0__:*", b"__keyspace@0__:k", b"set"],
        [b"pmessage", b"__key*@0__:*", b"__keyevent@0__:set", b"k"],
        [b"pmessage", b"__key*@0__:*", b"__keyspace@0__:k", b"del"],
        [b"pmessage", b"__key*@0__:*", b"__keyevent@0__:del", b"k"],
    ]
    assert b.drain() == expected
    if r is not None:
        assert r.drain() == expected
    # Only the enabled classes: strings off, generic on, keyevent only.
    for w, client in ((b, wire.burner), (r, wire.real)):
        if client is None:
            continue
        client.config_set("notify-keyspace-events", "Eg")
        client.set("k2", "v")
        client.delete("k2")
        assert w.drain() == [[b"pmessage", b"__key*@0__:*", b"__keyevent@0__:del", b"k2"]]


def test_keyspace_expire_and_expired(wire):
    if "unknown command" in _probe(wire.burner, "PEXPIRE", "nokey", 10):
        pytest.skip("PEXPIRE not available in this build")
    b, r = wire.conns()
    for w, client in ((b, wire.burner), (r, wire.real)):
        if w is None:
            continue
        client.config_set("notify-keyspace-events", "KEA")
        w("SUBSCRIBE", "__keyspace@0__:ttl")
        client.set("ttl", "v")
        client.pexpire("ttl", 30)
        # The active expiry cycle announces it without anybody touching the key.
        deadline = time.time() + 5
        got = []
        while time.time() < deadline and len(got) < 3:
            got += w.drain(wait=0.2)
        assert got == [
            [b"message", b"__keyspace@0__:ttl", b"set"],
            [b"message", b"__keyspace@0__:ttl", b"expire"],
            [b"message", b"__keyspace@0__:ttl", b"expired"],
        ]


def _probe(client, *args) -> str:
    try:
        client.execute_command(*args)
        return ""
    except redis.exceptions.ResponseError as e:
        return str(e)


# --- redis-py PubSub, asyncio -------------------------------------------------------------------


@pytest.fixture(params=PROTOCOL_MODES)
async def ar(request):
    protocol, decode = request.param
    client = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(protocol=protocol, decode_responses=decode))
    client.decode = decode
    yield client
    await client.connection_pool.aclose()


def _t(client, s):
    return s if client.decode else s.encode()


async def test_async_get_message_listen_and_timeout(ar):
    async with ar.pubsub() as p:
        await p.subscribe("ch")
        msg = await p.get_message(timeout=1)
        assert msg == {"type": "subscribe", "pattern": None, "channel": _t(ar, "ch"), "data": 1}
        t0 = time.monotonic()
        assert await p.get_message(timeout=0.1) is None
        assert time.monotonic() - t0 >= 0.09
        assert await ar.publish("ch", "one") == 1
        assert (await p.get_message(timeout=1))["data"] == _t(ar, "one")

        async def publish_later():
            await asyncio.sleep(0.02)
            await ar.publish("ch", "two")
            await ar.publish("ch", "three")

        task = asyncio.create_task(publish_later())
        seen = []
        async for m in p.listen():
            seen.append(m["data"])
            if len(seen) == 2:
                break
        await task
        assert seen == [_t(ar, "two"), _t(ar, "three")]
    assert await ar.pubsub_numsub("ch") == [(_t(ar, "ch"), 0)]


async def test_async_handlers_ignore_subscribe_and_run(ar):
    got = []
    p = ar.pubsub(ignore_subscribe_messages=True)
    await p.subscribe(news=lambda m: got.append(("h", m["data"])))
    await p.psubscribe(**{"ev*": lambda m: got.append(("p", m["channel"]))})
    task = asyncio.create_task(p.run(poll_timeout=5))
    await asyncio.sleep(0)
    await ar.publish("news", "a")
    await ar.publish("event", "b")
    for _ in range(100):
        if len(got) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert got == [("h", _t(ar, "a")), ("p", _t(ar, "event"))]
    await p.aclose()


async def test_async_ping_and_health_check():
    pool = BurnerConnectionPool(protocol=2, health_check_interval=0.01)
    r = redis.asyncio.Redis(connection_pool=pool)
    p = r.pubsub()
    await p.subscribe("c")
    assert (await p.get_message(timeout=1))["type"] == "subscribe"
    await asyncio.sleep(0.03)
    # The health-check PING's reply is swallowed; the message after it comes through.
    assert await p.get_message(timeout=0.05) is None
    await r.publish("c", "x")
    msg = None
    for _ in range(5):
        msg = await p.get_message(timeout=0.2)
        if msg is not None:
            break
    assert msg["data"] == b"x"
    await p.ping()
    # A health-check reply still queued ahead of it reads as None, as with a socket.
    msgs = [await p.get_message(timeout=0.2) for _ in range(3)]
    assert {"type": "pong", "pattern": None, "channel": None, "data": b""} in msgs
    await p.aclose()
    await pool.aclose()


async def test_async_cancelled_get_message_keeps_subscription(ar):
    p = ar.pubsub()
    await p.subscribe("c")
    await p.get_message(timeout=1)
    task = asyncio.create_task(p.get_message(timeout=None))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await ar.publish("c", "after") == 1
    msg = await p.get_message(timeout=1)
    assert msg["data"] == _t(ar, "after")
    # A wait_for timeout is a cancellation too.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(p.get_message(timeout=None), 0.02)
    await ar.publish("c", "later")
    assert (await p.get_message(timeout=1))["data"] == _t(ar, "later")
    await p.aclose()


async def test_async_reconnect_resubscribes(ar):
    p = ar.pubsub()
    await p.subscribe("a")
    await p.psubscribe("b*")
    await p.get_message(timeout=1)
    await p.get_message(timeout=1)
    await p.connection.disconnect()
    assert await ar.pubsub_numsub("a") == [(_t(ar, "a"), 0)]
    # The next read reconnects; the connect callback subscribes again.
    types = [(await p.get_message(timeout=1))["type"] for _ in range(2)]
    assert sorted(types) == ["psubscribe", "subscribe"]
    assert await ar.publish("a", "x") == 1
    assert (await p.get_message(timeout=1))["data"] == _t(ar, "x")
    await p.aclose()


async def test_async_closed_and_collected_pubsub_leave_nothing(ar):
    p = ar.pubsub()
    await p.subscribe("gone")
    assert await ar.pubsub_numsub("gone") == [(_t(ar, "gone"), 1)]
    await p.aclose()
    assert await ar.pubsub_numsub("gone") == [(_t(ar, "gone"), 0)]

    async def abandon():
        q = ar.pubsub()
        await q.subscribe("gone")
        await q.get_message(timeout=0.01)

    await abandon()
    gc.collect()
    assert await ar.pubsub_numsub("gone") == [(_t(ar, "gone"), 0)]


async def test_async_push_handler_resp3():
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(protocol=3))
    seen = []

    async def handler(msg):
        seen.append(msg)

    p = r.pubsub(push_handler_func=handler)
    await p.subscribe("c")
    assert await p.get_message(timeout=0.5) is None
    await r.publish("c", "x")
    await p.get_message(timeout=0.5)
    assert seen == [[b"subscribe", b"c", 1], [b"message", b"c", b"x"]]
    await p.aclose()
    await r.connection_pool.aclose()


async def test_async_publishers_on_other_threads_and_loops():
    engine = Engine()
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(engine))
    p = r.pubsub()
    await p.subscribe("x")
    await p.get_message(timeout=1)

    def thread_publisher(tag):
        async def go():
            pr = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(engine))
            for i in range(50):
                await pr.publish("x", f"{tag}-{i}")
            await pr.connection_pool.aclose()

        asyncio.run(go())

    def sync_publisher(tag):
        rs = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine))
        for i in range(50):
            rs.publish("x", f"{tag}-{i}")

    threads = [threading.Thread(target=thread_publisher, args=("loop",)), threading.Thread(target=sync_publisher, args=("sync",))]
    for t in threads:
        t.start()
    got = []
    while len(got) < 100:
        m = await p.get_message(timeout=5)
        assert m is not None, f"stalled after {len(got)} messages"
        got.append(m["data"].decode())
    for t in threads:
        t.join()
    for tag in ("loop", "sync"):
        mine = [g for g in got if g.startswith(tag)]
        assert mine == [f"{tag}-{i}" for i in range(50)]  # publish order per publisher, no duplicates
    await p.aclose()


async def test_async_300_subscribers_each_get_every_message():
    engine = Engine()
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(engine))
    subs = []
    for _ in range(300):
        p = r.pubsub(ignore_subscribe_messages=True)
        await p.subscribe("fan")
        subs.append(p)
    assert await r.pubsub_numsub("fan") == [(b"fan", 300)]

    async def collect(p):
        out = []
        deadline = time.monotonic() + 10
        while len(out) < 20 and time.monotonic() < deadline:
            # None is the (ignored) subscribe confirmation or a timeout.
            m = await p.get_message(timeout=5)
            if m is not None:
                out.append(m["data"])
        return out

    tasks = [asyncio.create_task(collect(p)) for p in subs]
    await asyncio.sleep(0)
    for i in range(20):
        assert await r.publish("fan", str(i)) == 300
    results = await asyncio.gather(*tasks)
    want = [str(i).encode() for i in range(20)]
    bad = [res for res in results if res != want]
    assert not bad, (len(bad), bad[:2])
    for p in subs:
        await p.aclose()
    assert await r.pubsub_numsub("fan") == [(b"fan", 0)]


async def test_slow_subscriber_is_dropped_with_connection_error():
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(protocol=2))
    await r.config_set("client-output-buffer-limit", "pubsub 64kb 0 0")
    p = r.pubsub()
    await p.subscribe("big")
    await p.get_message(timeout=1)
    payload = b"x" * 1024
    for _ in range(100):
        await r.publish("big", payload)
    # Over the hard limit: the subscription is gone and nothing was kept for it.
    assert await r.pubsub_numsub("big") == [(b"big", 0)]
    with pytest.raises(redis.exceptions.ConnectionError, match="output buffer limit"):
        await p.connection.read_response(timeout=1, disconnect_on_error=False, push_request=True)
    await p.aclose()
    await r.connection_pool.aclose()


# --- redis-py PubSub, sync ----------------------------------------------------------------------


@pytest.fixture(params=PROTOCOL_MODES)
def sr(request):
    protocol, decode = request.param
    client = redis.Redis(connection_pool=BurnerSyncConnectionPool(protocol=protocol, decode_responses=decode))
    client.decode = decode
    yield client
    client.connection_pool.disconnect()


def test_sync_get_message_and_listen(sr):
    with sr.pubsub() as p:
        p.subscribe("c")
        assert p.get_message(timeout=1)["type"] == "subscribe"
        assert p.get_message(timeout=0.05) is None
        threading.Timer(0.02, lambda: sr.publish("c", "late")).start()
        # Blocks with the GIL released until the publisher's thread delivers.
        assert p.get_message(timeout=5)["data"] == _t(sr, "late")
        threading.Timer(0.02, lambda: sr.publish("c", "via-listen")).start()
        for m in p.listen():
            assert m["data"] == _t(sr, "via-listen")
            break
    assert sr.pubsub_numsub("c") == [(_t(sr, "c"), 0)]


def test_sync_run_in_thread_with_handlers(sr):
    got = []
    done = threading.Event()

    def handler(m):
        got.append(m["data"])
        if len(got) == 3:
            done.set()

    p = sr.pubsub()
    p.subscribe(jobs=handler)
    worker = p.run_in_thread(sleep_time=10, daemon=True)
    pubs = [threading.Thread(target=lambda i=i: sr.publish("jobs", str(i))) for i in range(3)]
    for t in pubs:
        t.start()
    assert done.wait(5)
    worker.stop()
    p.close()  # wakes the worker out of its 10 s wait
    worker.join(5)
    assert not worker.is_alive()
    assert sorted(got) == [_t(sr, str(i)) for i in range(3)]
    assert sr.pubsub_numsub("jobs") == [(_t(sr, "jobs"), 0)]


def test_sync_subscribe_from_another_thread_while_reading():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    p = r.pubsub()
    p.subscribe("first")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    result = {}

    def reader():
        result["msg"] = p.get_message(timeout=5)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.05)
    p.subscribe("second")  # the reader wakes on the confirmation
    t.join(5)
    assert result["msg"] == {"type": "subscribe", "pattern": None, "channel": b"second", "data": 2}
    p.close()


def test_sync_health_check_and_ping():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool(health_check_interval=0.01))
    p = r.pubsub()
    p.subscribe("c")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    time.sleep(0.03)
    assert p.get_message(timeout=0.05) is None
    r.publish("c", "x")
    msg = None
    for _ in range(5):
        msg = p.get_message(timeout=0.2)
        if msg is not None:
            break
    assert msg["data"] == b"x"
    p.ping()
    msgs = [p.get_message(timeout=0.2) for _ in range(3)]
    assert {"type": "pong", "pattern": None, "channel": None, "data": b""} in msgs
    p.close()


def test_sync_collected_pubsub_leaves_nothing():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())

    def abandon():
        p = r.pubsub()
        p.subscribe("gone")

    abandon()
    gc.collect()
    assert r.pubsub_numsub("gone") == [(b"gone", 0)]


# --- the socket server front door ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3])
def test_socket_server_subscriber_gets_inprocess_messages(tmp_path, protocol):
    e = Engine()
    if not hasattr(e, "serve"):
        pytest.skip("socket server not in this build")
    srv = e.serve(unix_socket=str(tmp_path / "ps.sock"))
    try:
        stock = unix_client(srv.unix_socket, protocol=protocol)
        p = stock.pubsub()
        p.subscribe("a", "b")
        assert [p.get_message(timeout=1)["channel"] for _ in range(2)] == [b"a", b"b"]
        local = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
        assert local.pubsub_numsub("a") == [(b"a", 1)]
        # Published while the socket client is idle: delivered without it sending anything.
        for i in range(50):
            assert local.publish("a", str(i)) == 1
        got = []
        while len(got) < 50:
            m = p.get_message(timeout=2)
            assert m is not None, f"stalled after {len(got)}"
            got.append(m["data"])
        assert got == [str(i).encode() for i in range(50)]
        p.close()
        stock.close()
        for _ in range(100):
            if local.pubsub_numsub("a") == [(b"a", 0)]:
                break
            time.sleep(0.01)
        assert local.pubsub_numsub("a") == [(b"a", 0)]
    finally:
        srv.close()
