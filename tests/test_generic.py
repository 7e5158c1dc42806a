"""Generic key commands, compared with redis-server through the ``diff`` fixture.

TTL arithmetic that would need waiting runs on an engine with a manual clock; one short real-time
check compares both servers after a small sleep."""

import time

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import early_in_a_second

T0 = 1_700_000_000_000  # manual clock start, Unix ms


def s(v):
    """Reply as text, whatever the decode mode."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [s(x) for x in v]
    return v


def has_command(client, name):
    try:
        client.execute_command(name)
    except redis.exceptions.ResponseError as e:
        return "unknown command" not in str(e)
    return True


def need(diff, *names):
    for name in names:
        if not has_command(diff.burner, name):
            pytest.skip(f"{name} not built on this branch")


@pytest.fixture
def clock():
    """A client on an engine whose time only moves through ``engine.advance_clock``."""
    e = Engine(manual_clock_ms=T0)
    c = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine=e))
    yield e, c
    c.connection_pool.disconnect()


def test_del_unlink_exists_touch(diff):
    diff("MSET", "a", "1", "b", "2", "c", "3")
    assert diff("EXISTS", "a", "a", "b", "zz") == 3
    assert diff("TOUCH", "a", "a", "zz") == 2
    assert diff("DEL", "a", "a", "zz") == 1
    assert diff("UNLINK", "b", "c", "b") == 2
    assert diff("EXISTS", "a", "b", "c") == 0
    assert diff("DEL", "a") == 0
    assert diff.error("DEL") == "wrong number of arguments for 'del' command"


def test_type(diff):
    diff("SET", "s", "v")
    assert s(diff("TYPE", "s")) == "string"
    assert s(diff("TYPE", "missing")) == "none"


@pytest.mark.parametrize(
    "cmd, typ",
    [(("RPUSH", "k", "x"), "list"), (("SADD", "k", "x"), "set"), (("HSET", "k", "f", "v"), "hash"),
     (("ZADD", "k", "1", "x"), "zset"), (("XADD", "k", "1-1", "f", "v"), "stream")],
)
def test_type_of_collections(diff, cmd, typ):
    need(diff, cmd[0])
    diff(*cmd)
    assert s(diff("TYPE", "k")) == typ


@pytest.mark.parametrize(
    "pattern",
    ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "a\\[b", "*o", "H*", "[", "x*", "h[!e]llo"],
)
def test_keys_patterns(diff, pattern):
    diff("MSET", "hello", 1, "hallo", 1, "hxllo", 1, "hllo", 1, "heeeello", 1, "a[b", 1, "hbllo", 1)
    got = diff("KEYS", pattern, unordered=True)
    if pattern == "h[ae]llo":
        assert sorted(s(got)) == ["hallo", "hello"]
    if pattern == "*":
        assert len(got) == 7


def scan_all(client, **kw):
    cursor, seen = 0, []
    while True:
        cursor, keys = client.scan(cursor, **kw)
        seen.extend(s(keys))
        if cursor == 0:
            return sorted(seen)


def test_scan_iterates_everything_once(diff):
    keys = [f"key:{i}" for i in range(57)] + [f"other:{i}" for i in range(13)]
    diff.call(lambda c: c.mset({k: "v" for k in keys}))
    assert scan_all(diff.burner) == sorted(keys)
    assert scan_all(diff.burner, count=5) == sorted(keys)
    assert scan_all(diff.burner, match="other:*", count=3) == sorted(keys[57:])
    assert scan_all(diff.burner, _type="string") == sorted(keys)
    assert scan_all(diff.burner, _type="STRING", count=1000) == sorted(keys)
    assert scan_all(diff.burner, _type="list") == []
    assert scan_all(diff.burner, _type="nosuchtype") == []
    if diff.real is not None:
        # Cursors differ between the two; the sets of keys must not.
        for kw in [{}, {"count": 5}, {"match": "other:*"}, {"_type": "string"}, {"_type": "hash"}]:
            assert scan_all(diff.burner, **kw) == scan_all(diff.real, **kw)
    # One call with a huge COUNT returns everything and ends the scan.
    cursor, got = diff.burner.scan(0, count=1000)
    assert cursor == 0 and len(got) == len(keys)


def test_scan_on_empty_db_and_errors(diff):
    assert s(diff("SCAN", "0")) == [0, []] or s(diff("SCAN", "0")) == ["0", []]
    for bad in [" 1", "abc", "1.5", "+", "18446744073709551616"]:
        assert diff.error("SCAN", bad) == "invalid cursor", bad
    for odd in ["", "-1", "+0", "007"]:  # strtoul reads these
        diff("SCAN", odd)
    assert diff.error("SCAN", "0", "COUNT", "0") == "syntax error"
    assert diff.error("SCAN", "0", "COUNT", "-1") == "syntax error"
    assert diff.error("SCAN", "0", "COUNT", "x") == "value is not an integer or out of range"
    assert diff.error("SCAN", "0", "MATCH") == "syntax error"
    assert diff.error("SCAN", "0", "FOO", "bar") == "syntax error"
    # A cursor past the end ends the scan (Redis accepts any number).
    diff.burner.set("k", "v")
    assert diff.burner.scan(18446744073709551615)[0] == 0


def test_randomkey(diff):
    assert diff("RANDOMKEY") is None
    diff("SET", "only", "1")
    assert s(diff("RANDOMKEY")) == "only"
    diff("MSET", "a", 1, "b", 2)
    for _ in range(10):
        assert s(diff.burner.randomkey()) in ("only", "a", "b")


def test_rename_and_renamenx(diff):
    assert diff.error("RENAME", "missing", "x") == "no such key"
    assert diff.error("RENAMENX", "missing", "x") == "no such key"
    assert diff.error("RENAME", "missing", "missing") == "no such key"
    diff("SET", "a", "1", "EX", "100")
    assert diff("RENAME", "a", "a") is True
    assert diff("RENAMENX", "a", "a") is False
    assert diff("RENAME", "a", "b") is True
    assert diff("EXISTS", "a") == 0
    assert s(diff("GET", "b")) == "1"
    assert diff("TTL", "b") == 100
    diff("SET", "c", "3")
    assert diff("RENAMENX", "b", "c") is False
    assert s(diff("GET", "c")) == "3"
    diff("SET", "d", "4", "EX", "50")
    assert diff("RENAME", "c", "d") is True  # the destination's TTL goes with its old value
    assert diff("TTL", "d") == -1
    assert diff("RENAMENX", "d", "e") is True
    assert s(diff("GET", "e")) == "3"


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_option_errors(diff, cmd):
    diff("SET", "k", "v")
    assert diff.error(cmd, "k", "100", "NX", "XX") == "NX and XX, GT or LT options at the same time are not compatible"
    assert diff.error(cmd, "k", "100", "NX", "GT") == "NX and XX, GT or LT options at the same time are not compatible"
    assert diff.error(cmd, "k", "100", "LT", "NX") == "NX and XX, GT or LT options at the same time are not compatible"
    assert diff.error(cmd, "k", "100", "GT", "LT") == "GT and LT options at the same time are not compatible"
    assert diff.error(cmd, "k", "100", "FOO") == "Unsupported option FOO"
    assert diff.error(cmd, "k", "x", "FOO") == "Unsupported option FOO"  # options are checked first
    assert diff.error(cmd, "k", "x") == "value is not an integer or out of range"
    assert diff.error(cmd, "k", "1.5") == "value is not an integer or out of range"
    assert diff.error(cmd, "k") == f"wrong number of arguments for '{cmd.lower()}' command"
    assert diff("TTL", "k") == -1


def test_expire_overflow_errors(diff):
    diff("SET", "k", "v")
    big = "9223372036854775807"
    assert diff.error("EXPIRE", "k", big) == "invalid expire time in 'expire' command"
    assert diff.error("EXPIRE", "k", "-9223372036854775808") == "invalid expire time in 'expire' command"
    assert diff.error("EXPIREAT", "k", big) == "invalid expire time in 'expireat' command"
    assert diff.error("PEXPIRE", "k", big) == "invalid expire time in 'pexpire' command"
    assert diff.error("EXPIRE", "missing", big) == "invalid expire time in 'expire' command"
    assert diff("EXISTS", "k") == 1
    # The largest absolute time is fine.
    assert diff("PEXPIREAT", "k", big) == 1
    assert diff("PEXPIRETIME", "k") == int(big)
    assert diff("EXPIRETIME", "k") == 9223372036854776


def test_expire_flags_and_ttl(diff):
    assert diff("EXPIRE", "missing", "100") == 0
    assert diff("TTL", "missing") == -2
    assert diff("PTTL", "missing") == -2
    assert diff("EXPIRETIME", "missing") == -2
    assert diff("PEXPIRETIME", "missing") == -2
    diff("SET", "k", "v")
    assert diff("TTL", "k") == -1
    assert diff("PTTL", "k") == -1
    assert diff("EXPIRETIME", "k") == -1
    assert diff("PEXPIRETIME", "k") == -1
    assert diff("EXPIRE", "k", "100", "XX") == 0
    assert diff("EXPIRE", "k", "100", "GT") == 0  # no TTL counts as infinite
    assert diff("EXPIRE", "k", "100", "NX") == 1
    assert diff("EXPIRE", "k", "200", "NX") == 0
    assert diff("TTL", "k") == 100
    assert diff("EXPIRE", "k", "50", "GT") == 0
    assert diff("EXPIRE", "k", "200", "GT") == 1
    assert diff("EXPIRE", "k", "300", "LT") == 0
    assert diff("EXPIRE", "k", "150", "lt") == 1
    assert diff("EXPIRE", "k", "120", "xx", "LT") == 1
    assert diff("TTL", "k") == 120
    assert diff("PEXPIRE", "k", "200000") == 1
    assert diff("TTL", "k") == 200
    now = int(time.time())
    assert diff("EXPIREAT", "k", now + 1000) == 1
    assert diff("EXPIRETIME", "k") == now + 1000
    assert diff("PEXPIRETIME", "k") == (now + 1000) * 1000
    assert diff("PEXPIREAT", "k", (now + 500) * 1000) == 1
    assert diff("EXPIRETIME", "k") == now + 500
    assert diff("PERSIST", "k") == 1
    assert diff("PERSIST", "k") == 0
    assert diff("PERSIST", "missing") == 0
    assert diff("TTL", "k") == -1
    # LT on a key without TTL sets it.
    assert diff("EXPIRE", "k", "100", "LT") == 1
    assert diff("TTL", "k") == 100


@pytest.mark.parametrize(
    "cmd, when",
    [("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-100"), ("EXPIREAT", "1"), ("PEXPIREAT", "1")],
)
def test_expire_in_the_past_deletes(diff, cmd, when):
    diff("SET", "k", "v")
    assert diff(cmd, "k", when) == 1
    assert diff("EXISTS", "k") == 0
    assert diff("TTL", "k") == -2
    diff("SET", "k", "v", "EX", "100")
    assert diff(cmd, "k", when, "GT") == 0  # refused by GT, so nothing is deleted
    assert diff("EXISTS", "k") == 1


def test_copy(diff):
    diff("SET", "src", "v", "EX", "100")
    assert diff("COPY", "src", "dst") == 1
    assert s(diff("GET", "dst")) == "v"
    assert diff("TTL", "dst") == 100
    diff("SET", "src", "w")
    assert diff("COPY", "src", "dst") == 0
    assert s(diff("GET", "dst")) == "v"
    assert diff("COPY", "src", "dst", "REPLACE") == 1
    assert s(diff("GET", "dst")) == "w"
    assert diff("TTL", "dst") == -1
    assert diff("COPY", "missing", "dst") == 0
    assert diff("COPY", "src", "dst", "DB", "0", "replace") == 1
    assert diff.error("COPY", "src", "src") == "source and destination objects are the same"
    assert diff.error("COPY", "src", "src", "DB", "0") == "source and destination objects are the same"
    assert diff.error("COPY", "src", "x", "DB", "16") == "DB index is out of range"
    assert diff.error("COPY", "src", "x", "DB", "-1") == "DB index is out of range"
    assert diff.error("COPY", "src", "x", "DB", "x") == "value is not an integer or out of range"
    assert diff.error("COPY", "src", "x", "DB", "4294967296") == (
        "value is out of range, value must between -2147483648 and 2147483647"
    )
    assert diff.error("COPY", "src", "x", "DB") == "syntax error"
    assert diff.error("COPY", "src", "x", "FOO") == "syntax error"
    # Another database, then look there.
    assert diff("COPY", "src", "src", "DB", "1") == 1
    assert diff("COPY", "src", "src", "DB", "1") == 0
    diff("SELECT", "1")
    assert s(diff("GET", "src")) == "w"
    diff("SELECT", "0")


def test_copy_is_deep(diff):
    need(diff, "RPUSH")
    diff("RPUSH", "l", "a", "b")
    assert diff("COPY", "l", "l2") == 1
    diff("RPUSH", "l2", "c")
    assert diff("LLEN", "l") == 2
    assert diff("LLEN", "l2") == 3


def test_move(diff):
    diff("SET", "k", "v", "EX", "100")
    assert diff("MOVE", "k", "1") == 1
    assert diff("EXISTS", "k") == 0
    assert diff("MOVE", "k", "1") == 0
    diff("SET", "k", "other")
    assert diff("MOVE", "k", "1") == 0  # taken there
    assert s(diff("GET", "k")) == "other"
    assert diff.error("MOVE", "k", "0") == "source and destination objects are the same"
    assert diff.error("MOVE", "k", "16") == "DB index is out of range"
    assert diff.error("MOVE", "k", "-1") == "DB index is out of range"
    assert diff.error("MOVE", "k", "x") == "value is not an integer or out of range"
    diff("SELECT", "1")
    assert s(diff("GET", "k")) == "v"
    assert diff("TTL", "k") == 100
    diff("SELECT", "0")


def test_object_string_encodings(diff):
    enc = lambda k: s(diff.call(lambda c: c.object("encoding", k)))
    diff("SET", "int", "12345")
    assert enc("int") == "int"
    diff("SET", "neg", "-7")
    assert enc("neg") == "int"
    diff("SET", "lead", "012")
    assert enc("lead") == "embstr"
    diff("SET", "e44", "x" * 44)
    assert enc("e44") == "embstr"
    diff("SET", "r45", "x" * 45)
    assert enc("r45") == "raw"
    diff("SET", "big", "99999999999999999999")
    assert enc("big") == "embstr"
    diff("APPEND", "e44", "y")
    assert enc("e44") == "raw"
    diff("SET", "a", "ab")
    diff("APPEND", "a", "c")
    assert enc("a") == "raw"
    diff("APPEND", "fresh", "12")
    assert enc("fresh") == "int"
    diff("SETRANGE", "sr", 0, "1")
    assert enc("sr") == "raw"
    diff("INCRBYFLOAT", "f", "5")
    assert enc("f") == "embstr"
    diff("INCR", "f")
    assert enc("f") == "int"
    diff("MSET", "m", "7", "m2", "hello")
    assert enc("m") == "int" and enc("m2") == "embstr"
    assert diff.call(lambda c: c.object("encoding", "missing")) is None


def test_object_refcount_idletime_freq(diff):
    early_in_a_second()
    diff("MSET", "shared", "42", "big", "10000", "str", "hello")
    assert diff.call(lambda c: c.object("refcount", "shared")) == 2147483647
    assert diff.call(lambda c: c.object("refcount", "big")) == 1
    assert diff.call(lambda c: c.object("refcount", "str")) == 1
    assert diff.call(lambda c: c.object("idletime", "str")) == 0
    assert diff.call(lambda c: c.object("refcount", "missing")) is None
    # COPY duplicates the object: a copied small integer has a refcount of its own (still `int`),
    # through RENAME too, until INCR makes a new (shared) one; the source stays shared.
    diff("INCR", "counter")
    diff("COPY", "counter", "copy")
    diff("COPY", "shared", "other", "DB", "3")
    diff("RENAME", "copy", "renamed")
    for key in ("counter", "renamed"):
        diff("OBJECT", "REFCOUNT", key)
        diff("OBJECT", "ENCODING", key)
    assert diff("OBJECT", "REFCOUNT", "renamed") == 1
    diff("INCR", "renamed")
    assert diff("OBJECT", "REFCOUNT", "renamed") == 2147483647
    diff("SELECT", "3")
    assert diff("OBJECT", "REFCOUNT", "other") == 1
    diff("SELECT", "0")
    assert diff.error("OBJECT", "FREQ", "str").startswith("An LFU maxmemory policy is not selected")
    assert diff("OBJECT", "FREQ", "missing") is None
    assert diff.error("OBJECT", "FOO", "str") == "unknown subcommand 'FOO'. Try OBJECT HELP."
    assert diff.error("OBJECT", "ENCODING") == "wrong number of arguments for 'object|encoding' command"
    assert diff.error("OBJECT", "ENCODING", "a", "b") == "wrong number of arguments for 'object|encoding' command"
    assert diff.error("OBJECT") == "wrong number of arguments for 'object' command"
    # The help text is our own wording: only its shape is compared.
    help_lines = diff.burner.execute_command("OBJECT", "HELP")
    assert len(help_lines) > 5 and any("ENCODING" in s(line) for line in help_lines)


@pytest.mark.parametrize(
    "make, small, large",
    [
        (lambda n, w: ("RPUSH", "k", *[w * 10] * n), "listpack", "quicklist"),
        (lambda n, w: ("SADD", "k", *[str(i) for i in range(n)]), "intset", "hashtable"),
        (lambda n, w: ("SADD", "k", *[f"{w}{i}" for i in range(n)]), "listpack", "hashtable"),
        (lambda n, w: ("HSET", "k", *[x for i in range(n) for x in (f"f{i}", w)]), "listpack", "hashtable"),
        (lambda n, w: ("ZADD", "k", *[x for i in range(n) for x in (str(i), f"{w}{i}")]), "listpack", "skiplist"),
    ],
)
def test_object_encoding_of_collections(diff, make, small, large):
    cmd = make(3, "v")
    need(diff, cmd[0])
    diff(*cmd)
    if cmd[0] == "RPUSH" or (cmd[0] == "SADD" and small == "listpack"):
        # Redis 7.0 keeps every list in a quicklist and has no listpack sets; 7.2 starts small
        # lists and small non-integer sets as listpacks. We follow 7.2: burner's side only.
        assert s(diff.burner.object("encoding", "k")) == small
    else:
        assert s(diff.call(lambda c: c.object("encoding", "k"))) == small
    diff("DEL", "k")
    diff(*make(600, "v" * 70))
    assert s(diff.call(lambda c: c.object("encoding", "k"))) == large


def test_object_encoding_of_stream(diff):
    need(diff, "XADD")
    diff("XADD", "k", "1-1", "f", "v")
    assert s(diff.call(lambda c: c.object("encoding", "k"))) == "stream"


# --- manual clock -----------------------------------------------------------------------------


def test_ttl_rounding_and_expiry_on_manual_clock(clock):
    e, c = clock
    c.set("k", "v")
    assert c.pexpire("k", 1499) == 1
    assert c.ttl("k") == 1 and c.pttl("k") == 1499
    assert c.pexpire("k", 1500) == 1
    assert c.ttl("k") == 2
    assert c.execute_command("EXPIRETIME", "k") == (T0 + 1500 + 500) // 1000
    assert c.execute_command("PEXPIRETIME", "k") == T0 + 1500
    e.advance_clock(1000)
    assert c.ttl("k") == 1 and c.pttl("k") == 500
    e.advance_clock(499)
    assert c.pttl("k") == 1 and c.ttl("k") == 0
    e.advance_clock(1)
    assert c.exists("k") == 0
    assert c.ttl("k") == -2


def test_gt_lt_against_manual_clock(clock):
    e, c = clock
    c.set("k", "v")
    assert c.expireat("k", (T0 // 1000) + 100) == 1
    assert c.expire("k", 50, gt=True) is False
    assert c.pexpireat("k", T0 + 100_001, gt=True) is True
    assert c.pttl("k") == 100_001
    assert c.expire("k", 10, lt=True) is True
    assert c.ttl("k") == 10
    e.advance_clock(10_000)
    assert c.get("k") is None


def test_expired_keys_are_invisible_everywhere(clock):
    e, c = clock
    c.mset({"a": "1", "b": "2", "c": "3"})
    c.pexpire("a", 100)
    c.pexpire("b", 100)
    e.advance_clock(100)
    assert sorted(c.keys("*")) == [b"c"]
    assert c.scan(0, count=100) == (0, [b"c"])
    assert c.randomkey() == b"c"
    assert c.exists("a", "b", "c") == 1
    assert c.type("a") == b"none"
    assert c.execute_command("RENAME", "c", "d")
    c.pexpire("d", 100)
    e.advance_clock(100)
    assert c.randomkey() is None
    assert c.dbsize() == 0


def test_rename_copy_move_carry_the_ttl_on_manual_clock(clock):
    e, c = clock
    c.set("k", "v", px=1000)
    c.rename("k", "r")
    c.copy("r", "cp")
    c.execute_command("COPY", "r", "other", "DB", "2")
    c.set("m", "v", px=1000)
    c.move("m", 3)
    e.advance_clock(999)
    assert c.pttl("r") == 1 and c.pttl("cp") == 1
    e.advance_clock(1)
    assert c.exists("r", "cp") == 0
    for db in (2, 3):
        other = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine=e, db=db))
        assert other.dbsize() == 1
        assert other.get("other" if db == 2 else "m") is None
        other.connection_pool.disconnect()


def test_rename_and_expire_invalidate_watch(clock):
    e, c = clock
    other = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine=e))
    for interfere in (
        lambda: other.rename("src", "w"),
        lambda: other.expire("w", 100),
        lambda: other.persist("w"),
        lambda: other.copy("src", "w", replace=True),
    ):
        c.set("src", "x")
        c.set("w", "1", ex=50)
        with c.pipeline() as p:
            p.watch("w")
            interfere()
            p.multi()
            p.set("w", "2")
            with pytest.raises(redis.exceptions.WatchError):
                p.execute()
    other.connection_pool.disconnect()


def test_real_time_expire_matches_redis(diff):
    diff("MSET", "a", "1", "b", "2", "c", "3")
    assert diff("PEXPIRE", "a", "100") == 1
    assert diff("EXPIRE", "b", "100") == 1
    assert diff("PEXPIREAT", "c", int(time.time() * 1000) + 100) == 1
    time.sleep(0.12)
    assert diff("EXISTS", "a", "b", "c") == 1
    assert diff("TTL", "a") == -2
    assert diff("KEYS", "*") in ([b"b"], ["b"])
