"""Introspection commands: INFO, CONFIG, SLOWLOG, MEMORY, COMMAND, SWAPDB, ROLE, LOLWUT, DEBUG.

Replies are compared with a real redis-server through the ``diff`` fixture where their shape and
text are the same by nature; values that depend on the process (memory, timings, addresses) are
compared by key set or type only.
"""

from __future__ import annotations

import pytest
import redis

# Fields Redis 7.2 added to INFO (the reference server may be 7.0): burner follows 7.2, so these
# are removed from burner's side before comparing key sets with an older server.
ADDED_IN_7_2 = {
    "clients": {
        "pubsub_clients",
        "watching_clients",
        "total_watched_keys",
        "total_blocking_keys",
        "total_blocking_keys_on_nokey",
    },
    "stats": {
        "eventloop_cycles",
        "eventloop_duration_sum",
        "eventloop_duration_cmd_sum",
        "instantaneous_eventloop_cycles_per_sec",
        "instantaneous_eventloop_duration_usec",
        "acl_access_denied_auth",
        "acl_access_denied_cmd",
        "acl_access_denied_key",
        "acl_access_denied_channel",
    },
}


def _server_major_minor(client) -> tuple[int, int]:
    v = client.info("server")["redis_version"]
    major, minor = str(v).split(".")[:2]
    return int(major), int(minor)


def _reset(diff):
    for c in (diff.burner, diff.real):
        if c is not None:
            c.config_resetstat()


@pytest.mark.parametrize(
    "section",
    ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"],
)
def test_info_section_fields(diff, section):
    diff("SET", "k", "v")
    diff("SET", "e", "v", "EX", "100")
    got = diff.burner.info(section)
    assert got, section
    if section == "keyspace":
        assert got["db0"]["keys"] == 2 and got["db0"]["expires"] == 1
        assert 0 < got["db0"]["avg_ttl"] <= 100_000
    if section == "server":
        assert str(got["redis_version"]).startswith("7.2")
    if section == "memory":
        assert got["used_memory"] > 0 and got["maxmemory_policy"] == "noeviction"
    if diff.real is None:
        return
    want = set(diff.real.info(section))
    keys = set(got)
    if _server_major_minor(diff.real) < (7, 2):
        keys -= ADDED_IN_7_2.get(section, set())
    assert keys == want


def test_info_default_and_all_sections(diff):
    default = diff.burner.execute_command("INFO")
    everything = diff.burner.execute_command("INFO", "ALL")
    assert "redis_version" in default and "cluster_enabled" in default
    assert not any(k.startswith("cmdstat_") for k in default)
    diff("GET", "x")
    assert any(k.startswith("cmdstat_") for k in diff.burner.info("all"))
    assert "redis_version" in everything
    # Unknown sections give an empty reply, as in Redis.
    assert diff.burner.info("nosuchsection") == {}


def test_info_commandstats_and_errorstats(diff):
    _reset(diff)
    diff("SET", "s", "1")
    diff("GET", "s")
    diff("GET", "s")
    with pytest.raises(redis.ResponseError):
        diff("LPUSH", "s", "x")
    with pytest.raises(redis.ResponseError):
        diff("GET")  # arity: a rejected call
    with pytest.raises(redis.ResponseError):
        diff("INCR", "s", "x")
    got = diff.burner.info("commandstats")
    assert got["cmdstat_get"]["calls"] == 2
    assert got["cmdstat_get"]["rejected_calls"] == 1
    assert got["cmdstat_lpush"]["failed_calls"] == 1
    assert set(got["cmdstat_set"]) == {"calls", "usec", "usec_per_call", "rejected_calls", "failed_calls"}
    errs = diff.burner.info("errorstats")
    assert errs == {"errorstat_ERR": {"count": 2}, "errorstat_WRONGTYPE": {"count": 1}}
    assert diff.burner.info("stats")["total_error_replies"] == 3
    if diff.real is not None:
        want = diff.real.info("commandstats")
        assert set(want) - {"cmdstat_info"} == set(got) - {"cmdstat_info"}
        for name in ("cmdstat_get", "cmdstat_set", "cmdstat_lpush", "cmdstat_incr"):
            for f in ("calls", "rejected_calls", "failed_calls"):
                assert got[name][f] == want[name][f], (name, f)
        assert diff.real.info("errorstats") == errs
    # Container subcommands are counted as Redis names them.
    diff.burner.config_get("maxmemory")
    assert diff.burner.info("commandstats")["cmdstat_config|get"]["calls"] >= 1
    diff.burner.config_resetstat()
    assert "cmdstat_get" not in diff.burner.info("commandstats")


@pytest.fixture
def restore_config(diff):
    """Puts back the parameters a test changes (the reference server is shared)."""
    names = [
        "maxmemory", "maxmemory-policy", "hz", "timeout", "slowlog-log-slower-than",
        "slowlog-max-len", "hash-max-listpack-entries", "busy-reply-threshold", "tcp-keepalive",
    ]
    saved = {c: c.config_get(*names) for c in (diff.burner, diff.real) if c is not None}
    yield
    for c, values in saved.items():
        for k, v in values.items():
            c.config_set(k, v)
        c.slowlog_reset()


def _norm(d):
    if isinstance(d, list):  # RESP2 without redis-py's CONFIG GET callback: a flat list
        d = dict(zip(d[::2], d[1::2]))
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in d.items()}


def cget(diff, *names):
    """CONFIG GET through redis-py's own parsing on both sides (a dict: order-free)."""
    return diff.call(lambda c: _norm(c.config_get(*names)))


def test_config_get_canonical_values(diff, restore_config):
    assert cget(diff, "maxmemory") == {"maxmemory": "0"}
    assert diff("CONFIG", "SET", "maxmemory", "1mb") in (True, b"OK", "OK")
    assert cget(diff, "maxmemory") == {"maxmemory": "1048576"}
    diff("CONFIG", "SET", "maxmemory", "2m")
    assert cget(diff, "maxmemory") == {"maxmemory": "2000000"}
    diff("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU")
    assert cget(diff, "maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    diff("CONFIG", "SET", "hz", "1000")
    assert cget(diff, "hz") == {"hz": "500"}
    diff("CONFIG", "SET", "hz", "0")
    assert cget(diff, "hz") == {"hz": "1"}
    # Aliases are answered under their own names, and patterns match both spellings.
    got = cget(diff, "hash-max-*")
    assert got == {
        "hash-max-listpack-entries": "512",
        "hash-max-ziplist-entries": "512",
        "hash-max-listpack-value": "64",
        "hash-max-ziplist-value": "64",
    }
    diff("CONFIG", "SET", "lua-time-limit", "6000")
    assert cget(diff, "busy-reply-threshold") == {"busy-reply-threshold": "6000"}
    assert cget(diff, "slowlog-*", "timeout") == {
        "slowlog-log-slower-than": "10000",
        "slowlog-max-len": "128",
        "timeout": "0",
    }
    assert cget(diff, "databases") == {"databases": "16"}
    assert cget(diff, "nosuch*") == {}
    assert cget(diff, "zset-max-listpack-entries", "proto-max-bulk-len") == {
        "zset-max-listpack-entries": "128",
        "proto-max-bulk-len": "536870912",
    }
    # Redis 7.2 has set-max-listpack-*; 7.0 does not, so only burner's side is checked.
    assert _norm(diff.burner.config_get("set-max-listpack-*")) == {
        "set-max-listpack-entries": "128",
        "set-max-listpack-value": "64",
    }


@pytest.mark.parametrize(
    "args",
    [
        ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "databases", "3"),
        ("CONFIG", "SET", "hz", "x"),
        ("CONFIG", "SET", "maxmemory", "x"),
        ("CONFIG", "SET", "maxmemory-policy", "lru"),
        ("CONFIG", "SET", "appendonly", "maybe"),
        ("CONFIG", "SET", "appendfsync", "sometimes"),
        ("CONFIG", "SET", "hz", "5", "hz", "6"),
        ("CONFIG", "SET", "timeout", "-1"),
        ("CONFIG", "SET", "tcp-keepalive", "-1"),
        ("CONFIG", "SET", "slowlog-log-slower-than", "-5"),
        ("CONFIG", "SET", "slowlog-max-len", "-1"),
        ("CONFIG", "SET", "proto-max-bulk-len", "10"),
        ("CONFIG", "SET", "save", "10"),
        ("CONFIG", "SET", "save", "x y"),
        ("CONFIG", "SET", "notify-keyspace-events", "Q"),
        ("CONFIG", "SET", "hz"),
        ("CONFIG", "GET"),
        ("CONFIG", "NOPE"),
    ],
)
def test_config_errors(diff, restore_config, args):
    diff.error(*args)


def test_config_set_is_all_or_nothing(diff, restore_config):
    diff.error("CONFIG", "SET", "hz", "20", "maxmemory", "bad")
    assert cget(diff, "hz") == {"hz": "10"}
    diff("CONFIG", "SET", "hz", "20", "timeout", "5")
    assert cget(diff, "hz", "timeout") == {"hz": "20", "timeout": "5"}


def test_config_keeps_pubsub_hooks(diff):
    try:
        diff("CONFIG", "SET", "notify-keyspace-events", "KEA")
        assert cget(diff, "notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    finally:
        diff("CONFIG", "SET", "notify-keyspace-events", "")


def test_config_persistence_settings_without_persistence(diff):
    # An engine without persistence has no save rules and no log; asking for that is fine.
    assert diff.burner.config_set("save", "") is True
    assert diff.burner.config_set("appendonly", "no") is True
    assert _norm(diff.burner.config_get("save", "appendonly")) == {"save": "", "appendonly": "no"}
    with pytest.raises(redis.ResponseError, match="persistence settings are fixed"):
        diff.burner.config_set("appendonly", "yes")


def test_encoding_threshold_config_is_honoured(diff, restore_config):
    try:
        diff("CONFIG", "SET", "zset-max-listpack-entries", "2")
        diff("ZADD", "z", "1", "a", "2", "b")
        small = diff("OBJECT", "ENCODING", "z")
        diff("ZADD", "z", "3", "c")
        big = diff("OBJECT", "ENCODING", "z")
        assert small in (b"listpack", "listpack") and big in (b"skiplist", "skiplist")
    finally:
        diff("CONFIG", "SET", "zset-max-listpack-entries", "128")


def _slow(c):
    return [[a.decode() if isinstance(a, bytes) else a for a in e["command"].split(b" " if isinstance(e["command"], bytes) else " ")] for e in c.slowlog_get(-1)]


def test_slowlog(diff, restore_config):
    diff("CONFIG", "SET", "slowlog-log-slower-than", "0")
    diff("SLOWLOG", "RESET")
    diff("SET", "k", "v")
    diff("GET", "k")
    assert diff("SLOWLOG", "LEN") == 3  # SLOWLOG RESET itself is logged after it ran
    entries = diff.burner.slowlog_get(2)
    assert len(entries) == 2
    e = entries[1]
    assert set(e) >= {"id", "start_time", "duration", "command", "client_address", "client_name"}
    assert e["command"] in (b"GET k", "GET k")
    assert entries[0]["id"] > e["id"]
    burner = _slow(diff.burner)
    if diff.real is not None:
        assert burner[1:] == _slow(diff.real)  # burner also ran the SLOWLOG GET above
    assert burner[2:4] == [["GET", "k"], ["SET", "k", "v"]]
    # Long argument lists and long arguments are shortened as Redis does.
    diff("SLOWLOG", "RESET")
    diff("RPUSH", "l", *[str(i) for i in range(40)])
    diff("SET", "big", "x" * 200)
    raw = diff.burner.execute_command("SLOWLOG", "GET", "2")
    big_args, push_args = raw[0][3], raw[1][3]
    assert len(push_args) == 32 and push_args[-1] in (b"... (11 more arguments)", "... (11 more arguments)")
    assert big_args[2] in (b"x" * 128 + b"... (72 more bytes)", "x" * 128 + "... (72 more bytes)")
    if diff.real is not None:
        real = diff.real.execute_command("SLOWLOG", "GET", "2")
        assert [r[3] for r in real] == [big_args, push_args]
    # A smaller max-len drops the oldest entries.
    diff("CONFIG", "SET", "slowlog-max-len", "1")
    assert diff("SLOWLOG", "LEN") == 1
    diff("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    diff("SLOWLOG", "RESET")
    diff("GET", "k")
    assert diff("SLOWLOG", "LEN") == 0


@pytest.mark.parametrize(
    "args",
    [("SLOWLOG", "GET", "x"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "NOPE"), ("SLOWLOG", "LEN", "1")],
)
def test_slowlog_errors(diff, args):
    diff.error(*args)


def test_memory_usage(diff):
    diff("SET", "s", "hello")
    diff("RPUSH", "l", *[f"item{i}" for i in range(100)])
    assert diff("MEMORY", "USAGE", "missing") is None
    small = diff.burner.memory_usage("s")
    big = diff.burner.memory_usage("l")
    assert 0 < small < big
    assert diff.burner.memory_usage("l", samples=0) > 100 * 5
    for bad in (("MEMORY", "USAGE", "s", "SAMPLES", "x"), ("MEMORY", "USAGE", "s", "FOO"),
                ("MEMORY", "USAGE", "s", "SAMPLES", "-1"), ("MEMORY", "NOPE"), ("MEMORY", "USAGE")):
        diff.error(*bad)


def test_memory_stats_and_doctor(diff):
    diff("SET", "s", "hello")
    stats = diff.burner.memory_stats()
    assert stats["keys.count"] == 1 and stats["total.allocated"] > 0
    assert "db.0" in stats
    if diff.real is not None:
        want = set(diff.real.memory_stats())
        assert set(stats) <= want
    doctor = diff.burner.execute_command("MEMORY", "DOCTOR")
    assert isinstance(doctor, (str, bytes)) and len(doctor) > 10


def test_command_count_list_and_info(diff):
    count = diff.burner.command_count()
    names = diff.burner.command_list()
    assert count == len(names) > 150
    everything = diff.burner.execute_command("COMMAND")
    assert everything["get"]["arity"] == 2 and everything["get"]["first_key_pos"] == 1
    # Simple commands match Redis field for field (flags, ACL categories, key specs...). Key spec
    # flags are derived from read/write (RO access / RW access update): commands that never look
    # at the value (STRLEN: RO only) are where burner's generated specs differ.
    got = diff.call(lambda c: c.execute_command("COMMAND", "INFO", "get", "hget", "lindex"))
    assert got


def test_command_list_filters(diff):
    got = diff.call(lambda c: sorted(c.command_list(pattern="zr*")))
    assert len(got) == 14
    assert diff.call(lambda c: c.command_list(module="x")) == []
    hashes = {n.decode() if isinstance(n, bytes) else n for n in diff.burner.command_list(category="hash")}
    assert {"hget", "hset"} <= hashes and "get" not in hashes
    diff.error("COMMAND", "LIST", "FILTERBY", "FOO", "x")
    diff.error("COMMAND", "LIST", "FOO")


@pytest.mark.parametrize(
    "args",
    [
        ("get", "k"),
        ("mset", "a", "1", "b", "2"),
        ("eval", "return 1", "2", "a", "b", "c"),
        ("eval", "return 1", "0"),
        ("zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
        ("zinter", "2", "a", "b"),
        ("sort", "k", "BY", "w*", "STORE", "dst"),
        ("xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
        ("xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"),
        ("lmpop", "2", "a", "b", "LEFT"),
        ("blmpop", "0", "2", "a", "b", "LEFT"),
        ("del", "a", "b", "c"),
        ("rename", "a", "b"),
    ],
)
def test_command_getkeys(diff, args):
    if args[0] not in _names(diff.burner):
        pytest.skip(f"{args[0]} is not in this build's command table")
    keys = diff.call(lambda c: c.command_getkeys(*args))
    assert isinstance(keys, list)


def _names(c):
    return {n.decode() if isinstance(n, bytes) else n for n in c.command_list()}


@pytest.mark.parametrize(
    "args",
    [
        ("COMMAND", "GETKEYS", "get"),
        ("COMMAND", "GETKEYS", "nosuch", "a"),
        ("COMMAND", "GETKEYS", "ping", "x"),
        ("COMMAND", "GETKEYS", "set", "a"),
        ("COMMAND", "GETKEYS", "zunionstore", "d", "5", "a"),
        ("COMMAND", "NOPE"),
        ("COMMAND", "COUNT", "x"),
    ],
)
def test_command_errors(diff, args):
    diff.error(*args)


def test_command_getkeys_values(diff):
    assert diff.burner.command_getkeys("zunionstore", "d", "2", "a", "b") in (["d", "a", "b"], [b"d", b"a", b"b"])
    assert diff.burner.command_getkeys("del", "a", "b") in (["a", "b"], [b"a", b"b"])


def test_swapdb(diff):
    diff("SET", "a", "in0")
    diff.error("SWAPDB", "0", "x")
    diff.error("SWAPDB", "x", "0")
    diff.error("SWAPDB", "0", "99")
    diff.error("SWAPDB", "0", "-1")
    try:
        assert diff("SWAPDB", "0", "1") in (True, b"OK", "OK")
        assert diff("GET", "a") is None
        assert diff("SWAPDB", "1", "0") in (True, b"OK", "OK")
        assert diff("GET", "a") in (b"in0", "in0")
    finally:
        for c in (diff.burner, diff.real):
            if c is not None:
                c.execute_command("SWAPDB", "0", "0")


def test_role_lolwut_debug(diff):
    assert diff("ROLE") in ([b"master", 0, []], ["master", 0, []])
    out = diff.burner.execute_command("LOLWUT")
    assert "7.2" in (out.decode() if isinstance(out, bytes) else out)
    diff.burner.set("n", "12")
    obj = diff.burner.execute_command("DEBUG", "OBJECT", "n")
    assert "encoding:int" in (obj.decode() if isinstance(obj, bytes) else str(obj))
    diff.error("DEBUG", "OBJECT", "missing")
    diff.error("DEBUG", "JMAP")
    diff.error("DEBUG", "NOPE")
    assert diff("DEBUG", "SLEEP", "0") in (True, b"OK", "OK")
