"""List commands compared with redis-server: every command, option and error."""

import time

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine


def b(x):
    """Normalises a reply to bytes-based values, so assertions hold in every decode mode."""
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (list, tuple)):
        return type(x)(b(i) for i in x)
    return x


def test_push_and_range(diff):
    assert diff("LPUSH", "l", "a", "b", "c") == 3
    assert diff("RPUSH", "l", "x", "y") == 5
    assert b(diff("LRANGE", "l", 0, -1)) == [b"c", b"b", b"a", b"x", b"y"]
    assert diff("LLEN", "l") == 5
    assert diff("LLEN", "missing") == 0
    assert diff("LPUSHX", "missing", "a") == 0
    assert diff("RPUSHX", "missing", "a", "b") == 0
    assert diff("EXISTS", "missing") == 0
    assert diff("LPUSHX", "l", "h1", "h2") == 7
    assert diff("RPUSHX", "l", "t") == 8
    assert b(diff("LRANGE", "l", 0, 1)) == [b"h2", b"h1"]
    assert b(diff("LRANGE", "l", -1, -1)) == [b"t"]
    # Integers-looking and binary elements are kept byte for byte.
    assert diff("RPUSH", "n", "1", "01", "-0", "9223372036854775808", "") == 5
    assert b(diff("LRANGE", "n", 0, -1)) == [b"1", b"01", b"-0", b"9223372036854775808", b""]


@pytest.mark.parametrize(
    "start,stop,want",
    [
        (0, -1, "abcde"),
        (1, 3, "bcd"),
        (-3, -1, "cde"),
        (-100, 1, "ab"),
        (3, 100, "de"),
        (4, 2, ""),
        (5, 10, ""),
        (-1, -5, ""),
        (0, 0, "a"),
        ("-9223372036854775808", "9223372036854775807", "abcde"),
    ],
)
def test_lrange_clamping(diff, start, stop, want):
    diff("RPUSH", "l", *"abcde")
    assert b(diff("LRANGE", "l", start, stop)) == [c.encode() for c in want]


def test_lrange_errors(diff):
    diff("RPUSH", "l", "a")
    assert diff.error("LRANGE", "l", "x", 1) == "value is not an integer or out of range"
    assert diff.error("LRANGE", "l", 0, "1.5") == "value is not an integer or out of range"
    # Indexes are parsed before the key is looked up.
    assert diff.error("LRANGE", "missing", "x", 1) == "value is not an integer or out of range"
    assert diff("LRANGE", "missing", 0, -1) == []


def test_pop_single_and_count(diff):
    diff("RPUSH", "l", *"abcdef")
    assert b(diff("LPOP", "l")) == b"a"
    assert b(diff("RPOP", "l")) == b"f"
    assert b(diff("LPOP", "l", 2)) == [b"b", b"c"]
    assert b(diff("RPOP", "l", 1)) == [b"e"]
    assert diff("LPOP", "l", 0) == []
    assert b(diff("RPOP", "l", 10)) == [b"d"]
    assert diff("EXISTS", "l") == 0


def test_pop_missing_key_shapes(diff):
    # Without a count: the null bulk string; with one (even 0): the null array.
    assert diff("LPOP", "missing") is None
    assert diff("RPOP", "missing") is None
    assert diff("LPOP", "missing", 2) is None
    assert diff("RPOP", "missing", 0) is None


def test_pop_errors(diff):
    diff("RPUSH", "l", "a")
    assert diff.error("LPOP", "l", -1) == "value is out of range, must be positive"
    assert diff.error("RPOP", "l", "x") == "value is out of range, must be positive"
    assert diff.error("LPOP", "missing", -1) == "value is out of range, must be positive"
    assert diff.error("LPOP", "l", 1, 2) == "wrong number of arguments for 'lpop' command"
    assert diff.error("LPOP") == "wrong number of arguments for 'lpop' command"
    assert b(diff("LRANGE", "l", 0, -1)) == [b"a"]


def test_pop_shapes_raw_protocol(diff):
    """The RESP2 null bulk vs null array difference is visible to a raw reply (both None here)."""
    diff("RPUSH", "l", "a", "b")
    assert b(diff.call(lambda c: c.lpop("l", 1))) == [b"a"]
    assert b(diff.call(lambda c: c.rpop("l"))) == b"b"
    assert diff.call(lambda c: c.lpop("l", 3)) is None


def test_wrongtype_everywhere(diff):
    diff("SET", "s", "v")
    for cmd in (
        ("LPUSH", "s", "a"),
        ("RPUSH", "s", "a"),
        ("LPUSHX", "s", "a"),
        ("RPUSHX", "s", "a"),
        ("LPOP", "s"),
        ("RPOP", "s", 2),
        ("LPOP", "s", 0),
        ("LLEN", "s"),
        ("LRANGE", "s", 0, -1),
        ("LINDEX", "s", 0),
        ("LSET", "s", 0, "x"),
        ("LINSERT", "s", "BEFORE", "a", "b"),
        ("LREM", "s", 0, "a"),
        ("LTRIM", "s", 0, 1),
        ("LPOS", "s", "a"),
        ("LMOVE", "s", "d", "LEFT", "LEFT"),
        ("RPOPLPUSH", "s", "d"),
        ("LMPOP", 1, "s", "LEFT"),
        ("BLPOP", "s", 0),
        ("BRPOP", "s", 0),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", 0),
        ("BRPOPLPUSH", "s", "d", 0),
        ("BLMPOP", 0, 1, "s", "LEFT"),
    ):
        assert diff.error(*cmd).startswith("WRONGTYPE"), cmd


def test_lindex(diff):
    diff("RPUSH", "l", *"abc")
    assert b(diff("LINDEX", "l", 0)) == b"a"
    assert b(diff("LINDEX", "l", -1)) == b"c"
    assert b(diff("LINDEX", "l", -3)) == b"a"
    assert diff("LINDEX", "l", 3) is None
    assert diff("LINDEX", "l", -4) is None
    assert diff("LINDEX", "l", "-9223372036854775808") is None
    assert diff("LINDEX", "missing", 0) is None
    assert diff.error("LINDEX", "l", "x") == "value is not an integer or out of range"
    # A missing key answers nil before the index is parsed.
    assert diff("LINDEX", "missing", "x") is None


def test_lset(diff):
    diff("RPUSH", "l", *"abc")
    assert diff("LSET", "l", 1, "B") is True
    assert diff("LSET", "l", -1, "C") is True
    assert b(diff("LRANGE", "l", 0, -1)) == [b"a", b"B", b"C"]
    assert diff.error("LSET", "l", 3, "x") == "index out of range"
    assert diff.error("LSET", "l", -4, "x") == "index out of range"
    assert diff.error("LSET", "missing", 0, "x") == "no such key"
    assert diff.error("LSET", "missing", "x", "x") == "no such key"
    assert diff.error("LSET", "l", "x", "x") == "value is not an integer or out of range"


def test_linsert(diff):
    diff("RPUSH", "l", "a", "p", "b", "p")
    assert diff("LINSERT", "l", "BEFORE", "p", "x") == 5
    assert diff("LINSERT", "l", "after", "p", "y") == 6
    assert b(diff("LRANGE", "l", 0, -1)) == [b"a", b"x", b"p", b"y", b"b", b"p"]
    assert diff("LINSERT", "l", "BEFORE", "nope", "z") == -1
    assert diff("LINSERT", "missing", "BEFORE", "p", "z") == 0
    assert diff("EXISTS", "missing") == 0
    assert diff.error("LINSERT", "l", "MIDDLE", "p", "z") == "syntax error"
    assert diff.error("LINSERT", "missing", "MIDDLE", "p", "z") == "syntax error"


@pytest.mark.parametrize(
    "count,want_removed,want",
    [
        (0, 3, "bcd"),
        (1, 1, "bxcxd"),
        (2, 2, "bcxd"),
        (-1, 1, "xbxcd"),
        (-2, 2, "xbcd"),
        (100, 3, "bcd"),
        (-100, 3, "bcd"),
    ],
)
def test_lrem(diff, count, want_removed, want):
    diff("RPUSH", "l", *"xbxcxd")
    assert diff("LREM", "l", count, "x") == want_removed
    assert b(diff("LRANGE", "l", 0, -1)) == [c.encode() for c in want]


def test_lrem_edges(diff):
    diff("RPUSH", "l", "x", "x")
    assert diff("LREM", "l", 0, "nope") == 0
    assert diff("LREM", "missing", 0, "x") == 0
    assert diff.error("LREM", "l", "x", "x") == "value is not an integer or out of range"
    assert diff("LREM", "l", 0, "x") == 2
    assert diff("EXISTS", "l") == 0


@pytest.mark.parametrize(
    "start,stop,want",
    [(1, -2, "bcd"), (0, 0, "a"), (-2, -1, "de"), (3, 1, ""), (10, 20, ""), (-100, 100, "abcde"), (2, 100, "cde")],
)
def test_ltrim(diff, start, stop, want):
    diff("RPUSH", "l", *"abcde")
    assert diff("LTRIM", "l", start, stop) is True
    assert b(diff("LRANGE", "l", 0, -1)) == [c.encode() for c in want]
    assert diff("EXISTS", "l") == (1 if want else 0)


def test_ltrim_errors(diff):
    assert diff("LTRIM", "missing", 0, 1) is True
    assert diff.error("LTRIM", "missing", "x", 1) == "value is not an integer or out of range"
    assert diff.error("LTRIM", "missing", 0, "y") == "value is not an integer or out of range"


def test_lpos(diff):
    diff("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert diff("LPOS", "l", "c") == 2
    assert diff("LPOS", "l", "nope") is None
    assert diff("LPOS", "missing", "c") is None
    assert diff("LPOS", "missing", "c", "COUNT", 0) == []
    assert diff("LPOS", "l", "c", "RANK", 2) == 6
    assert diff("LPOS", "l", "c", "RANK", -1) == 7
    assert diff("LPOS", "l", "c", "RANK", -3) == 2
    assert diff("LPOS", "l", "c", "RANK", 4) is None
    assert diff("LPOS", "l", "c", "COUNT", 2) == [2, 6]
    assert diff("LPOS", "l", "c", "COUNT", 0) == [2, 6, 7]
    assert diff("LPOS", "l", "c", "COUNT", 0, "RANK", -2) == [6, 2]
    assert diff("LPOS", "l", "c", "COUNT", 0, "RANK", 2, "MAXLEN", 7) == [6]
    assert diff("LPOS", "l", "c", "MAXLEN", 2) is None
    assert diff("LPOS", "l", "c", "RANK", -1, "MAXLEN", 1) == 7
    assert diff("LPOS", "l", "c", "COUNT", 5, "RANK", -1, "MAXLEN", 2) == [7, 6]
    assert diff("LPOS", "l", "nope", "COUNT", 1) == []
    assert diff("LPOS", "l", "c", "rank", 1, "RANK", 3) == 7  # the last repeat wins
    assert diff("LPOS", "l", "c", "RANK", "9223372036854775807") is None
    assert diff("LPOS", "l", "c", "RANK", "-9223372036854775807") is None


def test_lpos_errors(diff):
    diff("RPUSH", "l", "a")
    rank0 = diff.error("LPOS", "l", "a", "RANK", 0)
    assert rank0.startswith("RANK can't be zero: use 1 to start from the first match, 2 from the second")
    assert diff.error("LPOS", "l", "a", "RANK", "x") == "value is not an integer or out of range"
    # Redis 7.2 refuses a rank whose negation overflows (7.0 accepts it): burner side only.
    with pytest.raises(redis.exceptions.ResponseError, match="must be between -9223372036854775807 and"):
        diff.burner.execute_command("LPOS", "l", "a", "RANK", "-9223372036854775808")
    assert diff.error("LPOS", "l", "a", "COUNT", -1) == "COUNT can't be negative"
    assert diff.error("LPOS", "l", "a", "COUNT", "x") == "COUNT can't be negative"
    assert diff.error("LPOS", "l", "a", "MAXLEN", -1) == "MAXLEN can't be negative"
    assert diff.error("LPOS", "l", "a", "MAXLEN", "x") == "MAXLEN can't be negative"
    assert diff.error("LPOS", "l", "a", "RANK") == "syntax error"
    assert diff.error("LPOS", "l", "a", "FOO", 1) == "syntax error"
    # Options are parsed before the key is looked up.
    assert diff.error("LPOS", "missing", "a", "COUNT", -1) == "COUNT can't be negative"
    diff("SET", "s", "v")
    assert diff.error("LPOS", "s", "a", "COUNT", -1) == "COUNT can't be negative"


@pytest.mark.parametrize("wherefrom", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("whereto", ["LEFT", "RIGHT"])
def test_lmove_directions(diff, wherefrom, whereto):
    diff("RPUSH", "src", "a", "b", "c")
    diff("RPUSH", "dst", "x", "y")
    got = b(diff("LMOVE", "src", "dst", wherefrom, whereto))
    assert got == (b"a" if wherefrom == "LEFT" else b"c")
    dst = b(diff("LRANGE", "dst", 0, -1))
    assert dst == ([got, b"x", b"y"] if whereto == "LEFT" else [b"x", b"y", got])
    assert diff("LLEN", "src") == 2


def test_lmove_edges(diff):
    assert diff("LMOVE", "missing", "dst", "LEFT", "RIGHT") is None
    assert diff("EXISTS", "dst") == 0
    diff("RPUSH", "one", "only")
    assert b(diff("LMOVE", "one", "new", "LEFT", "RIGHT")) == b"only"
    assert diff("EXISTS", "one") == 0
    assert b(diff("LRANGE", "new", 0, -1)) == [b"only"]
    # Rotation on the same key, including a single-element list.
    diff("RPUSH", "r", "1", "2", "3")
    assert b(diff("LMOVE", "r", "r", "LEFT", "RIGHT")) == b"1"
    assert b(diff("LRANGE", "r", 0, -1)) == [b"2", b"3", b"1"]
    assert b(diff("RPOPLPUSH", "r", "r")) == b"1"
    assert b(diff("LRANGE", "r", 0, -1)) == [b"1", b"2", b"3"]
    assert b(diff("LMOVE", "new", "new", "RIGHT", "LEFT")) == b"only"
    assert b(diff("LRANGE", "new", 0, -1)) == [b"only"]
    # Redis checks the source first: missing source beats a wrong-typed destination.
    diff("SET", "s", "v")
    assert diff("LMOVE", "missing", "s", "LEFT", "LEFT") is None
    assert diff.error("LMOVE", "r", "s", "LEFT", "LEFT").startswith("WRONGTYPE")
    assert diff("LLEN", "r") == 3
    assert diff.error("LMOVE", "r", "d", "UP", "LEFT") == "syntax error"
    assert diff.error("LMOVE", "r", "d", "LEFT", "DOWN") == "syntax error"


def test_rpoplpush(diff):
    diff("RPUSH", "src", "a", "b")
    assert b(diff("RPOPLPUSH", "src", "dst")) == b"b"
    assert b(diff("RPOPLPUSH", "src", "dst")) == b"a"
    assert diff("RPOPLPUSH", "src", "dst") is None
    assert b(diff("LRANGE", "dst", 0, -1)) == [b"a", b"b"]


def test_lmpop(diff):
    diff("RPUSH", "k2", *"abcd")
    diff("RPUSH", "k3", "z")
    assert b(diff("LMPOP", 3, "k1", "k2", "k3", "LEFT")) == [b"k2", [b"a"]]
    assert b(diff("LMPOP", 2, "k1", "k2", "RIGHT", "COUNT", 2)) == [b"k2", [b"d", b"c"]]
    assert b(diff("LMPOP", 2, "k2", "k3", "left", "count", 10)) == [b"k2", [b"b"]]
    assert diff("EXISTS", "k2") == 0
    assert diff("LMPOP", 2, "k1", "k2", "LEFT") is None
    assert b(diff("LMPOP", 1, "k3", "RIGHT")) == [b"k3", [b"z"]]


def test_lmpop_errors(diff):
    diff("RPUSH", "l", "a")
    assert diff.error("LMPOP", 0, "l", "LEFT") == "numkeys should be greater than 0"
    assert diff.error("LMPOP", -1, "l", "LEFT") == "numkeys should be greater than 0"
    assert diff.error("LMPOP", "x", "l", "LEFT") == "numkeys should be greater than 0"
    assert diff.error("LMPOP", 2, "l", "LEFT") == "syntax error"
    assert diff.error("LMPOP", "9223372036854775807", "l", "LEFT") == "syntax error"
    assert diff.error("LMPOP", 1, "l", "UP") == "syntax error"
    assert diff.error("LMPOP", 1, "l", "LEFT", "COUNT") == "syntax error"
    assert diff.error("LMPOP", 1, "l", "LEFT", "COUNT", 0) == "count should be greater than 0"
    assert diff.error("LMPOP", 1, "l", "LEFT", "COUNT", -2) == "count should be greater than 0"
    assert diff.error("LMPOP", 1, "l", "LEFT", "COUNT", "x") == "count should be greater than 0"
    assert diff.error("LMPOP", 1, "l", "LEFT", "COUNT", 1, "COUNT", 1) == "syntax error"
    assert diff.error("LMPOP", 1, "l", "LEFT", "FOO") == "syntax error"
    assert diff.error("LMPOP", 1) == "wrong number of arguments for 'lmpop' command"
    assert diff("LLEN", "l") == 1


def test_blocking_forms_serve_at_once_when_data_is_there(diff):
    diff("RPUSH", "a", "1", "2")
    diff("RPUSH", "b", "3")
    assert b(diff("BLPOP", "missing", "a", "b", 1)) in ([b"a", b"1"], (b"a", b"1"))
    assert b(diff("BRPOP", "b", "a", 0)) in ([b"b", b"3"], (b"b", b"3"))
    assert b(diff("BLMOVE", "a", "c", "LEFT", "RIGHT", 0)) == b"2"
    assert diff("EXISTS", "a") == 0
    assert b(diff("BRPOPLPUSH", "c", "a", "0.5")) == b"2"
    assert b(diff("BLMPOP", 0, 2, "x", "a", "LEFT", "COUNT", 3)) == [b"a", [b"2"]]


def test_blocking_forms_time_out(diff):
    t0 = time.monotonic()
    assert diff("BLPOP", "a", "b", "0.05") is None
    assert diff("BRPOP", "a", "0.05") is None
    assert diff("BLMOVE", "a", "c", "LEFT", "RIGHT", "0.05") is None
    assert diff("BRPOPLPUSH", "a", "c", "0.05") is None
    assert diff("BLMPOP", "0.05", 1, "a", "RIGHT") is None
    assert time.monotonic() - t0 >= 0.25
    assert diff("EXISTS", "c") == 0


@pytest.mark.parametrize(
    "timeout,message",
    [
        ("x", "timeout is not a float or out of range"),
        ("1x", "timeout is not a float or out of range"),
        ("nan", "timeout is not a float or out of range"),
        ("", "timeout is not a float or out of range"),
        ("-1", "timeout is negative"),
        ("-0.5", "timeout is negative"),
        ("-inf", "timeout is negative"),
    ],
)
def test_blocking_timeout_errors(diff, timeout, message):
    diff("RPUSH", "l", "a")
    assert diff.error("BLPOP", "l", timeout) == message
    assert diff.error("BRPOP", "l", timeout) == message
    assert diff.error("BLMOVE", "l", "d", "LEFT", "LEFT", timeout) == message
    assert diff.error("BRPOPLPUSH", "l", "d", timeout) == message
    assert diff.error("BLMPOP", timeout, 1, "l", "LEFT") == message
    assert diff("LLEN", "l") == 1


@pytest.mark.parametrize("timeout", ["inf", "1e300", "9223372036854775"])
def test_blocking_timeout_out_of_range(diff, timeout):
    """Redis 7.2 refuses timeouts whose deadline would overflow (7.0 wraps them): burner only."""
    c = diff.burner
    c.rpush("l", "a")
    for cmd in (
        ("BLPOP", "l", timeout),
        ("BRPOP", "l", timeout),
        ("BLMOVE", "l", "d", "LEFT", "LEFT", timeout),
        ("BRPOPLPUSH", "l", "d", timeout),
        ("BLMPOP", timeout, 1, "l", "LEFT"),
    ):
        with pytest.raises(redis.exceptions.ResponseError, match="^timeout is out of range$"):
            c.execute_command(*cmd)
    assert c.llen("l") == 1


def test_blocking_argument_errors(diff):
    diff("RPUSH", "l", "a")
    assert diff.error("BLMOVE", "l", "d", "UP", "LEFT", 0) == "syntax error"
    # Directions are parsed before the timeout.
    assert diff.error("BLMOVE", "l", "d", "UP", "LEFT", -1) == "syntax error"
    assert diff.error("BLMPOP", 0, 0, "l", "LEFT") == "numkeys should be greater than 0"
    assert diff.error("BLMPOP", -1, 0, "l", "LEFT") == "numkeys should be greater than 0"
    assert diff.error("BLMPOP", -1, 1, "l", "LEFT") == "timeout is negative"
    assert diff.error("BLMPOP", 0, 1, "l", "LEFT", "COUNT", 0) == "count should be greater than 0"
    assert diff.error("BLMPOP", 0, 2, "l", "LEFT") == "syntax error"
    assert diff.error("BLPOP", "l") == "wrong number of arguments for 'blpop' command"
    assert diff.error("BLMPOP", 0, 1, "l") == "wrong number of arguments for 'blmpop' command"
    assert diff("LLEN", "l") == 1


def test_blocking_inside_multi_returns_at_once(diff):
    def run(c):
        with c.pipeline(transaction=True) as p:
            p.blpop(["a"], 0).brpop(["a"], 0).blmove("a", "b", 0).brpoplpush("a", "b", 0)
            p.execute_command("BLMPOP", 0, 1, "a", "LEFT").rpush("a", "x").blpop(["a"], 0)
            return p.execute()

    got = b(diff.call(run))
    assert got[:5] == [None] * 5
    assert got[5] == 1
    assert got[6] in ([b"a", b"x"], (b"a", b"x"))


def test_lists_are_removed_when_emptied(diff):
    for cmd in (
        ("LPOP", "l"),
        ("RPOP", "l", 5),
        ("LREM", "l", 0, "x"),
        ("LTRIM", "l", 1, 0),
        ("LMOVE", "l", "other", "LEFT", "LEFT"),
        ("LMPOP", 1, "l", "LEFT"),
        ("BLPOP", "l", 0),
        ("BLMPOP", 0, 1, "l", "RIGHT", "COUNT", 3),
    ):
        diff("RPUSH", "l", "x")
        diff(*cmd)
        assert diff("EXISTS", "l") == 0, cmd
    assert diff("DEL", "other") == 1


def test_large_lists(diff):
    items = [f"item-{i}" for i in range(3000)]
    assert diff("RPUSH", "big", *items) == 3000
    assert b(diff("LINDEX", "big", 1500)) == b"item-1500"
    assert b(diff("LRANGE", "big", 2997, -1)) == [b"item-2997", b"item-2998", b"item-2999"]
    assert diff("LPOS", "big", "item-2999") == 2999
    assert diff("LTRIM", "big", 1000, 1999) is True
    assert diff("LLEN", "big") == 1000
    assert diff("LREM", "big", -5, "item-1500") == 1


def test_object_encoding_follows_redis_7_2():
    """Redis 7.2 reports small lists as listpack (7.0 always says quicklist): burner side only."""
    c = redis.Redis(connection_pool=BurnerSyncConnectionPool(Engine()))
    try:
        c.execute_command("OBJECT", "ENCODING", "nothing")
    except redis.exceptions.ResponseError as e:
        if "unknown command" in str(e).lower():
            pytest.skip("OBJECT is not in this build yet")
    c.rpush("l", *(["x" * 100] * 10))
    assert c.object("encoding", "l") == b"listpack"
    c.rpush("l", *(["x" * 100] * 80))
    assert c.object("encoding", "l") == b"quicklist"
    c.ltrim("l", 0, 9)
    assert c.object("encoding", "l") == b"listpack"
    c.rpush("big", "y" * 9000)
    assert c.object("encoding", "big") == b"quicklist"


def _events(client, fn):
    p = client.pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.get_message(timeout=1)
    fn(client)
    out = []
    while True:
        m = p.get_message(timeout=0.2)
        if m is None:
            break
        if m["type"] == "pmessage":
            out.append((b(m["channel"]).split(b":", 1)[1], b(m["data"])))
    p.close()
    return out


def test_keyspace_notifications(diff):
    def script(c):
        c.rpush("l", "a", "b", "c")
        c.lpush("l", "z")
        c.lpushx("l", "y")
        c.rpushx("l", "w")
        c.lpop("l")
        c.rpop("l", 2)
        c.linsert("l", "BEFORE", "a", "q")
        c.lset("l", 0, "Z")
        c.lrem("l", 0, "q")
        c.lrem("l", 0, "nothing")
        c.ltrim("l", 0, 5)
        c.lmove("l", "m", "LEFT", "RIGHT")
        c.rpoplpush("l", "m")
        c.blpop(["m"], 1)
        c.execute_command("LMPOP", 1, "m", "LEFT")

    try:
        diff.burner.config_set("notify-keyspace-events", "KEA")
    except redis.exceptions.ResponseError:
        pytest.skip("keyspace notifications are not in this build yet")
    got = _events(diff.burner, script)
    if not got:
        pytest.skip("keyspace notifications are not delivered in this build yet")
    assert got[:2] == [(b"rpush", b"l"), (b"lpush", b"l")]
    assert (b"lmove" not in [e for e, _ in got])
    assert (b"rpush", b"m") in got and (b"del", b"m") in got
    if diff.real is not None:
        diff.real.config_set("notify-keyspace-events", "KEA")
        assert got == _events(diff.real, script)


def test_listpack_size_is_configurable_as_in_7_2(diff):
    # Redis 7.0 (the reference) reports every list as a quicklist: encodings on burner's side
    # only, following Redis 7.2; the replies are compared under the same setting.
    saved = {c: c.config_get("list-max-listpack-size") for c in (diff.burner, diff.real) if c is not None}
    enc = lambda k: b(diff.burner.object("encoding", k))
    try:
        diff("CONFIG", "SET", "list-max-listpack-size", "4")
        assert diff("RPUSH", "l", "a", "b", "c", "d") == 4
        assert enc("l") == b"listpack"
        # LSET sizes its element as one more, as Redis does.
        assert diff("LSET", "l", 0, "z") is True
        assert enc("l") == b"quicklist"
        diff("LPOP", "l")
        assert enc("l") == b"quicklist"
        diff("LPOP", "l")
        assert enc("l") == b"listpack"  # 2 elements: half of 4
        assert b(diff("LRANGE", "l", 0, -1)) == [b"c", b"d"]
        # A batch is sized before it is pushed.
        diff("RPUSH", "m", "1", "2", "3", "4", "5")
        assert enc("m") == b"quicklist"
        # LINSERT sizes its element even when the pivot is missing.
        diff("RPUSH", "n", "a", "b", "c", "d")
        assert diff("LINSERT", "n", "BEFORE", "nope", "x") == -1
        assert enc("n") == b"quicklist"
        # The ziplist alias, and a size class: -1 is 4 KB.
        diff("CONFIG", "SET", "list-max-ziplist-size", "-1")
        got = diff.call(lambda c: c.config_get("list-max-listpack-size"))
        assert {b(k): b(v) for k, v in got.items()} == {b"list-max-listpack-size": b"-1"}
        diff("RPUSH", "big", "x" * 3000)
        assert enc("big") == b"listpack"
        diff("RPUSH", "big", "y" * 2000)
        assert enc("big") == b"quicklist"
        diff("RPOP", "big")
        assert enc("big") == b"quicklist"  # 3000 bytes: more than half of 4 KB
        diff("LSET", "big", 0, "short")
        assert enc("big") == b"listpack"
        # 0 means one element per listpack.
        diff("CONFIG", "SET", "list-max-listpack-size", "0")
        diff("RPUSH", "one", "a")
        assert enc("one") == b"listpack"
        diff("RPUSH", "one", "b")
        assert enc("one") == b"quicklist"
    finally:
        for c, values in saved.items():
            for k, v in values.items():
                c.config_set(k, v)


def test_lists_across_the_packed_form(diff):
    # Burner packs up to 32 elements of up to 64 bytes; the replies must not depend on it.
    diff("RPUSH", "l", *[f"e{i}" for i in range(30)])
    diff("LPUSH", "l", "h1", "h2", "h3")
    assert diff("LLEN", "l") == 33
    assert b(diff("LRANGE", "l", 0, 3)) == [b"h3", b"h2", b"h1", b"e0"]
    assert b(diff("LINDEX", "l", -1)) == b"e29"
    diff("LREM", "l", 0, "e5")
    diff("LTRIM", "l", 1, -2)
    assert b(diff("LRANGE", "l", -3, -1)) == [b"e26", b"e27", b"e28"]
    diff("RPUSH", "s", "a", "x" * 65, "b")
    assert b(diff("LPOP", "s", 2)) == [b"a", b"x" * 65]
    assert diff("LINSERT", "s", "AFTER", "b", "c") == 2
    assert diff("LPOS", "s", "c") == 1
    assert diff("LSET", "s", -1, "y" * 100) is True
    assert b(diff("LRANGE", "s", 0, -1)) == [b"b", b"y" * 100]
