"""Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT) compared with redis-server.

Redis 7.0.15 is the reference server; where 7.2 differs (REDIS_VERSION, numbers passed to
redis.call, the BUSY text) only burner's side is checked, against 7.2's behaviour.
"""

import logging
import threading
import time

import pytest
import redis
import redis.exceptions
from burner_redis import BurnerSyncConnectionPool, Engine


def ev(diff, script, *args, keys=()):
    return diff("EVAL", script, len(keys), *keys, *args)


def s(v):
    """Text of a reply whatever the decode mode."""
    return v.decode() if isinstance(v, bytes) else v


def has_commands(client, *names):
    listed = {s(n).lower() for n in client.command_list()}
    return all(n in listed for n in names)


def need(diff, *names):
    if not has_commands(diff.burner, *names):
        pytest.skip(f"commands not in this branch: {names}")


# --- Lua -> Redis conversions --------------------------------------------------------------

LUA_TO_REDIS = [
    ("return 1", 1),
    ("return 3.99", 3),
    ("return -3.99", -3),
    ("return 1/0", -9223372036854775808),
    ("return -1/0", -9223372036854775808),
    ("return 0/0", -9223372036854775808),
    ("return 2^53", 9007199254740992),
    ("return 'hello'", b"hello"),
    ("return ''", b""),
    ("return true", 1),
    ("return false", None),
    ("return nil", None),
    ("return {1, 2, nil, 4}", [1, 2]),
    ("return {true, false, 'x', 3.5}", [1, None, b"x", 3]),
    ("return {}", []),
    ("return {1, {2, {3, 'x'}}}", [1, [2, [3, b"x"]]]),
    ("return {a = 1}", []),
    ("return {ok = 'FINE'}", b"FINE"),
    ("return {ok = 'a\\r\\nb'}", b"a  b"),
    ("return redis.status_reply('FINE')", b"FINE"),
    ("return {1, {ok = 'x'}}", [1, b"x"]),
    ("return {double = 1.5}", (b"1.5", 1.5)),
    ("return {big_number = '123'}", (b"123", 123)),
    ("return {verbatim_string = {format = 'txt', string = 'abc'}}", b"abc"),
    ("return {map = {a = 1}}", ([b"a", 1], {b"a": 1})),
    ("return {set = {a = true}}", ([b"a"], {b"a"})),
    ("return function() end", None),
    ("return cjson.null", None),
    ("return unpack({1, 2, 3})", 1),
    ("return tonumber('0x10')", 16),
    ("return string.format('%5.2f', 3.14159)", b" 3.14"),
    ("return tostring(0.1)", b"0.1"),
    ("return tostring(2^63)", b"9.2233720368548e+18"),
    ("return #KEYS", 0),
    ("return _VERSION", b"Lua 5.1"),
    ("return gcinfo() > 0", 1),
    ("return collectgarbage('count') > 0", 1),
    ("return {type(bit), type(struct), type(cmsgpack), type(cjson), type(coroutine)}",
     [b"table"] * 5),
    ("return loadstring('return 5')()", 5),
    ("return redis.sha1hex('')", b"da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("return redis.sha1hex('abc')", b"a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("return redis.breakpoint()", None),
    ("return redis.debug('x')", None),
    ("return redis.replicate_commands()", 1),
    ("return redis.set_repl(redis.REPL_ALL)", None),
    ("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
     [0, 1, 2, 2, 3]),
    ("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", [0, 1, 2, 3]),
    ("return redis.acl_check_cmd('get', 'x')", 1),
    ("return redis.log(redis.LOG_WARNING, 'hi', 'there')", None),
    ("math.randomseed(42) return {tostring(math.random()), math.random(100), math.random(5, 10)}",
     [b"0.74452500033403", 35, 5]),
    ("local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t",
     [b"LOG_DEBUG", b"LOG_NOTICE", b"LOG_VERBOSE", b"LOG_WARNING", b"REDIS_VERSION",
      b"REDIS_VERSION_NUM", b"REPL_ALL", b"REPL_AOF", b"REPL_NONE", b"REPL_REPLICA", b"REPL_SLAVE",
      b"acl_check_cmd", b"breakpoint", b"call", b"debug", b"error_reply", b"log", b"pcall",
      b"replicate_commands", b"set_repl", b"setresp", b"sha1hex", b"status_reply"]),
    ("local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t",
     [b"ARGV", b"KEYS", b"_G", b"_VERSION", b"__redis__err__handler", b"assert", b"bit", b"cjson",
      b"cmsgpack", b"collectgarbage", b"coroutine", b"error", b"gcinfo", b"getmetatable", b"ipairs",
      b"load", b"loadstring", b"math", b"next", b"pairs", b"pcall", b"rawequal", b"rawget",
      b"rawset", b"redis", b"select", b"setmetatable", b"string", b"struct", b"table", b"tonumber",
      b"tostring", b"type", b"unpack", b"xpcall"]),
    ("return rawget(_G, 'redis') == redis", 1),
    ("return getmetatable('').__index == string", 1),
    ("return ('abc'):upper()", b"ABC"),
    (("local co = coroutine.create(function(a) coroutine.yield(a + 1) return 7 end) "
      "local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co) return {x, y}"), [2, 7]),
]


def _decoded(v, decode):
    if not decode:
        return v
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [_decoded(x, decode) for x in v]
    if isinstance(v, dict):
        return {_decoded(k, decode): _decoded(x, decode) for k, x in v.items()}
    if isinstance(v, set):
        return {_decoded(x, decode) for x in v}
    return v


def check(got, want, decode):
    """``want`` is the expected reply, or a tuple of the replies each protocol gives."""
    if isinstance(want, tuple):
        assert got in [_decoded(w, decode) for w in want]
    else:
        assert got == _decoded(want, decode)


@pytest.mark.parametrize("script,want", LUA_TO_REDIS, ids=[c[0][:50] for c in LUA_TO_REDIS])
def test_lua_to_redis(diff, script, want):
    got = ev(diff, script)
    check(got, want, diff.burner.connection_pool.connection_kwargs.get("decode_responses", False))


def test_keys_and_argv(diff):
    got = ev(diff, "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "a1", "a2", keys=("k1", "k2"))
    assert [s(x) if not isinstance(x, int) else x for x in got] == ["k1", "k2", "a1", "a2", 2, 2]


def test_resp3_types_under_setresp(diff):
    assert ev(diff, "redis.setresp(3) return {true, false}") in ([True, False], [1, 0])
    assert ev(diff, "redis.setresp(3) return redis.call('get', 'nosuch')") is None
    assert ev(diff, "redis.setresp(3) return {map = {a = 1}}") in ({b"a": 1}, {"a": 1}, [b"a", 1], ["a", 1])
    assert ev(diff, "redis.setresp(3) return {double = 1.5}") in (1.5, b"1.5", "1.5")
    assert ev(diff, "redis.setresp(3) return type(redis.call('get', 'nosuch'))") in (b"nil", "nil")
    assert ev(diff, "return type(redis.call('get', 'nosuch'))") in (b"boolean", "boolean")


# --- Redis -> Lua conversions ----------------------------------------------------------------

REDIS_TO_LUA = [
    ("return type(redis.call('set', 'k', 'v'))", b"table"),
    ("return redis.call('set', 'k', 'v').ok", b"OK"),
    ("redis.call('set', 'k', 'v') return redis.call('get', 'k')", b"v"),
    ("return {redis.call('get', 'nonexisting')}", [None]),
    ("return redis.call('exists', 'a', 'b')", 0),
    ("return type(redis.call('exists', 'a'))", b"number"),
    ("return redis.call('ping')", b"PONG"),
    ("return redis.call('echo', 'x')", b"x"),
    ("redis.call('set', 'n', 123) return redis.call('get', 'n')", b"123"),
    ("redis.call('set', 'n', 1e20) return redis.call('get', 'n')", b"1e+20"),
    ("redis.call('set', 'n', 1/0) return redis.call('get', 'n')", b"inf"),
    ("return redis.call('get', 1.5)", None),
    ("return {redis.call('set', 'k', 'v'), 'a'}", [b"OK", b"a"]),
    ("return redis.call('select', '1')", b"OK"),
    ("local e = redis.pcall('nosuchcmd') return {type(e), e.err}",
     [b"table", b"ERR Unknown Redis command called from script"]),
    ("return cjson.encode(redis.pcall('nosuchcmd'))",
     b'{"ignore_error_stats_update":true,"err":"ERR Unknown Redis command called from script"}'),
    ("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}",
     [b"false", b"ERR Unknown Redis command called from script"]),
    ("local ok, e = pcall(redis.call, 'get') return e",
     b"ERR Wrong number of args calling Redis command from script"),
    ("local ok, e = pcall(redis.call, 'get', {}) return e",
     b"ERR Lua redis lib command arguments must be strings or integers"),
    ("local ok, e = pcall(function() return x end) return e",
     b"user_script:1: Script attempted to access nonexistent global variable 'x'"),
    ("local ok, e = pcall(function() error('boom') end) return e", b"user_script:1: boom"),
    ("local ok, e = pcall(error, {err = 'x'}) return e", b"x"),
    ("local ok, e = xpcall(function() return redis.call('nosuch') end, function(m) return type(m) end) return e",
     b"table"),
    ("return cjson.encode(redis.error_reply('My Error'))", b'{"err":"My Error"}'),
    ("return cjson.encode(redis.error_reply('-XX My Error'))", b'{"err":"XX My Error"}'),
    ("return cjson.encode(redis.status_reply('FINE'))", b'{"ok":"FINE"}'),
]


@pytest.mark.parametrize("script,want", REDIS_TO_LUA, ids=[c[0][:50] for c in REDIS_TO_LUA])
def test_redis_to_lua(diff, script, want):
    got = ev(diff, script)
    check(got, want, diff.burner.connection_pool.connection_kwargs.get("decode_responses", False))


def test_select_in_script_does_not_change_caller(diff):
    ev(diff, "redis.call('select', '3') redis.call('set', 'x', 'in3')")
    assert diff("GET", "x") is None
    diff("SELECT", 3)
    assert s(diff("GET", "x")) == "in3"
    diff("SELECT", 0)


def test_script_starts_in_callers_db(diff):
    diff("SELECT", 2)
    ev(diff, "redis.call('set', 'y', 'v')")
    assert s(diff("GET", "y")) == "v"
    diff("SELECT", 0)
    assert diff("GET", "y") is None


def test_string_commands_from_lua(diff):
    need(diff, "incr", "append", "strlen")
    diff("SET", "s", "a")
    assert ev(diff, "return redis.call('append', KEYS[1], 'bc')", keys=("s",)) == 3
    assert ev(diff, "return redis.call('incr', KEYS[1])", keys=("n",)) == 1


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    "return x",
    "x = 1",
    "string.upper = nil",
    "rawset(_G, 'x', 1)",
    "setmetatable(_G, {})",
    "getmetatable('').__index.upper = 1",
    "getmetatable('').__index = nil",
    "table.insert(_G, 1)",
    "table.insert(redis, 1)",
    "redis.call = nil",
    "_G.redis = nil",
    "cjson.encode = nil",
    "math.pi = 3",
    "rawset(string, 'upper', 1)",
    "rawset(redis, 'call', 1)",
    "return loadstring('x = 5')()",
    "return type(debug)",
    "return type(os)",
    "return type(io)",
    "return type(print)",
    "return type(require)",
    "return type(package)",
    "return type(module)",
    "return type(dofile)",
    "return type(loadfile)",
    "return type(setfenv)",
    "return type(getfenv)",
    "return type(newproxy)",
    "error('plain')",
    "error({err = 'FOO bar'})",
    "error()",
    "local f = function() error('deep') end local g = function() f() end g()",
    "\n\nreturn x",
    "return redis.call('nosuch')",
    "return redis.call()",
    "return redis.call('get')",
    "return redis.call('get', {})",
    "return redis.call('get', nil)",
    "return redis.call('multi')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call('watch', 'x')",
    "return redis.call('config', 'get', 'x')",
    "return redis.call('echo', 'x', 'y')",
    "return redis.pcall('nosuch')",
    "return redis.pcall()",
    "return redis.pcall('get', {})",
    "return redis.pcall('multi')",
    "return redis.error_reply('My Error')",
    "return redis.error_reply('-XX My Error')",
    "return {err = 'My Error'}",
    "return {err = 'ERR x\\r\\ny'}",
    "return redis.sha1hex()",
    "return redis.setresp(4)",
    "return redis.setresp()",
    "return redis.log()",
    "return redis.log(redis.LOG_WARNING)",
    "return redis.log('x', 'y')",
    "return redis.log(99, 'y')",
    "return redis.set_repl(99)",
    "return redis.acl_check_cmd('nosuch')",
    "return syntax error here",
    "return (",
    "return 'unfinished",
    "return cjson.encode(function() end)",
    "return cjson.decode('x')",
    "return math.random(0)",
    "return bit.band()",
    "#!python\nreturn 1",
    "#!lua flags=bogus\nreturn 1",
    "#!lua name=x\nreturn 1",
    "#!lua\nreturn x",
    "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')",
]


@pytest.mark.parametrize("script", ERRORS, ids=[e[:50] for e in ERRORS])
def test_error_texts(diff, script):
    msg = diff.error("EVAL", script, 0)
    assert msg  # the diff fixture compared the exact text with redis-server


def test_error_text_shape_without_server():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    with pytest.raises(redis.exceptions.ResponseError) as ei:
        r.eval("return x", 0)
    sha = "03c387736bb5cc009ff35151572cee04677aa374"
    assert str(ei.value) == (
        "user_script:1: Script attempted to access nonexistent global variable 'x' "
        f"script: {sha}, on @user_script:1."
    )
    with pytest.raises(redis.exceptions.ResponseError, match=r"^WRONGTYPE x script: [0-9a-f]{40}, on @user_script:2\.$"):
        r.eval("\nerror({err = 'WRONGTYPE x'})", 0)


def test_wrongtype_from_redis_call(diff):
    need(diff, "lpush")
    diff("SET", "s", "x")
    msg = diff.error("EVAL", "return redis.call('lpush', 's', 'x')", 0)
    assert msg.startswith("WRONGTYPE Operation against a key holding the wrong kind of value script: ")
    assert msg.endswith(", on @user_script:1.")
    msg = diff.error("EVAL", "return redis.pcall('lpush', 's', 'x')", 0)
    assert msg == "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_eval_argument_errors(diff):
    assert diff.error("EVAL", "return 1", -1) == "Number of keys can't be negative"
    assert diff.error("EVAL", "return 1", "x") == "value is not an integer or out of range"
    assert diff.error("EVAL", "return 1", 2, "a") == "Number of keys can't be greater than number of args"
    assert diff.error("EVAL", "return 1") == "wrong number of arguments for 'eval' command"
    assert diff.error("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", 0) == "No matching script. Please use EVAL."
    assert diff.error("EVALSHA", "fff", 0) == "No matching script. Please use EVAL."
    assert diff.error("EVALSHA_RO", "ffffffffffffffffffffffffffffffffffffffff", 0) == "No matching script. Please use EVAL."


def test_noscript_is_redis_py_noscripterror(diff):
    with pytest.raises(redis.exceptions.NoScriptError):
        diff.burner.evalsha("ffffffffffffffffffffffffffffffffffffffff", 0)


# --- SCRIPT ----------------------------------------------------------------------------------


def test_script_load_exists_flush(diff):
    sha = s(diff("SCRIPT", "LOAD", "return 1"))
    assert sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
    assert diff("SCRIPT", "EXISTS", sha, "abc", sha.upper()) == [1, 0, 1]
    assert diff("EVALSHA", sha, 0) == 1
    assert diff("EVALSHA", sha.upper(), 0) == 1
    assert diff("EVALSHA_RO", sha, 0) == 1
    diff("SCRIPT", "FLUSH")
    assert diff("SCRIPT", "EXISTS", sha) == [0]
    diff("SCRIPT", "LOAD", "return 1")
    diff("SCRIPT", "FLUSH", "ASYNC")
    diff("SCRIPT", "FLUSH", "SYNC")
    assert diff("SCRIPT", "EXISTS", sha) == [0]


def test_eval_caches_the_script(diff):
    import hashlib

    sha = hashlib.sha1(b"return 'cached'").hexdigest()
    assert diff("SCRIPT", "EXISTS", sha) == [0]
    ev(diff, "return 'cached'")
    assert diff("SCRIPT", "EXISTS", sha) == [1]
    assert s(diff("EVALSHA", sha, 0)) == "cached"


def test_script_errors(diff):
    assert diff.error("SCRIPT", "LOAD", "return (").startswith(
        "Error compiling script (new function): user_script:1: ")
    assert diff.error("SCRIPT", "FLUSH", "BOGUS") == "SCRIPT FLUSH only support SYNC|ASYNC option"
    assert diff.error("SCRIPT", "FLUSH", "ASYNC", "SYNC") == "SCRIPT FLUSH only support SYNC|ASYNC option"
    assert diff.error("SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."
    assert diff.error("SCRIPT", "KILL", "x") == "wrong number of arguments for 'script|kill' command"
    assert diff.error("SCRIPT", "BOGUS") == "unknown subcommand 'BOGUS'. Try SCRIPT HELP."
    assert diff.error("SCRIPT", "EXISTS") == "wrong number of arguments for 'script|exists' command"
    assert diff.error("SCRIPT", "LOAD") == "wrong number of arguments for 'script|load' command"
    assert diff.error("SCRIPT") == "wrong number of arguments for 'script' command"
    assert len(diff("SCRIPT", "HELP")) == 17


def test_str_and_bytes_scripts(diff):
    assert diff.call(lambda c: c.eval(b"return 'b'", 0)) in (b"b", "b")
    assert diff.call(lambda c: c.eval("return 'é'", 0)) in ("é".encode(), "é")
    sha = diff.call(lambda c: c.script_load(b"return 7"))
    assert diff.call(lambda c: c.evalsha(sha, 0)) == 7


# --- read-only scripts -----------------------------------------------------------------------


def test_eval_ro(diff):
    diff("SET", "k", "v")
    assert s(diff("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "k")) == "v"
    msg = diff.error("EVAL_RO", "return redis.call('set', 'a', 'b')", 0)
    assert msg.startswith("Write commands are not allowed from read-only scripts. script: ")
    sha = s(diff("SCRIPT", "LOAD", "return redis.call('set', 'a', 'b')"))
    diff.error("EVALSHA_RO", sha, 0)
    assert diff("EXISTS", "a") == 0
    assert diff("EVALSHA", sha, 0) in (b"OK", "OK")


def test_shebang(diff):
    assert s(ev(diff, "#!lua\nreturn redis.call('set','a','b')")) == "OK"
    assert ev(diff, "#!lua flags=no-writes,allow-oom\nreturn 1") == 1
    assert ev(diff, "#!lua flags=\nreturn 2") == 2


# --- version-specific (Redis 7.2 behaviour, burner only) ---------------------------------------


def test_version_and_number_args_follow_7_2(diff):
    b = diff.burner
    assert b.eval("return redis.REDIS_VERSION", 0) in (b"7.2.4", "7.2.4")
    assert b.eval("return redis.REDIS_VERSION_NUM", 0) == 0x070204
    # Redis 7.0 sends 0.1 as "0.10000000000000001" (%.17g); 7.2 uses the shortest form.
    b.eval("redis.call('set', 'f', 0.1)", 0)
    assert b.get("f") in (b"0.1", "0.1")
    b.eval("redis.call('set', 'f', -0.0)", 0)
    assert b.get("f") in (b"0", "0", b"-0", "-0")


# --- libraries --------------------------------------------------------------------------------

CJSON = [
    "return cjson.encode({1, 2, 3, {}})",
    "return cjson.encode({})",
    "return cjson.encode({a = {b = {c = {1, 'x', true, false}}}})",
    "return cjson.encode({[1] = 'a', [2] = 'b'})",
    "return cjson.encode({1, nil, 3})",
    "return cjson.encode({[1] = 1, [20] = 2})",
    "return cjson.encode({[1.5] = 1})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode({x = 1})",
    "return cjson.encode({[3] = 1})",
    "return cjson.encode('a/b\"c\\\\d\\n\\r\\t\\b\\f\\1\\127')",
    "return cjson.encode('é ü 中')",
    "return cjson.encode(1.5)",
    "return cjson.encode(100)",
    "return cjson.encode(1e15)",
    "return cjson.encode(0.1)",
    "return cjson.encode(-0.000001)",
    "return cjson.encode(123456789012345)",
    "return cjson.encode(1/0)",
    "return cjson.encode(0/0)",
    "return cjson.encode(nil)",
    "return cjson.encode(true)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({cjson.null, 1})",
    "return cjson.encode(function() end)",
    "return cjson.encode()",
    "return cjson.encode({[{}] = 1})",
    "local t = {} t[1] = t return cjson.encode(t)",
    "return cjson.decode('[1,2,3]')",
    "return cjson.decode('{\"a\":1}').a",
    "return cjson.decode('\"\\\\u00e9\\\\u4e2d\"')",
    "return cjson.decode('\"\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"a\\\\/b\\\\n\"')",
    "return cjson.decode('[1.5, -2, 1e3, 0.1]')[1]",
    "return tostring(cjson.decode('[1.5, -2, 1e3, 0.1]')[4])",
    "return cjson.decode('null') == cjson.null",
    "return type(cjson.decode('null'))",
    "return cjson.encode(cjson.decode('[null, 1, null]'))",
    "return cjson.encode(cjson.decode('{\"a\":[1,{\"b\":null}]}'))",
    "return cjson.decode('true')",
    "return cjson.decode('  [ ]  ')[1]",
    "return #cjson.decode('[]')",
    "return cjson.decode('x')",
    "return cjson.decode('')",
    "return cjson.decode('[1,')",
    "return cjson.decode('[1 2]')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"\\\\q\"')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))",
    "return cjson.decode(string.rep('[', 100) .. string.rep(']', 100))[1][1][1] ~= nil",
    "return cjson.decode()",
    "return cjson.decode({})",
    "return cjson.decode(123)",
    "return cjson.encode(cjson.decode('{\"k\":\"v\"}'))",
]


@pytest.mark.parametrize("script", CJSON, ids=[c[:60] for c in CJSON])
def test_cjson(diff, script):
    try:
        got = ev(diff, script)
    except redis.exceptions.ResponseError:
        return  # the diff fixture compared the error text
    assert got is not None or "null" in script or "nil" in script or "decode" in script


def test_cjson_round_trips_null_and_nesting(diff):
    got = ev(diff, "return cjson.encode(cjson.decode(ARGV[1]))", '{"a":[1,2,{"b":null}],"c":"x"}')
    assert s(got) in ('{"a":[1,2,{"b":null}],"c":"x"}', '{"c":"x","a":[1,2,{"b":null}]}')


BIT = [
    "return bit.band(0xff, 0x0f)",
    "return bit.bor(1, 2, 4)",
    "return bit.bxor(5, 3)",
    "return bit.bnot(0)",
    "return bit.lshift(1, 31)",
    "return bit.lshift(1, 32)",
    "return bit.rshift(-1, 28)",
    "return bit.arshift(-256, 4)",
    "return bit.rol(0x12345678, 8)",
    "return bit.ror(0x12345678, 8)",
    "return bit.bswap(0x12345678)",
    "return bit.tobit(0xffffffff)",
    "return bit.tobit(2^32 + 5)",
    "return bit.tohex(255)",
    "return bit.tohex(255, 2)",
    "return bit.tohex(255, -4)",
    "return bit.tohex(-1)",
    "return bit.band('12', 4)",
    "return bit.band('x', 4)",
    "return bit.band()",
]


@pytest.mark.parametrize("script", BIT, ids=BIT)
def test_bit(diff, script):
    try:
        ev(diff, script)
    except redis.exceptions.ResponseError:
        pass


def test_bit_values(diff):
    assert ev(diff, "return {bit.band(0xff, 0x0f), bit.bnot(0), bit.tobit(0xffffffff), bit.lshift(1, 4)}") == [15, -1, -1, 16]
    assert s(ev(diff, "return bit.tohex(255, -4)")) == "00FF"


# --- the redis-py helpers ----------------------------------------------------------------------


def test_register_script_and_noscript_fallback(diff):
    def run(c):
        script = c.register_script("return {KEYS[1], ARGV[1]}")
        first = script(keys=["k"], args=["a"])
        c.script_flush()
        second = script(keys=["k"], args=["b"])  # NoScriptError -> SCRIPT LOAD -> EVALSHA
        return [first, second]

    got = diff.call(run)
    assert [[s(x) for x in pair] for pair in got] == [["k", "a"], ["k", "b"]]


def test_register_script_in_pipeline(diff):
    def run(c):
        c.script_flush()
        script = c.register_script("return redis.call('set', KEYS[1], ARGV[1])")
        with c.pipeline() as p:
            script(keys=["pk"], args=["pv"], client=p)
            p.get("pk")
            script(keys=["pk2"], args=["pv2"], client=p)
            return p.execute()

    got = diff.call(run)
    assert [s(x) if not isinstance(x, bool) else x for x in got] in (["OK", "pv", "OK"], [True, "pv", True])


def test_redis_py_lock(diff):
    def run(c):
        lock = c.lock("resource", timeout=10)
        out = [lock.acquire(blocking=False)]
        other = c.lock("resource", timeout=10)
        out.append(other.acquire(blocking=False))
        out.append(lock.extend(5))
        out.append(lock.locked())
        out.append(lock.owned())
        # releasing with another token fails
        other.local.token = b"not-the-owner"
        try:
            other.release()
            out.append("released")
        except redis.exceptions.LockNotOwnedError:
            out.append("not owned")
        lock.release()
        out.append(lock.locked())
        out.append(other.acquire(blocking=False))
        other.release()
        return out

    need(diff, "pexpire", "pttl")
    got = diff.call(run)
    assert got == [True, False, True, True, True, "not owned", False, True]


def test_docket_style_scripts(diff):
    need(diff, "hset", "hgetall")
    script = """
    for i = 1, #ARGV, 2 do
      redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1])
    end
    local flat = redis.call('hgetall', KEYS[1])
    local n = 0
    for i = 1, #flat, 2 do n = n + 1 end
    return n
    """
    assert ev(diff, script, "a", "1", "b", "2", "c", "3", keys=("job",)) == 3


def test_docket_zrangebyscore(diff):
    need(diff, "zadd", "zrangebyscore")
    ev(diff, "for i = 1, 10 do redis.call('zadd', KEYS[1], i, 'm' .. i) end", keys=("q",))
    got = ev(diff, "return redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 3)", 5, keys=("q",))
    assert [s(x) for x in got] == ["m1", "m2", "m3"]


def test_docket_xadd_with_unpack(diff):
    need(diff, "xadd", "xlen")
    got = ev(diff, "local id = redis.call('xadd', KEYS[1], '*', unpack(ARGV)) return type(id)",
             "f1", "v1", "f2", "v2", keys=("st",))
    assert s(got) == "string"
    assert diff("XLEN", "st") == 1


def test_time_is_frozen_in_scripts(diff):
    got = diff.burner.eval("local a = redis.call('time') for i = 1, 1e6 do end local b = redis.call('time') "
                           "return {a[1] == b[1] and a[2] == b[2]}", 0)
    assert got == [1]


# --- logging ---------------------------------------------------------------------------------


def test_redis_log_goes_to_python_logging(caplog):
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    with caplog.at_level(logging.DEBUG, logger="burner_redis.lua"):
        r.eval("redis.log(redis.LOG_WARNING, 'disk', 'full') redis.log(redis.LOG_NOTICE, 'n') "
               "redis.log(redis.LOG_DEBUG, 'd', nil, 1.5)", 0)
    got = [(rec.levelno, rec.getMessage()) for rec in caplog.records if rec.name == "burner_redis.lua"]
    assert got == [(logging.WARNING, "disk full"), (logging.INFO, "n"), (logging.DEBUG, "d 1.5")]


# --- time limit, BUSY, SCRIPT KILL -----------------------------------------------------------


def _busy_setup(threshold_ms=100):
    pool = BurnerSyncConnectionPool(Engine())
    a = redis.Redis(connection_pool=pool)
    b = redis.Redis(connection_pool=pool)
    a.config_set("busy-reply-threshold", str(threshold_ms))
    return a, b


def _run_in_thread(fn):
    box = {}

    def target():
        try:
            box["ok"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            box["err"] = exc

    t = threading.Thread(target=target)
    t.start()
    return t, box


def _wait_busy(b, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            b.ping()
        except redis.exceptions.ResponseError as exc:
            if str(exc).startswith("BUSY"):
                return str(exc)
            raise
        time.sleep(0.02)
    raise AssertionError("script never became busy")


BUSY_TEXT = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."


def test_busy_then_script_kill():
    a, b = _busy_setup()
    t, box = _run_in_thread(lambda: a.eval("while true do end", 0))
    try:
        msg = _wait_busy(b)
        assert msg == BUSY_TEXT
        # Refused before BUSY, as by Redis: unknown commands and wrong arity.
        with pytest.raises(redis.exceptions.ResponseError, match="^unknown command 'NOPE'"):
            b.execute_command("NOPE")
        with pytest.raises(redis.exceptions.ResponseError, match="^wrong number of arguments for 'get'"):
            b.execute_command("GET")
        with pytest.raises(redis.exceptions.ResponseError) as ei:
            b.execute_command("EXEC")
        assert str(ei.value) == "Transaction discarded because of: " + BUSY_TEXT
    finally:
        killed = b.script_kill()
    assert killed is True
    t.join(10)
    assert not t.is_alive()
    err = box["err"]
    assert isinstance(err, redis.exceptions.ResponseError)
    assert str(err).startswith("Script killed by user with SCRIPT KILL... script: ")
    assert b.ping() is True
    with pytest.raises(redis.exceptions.ResponseError, match="NOTBUSY"):
        b.script_kill()


def test_kill_is_not_swallowed_by_pcall_forever():
    a, b = _busy_setup()
    t, box = _run_in_thread(lambda: a.eval("while true do pcall(function() while true do end end) end", 0))
    _wait_busy(b)
    assert b.script_kill() is True
    t.join(10)
    assert not t.is_alive()
    assert "Script killed by user" in str(box["err"])


def test_script_that_wrote_is_unkillable():
    a, b = _busy_setup()
    t, box = _run_in_thread(
        lambda: a.eval("redis.call('set', 'w', '1') local t0 = redis.call('time') "
                       "local i = 0 while i < 3e7 do i = i + 1 end return i", 0))
    try:
        _wait_busy(b)
        with pytest.raises(redis.exceptions.ResponseError, match="^UNKILLABLE Sorry the script already executed write commands"):
            b.script_kill()
    finally:
        t.join(60)
    assert box.get("ok") == 30000000
    assert b.get("w") == b"1"


def test_short_scripts_do_not_trip_busy():
    a, b = _busy_setup(threshold_ms=5000)
    assert a.eval("local i = 0 while i < 1e5 do i = i + 1 end return i", 0) == 100000
    assert b.ping() is True


def test_memory_limit():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    r.config_set("lua-memory-limit", str(8 * 1024 * 1024))
    with pytest.raises(redis.exceptions.ResponseError, match="not enough memory"):
        r.eval("local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 100) .. i end return #t", 0)
    r.config_set("lua-memory-limit", "0")
    assert r.eval("return 1", 0) == 1


def test_atomic_against_other_threads():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    r.set("c", "0")
    script = r.register_script(
        "local v = tonumber(redis.call('get', KEYS[1])) redis.call('set', KEYS[1], v + 1) return v + 1")

    def work():
        for _ in range(200):
            script(keys=["c"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get("c") == b"800"


async def test_async_eval(r):
    assert await r.eval("return ARGV[1] .. KEYS[1]", 1, "k", "a") in (b"ak", "ak")
    sha = await r.script_load("return 5")
    assert await r.evalsha(sha, 0) == 5
    assert await r.script_exists(sha) == [True]


CMSGPACK = [
    "return cmsgpack.pack(1)",
    "return cmsgpack.pack(-1, -33, -200, -40000, -3000000000, 127, 200, 70000, 5000000000)",
    "return cmsgpack.pack(1.5, 0.1, -2.25)",
    "return cmsgpack.pack('abc', string.rep('x', 40), string.rep('y', 300))",
    "return cmsgpack.pack(true, false, nil)",
    "return cmsgpack.pack({1, 2, 3})",
    "return cmsgpack.pack({a = 1})",
    "return cmsgpack.pack({1, 2, nil, 4})",
    "return cmsgpack.pack({})",
    "return cmsgpack.pack({{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}})",
    "return cmsgpack.pack()",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, -5))}",
    "local t = cmsgpack.unpack(cmsgpack.pack({a = {1, 2}})) return t.a[2]",
    "return tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))",
    "return tostring(cmsgpack.unpack(cmsgpack.pack(1.5)))",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return cmsgpack.unpack('\\205')",
    "return cmsgpack.unpack('\\193')",
]


HEX = ("local function hex(v) if type(v) ~= 'string' then return v end "
       "return (v:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ")


def hexed(script):
    """Binary results as hex text, so decode_responses clients can compare them too."""
    return HEX + script.replace("return ", "return hex(", 1) + ")" if "pack(" in script.split("return ", 1)[-1][:16] else HEX + script


@pytest.mark.parametrize("script", CMSGPACK, ids=[c[:60] for c in CMSGPACK])
def test_cmsgpack(diff, script):
    try:
        ev(diff, hexed(script))
    except redis.exceptions.ResponseError:
        pass  # the diff fixture compared the error text


def test_cmsgpack_values(diff):
    assert s(ev(diff, hexed("return cmsgpack.pack({1, 2, 3})"))) == "93010203"
    assert ev(diff, "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, -5))}")[0] == 1


STRUCT = [
    "return struct.pack('>I2', 258)",
    "return struct.pack('<i4', -2)",
    "return struct.pack('bBhHlL', -1, 255, -2, 65535, -3, 4)",
    "return struct.pack('>d', 1.5)",
    "return struct.pack('<f', 0.5)",
    "return struct.pack('c3', 'abcdef')",
    "return struct.pack('c0', 'abcdef')",
    "return struct.pack('s', 'abc')",
    "return struct.pack('!4 b i', 1, 2)",
    "return struct.pack('x b', 7)",
    "return {struct.unpack('>I2', '\\1\\2')}",
    "return {struct.unpack('<i4', struct.pack('<i4', -2))}",
    "return {struct.unpack('b c0', '\\3abcd')}",
    "return {struct.unpack('s B', 'hi\\0\\9')}",
    "return {struct.unpack('>d', struct.pack('>d', 2.5))}",
    "return {struct.unpack('B', '\\1\\2', 2)}",
    "return struct.size('>I2 i d')",
    "return struct.size('!8 b d')",
    "return struct.size('s')",
    "return struct.pack('q', 1)",
    "return struct.pack('i33', 1)",
    "return struct.unpack('I4', 'ab')",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('!3 i', 1)",
]


@pytest.mark.parametrize("script", STRUCT, ids=[c[:60] for c in STRUCT])
def test_struct(diff, script):
    try:
        ev(diff, hexed(script))
    except redis.exceptions.ResponseError:
        pass  # the diff fixture compared the error text


def test_struct_values(diff):
    assert s(ev(diff, hexed("return struct.pack('>I2', 258)"))) == "0102"
    assert ev(diff, "return {struct.unpack('>I2', '\\1\\2')}") == [258, 3]


SANDBOX_ESCAPES = [
    # globals and libraries stay read-only however they are reached
    "local g = _G g.x = 1",
    "local mt = getmetatable(_G) mt.__index = nil",
    "local mt = getmetatable(_G) rawset(mt, '__index', nil)",
    "rawset(getmetatable(''), '__index', {})",
    "setmetatable(string, {})",
    "table.insert(string, 'x')",
    "local f = loadstring('redis = nil') f()",
    "local f = loadstring('rawset(_G, \"y\", 1)') f()",
    "coroutine.wrap(function() x = 1 end)()",
    "cjson.null = 1",
    "bit.band = nil",
    "KEYS = {}",
]


@pytest.mark.parametrize("script", SANDBOX_ESCAPES, ids=SANDBOX_ESCAPES)
def test_sandbox_escapes_are_refused(diff, script):
    msg = diff.error("EVAL", script, 0)
    assert "readonly table" in msg or "nonexistent global" in msg


def test_sandbox_leaves_no_trace(diff):
    for script in SANDBOX_ESCAPES:
        try:
            ev(diff, script)
        except redis.exceptions.ResponseError:
            pass
    assert s(ev(diff, "return type(rawget(_G, 'x'))")) == "nil"
    assert s(ev(diff, "return type(redis.call)")) == "function"
    assert ev(diff, "return bit.band(3, 1)") == 1
    assert ev(diff, "return select('#', unpack(KEYS))") == 0


def test_bytecode_is_refused():
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool())
    got = r.eval("local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), e}", 0)
    assert got == [b"nil", b"binary chunks are not allowed"]


def test_xread_block_is_refused_in_scripts(diff):
    need(diff, "xread", "xreadgroup")
    msg = diff.error("EVAL", "return redis.call('xread', 'BLOCK', 0, 'STREAMS', KEYS[1], '$')", 1, "nostream")
    assert msg.startswith("xread command is not allowed with BLOCK option from scripts script: ")
    diff.error("EVAL", "return redis.call('xreadgroup', 'GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', 's', '>')", 0)
    assert ev(diff, "return redis.call('xread', 'STREAMS', KEYS[1], '0')", keys=("nostream",)) is None
