"""Connection-level commands and the pool/connection contract with redis-py."""

import pytest
import redis


def test_ping_echo_select(diff):
    assert diff("PING") in (True, b"PONG", "PONG")
    assert diff("ECHO", "hi") in (b"hi", "hi")
    assert diff("SELECT", 1) is True
    diff("SET", "k", "v")
    assert diff("SELECT", 0) is True
    assert diff("EXISTS", "k") == 0
    diff.error("SELECT", 16)
    diff.error("SELECT", "x")


def test_unknown_command_and_arity(diff):
    msg = diff.error("NOSUCHCMD", "a", "b")
    assert "unknown command 'NOSUCHCMD'" in msg
    assert diff.error("GET") == "wrong number of arguments for 'get' command"


def test_client_name_and_id(diff):
    assert diff.call(lambda c: c.client_setname("worker-1")) is True
    assert diff.call(lambda c: c.client_getname()) in (b"worker-1", "worker-1")
    diff.error("CLIENT", "SETNAME", "has space")
    assert isinstance(diff.burner.client_id(), int)


async def test_async_roundtrip(r):
    assert await r.set("k", "v") is True
    got = await r.get("k")
    assert got in (b"v", "v")
    async with r.pipeline(transaction=True) as p:
        p.set("a", "1").get("a")
        res = await p.execute()
    assert res[0] is True and res[1] in (b"1", "1")


def test_sync_roundtrip(rs):
    assert rs.set("k", "v") is True
    assert rs.get("k") in (b"v", "v")
    with pytest.raises(redis.exceptions.ResponseError):
        rs.execute_command("NOPE")
