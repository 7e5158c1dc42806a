"""Connection-level commands and the pool/connection contract with redis-py."""

import pytest
import redis
from burner_redis import BurnerSyncConnectionPool, Engine
from conftest import unix_client


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

    def seen_after_exec(c):
        # A watching pipeline keeps its own connection, from which the transaction's connection
        # is looked at: its last command is EXEC, not what the transaction ran.
        observer = c.pipeline()
        observer.watch("unrelated")
        try:
            tx = c.pipeline(transaction=True)
            tx_id, _ = tx.client_id().set("k", "v").execute()
            text = observer.execute_command("CLIENT", "LIST")  # no reply callback on this path
            text = text.decode() if isinstance(text, bytes) else text
            entries = [dict(f.split("=", 1) for f in line.split()) for line in text.splitlines()]
            return [e["cmd"] for e in entries if int(e["id"]) == tx_id]
        finally:
            observer.reset()

    assert diff.call(seen_after_exec) == ["exec"]


def test_client_list_idle_counts_from_the_last_command(tmp_path):
    # `idle` counts from a client's last command, `age` from its creation, for an in-process and
    # a socket client alike (a manual clock, so no sleeping).
    engine = Engine(manual_clock_ms=1_000_000)
    with engine.serve(unix_socket=str(tmp_path / "s.sock")) as srv:
        local, busy = (
            redis.Redis(connection_pool=BurnerSyncConnectionPool(engine, decode_responses=True)) for _ in "ab"
        )
        remote = unix_client(srv.unix_socket, decode_responses=True)
        try:
            quiet = {local.client_id(): "local", remote.client_id(): "remote"}
            engine.advance_clock(5_000)
            local.ping()
            engine.advance_clock(3_000)
            entries = {int(e["id"]): e for e in busy.client_list()}
            seen = {quiet[i]: (int(e["age"]), int(e["idle"]), e["cmd"]) for i, e in entries.items() if i in quiet}
            assert seen == {"local": (8, 3, "ping"), "remote": (8, 8, "client|id")}
            me = entries[busy.client_id()]
            assert (int(me["idle"]), me["cmd"]) == (0, "client|list")
        finally:
            for c in (local, busy, remote):
                c.connection_pool.disconnect()


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
