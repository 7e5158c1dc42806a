"""Hash commands, compared with redis-server through the ``diff`` fixture.

Redis 7.0 (the installed reference) and 7.2 agree on every hash reply tested here; HRANDFIELD
replies are random, so those tests compare sizes and membership rather than members.
"""

from contextlib import contextmanager

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def s(v):
    """Replies as text, whatever the decode mode and container."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [s(x) for x in v]
    if isinstance(v, dict):
        return {s(k): s(x) for k, x in v.items()}
    if isinstance(v, set):
        return {s(x) for x in v}
    return v


def test_hset_hget_hmget(diff):
    assert diff("HSET", "h", "a", "1", "b", "2") == 2
    assert diff("HSET", "h", "a", "10", "c", "3") == 1
    assert s(diff("HGET", "h", "a")) == "10"
    assert diff("HGET", "h", "zz") is None
    assert diff("HGET", "nokey", "a") is None
    assert s(diff("HMGET", "h", "a", "zz", "c")) == ["10", None, "3"]
    assert s(diff("HMGET", "nokey", "a", "b")) == [None, None]
    assert diff("HMSET", "h", "d", "4") is True
    assert diff("HLEN", "h") == 4
    assert diff("HLEN", "nokey") == 0


def test_hsetnx(diff):
    assert diff("HSETNX", "h", "f", "v1") == 1
    assert diff("HSETNX", "h", "f", "v2") == 0
    assert s(diff("HGET", "h", "f")) == "v1"


@pytest.mark.parametrize(
    "args",
    [
        ("HSET", "h", "f"),
        ("HSET", "h", "f", "v", "g"),
        ("HMSET", "h", "f", "v", "g"),
        ("HMSET", "h", "f"),
        ("HSETNX", "h", "f"),
        ("HGET", "h"),
        ("HMGET", "h"),
        ("HDEL", "h"),
        ("HGETALL",),
        ("HINCRBY", "h", "f"),
        ("HINCRBYFLOAT", "h", "f", "1", "2"),
        ("HSCAN", "h"),
        ("HRANDFIELD",),
        ("HSTRLEN", "h"),
        ("HEXISTS", "h"),
    ],
)
def test_arity_errors(diff, args):
    assert diff.error(*args) == f"wrong number of arguments for '{args[0].lower()}' command"
    assert diff("EXISTS", "h") == 0


@pytest.mark.parametrize(
    "args",
    [
        ("HSET", "s", "f", "v"),
        ("HMSET", "s", "f", "v"),
        ("HSETNX", "s", "f", "v"),
        ("HGET", "s", "f"),
        ("HMGET", "s", "f"),
        ("HDEL", "s", "f"),
        ("HGETALL", "s"),
        ("HKEYS", "s"),
        ("HVALS", "s"),
        ("HLEN", "s"),
        ("HEXISTS", "s", "f"),
        ("HSTRLEN", "s", "f"),
        ("HINCRBY", "s", "f", "1"),
        ("HINCRBYFLOAT", "s", "f", "1"),
        ("HSCAN", "s", "0"),
        ("HRANDFIELD", "s"),
        ("HRANDFIELD", "s", "2", "WITHVALUES"),
    ],
)
def test_wrongtype(diff, args):
    diff("SET", "s", "x")
    assert diff.error(*args) == WRONGTYPE
    assert s(diff("GET", "s")) == "x"


def test_hdel_removes_and_deletes_empty_key(diff):
    diff("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert diff("HDEL", "h", "a", "a", "zz") == 1
    assert diff("HDEL", "nokey", "a") == 0
    assert diff("HEXISTS", "h", "a") == 0
    assert diff("HEXISTS", "h", "b") == 1
    assert diff("HDEL", "h", "b", "c") == 2
    assert diff("EXISTS", "h") == 0


def test_small_hash_keeps_insertion_order(diff):
    # Listpack order (insertion order, kept across deletes) is visible in both 7.0 and 7.2.
    diff("HSET", "h", "z", "1", "a", "2", "m", "3", "b", "4")
    diff("HDEL", "h", "a")
    diff("HSET", "h", "a", "5", "z", "6")
    assert s(diff("HKEYS", "h")) == ["z", "m", "b", "a"]
    assert s(diff("HVALS", "h")) == ["6", "3", "4", "5"]
    assert list(s(diff("HGETALL", "h")).items()) == [("z", "6"), ("m", "3"), ("b", "4"), ("a", "5")]
    assert s(diff("HGETALL", "nokey")) == {}
    assert diff("HKEYS", "nokey") == []
    assert diff("HVALS", "nokey") == []


def test_large_hash_and_long_values(diff):
    fields = {f"f{i}": f"v{i}" for i in range(200)}
    assert diff("HSET", "h", *[x for kv in fields.items() for x in kv]) == 200
    assert s(diff("HGETALL", "h")) == fields
    assert sorted(s(diff("HKEYS", "h", unordered=True))) == sorted(fields)
    long = "x" * 100
    assert diff("HSET", "g", long, long) == 1
    assert diff("HSTRLEN", "g", long) == 100
    assert s(diff("HGET", "g", long)) == long


def test_hexists_hstrlen(diff):
    diff("HSET", "h", "f", "hello", "e", "")
    assert diff("HEXISTS", "h", "f") == 1
    assert diff("HEXISTS", "h", "g") == 0
    assert diff("HEXISTS", "nokey", "f") == 0
    assert diff("HSTRLEN", "h", "f") == 5
    assert diff("HSTRLEN", "h", "e") == 0
    assert diff("HSTRLEN", "h", "zz") == 0
    assert diff("HSTRLEN", "nokey", "f") == 0


def test_hincrby(diff):
    assert diff("HINCRBY", "h", "n", "5") == 5
    assert diff("HINCRBY", "h", "n", "-7") == -2
    assert s(diff("HGET", "h", "n")) == "-2"
    diff("HSET", "h", "big", str(2**63 - 2), "neg", str(-(2**63)))
    assert diff("HINCRBY", "h", "big", "1") == 2**63 - 1
    assert diff.error("HINCRBY", "h", "big", "1") == "increment or decrement would overflow"
    assert diff.error("HINCRBY", "h", "neg", "-1") == "increment or decrement would overflow"
    for bad in ["abc", "1.5", " 1", "01", "", "99999999999999999999"]:
        diff("HSET", "h", "bad", bad)
        assert diff.error("HINCRBY", "h", "bad", "1") == "hash value is not an integer"
    for bad in ["x", "1.0", "9223372036854775808", ""]:
        assert diff.error("HINCRBY", "h", "n", bad) == "value is not an integer or out of range"
    assert diff.error("HINCRBY", "newkey", "f", "x") == "value is not an integer or out of range"
    assert diff("EXISTS", "newkey") == 0


@pytest.mark.parametrize(
    "start,incr,want",
    [
        (None, "0.1", "0.1"),
        ("0.1", "0.2", "0.3"),
        (None, "100.1", "100.1"),
        (None, "123456.789", "123456.78900000000000148"),
        (None, "3.14159265358979323846", "3.14159265358979324"),
        ("10.5", "-0.5", "10"),
        ("5", "-5", "0"),
        ("-1", "0.5", "-0.5"),
        ("1e20", "1", "100000000000000000000"),
        ("0.3", "1e-20", "0.3"),
        ("5.0e3", "2.0e2", "5200"),
        ("17", "1", "18"),
        ("1", "-1.5e1", "-14"),
        ("0x10", "1", "17"),
        ("1", "0x1p-2", "1.25"),
        ("-1e-30", "0", "0"),
        ("1.5", "+2.5", "4"),
    ],
)
def test_hincrbyfloat_long_double(diff, start, incr, want):
    if start is not None:
        diff("HSET", "h", "f", start)
    # redis-py turns the reply into a float; the stored text shows Redis's exact printing.
    assert diff("HINCRBYFLOAT", "h", "f", incr) == float(want)
    assert s(diff("HGET", "h", "f")) == want


def test_hincrbyfloat_huge_values_print_without_exponent(diff):
    assert diff("HINCRBYFLOAT", "h", "f", "1.5e300") == 1.5e300
    got = s(diff("HGET", "h", "f"))
    assert len(got) == 301 and got.startswith("15000000000000000000498001098614721663623")
    diff("HINCRBYFLOAT", "h", "g", "1e4000")
    got = s(diff("HGET", "h", "g"))
    assert len(got) == 4000 and got.startswith("9999999999999999999965463873")


def test_hincrbyfloat_errors(diff):
    diff("HSET", "h", "s", "abc", "sp", " 1", "inf", "inf", "huge", "1e5000", "n", "1")
    assert diff.error("HINCRBYFLOAT", "h", "s", "1") == "hash value is not a float"
    assert diff.error("HINCRBYFLOAT", "h", "sp", "1") == "hash value is not a float"
    assert diff.error("HINCRBYFLOAT", "h", "huge", "1") == "hash value is not a float"
    assert diff.error("HINCRBYFLOAT", "h", "inf", "1") == "increment would produce NaN or Infinity"
    for bad in ["x", "", "1e5000", "1e-5000", "nan", " 1", "1 ", "1e"]:
        assert diff.error("HINCRBYFLOAT", "h", "n", bad) == "value is not a valid float"
    for bad in ["inf", "-inf", "+Infinity"]:
        assert diff.error("HINCRBYFLOAT", "h", "n", bad) == "value is NaN or Infinity"
    diff("HINCRBYFLOAT", "h", "max", "1e4932")
    assert diff.error("HINCRBYFLOAT", "h", "max", "1e4932") == "increment would produce NaN or Infinity"
    assert s(diff("HGET", "h", "n")) == "1"


def test_hscan_small_hash_is_returned_whole(diff):
    diff("HSET", "h", "a", "1", "b", "2", "ab", "3")
    cur, items = diff("HSCAN", "h", "0", "COUNT", "1")
    assert cur == 0 and s(items) == {"a": "1", "b": "2", "ab": "3"}
    cur, items = diff("HSCAN", "h", "0", "MATCH", "a*")
    assert cur == 0 and s(items) == {"a": "1", "ab": "3"}
    cur, items = diff("HSCAN", "h", "0", "MATCH", "x*", "COUNT", "5", "MATCH", "b")
    assert s(items) == {"b": "2"}
    assert diff("HSCAN", "nokey", "0") == (0, {})


def test_hscan_errors(diff):
    diff("HSET", "h", "a", "1")
    for cursor in ["x", "1.5", "18446744073709551616", " 1"]:
        assert diff.error("HSCAN", "h", cursor) == "invalid cursor"
    assert diff.error("HSCAN", "nokey", "x") == "invalid cursor"
    for opts in [("COUNT", "0"), ("COUNT", "-1"), ("MATCH",), ("FOO", "bar"), ("NOVALUES",), ("COUNT",)]:
        assert diff.error("HSCAN", "h", "0", *opts) == "syntax error"
    assert diff.error("HSCAN", "h", "0", "COUNT", "x") == "value is not an integer or out of range"
    # Options are only parsed once the key is found, as Redis does.
    assert diff("HSCAN", "nokey", "0", "COUNT", "0") == (0, {})
    # strtoul cursors: leading zeros, signs and the empty string are accepted.
    for cursor in ["00", "+0", "", "-1", "18446744073709551615"]:
        assert s(diff("HSCAN", "h", cursor)[1]) == {"a": "1"}


def _full_hscan(c, key, **kw):
    seen = {}
    cursor = 0
    while True:
        cursor, items = c.hscan(key, cursor, **kw)
        seen.update(items)
        if cursor == 0:
            return s(seen)


def test_hscan_large_hash_visits_everything(diff):
    fields = {f"f{i}": str(i) for i in range(500)}
    diff.call(lambda c: c.hset("h", mapping=fields))
    assert diff.call(lambda c: _full_hscan(c, "h", count=7)) == fields
    want = {k: v for k, v in fields.items() if k.startswith("f1")}
    assert diff.call(lambda c: _full_hscan(c, "h", match="f1*", count=50)) == want


def test_hscan_survives_deletes_between_calls(diff):
    c = diff.burner
    c.hset("h", mapping={f"f{i}": "v" for i in range(700)})
    seen = set()
    cursor, rounds = 0, 0
    while True:
        cursor, items = c.hscan("h", cursor, count=13)
        seen.update(s(list(items)))
        rounds += 1
        c.hdel("h", f"f{650 + rounds % 50}")
        if cursor == 0:
            break
    assert rounds > 5
    assert {f"f{i}" for i in range(650)} <= seen


def test_hrandfield(diff):
    fields = {f"f{i}": f"v{i}" for i in range(10)}
    diff.call(lambda c: c.hset("h", mapping=fields))
    # Replies are random: each side is checked for the same properties, not the same members.
    assert diff.call(lambda c: s(c.hrandfield("h")) in fields) is True
    assert diff("HRANDFIELD", "nokey") is None
    assert diff("HRANDFIELD", "nokey", "3") == []
    assert diff("HRANDFIELD", "nokey", "-3", "WITHVALUES") == []
    assert diff("HRANDFIELD", "h", "0") == []
    assert diff("HRANDFIELD", "h", "0", "withvalues") == []

    def distinct(c):
        got = s(c.hrandfield("h", 4))
        return len(got), len(set(got)), set(got) <= set(fields)

    assert diff.call(distinct) == (4, 4, True)
    assert diff.call(lambda c: sorted(s(c.hrandfield("h", 100)))) == sorted(fields)

    def repeats(c):
        got = s(c.hrandfield("h", -25))
        return len(got), set(got) <= set(fields)

    assert diff.call(repeats) == (25, True)
    assert diff.call(lambda c: len(c.hrandfield("h", -25, withvalues=True))) in (25, 50)


def test_hrandfield_withvalues_shapes(diff):
    diff("HSET", "h", "a", "1", "b", "2")
    got = s(diff("HRANDFIELD", "h", "5", "WITHVALUES", unordered=True))
    if got and isinstance(got[0], list):  # RESP3: [field, value] pairs
        assert sorted(got) == [["a", "1"], ["b", "2"]]
    else:  # RESP2: flat
        assert dict(zip(got[::2], got[1::2])) == {"a": "1", "b": "2"}
    got = s(diff.burner.execute_command("HRANDFIELD", "h", "-6", "WITHVALUES"))
    pairs = got if isinstance(got[0], list) else [got[i : i + 2] for i in range(0, len(got), 2)]
    assert len(pairs) == 6 and all(p in (["a", "1"], ["b", "2"]) for p in pairs)


def test_hrandfield_errors(diff):
    diff("HSET", "h", "a", "1")
    assert diff.error("HRANDFIELD", "h", "x") == "value is not an integer or out of range"
    assert diff.error("HRANDFIELD", "h", str(-(2**63))) == (
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert diff.error("HRANDFIELD", "h", str(-(2**62)), "WITHVALUES") == "value is out of range"
    assert diff.error("HRANDFIELD", "h", "1", "WITHVALUES", "x") == "syntax error"
    assert diff.error("HRANDFIELD", "h", "1", "foo") == "syntax error"
    # The count is checked before the key.
    assert diff.error("HRANDFIELD", "nokey", "x") == "value is not an integer or out of range"


def test_hash_in_transaction(diff):
    def run(c):
        with c.pipeline(transaction=True) as p:
            p.hset("h", "a", "1").hincrby("h", "a", 2).hincrbyfloat("h", "b", "1.5").hgetall("h")
            return s(p.execute())

    assert diff.call(run) == [1, 3, 1.5, {"a": "3", "b": "1.5"}]


# --- random command sequences -------------------------------------------------------------------

_fields = st.sampled_from(["a", "b", "c", "d", "e", "1", "2", "x" * 70])
_values = st.sampled_from(["0", "1", "-5", "1.5", "abc", "", "9223372036854775807", "y" * 70])
_keys = st.sampled_from(["h1", "h2", "str"])

_hash_cmd = st.one_of(
    st.tuples(st.just("HSET"), _keys, _fields, _values),
    st.tuples(st.just("HSET"), _keys, _fields, _values, _fields, _values),
    st.tuples(st.just("HSETNX"), _keys, _fields, _values),
    st.tuples(st.just("HGET"), _keys, _fields),
    st.tuples(st.just("HMGET"), _keys, _fields, _fields),
    st.tuples(st.just("HDEL"), _keys, _fields, _fields),
    st.tuples(st.just("HLEN"), _keys),
    st.tuples(st.just("HKEYS"), _keys),
    st.tuples(st.just("HVALS"), _keys),
    st.tuples(st.just("HGETALL"), _keys),
    st.tuples(st.just("HEXISTS"), _keys, _fields),
    st.tuples(st.just("HSTRLEN"), _keys, _fields),
    st.tuples(st.just("HINCRBY"), _keys, _fields, st.sampled_from(["1", "-3", "x", "9223372036854775807"])),
    st.tuples(st.just("HINCRBYFLOAT"), _keys, _fields, st.sampled_from(["0.1", "-2.5", "1e3", "x", "inf"])),
    st.tuples(st.just("HSCAN"), _keys, st.just("0")),
    st.tuples(st.just("HRANDFIELD"), _keys, st.just("0")),
    st.tuples(st.just("EXISTS"), _keys),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cmds=st.lists(_hash_cmd, max_size=25))
def test_random_hash_sequences(diff, cmds):
    diff("FLUSHALL")
    diff("SET", "str", "x")
    for cmd in cmds:
        try:
            diff(*cmd, unordered=cmd[0] in ("HKEYS", "HVALS"))
        except redis.exceptions.ResponseError:
            pass  # both sides failed alike (diff asserts that)
    for key in ["h1", "h2"]:
        diff("HGETALL", key)
        diff("HKEYS", key, unordered=True)


def keyspace_events(c, ops):
    """Runs ``ops(c)`` with keyspace notifications on and returns the (event, key) pairs seen."""
    c.config_set("notify-keyspace-events", "KEA")
    p = c.pubsub()
    try:
        p.psubscribe("__keyevent@*__:*")
        p.get_message(timeout=1)  # the psubscribe confirmation
        ops(c)
        out = []
        while (m := p.get_message(timeout=0.2)) is not None:
            if m["type"] == "pmessage":
                out.append((s(m["channel"]).split(":", 1)[1], s(m["data"])))
        return out
    finally:
        p.close()
        c.config_set("notify-keyspace-events", "")


def _skip_without_notifications(diff):
    try:
        diff.burner.config_set("notify-keyspace-events", "KEA")
        diff.burner.config_set("notify-keyspace-events", "")
        diff.burner.execute_command("PUBSUB", "NUMPAT")
    except redis.exceptions.ResponseError as e:
        pytest.skip(f"keyspace notifications not available on burner yet: {e}")


def test_hash_keyspace_events(diff):
    _skip_without_notifications(diff)

    def ops(c):
        c.hset("h", "a", "1")
        c.hsetnx("h", "a", "2")  # no change, no event
        c.hsetnx("h", "b", "2")
        c.hincrby("h", "a", 1)
        c.hincrbyfloat("h", "a", "0.5")
        c.hdel("h", "zz")  # no change, no event
        c.hdel("h", "a")
        c.hdel("h", "b")

    got = diff.call(lambda c: keyspace_events(c, ops))
    assert got == [
        ("hset", "h"),
        ("hset", "h"),
        ("hincrby", "h"),
        ("hincrbyfloat", "h"),
        ("hdel", "h"),
        ("hdel", "h"),
        ("del", "h"),
    ]


def test_hash_encoding_threshold_is_512_entries(diff):
    # hash-max-listpack-entries defaults to 512 (zset and set listpacks stop at 128).
    diff("HSET", "h", *[x for i in range(300) for x in (f"f{i}", "v")])
    assert diff.call(lambda c: c.object("encoding", "h")) in (b"listpack", "listpack")
    diff("HSET", "h", *[x for i in range(300, 513) for x in (f"f{i}", "v")])
    assert diff.call(lambda c: c.object("encoding", "h")) in (b"hashtable", "hashtable")


@contextmanager
def configured(diff, *pairs):
    """CONFIG SET on both servers for the block; the values before it are put back after."""
    names = pairs[::2]
    saved = {c: c.config_get(*names) for c in (diff.burner, diff.real) if c is not None}
    try:
        diff("CONFIG", "SET", *pairs)
        yield
    finally:
        for c, values in saved.items():
            for k, v in values.items():
                c.config_set(k, v)


def _enc(diff, key):
    return s(diff.call(lambda c: c.object("encoding", key)))


def test_hash_encoding_follows_configured_limits(diff):
    with configured(diff, "hash-max-listpack-entries", "3", "hash-max-ziplist-value", "5"):
        assert s(diff("CONFIG", "GET", "hash-max-listpack-value")) in (
            ["hash-max-listpack-value", "5"], {"hash-max-listpack-value": "5"})
        diff("HSET", "h", "a", "1", "b", "2", "c", "3")
        assert _enc(diff, "h") == "listpack"
        diff("HDEL", "h", "a")
        diff("HSET", "h", "a", "1")
        assert s(diff("HGETALL", "h")) in (["b", "2", "c", "3", "a", "1"], {"b": "2", "c": "3", "a": "1"})
        diff("HSET", "h", "d", "4")
        assert _enc(diff, "h") == "hashtable"
        # A value (or field) longer than the limit converts, also through HINCRBYFLOAT.
        diff("HSET", "v", "f", "12345")
        assert _enc(diff, "v") == "listpack"
        diff("HSET", "v", "g", "123456")
        assert _enc(diff, "v") == "hashtable"
        diff("HINCRBYFLOAT", "inc", "abcdef", "1.5")
        assert _enc(diff, "inc") == "hashtable"
        diff("HINCRBY", "inc2", "f", "123456")
        assert _enc(diff, "inc2") == "hashtable"
        # HSETNX sizes only a field it is going to write.
        diff("HSET", "nx", "a", "1")
        assert diff("HSETNX", "nx", "a", "123456") == 0
        assert _enc(diff, "nx") == "listpack"
        assert diff("HSETNX", "nx", "b", "123456") == 1
        assert _enc(diff, "nx") == "hashtable"
        diff("HSET", "low", "a", "1", "b", "2", "c", "3")
    # A lowered limit converts a hash at its next write, even one that only updates a field.
    with configured(diff, "hash-max-listpack-entries", "2"):
        assert _enc(diff, "low") == "listpack"
        diff("HSET", "low", "a", "9")
        assert _enc(diff, "low") == "hashtable"
    with configured(diff, "hash-max-listpack-entries", "0"):
        diff("HSET", "zero", "a", "1")
        assert _enc(diff, "zero") == "hashtable"


def test_hash_pair_count_converts_up_front_as_in_7_2(diff):
    # Redis 7.2 converts when HSET brings more pairs than the limit, duplicates or not (7.0
    # does not look at the count): burner's side only.
    diff.burner.config_set("hash-max-listpack-entries", "3")
    diff.burner.hset("h", items=["a", "1", "a", "2", "a", "3", "a", "4"])
    assert diff.burner.hlen("h") == 1
    assert s(diff.burner.object("encoding", "h")) == "hashtable"
    diff.burner.hset("g", items=["a", "1", "a", "2", "a", "3"])
    assert s(diff.burner.object("encoding", "g")) == "listpack"


def test_insertion_order_kept_past_the_packed_form(diff):
    # 40 fields: more than burner's packed form holds, still a listpack for Redis, so HGETALL
    # keeps insertion order across deletes and re-adds, as a listpack does.
    diff("HSET", "h", *[x for i in range(40) for x in (f"f{i}", f"v{i}")])
    diff("HDEL", "h", "f0", "f17", "f39")
    diff("HSET", "h", "f17", "again", "new", "x")
    assert _enc(diff, "h") == "listpack"
    got = diff("HGETALL", "h")
    assert len(got) == 39
    assert s(diff("HKEYS", "h"))[:3] == ["f1", "f2", "f3"]
    assert s(diff("HKEYS", "h"))[-2:] == ["f17", "new"]
    assert diff("HSCAN", "h", 0, "COUNT", 5)[0] == 0
    diff("HDEL", "h", *[f"f{i}" for i in range(1, 30)])
    assert s(diff("HVALS", "h"))[:2] == ["v30", "v31"]
