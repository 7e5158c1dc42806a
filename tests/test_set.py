"""Set commands, compared with redis-server through the ``diff`` fixture.

Redis 7.0 (the installed reference) keeps small non-integer sets in a hashtable where 7.2 uses a
listpack, so member order differs for those: such replies are compared ``unordered``. SPOP and
SRANDMEMBER are random, so their tests compare sizes and membership rather than members.
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
    if isinstance(v, set):
        return {s(x) for x in v}
    return v


def members(diff, key):
    return set(s(diff("SMEMBERS", key, unordered=True)))


def test_sadd_srem_smembers(diff):
    assert diff("SADD", "s", "a", "b", "c", "a") == 3
    assert diff("SADD", "s", "c", "d") == 1
    assert members(diff, "s") == {"a", "b", "c", "d"}
    assert diff("SREM", "s", "a", "zz", "a") == 1
    assert diff("SREM", "nokey", "a") == 0
    assert diff("SCARD", "s") == 3
    assert diff("SCARD", "nokey") == 0
    assert diff("SREM", "s", "b", "c", "d") == 3
    assert diff("EXISTS", "s") == 0
    assert members(diff, "nokey") == set()


def test_intset_members_come_sorted(diff):
    # An all-integer set is an intset in 7.0 and 7.2 alike: members come sorted numerically.
    diff("SADD", "s", "10", "-3", "7", "100", "0")
    assert s(diff.call(lambda c: c.execute_command("SMEMBERS", "s"))) in (
        ["-3", "0", "7", "10", "100"],
        {"-3", "0", "7", "10", "100"},
    )
    assert s(diff("SSCAN", "s", "0")[1]) == ["-3", "0", "7", "10", "100"]


def test_sismember_smismember(diff):
    diff("SADD", "s", "a", "1")
    assert diff("SISMEMBER", "s", "a") == 1
    assert diff("SISMEMBER", "s", "b") == 0
    assert diff("SISMEMBER", "nokey", "a") == 0
    assert diff("SMISMEMBER", "s", "a", "b", "1") == [1, 0, 1]
    assert diff("SMISMEMBER", "nokey", "a", "b") == [0, 0]


@pytest.mark.parametrize(
    "args",
    [
        ("SADD", "s"),
        ("SREM", "s"),
        ("SMEMBERS",),
        ("SISMEMBER", "s"),
        ("SMISMEMBER", "s"),
        ("SCARD",),
        ("SPOP",),
        ("SRANDMEMBER",),
        ("SINTER",),
        ("SINTERSTORE", "d"),
        ("SUNION",),
        ("SUNIONSTORE", "d"),
        ("SDIFF",),
        ("SDIFFSTORE", "d"),
        ("SINTERCARD", "1"),
        ("SMOVE", "a", "b"),
        ("SSCAN", "s"),
    ],
)
def test_arity_errors(diff, args):
    assert diff.error(*args) == f"wrong number of arguments for '{args[0].lower()}' command"


@pytest.mark.parametrize(
    "args",
    [
        ("SADD", "str", "a"),
        ("SREM", "str", "a"),
        ("SMEMBERS", "str"),
        ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"),
        ("SCARD", "str"),
        ("SPOP", "str"),
        ("SPOP", "str", "0"),
        ("SRANDMEMBER", "str"),
        ("SRANDMEMBER", "str", "0"),
        ("SINTER", "s", "str"),
        ("SINTER", "nokey", "str"),
        ("SINTERSTORE", "d", "s", "str"),
        ("SUNION", "s", "str"),
        ("SUNIONSTORE", "d", "str"),
        ("SDIFF", "s", "str"),
        ("SDIFF", "str", "s"),
        ("SDIFFSTORE", "d", "nokey", "str"),
        ("SINTERCARD", "2", "s", "str"),
        ("SMOVE", "str", "s", "a"),
        ("SMOVE", "s", "str", "a"),
        ("SSCAN", "str", "0"),
    ],
)
def test_wrongtype(diff, args):
    diff("SET", "str", "x")
    diff("SADD", "s", "a")
    assert diff.error(*args) == WRONGTYPE
    assert s(diff("GET", "str")) == "x"
    assert diff("EXISTS", "d") == 0


def test_smove_with_missing_source_ignores_destination_type(diff):
    diff("SET", "str", "x")
    assert diff("SMOVE", "nokey", "str", "a") == 0


def test_sinter_sunion_sdiff(diff):
    diff("SADD", "a", "1", "2", "3", "x", "y")
    diff("SADD", "b", "2", "3", "4", "y")
    diff("SADD", "c", "3", "y", "z")
    assert set(s(diff("SINTER", "a", "b", "c", unordered=True))) == {"3", "y"}
    assert set(s(diff("SINTER", "a", unordered=True))) == {"1", "2", "3", "x", "y"}
    assert not diff("SINTER", "a", "nokey")
    assert set(s(diff("SUNION", "a", "b", "nokey", unordered=True))) == {"1", "2", "3", "4", "x", "y"}
    assert set(s(diff("SDIFF", "a", "b", unordered=True))) == {"1", "x"}
    assert set(s(diff("SDIFF", "a", "b", "c", unordered=True))) == {"1", "x"}
    assert set(s(diff("SDIFF", "a", "nokey", unordered=True))) == {"1", "2", "3", "x", "y"}
    assert not diff("SDIFF", "nokey", "a")
    assert not diff("SUNION", "nokey")


def test_store_forms(diff):
    diff("SADD", "a", "1", "2", "3")
    diff("SADD", "b", "2", "3", "4")
    assert diff("SINTERSTORE", "d", "a", "b") == 2
    assert members(diff, "d") == {"2", "3"}
    assert diff("SUNIONSTORE", "d", "a", "b") == 4
    assert members(diff, "d") == {"1", "2", "3", "4"}
    assert diff("SDIFFSTORE", "d", "a", "b") == 1
    assert members(diff, "d") == {"1"}
    # The destination may be a source, and an empty result deletes it.
    assert diff("SUNIONSTORE", "a", "a", "b") == 4
    assert diff("SINTERSTORE", "d", "a", "nokey") == 0
    assert diff("EXISTS", "d") == 0
    # A destination of another type is overwritten.
    diff("SET", "str", "x")
    assert diff("SDIFFSTORE", "str", "a", "b") == 1
    assert members(diff, "str") == {"1"}


def test_sintercard(diff):
    diff("SADD", "a", "1", "2", "3", "x")
    diff("SADD", "b", "2", "3", "x", "y")
    assert diff("SINTERCARD", "2", "a", "b") == 3
    assert diff("SINTERCARD", "1", "a") == 4
    assert diff("SINTERCARD", "2", "a", "b", "LIMIT", "2") == 2
    assert diff("SINTERCARD", "2", "a", "b", "limit", "0") == 3
    assert diff("SINTERCARD", "2", "a", "b", "LIMIT", "10") == 3
    assert diff("SINTERCARD", "2", "a", "nokey") == 0
    assert diff("SINTERCARD", "1", "nokey") == 0
    for n in ["0", "-1", "x"]:
        assert diff.error("SINTERCARD", n, "a") == "numkeys should be greater than 0"
    assert diff.error("SINTERCARD", "3", "a", "b") == "Number of keys can't be greater than number of args"
    for lim in ["-1", "x"]:
        assert diff.error("SINTERCARD", "2", "a", "b", "LIMIT", lim) == "LIMIT can't be negative"
    assert diff.error("SINTERCARD", "2", "a", "b", "LIMIT") == "syntax error"
    assert diff.error("SINTERCARD", "1", "a", "b") == "syntax error"
    assert diff.error("SINTERCARD", "2", "a", "b", "FOO", "1") == "syntax error"


def test_smove(diff):
    diff("SADD", "src", "a", "b")
    diff("SADD", "dst", "c")
    assert diff("SMOVE", "src", "dst", "a") == 1
    assert diff("SMOVE", "src", "dst", "zz") == 0
    assert members(diff, "src") == {"b"}
    assert members(diff, "dst") == {"a", "c"}
    assert diff("SMOVE", "src", "src", "b") == 1
    assert diff("SMOVE", "src", "src", "zz") == 0
    assert diff("SMOVE", "src", "new", "b") == 1
    assert diff("EXISTS", "src") == 0
    assert members(diff, "new") == {"b"}
    # Moving a member the destination already has still removes it from the source.
    diff("SADD", "src", "c")
    assert diff("SMOVE", "src", "dst", "c") == 1
    assert diff("EXISTS", "src") == 0
    assert members(diff, "dst") == {"a", "c"}


def test_spop(diff):
    diff("SADD", "s", *[f"m{i}" for i in range(10)])
    assert diff.call(lambda c: s(c.spop("s")).startswith("m")) is True
    assert diff("SCARD", "s") == 9

    def pop3(c):
        got = s(c.spop("s", 3))
        return len(got), len(set(got)), set(got) <= {f"m{i}" for i in range(10)}, c.scard("s")

    assert diff.call(pop3) == (3, 3, True, 6)
    assert not diff("SPOP", "s", "0")
    assert diff("SCARD", "s") == 6
    assert diff.call(lambda c: len(c.spop("s", 100))) == 6
    assert diff("EXISTS", "s") == 0
    assert diff("SPOP", "nokey") is None
    assert not diff("SPOP", "nokey", "3")
    diff("SADD", "s", "only")
    assert s(diff("SPOP", "s")) == "only"
    assert diff("EXISTS", "s") == 0


def test_spop_errors(diff):
    diff("SADD", "s", "a")
    assert diff.error("SPOP", "s", "-1") == "value is out of range, must be positive"
    assert diff.error("SPOP", "s", "x") == "value is out of range, must be positive"
    assert diff.error("SPOP", "s", "1", "2") == "syntax error"
    assert diff("SCARD", "s") == 1


def test_srandmember(diff):
    ms = {f"m{i}" for i in range(10)}
    diff("SADD", "s", *sorted(ms))
    assert diff.call(lambda c: s(c.srandmember("s")) in ms) is True
    assert diff("SRANDMEMBER", "nokey") is None
    assert diff("SRANDMEMBER", "nokey", "5") == []
    assert diff("SRANDMEMBER", "s", "0") == []

    def distinct(c):
        got = s(c.srandmember("s", 4))
        return len(got), len(set(got)), set(got) <= ms

    assert diff.call(distinct) == (4, 4, True)
    assert diff.call(lambda c: sorted(s(c.srandmember("s", 50)))) == sorted(ms)

    def repeats(c):
        got = s(c.srandmember("s", -30))
        return len(got), set(got) <= ms

    assert diff.call(repeats) == (30, True)
    assert diff("SCARD", "s") == 10


def test_srandmember_errors(diff):
    diff("SADD", "s", "a")
    assert diff.error("SRANDMEMBER", "s", "x") == "value is not an integer or out of range"
    assert diff.error("SRANDMEMBER", "s", str(-(2**63))) == (
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert diff.error("SRANDMEMBER", "s", "1", "2") == "syntax error"
    assert diff.error("SRANDMEMBER", "nokey", "x") == "value is not an integer or out of range"


def _full_sscan(c, key, **kw):
    seen = set()
    cursor = 0
    while True:
        cursor, items = c.sscan(key, cursor, **kw)
        seen.update(s(items))
        if cursor == 0:
            return seen


def test_sscan(diff):
    diff("SADD", "ints", *range(20))
    cur, items = diff("SSCAN", "ints", "0", "COUNT", "2")
    assert cur == 0 and sorted(s(items), key=int) == [str(i) for i in range(20)]
    cur, items = diff("SSCAN", "ints", "0", "MATCH", "1*")
    assert sorted(s(items)) == sorted(str(i) for i in range(20) if str(i).startswith("1"))
    big = {f"m{i}" for i in range(600)}
    diff("SADD", "big", *sorted(big))
    assert diff.call(lambda c: _full_sscan(c, "big", count=17)) == big
    assert diff.call(lambda c: _full_sscan(c, "big", match="m5*", count=100)) == {m for m in big if m.startswith("m5")}
    assert diff.call(lambda c: _full_sscan(c, "ints", count=1)) == {str(i) for i in range(20)}
    assert diff("SSCAN", "nokey", "0") == (0, [])
    assert diff("SSCAN", "nokey", "0", "COUNT", "0") == (0, [])


def test_sscan_errors(diff):
    diff("SADD", "s", "a")
    assert diff.error("SSCAN", "s", "x") == "invalid cursor"
    assert diff.error("SSCAN", "s", "18446744073709551616") == "invalid cursor"
    for opts in [("COUNT", "0"), ("MATCH",), ("TYPE", "set"), ("COUNT",)]:
        assert diff.error("SSCAN", "s", "0", *opts) == "syntax error"
    assert diff.error("SSCAN", "s", "0", "COUNT", "x") == "value is not an integer or out of range"


def test_sscan_survives_deletes_between_calls(diff):
    c = diff.burner
    c.sadd("s", *[f"m{i}" for i in range(300)])
    seen, cursor, rounds = set(), 0, 0
    while True:
        cursor, items = c.sscan("s", cursor, count=11)
        seen.update(s(items))
        rounds += 1
        c.srem("s", f"m{250 + rounds % 50}")
        if cursor == 0:
            break
    assert rounds > 5
    assert {f"m{i}" for i in range(250)} <= seen


def test_large_and_long_members(diff):
    long = "x" * 100
    assert diff("SADD", "s", "a", long) == 2
    assert diff("SISMEMBER", "s", long) == 1
    nums = [str(i) for i in range(1000)]
    assert diff("SADD", "n", *nums) == 1000
    assert diff("SCARD", "n") == 1000
    assert diff("SREM", "n", *nums[:999]) == 999
    assert s(diff("SMEMBERS", "n", unordered=True)) in (["999"], {"999"})


def test_set_in_transaction(diff):
    def run(c):
        with c.pipeline(transaction=True) as p:
            p.sadd("s", "1", "2").sadd("t", "2", "3").sinterstore("d", ["s", "t"]).smembers("d").scard("s")
            return s(p.execute())

    res = diff.call(run)
    assert res[:3] == [2, 2, 1] and list(res[3]) == ["2"] and res[4] == 2


# --- random command sequences -------------------------------------------------------------------

_members = st.sampled_from(["a", "b", "c", "1", "2", "-7", "01", "x" * 70])
_keys = st.sampled_from(["s1", "s2", "s3", "str"])
_unordered = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN"}

_set_cmd = st.one_of(
    st.tuples(st.just("SADD"), _keys, _members),
    st.tuples(st.just("SADD"), _keys, _members, _members, _members),
    st.tuples(st.just("SREM"), _keys, _members, _members),
    st.tuples(st.just("SMEMBERS"), _keys),
    st.tuples(st.just("SISMEMBER"), _keys, _members),
    st.tuples(st.just("SMISMEMBER"), _keys, _members, _members),
    st.tuples(st.just("SCARD"), _keys),
    st.tuples(st.sampled_from(["SINTER", "SUNION", "SDIFF"]), _keys, _keys),
    st.tuples(st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), _keys, _keys, _keys),
    st.tuples(st.just("SINTERCARD"), st.just("2"), _keys, _keys),
    st.tuples(st.just("SMOVE"), _keys, _keys, _members),
    st.tuples(st.just("SPOP"), _keys, st.sampled_from(["0", "100"])),
    st.tuples(st.just("SRANDMEMBER"), _keys, st.sampled_from(["0", "100"])),
    st.tuples(st.just("EXISTS"), _keys),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cmds=st.lists(_set_cmd, max_size=25))
def test_random_set_sequences(diff, cmds):
    diff("FLUSHALL")
    diff("SET", "str", "x")
    for cmd in cmds:
        try:
            diff(*cmd, unordered=cmd[0] in _unordered or cmd[0] in ("SPOP", "SRANDMEMBER"))
        except redis.exceptions.ResponseError:
            pass  # both sides failed alike (diff asserts that)
    for key in ["s1", "s2", "s3"]:
        diff("SMEMBERS", key, unordered=True)


def test_set_keyspace_events(diff):
    from test_hash import _skip_without_notifications, keyspace_events

    _skip_without_notifications(diff)

    def ops(c):
        c.sadd("s", "a", "b", "c")
        c.sadd("s", "a")  # no change, no event
        c.srem("s", "zz")  # no change, no event
        c.srem("s", "a")
        c.sadd("t", "x")
        c.smove("t", "s", "x")
        c.smove("s", "u", "b")
        c.sunionstore("d", ["s", "u"])
        c.sinterstore("d", ["s", "u"])  # empty result deletes d
        c.sdiffstore("d", ["s", "u"])
        c.spop("s", 5)
        c.sadd("v", "1", "2")
        c.spop("v", 1)
        c.spop("v", 0)  # no change, no event
        c.spop("v")

    got = diff.call(lambda c: keyspace_events(c, ops))
    assert got == [
        ("sadd", "s"),
        ("srem", "s"),
        ("sadd", "t"),
        ("srem", "t"),
        ("del", "t"),
        ("sadd", "s"),
        ("srem", "s"),
        ("sadd", "u"),
        ("sunionstore", "d"),
        ("del", "d"),
        ("sdiffstore", "d"),
        ("spop", "s"),
        ("del", "s"),
        ("sadd", "v"),
        ("spop", "v"),
        ("spop", "v"),
        ("del", "v"),
    ]


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


def _ordered(c, key):
    """SMEMBERS in the server's own order (redis-py would make it a Python set)."""
    return s(c.eval("return redis.call('SMEMBERS', KEYS[1])", 1, key))


def test_intset_limit_is_configurable(diff):
    with configured(diff, "set-max-intset-entries", "3"):
        for m in ("3", "1", "2"):
            diff("SADD", "s", m)
        assert _enc(diff, "s") == "intset"
        assert diff.call(lambda c: _ordered(c, "s")) == ["1", "2", "3"]
        diff("SADD", "s", "4")
        assert _enc(diff, "s") == "hashtable"
        # Past burner's packed form but within the limit: still sorted, as an intset is.
        diff("CONFIG", "SET", "set-max-intset-entries", "100")
        diff("SADD", "big", *[str(i) for i in range(60, 0, -1)])
        diff("SREM", "big", "7", "33")
        assert _enc(diff, "big") == "intset"
        assert diff.call(lambda c: _ordered(c, "big")) == [str(i) for i in range(1, 61) if i not in (7, 33)]
        assert s(diff("SPOP", "big", 0)) in ([], set())


def test_listpack_limits_are_configurable_as_in_7_2(diff):
    # Redis 7.0 (the reference) has no listpack sets and no set-max-listpack-* parameters:
    # burner's side only, following Redis 7.2.
    c = diff.burner
    c.config_set("set-max-listpack-entries", "3")
    c.config_set("set-max-listpack-value", "4")
    assert s(c.config_get("set-max-listpack-*")) == {
        "set-max-listpack-entries": "3", "set-max-listpack-value": "4"}
    c.sadd("s", "a", "b", "c")
    assert s(c.object("encoding", "s")) == "listpack"
    c.srem("s", "a")
    c.sadd("s", "a")
    assert _ordered(c, "s") == ["b", "c", "a"]
    c.sadd("s", "d")
    assert s(c.object("encoding", "s")) == "hashtable"
    # SADD's argument count converts an existing set up front, duplicates or not.
    c.sadd("dup", "a")
    c.sadd("dup", "a", "a", "a", "a")
    assert c.scard("dup") == 1
    assert s(c.object("encoding", "dup")) == "hashtable"
    # A new set with more arguments than a listpack holds starts as a hashtable.
    c.sadd("many", "a", "b", "c", "d")
    assert s(c.object("encoding", "many")) == "hashtable"
    # ... and one with more integers than an intset holds, as a listpack when that fits.
    c.config_set("set-max-intset-entries", "2")
    c.sadd("ints", "1", "2", "3")
    assert s(c.object("encoding", "ints")) == "listpack"
    c.config_set("set-max-intset-entries", "512")
    c.sadd("long", "abcd")
    assert s(c.object("encoding", "long")) == "listpack"
    c.sadd("long", "abcde")
    assert s(c.object("encoding", "long")) == "hashtable"
    # An intset whose longest integer would not fit a listpack goes straight to hashtable.
    c.sadd("wide", "12345")
    c.sadd("wide", "x")
    assert s(c.object("encoding", "wide")) == "hashtable"
    c.sadd("narrow", "-123")
    c.sadd("narrow", "x")
    assert s(c.object("encoding", "narrow")) == "listpack"
    assert _ordered(c, "narrow") == ["-123", "x"]
    # Stored results follow the limits too.
    c.sadd("t1", "a", "b")
    c.sadd("t2", "c", "d")
    c.config_set("set-max-listpack-entries", "128")
    c.sunionstore("u", "t1", "t2")
    assert s(c.object("encoding", "u")) == "listpack"
    c.config_set("set-max-listpack-entries", "3")
    c.sunionstore("u", "t1", "t2")
    assert s(c.object("encoding", "u")) == "hashtable"
