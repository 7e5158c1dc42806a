"""Connection-level commands and the pool/connection contract with redis-py."""

import time

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import burner_client


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


def test_client_list_names_the_last_command_sent(diff):
    # CLIENT LIST / CLIENT INFO name the command the client sent last, as `parent|sub` for a
    # container command, and the one being answered counts: CLIENT INFO sees itself.
    def own(c):
        c.get("k")
        return c.client_info()["cmd"]

    assert diff.call(own) == "client|info"

    def after_exec(c):
        p = c.pipeline(transaction=True)
        p.set("k", "v").get("k")
        p.execute()
        entry = [e for e in c.client_list() if int(e["id"]) == c.client_id()]
        return entry[0]["cmd"], c.client_info()["cmd"]

    # The last command of a transaction is EXEC, not what it ran; CLIENT ID was sent after it.
    got = diff.call(after_exec)
    assert got == ("client|list", "client|info")


def test_client_list_idle_counts_from_the_last_command(served_engine):
    # A client that sent nothing for 2 s shows idle >= 2 while its age keeps counting from its
    # creation; one that just sent a command shows idle 0.
    if served_engine is None:
        engine = Engine()  # both clients on one engine, each with its own connection
        quiet, busy = (
            redis.Redis(connection_pool=BurnerSyncConnectionPool(engine, decode_responses=True)) for _ in "ab"
        )
    else:
        quiet, busy = (burner_client(served_engine, protocol=2, decode_responses=True) for _ in "ab")
    try:
        quiet_id = quiet.client_id()
        time.sleep(2.2)
        busy.ping()
        entries = {int(e["id"]): e for e in busy.client_list()}
        assert int(entries[quiet_id]["idle"]) >= 2
        assert entries[quiet_id]["cmd"] == "client|id"
        me = entries[busy.client_id()]
        assert int(me["idle"]) == 0 and me["cmd"] == "client|list"
        quiet.ping()
        assert int({int(e["id"]): e for e in busy.client_list()}[quiet_id]["idle"]) == 0
    finally:
        quiet.connection_pool.disconnect()
        busy.connection_pool.disconnect()


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
