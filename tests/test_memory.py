"""maxmemory and eviction, OOM refusals, OBJECT IDLETIME/FREQ, memory accounting and churn.

The OOM cases run on both sides through ``diff`` with ``maxmemory 1`` (every server is over such a
limit, whatever it holds), which makes the refusals deterministic. Which key a sampling policy
evicts depends on each server's memory and randomness, so policy tests run on burner only, on an
engine whose clock only moves when the test says so, and assert what each policy guarantees
(volatile-* never evicts a key without a TTL; LRU/LFU keep the keys in use; volatile-ttl evicts
the nearest deadlines first).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import early_in_a_second, engine_client

OOM = "command not allowed when used memory > 'maxmemory'."
T0 = 1_700_000_000_000


@contextlib.contextmanager
def configured(diff, **params):
    """Sets CONFIG parameters (``maxmemory_policy=`` for maxmemory-policy) on both servers, and
    puts back the defaults afterwards (the reference server is shared by the whole session)."""
    clients = [c for c in (diff.burner, diff.real) if c is not None]
    for c in clients:
        for name, value in params.items():
            c.config_set(name.replace("_", "-"), value)
    try:
        yield diff
    finally:
        for c in clients:
            c.config_set("maxmemory", 0)
            c.config_set("maxmemory-policy", "noeviction")


@pytest.fixture
def tiny(diff):
    """Both servers with maxmemory 1 (always over) and noeviction."""
    with configured(diff, maxmemory_policy="noeviction", maxmemory=1):
        yield diff


def test_denyoom_commands_are_refused_and_others_run(diff):
    diff("SET", "k", "v")
    diff("RPUSH", "l", "a")
    with configured(diff, maxmemory=1):
        assert OOM in diff.error("SET", "k2", "v")
        assert OOM in diff.error("LPUSH", "l", "b")
        assert OOM in diff.error("APPEND", "k", "x")
        assert OOM in diff.error("HSET", "h", "f", "v")
        assert OOM in diff.error("INCR", "n")
        assert diff("GET", "k") in (b"v", "v")
        assert diff("LPOP", "l") in (b"a", "a")
        assert diff("DEL", "k") == 1
        assert diff("EXISTS", "k2") == 0
        diff("PING")
        # Read-only and deleting commands run; nothing was partially written.
        assert diff("DBSIZE") == 0


def test_oom_inside_multi_aborts_the_transaction(tiny):
    diff = tiny

    def tx(c):
        p = c.pipeline(transaction=True)
        p.get("a")
        p.set("a", "1")
        return p.execute()

    with pytest.raises(redis.exceptions.RedisError) as ei:
        diff.call(tx)
    assert "EXECABORT" in str(ei.value) or OOM in str(ei.value)

    def discard(c):
        c.execute_command("MULTI")
        try:
            c.execute_command("GET", "a")
        except redis.exceptions.ResponseError as e:
            got = str(e)
        else:
            got = None
        return got, c.execute_command("DISCARD")

    got, ok = diff.call(discard)
    assert OOM in got and ok in (b"OK", "OK", True)


def test_exec_of_a_queue_with_writes_is_refused_once_memory_is_over(diff):
    def run(c):
        one = redis.Redis(connection_pool=c.connection_pool, single_connection_client=True)
        one.execute_command("MULTI")
        one.execute_command("SET", "a", "1")
        one.execute_command("GET", "a")
        # The limit drops while the transaction is open: EXEC itself is refused, and the
        # transaction stays open (flagged) until DISCARD.
        c.config_set("maxmemory", 1)
        try:
            try:
                one.execute_command("EXEC")
                refused = None
            except redis.exceptions.ResponseError as e:
                refused = str(e)
            # The refused EXEC ended the transaction, as Redis's does.
            try:
                one.execute_command("DISCARD")
                after = None
            except redis.exceptions.ResponseError as e:
                after = str(e)
            return refused, after
        finally:
            c.config_set("maxmemory", 0)
            one.close()

    refused, after = diff.call(run)
    assert OOM in refused and after == "DISCARD without MULTI"
    assert diff("EXISTS", "a") == 0


def test_scripts_over_maxmemory(tiny):
    diff = tiny
    # Compatibility mode (no shebang): reads run; the first command that grows memory fails.
    assert diff("EVAL", "return redis.call('GET', KEYS[1])", 1, "k") is None
    assert OOM in diff.error("EVAL", "return redis.call('SET', KEYS[1], 'v')", 1, "k")
    got = diff("EVAL", "local r = redis.pcall('SET', KEYS[1], 'v'); return r['err']", 1, "k")
    assert OOM in (got.decode() if isinstance(got, bytes) else got)
    # A script declaring flags that may write is refused before it runs; no-writes and
    # allow-oom scripts run.
    assert OOM in diff.error("EVAL", "#!lua\nreturn redis.call('GET', KEYS[1])", 1, "k")
    assert diff("EVAL", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])", 1, "k") is None
    assert diff("EVAL", "#!lua flags=allow-oom\nreturn redis.call('SET', KEYS[1], 'v')", 1, "k") in (
        b"OK",
        "OK",
    )
    assert diff("DEL", "k") == 1


def test_allkeys_policy_over_a_tiny_limit_evicts_everything_then_refuses(diff):
    for i in range(20):
        diff("SET", f"k{i}", "v")
    with configured(diff, maxmemory_policy="allkeys-random", maxmemory=1):
        assert OOM in diff.error("SET", "x", "v")
        assert diff("DBSIZE") == 0
        assert diff.burner.info("stats")["evicted_keys"] >= 20


def test_volatile_policy_with_no_ttl_keys_refuses(diff):
    for i in range(10):
        diff("SET", f"k{i}", "v")
    with configured(diff, maxmemory_policy="volatile-lru", maxmemory=1):
        assert OOM in diff.error("SET", "x", "v")
        assert diff("DBSIZE") == 10


def test_object_idletime_and_freq_errors_follow_the_policy(diff):
    early_in_a_second()
    diff("SET", "k", "v")
    assert diff("OBJECT", "IDLETIME", "k") == 0
    err = diff.error("OBJECT", "FREQ", "k")
    assert "LFU maxmemory policy is not selected" in err
    with configured(diff, maxmemory_policy="allkeys-lfu"):
        assert "LFU maxmemory policy is selected, idle time not tracked" in diff.error("OBJECT", "IDLETIME", "k")
        diff("SET", "k2", "v")
        # A new key starts at Redis's initial counter.
        assert diff("OBJECT", "FREQ", "k2") == 5
        assert diff("OBJECT", "FREQ", "missing") is None


# ------------------------------------------------------------------ burner-only: policies over time


def _manual(**config):
    e = Engine(manual_clock_ms=T0, config=config or None)
    return e, engine_client(e, decode_responses=True)


def _fill_until_evicting(r, prefix, n, size=200, **kw):
    for i in range(n):
        r.set(f"{prefix}{i}", "x" * size, **kw)


@pytest.mark.in_process_only
def test_idletime_counts_seconds_since_last_access():
    e, r = _manual()
    r.set("k", "v")
    e.advance_clock(7_000)
    assert r.object("idletime", "k") == 7
    r.type("k")  # TYPE does not count as an access (Redis's LOOKUP_NOTOUCH)
    assert r.object("idletime", "k") == 7
    r.get("k")
    assert r.object("idletime", "k") == 0
    e.advance_clock(3_000)
    r.touch("k")
    assert r.object("idletime", "k") == 0


@pytest.mark.in_process_only
def test_lfu_counter_grows_with_use_and_decays_with_time():
    e, r = _manual(**{"maxmemory-policy": "allkeys-lfu", "lfu-decay-time": 1})
    r.set("hot", "v")
    for _ in range(2000):
        r.get("hot")
    hot = r.object("freq", "hot")
    assert 15 <= hot <= 40
    e.advance_clock(5 * 60_000)
    assert r.object("freq", "hot") == hot - 5


def _limit_over_current(r, extra: int) -> int:
    used = int(r.info("memory")["used_memory"])
    return used + extra


@pytest.mark.in_process_only
@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_lru_and_lfu_keep_the_keys_in_use(policy):
    e, r = _manual(**{"maxmemory-policy": policy})
    _fill_until_evicting(r, "hot", 50)
    _fill_until_evicting(r, "cold", 300)
    e.advance_clock(60_000)
    for _ in range(20):
        for i in range(50):
            r.get(f"hot{i}")
    e.advance_clock(1_000)
    r.config_set("maxmemory", _limit_over_current(r, 0) - 30_000)
    _fill_until_evicting(r, "new", 100)
    info = r.info()
    assert info["evicted_keys"] > 100
    hot_left = sum(r.exists(f"hot{i}") for i in range(50))
    cold_left = sum(r.exists(f"cold{i}") for i in range(300))
    assert hot_left >= 45, (hot_left, cold_left)
    assert cold_left / 300 < hot_left / 50
    assert int(info["used_memory"]) <= int(info["maxmemory"]) + 10_000


@pytest.mark.in_process_only
@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_never_evict_keys_without_ttl(policy):
    _e, r = _manual(**{"maxmemory-policy": policy})
    _fill_until_evicting(r, "keep", 100)
    _fill_until_evicting(r, "ttl", 300, ex=1000)
    r.config_set("maxmemory", _limit_over_current(r, 0) - 20_000)
    _fill_until_evicting(r, "more", 50)
    assert r.info()["evicted_keys"] > 50
    assert all(r.exists(f"keep{i}") for i in range(100))
    assert r.dbsize() < 450


@pytest.mark.in_process_only
def test_volatile_ttl_evicts_the_nearest_deadlines_first():
    _e, r = _manual(**{"maxmemory-policy": "volatile-ttl", "maxmemory-samples": 10})
    for i in range(400):
        r.set(f"t{i}", "x" * 200, ex=100 + i * 10)
    r.config_set("maxmemory", _limit_over_current(r, 0) - 20_000)
    _fill_until_evicting(r, "n", 20)
    gone = [i for i in range(400) if not r.exists(f"t{i}")]
    kept = [i for i in range(400) if r.exists(f"t{i}")]
    assert len(gone) > 50
    assert sum(gone) / len(gone) < sum(kept) / len(kept) / 2


@pytest.mark.in_process_only
def test_evictions_are_announced_and_invalidate_watch():
    _e, r = _manual(**{"maxmemory-policy": "allkeys-random", "notify-keyspace-events": "Ee"})
    p = r.pubsub()
    p.psubscribe("__keyevent@0__:evicted")
    assert p.get_message(timeout=1)["type"] == "psubscribe"
    r.set("w", "v")
    pipe = r.pipeline(transaction=True)
    pipe.watch("w")
    r.config_set("maxmemory", 1)
    r.get("w")  # any command runs the eviction; reads are not refused
    r.config_set("maxmemory", 0)
    pipe.multi()
    pipe.set("w", "again")
    with pytest.raises(redis.exceptions.WatchError):
        pipe.execute()
    msg = p.get_message(timeout=1)
    assert msg["type"] == "pmessage" and msg["data"] == "w"
    p.close()


def test_pool_arguments_set_the_limit():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool(maxmemory="64mb", maxmemory_policy="allkeys-lru"))
    assert r.config_get("maxmemory")["maxmemory"] in (b"67108864", "67108864")
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] in (b"allkeys-lru", "allkeys-lru")
    with pytest.raises(ValueError, match="maxmemory-policy"):
        Engine(config={"maxmemory-policy": "sometimes"})


# ------------------------------------------------------------------ accounting, in a fresh process


def _run_child(code: str) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(here, "..", "python"), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


CHILD_PRELUDE = """
import json, time
from burner_redis import Engine

def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024

e = Engine()
s = e.session()
def call(*a):
    s.execute(a)
    return s.read()
def used():
    for line in call('INFO', 'memory').decode().splitlines():
        if line.startswith('used_memory:'):
            return int(line.split(':')[1])
call('PING')
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("kind", ["string", "hash", "zset"])
def test_used_memory_tracks_rss_growth(kind):
    cmd = {
        "string": "redis.call('SET', 'key:' .. i, 'value:' .. i)",
        "hash": "redis.call('HSET', 'h', 'field:' .. i, 'value:' .. i)",
        "zset": "redis.call('ZADD', 'z', i, 'member:' .. i)",
    }[kind]
    got = _run_child(CHILD_PRELUDE + f"""
script = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do {cmd} end"
call('EVAL', 'return 1', 0)  # the Lua VM exists before the baseline
r0, u0 = rss(), used()
for first in range(0, 300000, 50000):
    call('EVAL', script, 0, first, first + 49999)
r1, u1 = rss(), used()
print(json.dumps({{"rss": r1 - r0, "used": u1 - u0}}))
""")
    assert got["rss"] > 5_000_000, got
    assert abs(got["used"] - got["rss"]) <= 0.2 * got["rss"], got


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_churn_of_short_ttl_keys_levels_off():
    """Writes keys with 200 ms TTLs for 3 s: DBSIZE, used_memory and RSS stop growing."""
    got = _run_child(CHILD_PRELUDE + """
script = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('SET', 'k:' .. i, 'value', 'PX', 200) end"
samples = []
start = time.monotonic()
i = 0
while time.monotonic() - start < 3.0:
    call('EVAL', script, 0, i, i + 999)
    i += 1000
    if len(samples) < int((time.monotonic() - start) / 0.25):
        samples.append((call('DBSIZE'), used(), rss()))
print(json.dumps({"samples": samples, "written": i}))
""")
    samples = got["samples"]
    assert got["written"] > 50_000, got["written"]
    half = len(samples) // 2
    first, second = samples[:half], samples[half:]
    # What is alive at once is bounded by the write rate times the TTL, not by what was written.
    assert max(s[0] for s in second) < got["written"] / 2
    assert max(s[1] for s in second) <= 1.5 * max(s[1] for s in first)
    assert max(s[2] for s in second) <= 1.3 * max(s[2] for s in first)


def test_info_memory_fields_are_consistent(rs):
    rs.set("k", "v" * 1000)
    m = rs.info("memory")
    used, peak, rss = int(m["used_memory"]), int(m["used_memory_peak"]), int(m["used_memory_rss"])
    assert 0 < used <= peak
    if os.path.exists("/proc/self/status"):
        assert rss >= 1_000_000  # the process's real resident set, not a copy of used_memory
    assert int(m["used_memory_dataset"]) + int(m["used_memory_overhead"]) == used


@pytest.mark.in_process_only
def test_active_expiry_wakes_for_each_first_ttl_in_any_database():
    """The expiry thread sleeps while no key has a TTL; the first TTL set afterwards, in any
    database and by any command that sets one, wakes it, so keys nobody reads again are still
    reclaimed (DBSIZE does not expire keys itself). Three times, so the wakes after the thread
    went back to sleep are checked too."""
    pool = BurnerSyncConnectionPool(db=5)
    r = redis.Redis(connection_pool=pool)
    try:
        for setter in (
            lambda: r.set("a", "v", px=50),
            lambda: (r.set("b", "v"), r.pexpire("b", 50)),
            lambda: r.eval("redis.call('SELECT', 7); return redis.call('SET', 'c', 'v', 'PX', 50)", 0),
        ):
            time.sleep(0.3)  # the thread has found no TTL and sleeps
            setter()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                sizes = [int(r.execute_command("INFO", "keyspace").get(f"db{d}", {}).get("keys", 0))
                         for d in (5, 7)]
                if sizes == [0, 0]:
                    break
                time.sleep(0.02)
            assert sizes == [0, 0], sizes
    finally:
        pool.disconnect()
