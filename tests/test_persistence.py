"""Persistence: snapshots + append-only log, crash safety, damage handling, locking.

Crash tests run a child Python process that writes with ``appendfsync="always"``, reports each
acknowledged write on stdout, and is killed with SIGKILL at a random point (also while snapshots
and log rewrites run); every acknowledged write must be there after reloading.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine
from burner_redis.persistence import CorruptDataError, DataLockedError, PersistenceError
from redis.exceptions import ResponseError

PYTHONPATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
T0 = 1_700_000_000_000


def cmd(engine, *args):
    s = engine.session()
    try:
        s.execute(args)
        return s.read()
    finally:
        s.close()


def has_command(name: str) -> bool:
    try:
        cmd(Engine(), name)
    except ResponseError as e:
        return "unknown command" not in str(e)
    return True


def open_engine(path, *, wait_for_lock: float = 2.0, **kw):
    """Opens a persistent engine. A test that just dropped the previous engine on this path may
    find its lock held for a moment (its last reference can sit with a background thread), so
    the open is retried for up to ``wait_for_lock`` seconds."""
    kw.setdefault("save_rules", "")
    deadline = time.time() + wait_for_lock
    while True:
        try:
            return Engine(persistence_path=str(path), **kw)
        except DataLockedError:
            if time.time() >= deadline:
                raise
            time.sleep(0.01)


def run_child(code: str, *args, env_extra: dict | None = None, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, **(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, **kw,
    )


# --- round trips ---------------------------------------------------------------------------

TYPE_CASES = [
    ("string", [("SET", "k", "hello")], ("GET", "k"), b"hello"),
    ("int", [("SET", "k", "-12")], ("GET", "k"), b"-12"),
    ("hash", [("HSET", "k", "f", "v", "g", "w")], ("HGETALL", "k"), [b"f", b"v", b"g", b"w"]),
    ("set", [("SADD", "k", "a", "b")], ("SMEMBERS", "k"), None),
    ("list", [("RPUSH", "k", "a", "b", "a")], ("LRANGE", "k", "0", "-1"), [b"a", b"b", b"a"]),
    ("zset", [("ZADD", "k", "1.5", "a", "2", "b")], ("ZRANGE", "k", "0", "-1", "WITHSCORES"), [b"a", b"1.5", b"b", b"2"]),
]


@pytest.mark.parametrize("how", ["snapshot", "log"])
@pytest.mark.parametrize("name,writes,read,expected", TYPE_CASES, ids=[c[0] for c in TYPE_CASES])
def test_type_round_trip_with_ttl(tmp_path, how, name, writes, read, expected):
    for w in writes:
        if not has_command(w[0]):
            pytest.skip(f"{w[0]} is not in this build yet")
    path = tmp_path / "d.dat"
    e = open_engine(path, appendfsync="always")
    for w in writes:
        cmd(e, *w)
    has_ttl = has_command("PEXPIRE")
    if has_ttl:
        cmd(e, "PEXPIRE", "k", "100000")
    before = cmd(e, *read)
    if how == "snapshot":
        e.close()
    del e
    e = open_engine(path)
    after = cmd(e, *read)
    assert after == before
    if expected is not None:
        assert after == expected
    else:
        assert sorted(after) == [b"a", b"b"]
    if has_ttl:
        assert 0 < cmd(e, "PTTL", "k") <= 100000


def test_all_databases_and_close_then_reopen(tmp_path):
    path = tmp_path / "d.dat"
    e = open_engine(path)
    for db in range(16):
        s = e.session()
        s.execute(("SELECT", str(db)))
        s.read()
        s.execute(("SET", "k", f"db{db}"))
        s.read()
        s.close()
    e.close()
    with pytest.raises(ResponseError, match="refused"):
        cmd(e, "SET", "after-close", "1")
    e = open_engine(path)
    for db in range(16):
        s = e.session()
        s.execute(("SELECT", str(db)))
        s.read()
        s.execute(("GET", "k"))
        assert s.read() == f"db{db}".encode()


def test_expiry_across_restarts_with_a_manual_clock(tmp_path):
    if not has_command("PEXPIRE"):
        pytest.skip("PEXPIRE is not in this build yet")
    path = tmp_path / "d.dat"
    e = open_engine(path, manual_clock_ms=T0)
    cmd(e, "SET", "short", "1")
    cmd(e, "PEXPIRE", "short", "1000")
    cmd(e, "SET", "long", "1")
    cmd(e, "PEXPIRE", "long", "100000")
    del e  # from the log: the relative TTLs replay at the time they were given
    e = open_engine(path, manual_clock_ms=T0 + 500)
    assert cmd(e, "PTTL", "short") == 500
    e.close()
    e = open_engine(path, manual_clock_ms=T0 + 2000)
    assert cmd(e, "EXISTS", "short") == 0
    assert cmd(e, "PTTL", "long") == 98000


# --- redis-py and pools -----------------------------------------------------------------------


async def test_async_pool_persists_and_closing_the_pool_saves(tmp_path):
    path = str(tmp_path / "d.dat")
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(persistence_path=path, appendfsync="everysec", save_rules=""))
    await r.set("a", "1")
    assert await r.save() is True
    t = await r.lastsave()
    assert abs(t.timestamp() - time.time()) < 5
    await r.set("b", "2")
    await r.connection_pool.aclose()
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(persistence_path=path))
    assert await r.mget("a", "b") == [b"1", b"2"] if has_command("MGET") else await r.get("b") == b"2"
    await r.connection_pool.aclose()


def test_sync_pool_bgsave_and_export(tmp_path):
    path = str(tmp_path / "d.dat")
    pool = BurnerSyncConnectionPool(persistence_path=path, save_rules="")
    r = redis.Redis(connection_pool=pool)
    r.set("a", "1")
    assert r.bgsave()
    for _ in range(200):
        if not pool.engine.lastsave < 0 and os.path.exists(path + ".aof.3"):
            break
        time.sleep(0.01)
    with pytest.raises(ResponseError):
        r.execute_command("SAVE", "extra")
    export = str(tmp_path / "copy.dat")
    assert pool.save(export) is True
    pool.disconnect()
    e = open_engine(export)
    assert cmd(e, "GET", "a") == b"1"


def test_bgsave_writes_the_state_of_its_instant_while_writes_race_it(tmp_path):
    """Everything written after BGSAVE replied (overwrites, deletes, TTLs, a FLUSHDB, SWAPDB)
    is absent from the snapshot; the snapshot plus the log still give the final state."""
    import shutil

    path = tmp_path / "d.dat"
    e = open_engine(path, appendfsync="no")
    s = e.session()
    n = 200_000
    for start in range(0, n, 10_000):
        s.execute_many([("SET", f"k{i}", f"v{i}") for i in range(start, start + 10_000)])
        for _ in range(10_000):
            s.read()
    cmd(e, "HSET", "h", "f", "1")
    s.execute(("BGSAVE",))
    assert s.read() == b"Background saving started"
    raced = 0
    while b"rdb_bgsave_in_progress:1" in cmd(e, "INFO", "persistence"):
        # Overwrites in the lower half, deletes in the upper half, a TTL, a hash field, new keys.
        i = (raced * 50) % (n // 2)
        batch = [("SET", f"k{j}", "new") for j in range(i, i + 50)]
        batch += [("DEL", f"k{n - 1 - i}"), ("PEXPIRE", f"k{i + 1}", "100000"), ("HSET", "h", "f", "2"), ("SET", f"fresh{raced}", "x")]
        s.execute_many(batch)
        for _ in batch:
            s.read()
        raced += 1
    assert raced > 0, "the save ended before any write raced it"
    cmd(e, "SWAPDB", "0", "1")
    cmd(e, "FLUSHDB")
    probe = [("GET", f"k{j}") for j in range(0, n, 97)] + [("HGET", "h", "f"), ("DBSIZE",), ("GET", f"k{n - 1}")]

    def read_probe(engine):
        ps = engine.session()
        ps.execute(("SELECT", "1"))
        ps.read()
        ps.execute_many(probe)
        return [ps.read() for _ in probe]

    final = read_probe(e)
    assert final[-1] is None and final[-3] == b"2"
    # The snapshot alone (no log): a copy opened without the append-only log.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(path, alone / "d.dat")
    snap = open_engine(alone / "d.dat", appendonly=False)
    assert cmd(snap, "DBSIZE") == n + 1
    ss = snap.session()
    ss.execute_many([("GET", f"k{j}") for j in range(n)])
    got = [ss.read() for _ in range(n)]
    assert [j for j, v in enumerate(got) if v != f"v{j}".encode()] == []
    assert cmd(snap, "HGET", "h", "f") == b"1" and cmd(snap, "TTL", "k1") == -1
    snap.close()
    # Snapshot plus log: the state after everything.
    del s
    e.close()
    del e
    e = open_engine(path)
    assert cmd(e, "DBSIZE") == 0
    assert read_probe(e) == final


def test_save_rules_snapshot_on_schedule(tmp_path):
    path = tmp_path / "d.dat"
    e = open_engine(path, save_rules="1 1")
    first = os.path.getmtime(path)
    gen_before = sorted(p.name for p in tmp_path.glob("d.dat.aof.*"))
    time.sleep(0.05)
    cmd(e, "SET", "a", "1")
    deadline = time.time() + 5
    while time.time() < deadline and sorted(p.name for p in tmp_path.glob("d.dat.aof.*")) == gen_before:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.glob("d.dat.aof.*")) != gen_before
    deadline = time.time() + 5
    while time.time() < deadline and os.path.getmtime(path) == first:
        time.sleep(0.05)
    assert os.path.getmtime(path) > first


def test_atexit_saves_a_pool_owned_engine(tmp_path):
    path = tmp_path / "d.dat"
    p = run_child(
        """
        import sys, redis
        from burner_redis import BurnerSyncConnectionPool
        r = redis.Redis(connection_pool=BurnerSyncConnectionPool(persistence_path=sys.argv[1], appendfsync="no", save_rules=""))
        r.set("x", "42")
        """,
        path,
    )
    assert p.wait(30) == 0, p.stderr.read()
    # The final save folded the log: generation 2 is the live log, and the snapshot alone has x.
    assert (tmp_path / "d.dat.aof.2").exists() and not (tmp_path / "d.dat.aof.1").exists()
    e = open_engine(path)
    assert cmd(e, "GET", "x") == b"42"


def test_atexit_saves_an_engine_made_directly(tmp_path):
    path = tmp_path / "d.dat"
    p = run_child(
        """
        import sys
        from burner_redis import Engine
        e = Engine(persistence_path=sys.argv[1], appendfsync="no", save_rules="")
        s = e.session()
        s.execute(("SET", "x", "42"))
        assert s.read() == b"OK"
        dropped = Engine(persistence_path=sys.argv[1] + "-other", save_rules="")
        del dropped  # a dropped engine is not kept alive (or saved) by the exit registry
        """,
        path,
        env_extra={"PYTHONWARNINGS": "error"},
    )
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert err == "", f"the exit save printed something: {err}"
    assert (tmp_path / "d.dat.aof.2").exists() and not (tmp_path / "d.dat.aof.1").exists()
    e = open_engine(path)
    assert cmd(e, "GET", "x") == b"42"


# --- crash safety -----------------------------------------------------------------------------

WRITER = """
import sys, time
from burner_redis import Engine
path, start, rewrite, fsync = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
e = Engine(persistence_path=path, appendfsync=fsync, save_rules="",
           auto_rewrite_min_size=4096 if rewrite else 1 << 40, auto_rewrite_percentage=10)
s = e.session()
i = start
while True:
    s.execute(("SET", f"k{i}", f"v{i}"))
    assert s.read() == b"OK"
    # CLOCK_MONOTONIC is system-wide on Linux: the parent compares it with its kill time.
    print(i, time.monotonic(), flush=True)
    if rewrite and i % 50 == 0:
        s.execute(("BGSAVE",))
        try:
            s.read()
        except Exception:
            pass
    i += 1
"""

#: What kill -9 may cost under each policy: nothing under always, about a second under everysec.
LOSS_BOUND = {"always": 0.0, "everysec": 1.0}


@pytest.mark.parametrize("fsync", ["always", "everysec"])
@pytest.mark.parametrize("rewrite", [False, True], ids=["plain", "mid-rewrite"])
def test_kill_9_loses_at_most_what_the_fsync_policy_allows(tmp_path, rewrite, fsync):
    """The reloaded keys are always a prefix of the acknowledged ones (no gaps, nothing torn);
    under ``always`` every acknowledged write is there, under ``everysec`` every write
    acknowledged more than a second before the kill."""
    path = tmp_path / "d.dat"
    rng = random.Random(1234 + rewrite + 2 * (fsync == "always"))
    present = -1  # k0..k{present} survived the rounds so far
    for _ in range(5):
        p = run_child(WRITER, path, present + 1, int(rewrite), fsync)
        stop_after = rng.randint(20, 400 if fsync == "always" else 4000)
        acks = {}
        for line in p.stdout:
            i, t = line.split()
            acks[int(i)] = float(t)
            if len(acks) >= stop_after:
                break
        killed_at = time.monotonic()
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        # Lines the child printed before dying were acknowledged too (a line cut short by the
        # kill is left out: its digits may be cut too).
        rest = p.stdout.read().split("\n")[:-1]
        for line in rest:
            i, t = line.split()
            acks[int(i)] = float(t)
        assert acks, p.stderr.read()
        e = open_engine(path)
        s = e.session()
        top = max(acks)
        s.execute_many([("GET", f"k{i}") for i in range(top + 1)])
        got = [s.read() for _ in range(top + 1)]
        s.close()
        del s, e
        kept = [v == f"v{i}".encode() for i, v in enumerate(got)]
        survived = kept.index(False) - 1 if False in kept else top
        assert not any(kept[survived + 1:]), "the log lost a write but kept a later one"
        assert survived >= present, "writes of an earlier round were lost"
        must_have = [i for i, t in acks.items() if t <= killed_at - LOSS_BOUND[fsync]]
        lost = [i for i in must_have if i > survived]
        assert not lost, f"acknowledged writes lost under {fsync}: {lost[:10]}"
        present = survived

# --- damage -----------------------------------------------------------------------------------


def small_snapshot(tmp_path):
    path = tmp_path / "d.dat"
    e = open_engine(path, appendonly=False)
    cmd(e, "SET", "a", "1")
    cmd(e, "SET", "b", "two")
    e.close()
    return path


def test_corruption_at_every_byte_is_an_error_naming_file_and_offset(tmp_path):
    path = small_snapshot(tmp_path)
    good = path.read_bytes()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0xA5
        path.write_bytes(bad)
        with pytest.raises(CorruptDataError) as ei:
            open_engine(path, appendonly=False)
        assert "d.dat" in str(ei.value) and "offset" in str(ei.value)
        assert path.read_bytes() == bad, "a damaged snapshot must never be rewritten"
    for n in range(len(good)):
        path.write_bytes(good[:n])
        with pytest.raises(CorruptDataError):
            open_engine(path, appendonly=False)


def test_start_on_damage_moves_the_file_aside(tmp_path, caplog):
    path = small_snapshot(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="burner_redis.persistence"):
        e = open_engine(path, start_on_damage=True)
    assert any("moved damaged file" in r.getMessage() for r in caplog.records)
    aside = list(tmp_path.glob("d.dat.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)
    assert cmd(e, "DBSIZE") == 0


def test_truncated_log_tail_loads_prefix_with_a_logged_warning(tmp_path, caplog):
    path = tmp_path / "d.dat"
    e = open_engine(path, appendfsync="always")
    for i in range(10):
        cmd(e, "SET", f"k{i}", "v")
    del e
    log = tmp_path / "d.dat.aof.1"
    data = log.read_bytes()
    log.write_bytes(data[:-5])
    with caplog.at_level(logging.WARNING, logger="burner_redis.persistence"):
        e = open_engine(path)
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert cmd(e, "EXISTS", *[f"k{i}" for i in range(9)]) == 9
    assert cmd(e, "EXISTS", "k9") == 0
    del e
    # Damage in the middle is an error.
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 0xFF
    log.write_bytes(data)
    with pytest.raises(CorruptDataError, match=r"aof\.1"):
        open_engine(path)


def frame_starts(data: bytes) -> list[int]:
    """Offsets of the frames of a log or snapshot file (12-byte file header, then frames of
    [u32 length][u32 crc][payload])."""
    starts, pos = [], 12
    while pos + 8 <= len(data):
        starts.append(pos)
        pos += 8 + int.from_bytes(data[pos:pos + 4], "little")
    return starts


def _log_with_keys(tmp_path, n, big_last=False):
    path = tmp_path / "d.dat"
    e = open_engine(path, appendfsync="always")
    for i in range(n):
        cmd(e, "SET", f"k{i}", "v")
    if big_last:
        cmd(e, "SET", "big", "x" * 6000)
    del e
    return path, tmp_path / "d.dat.aof.1"


def test_zero_filled_log_tail_is_a_torn_tail(tmp_path, caplog):
    # What an OS crash can leave: the log's new size reached the disk, its last blocks did not.
    path, log = _log_with_keys(tmp_path, 10)
    log.write_bytes(log.read_bytes() + bytes(8192))
    with caplog.at_level(logging.WARNING, logger="burner_redis.persistence"):
        e = open_engine(path)
    assert any("zeros" in r.getMessage() for r in caplog.records)
    assert cmd(e, "EXISTS", *[f"k{i}" for i in range(10)]) == 10
    # The zeros were cut off: appends continue a valid log.
    cmd(e, "SET", "after", "1")
    del e
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="burner_redis.persistence"):
        e = open_engine(path)
    assert not caplog.records
    assert cmd(e, "GET", "after") == b"1"


def test_zeros_from_a_block_boundary_inside_the_last_record_are_a_torn_tail(tmp_path, caplog):
    path, log = _log_with_keys(tmp_path, 3, big_last=True)
    data = log.read_bytes()
    assert len(data) > 4096 + 100
    log.write_bytes(data[:4096] + bytes(len(data) - 4096))
    with caplog.at_level(logging.WARNING, logger="burner_redis.persistence"):
        e = open_engine(path)
    assert any("zeros" in r.getMessage() for r in caplog.records)
    assert cmd(e, "EXISTS", "k0", "k1", "k2") == 3
    assert cmd(e, "EXISTS", "big") == 0


@pytest.mark.parametrize("where", ["between records", "after the last record"])
def test_zeros_followed_by_data_are_corruption(tmp_path, where):
    path, log = _log_with_keys(tmp_path, 10)
    data = log.read_bytes()
    starts = frame_starts(data)
    assert len(starts) == 11  # the header frame, then one per SET
    if where == "between records":
        bad = data[:starts[8]] + bytes(4096) + data[starts[8]:]
    else:
        bad = data + bytes(4096) + data[starts[-1]:]
    log.write_bytes(bad)
    with pytest.raises(CorruptDataError, match=r"aof\.1"):
        open_engine(path)
    assert log.read_bytes() == bad, "a damaged log must never be rewritten"


def test_second_opener_gets_a_lock_error_in_process_and_across_processes(tmp_path):
    path = tmp_path / "d.dat"
    e = open_engine(path)
    with pytest.raises(DataLockedError, match="already in use"):
        open_engine(path)
    p = run_child(
        """
        import sys
        from burner_redis import Engine
        from burner_redis.persistence import DataLockedError
        try:
            Engine(persistence_path=sys.argv[1])
        except DataLockedError as e:
            print("locked:", e)
        """,
        path,
    )
    out, err = p.communicate(timeout=30)
    assert out.startswith("locked:"), err
    e.close()
    open_engine(path)


def test_disk_full_under_always_is_misconf_and_recovers(tmp_path):
    # RLIMIT_FSIZE makes writes past the limit fail (EFBIG) like a full disk would (ENOSPC).
    path = tmp_path / "d.dat"
    p = run_child(
        """
        import json, resource, signal, sys
        from burner_redis import Engine
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        e = Engine(persistence_path=sys.argv[1], appendfsync="always", save_rules="")
        s = e.session()
        def run(*a):
            s.execute(a)
            try:
                return repr(s.read())
            except Exception as ex:
                return "ERR:" + str(ex)
        out = {"before": run("SET", "ok", "1")}
        size = __import__("os").path.getsize(sys.argv[1] + ".aof.1")
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))
        out["full"] = run("SET", "big", "x" * 100)
        out["refused"] = run("SET", "other", "1")
        out["read"] = run("GET", "ok")
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        import time
        for _ in range(50):
            r = run("SET", "later", "1")
            if not r.startswith("ERR:"):
                break
            time.sleep(0.1)
        out["recovered"] = r
        print(json.dumps(out))
        """,
        path,
    )
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    res = json.loads(out)
    assert res["before"] == "b'OK'"
    assert res["full"].startswith("ERR:MISCONF Errors writing to the AOF file: File too large")
    assert res["refused"].startswith("ERR:MISCONF")
    assert res["read"] == "b'1'"
    assert res["recovered"] == "b'OK'"
    e = open_engine(path)
    # The write that got an error was retried once space returned; nothing acknowledged is lost.
    assert cmd(e, "GET", "ok") == b"1" and cmd(e, "GET", "later") == b"1"


def test_bad_options_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        Engine(persistence_path=str(tmp_path / "x"), appendfsync="sometimes")
    with pytest.raises(ValueError):
        Engine(persistence_path=str(tmp_path / "x"), save_rules="10")
    assert issubclass(CorruptDataError, PersistenceError) and issubclass(PersistenceError, redis.RedisError)


def test_script_cache_survives_a_snapshot(tmp_path):
    path = tmp_path / "s.dat"
    e = open_engine(path)
    sha = cmd(e, "SCRIPT", "LOAD", "return 'hi'")
    e.close()
    del e
    e = open_engine(path)
    assert cmd(e, "SCRIPT", "EXISTS", sha) == [1]
    assert cmd(e, "EVALSHA", sha, "0") == b"hi"
