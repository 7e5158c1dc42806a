"""Persistence numbers (not a test), all from one run:

- save and load of N small keys (``key:<i>`` -> ``value:<i>``), burner next to a private
  redis-server's SAVE and its startup load of the same data (unix socket, temp dir);
- SET throughput with the log under ``appendfsync everysec`` against no persistence (engines
  alternate, the medians are compared), plus ``always`` for reference;
- BGSAVE of N keys: how long commands of another process (a redis-py client on the engine's
  unix socket, alternating GET and SET on the saved keys) wait at most while it runs, next to
  the worst wait of the same client in an equal stretch before it.

Usage: python benchmarks/persistence_bench.py [N]   (default 1,000,000; release build)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHONPATH = os.path.join(os.path.dirname(HERE), "python")
sys.path.insert(0, PYTHONPATH)

import redis
from burner_redis import Engine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def fill(e: Engine, n: int) -> None:
    s = e.session()
    batch = 10_000
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        s.execute_many([("SET", f"key:{i}", f"value:{i}") for i in range(start, stop)])
        for _ in range(stop - start):
            s.read()
    s.close()


def cmd(e: Engine, *args):
    s = e.session()
    try:
        s.execute(args)
        return s.read()
    finally:
        s.close()


# --- redis-server --------------------------------------------------------------------------


def start_redis(d: str) -> subprocess.Popen:
    sock = os.path.join(d, "redis.sock")
    p = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", sock, "--dir", d, "--dbfilename", "dump.rdb",
         "--save", "", "--appendonly", "no", "--logfile", os.path.join(d, "redis.log"),
         "--enable-debug-command", "local"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    r = redis.Redis(unix_socket_path=sock)
    for _ in range(2000):
        try:
            r.ping()
            break
        except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
            time.sleep(0.005)
    else:
        raise RuntimeError("redis-server did not start")
    return p


def redis_figures(d: str, n: int) -> dict:
    rd = os.path.join(d, "redis")
    os.mkdir(rd)
    p = start_redis(rd)
    r = redis.Redis(unix_socket_path=os.path.join(rd, "redis.sock"))
    try:
        # DEBUG POPULATE makes exactly our data: key:<i> -> value:<i>.
        r.execute_command("DEBUG", "POPULATE", n, "key")
        assert r.dbsize() == n and r.get("key:7") == b"value:7"
        t = time.perf_counter()
        r.save()
        save_s = time.perf_counter() - t
        r.shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    p.wait(30)
    size = os.path.getsize(os.path.join(rd, "dump.rdb"))
    t = time.perf_counter()
    p = start_redis(rd)
    ready_s = time.perf_counter() - t
    try:
        r = redis.Redis(unix_socket_path=os.path.join(rd, "redis.sock"))
        assert r.dbsize() == n
        with open(os.path.join(rd, "redis.log")) as f:
            m = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
        load_s = float(m[-1]) if m else float("nan")
        r.shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    p.wait(30)
    return {"save_s": save_s, "load_s": load_s, "ready_s": ready_s, "bytes": size}


# --- burner --------------------------------------------------------------------------------


def burner_save_load(d: str, n: int) -> dict:
    path = os.path.join(d, "b.dat")
    e = Engine(persistence_path=path, save_rules="", appendfsync="no")
    fill(e, n)
    t = time.perf_counter()
    e.save()
    save_s = time.perf_counter() - t
    e.close()
    del e
    size = os.path.getsize(path)
    t = time.perf_counter()
    e = Engine(persistence_path=path, save_rules="")
    load_s = time.perf_counter() - t
    assert cmd(e, "DBSIZE") == n and cmd(e, "GET", "key:7") == b"value:7"
    e.close()
    return {"save_s": save_s, "load_s": load_s, "bytes": size}


def set_rate(e: Engine, n: int) -> float:
    s = e.session()
    t = time.perf_counter()
    for i in range(n):
        s.execute(("SET", f"t:{i}", "x"))
        s.read()
    rate = n / (time.perf_counter() - t)
    s.close()
    return rate


def throughput(d: str, rounds: int = 7, n: int = 200_000) -> dict:
    rates: dict[str, list[float]] = {"none": [], "everysec": []}
    for r in range(rounds):
        for label in ("none", "everysec") if r % 2 == 0 else ("everysec", "none"):
            kw = {} if label == "none" else {"persistence_path": os.path.join(d, f"t{r}.dat"), "save_rules": ""}
            e = Engine(**kw)
            rates[label].append(set_rate(e, n))
            if kw:
                e.close()
    e = Engine(persistence_path=os.path.join(d, "always.dat"), save_rules="", appendfsync="always")
    always = set_rate(e, 3000)
    e.close()
    none, every = statistics.median(rates["none"]), statistics.median(rates["everysec"])
    return {"none": none, "everysec": every, "cost": 1 - every / none, "always": always,
            "rounds": {k: [round(x) for x in v] for k, v in rates.items()}}


READER = """
import gc, json, random, sys, time
import redis
gc.disable()
r = redis.Redis(unix_socket_path=sys.argv[1])
n = int(sys.argv[2])
rng = random.Random(7)
samples = []
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[3])
i = 0
while time.monotonic() < end:
    k = f"key:{rng.randrange(n)}"
    t0 = time.monotonic()
    if i % 2:
        r.set(k, "changed")
    else:
        r.get(k)
    t1 = time.monotonic()
    samples.append((t0, t1 - t0))
    i += 1
print(json.dumps(samples))
"""


def bgsave_pause(d: str, n: int) -> dict:
    path = os.path.join(d, "p.dat")
    e = Engine(persistence_path=path, save_rules="", appendfsync="everysec")
    fill(e, n)
    e.save()
    sock = os.path.join(d, "p.sock")
    server = e.serve(unix_socket=sock)
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(READER), sock, str(n), "8"],
                              stdout=subprocess.PIPE, text=True, env=env)
    assert reader.stdout.readline().strip() == "ready"
    time.sleep(3)
    s = e.session()
    t0 = time.monotonic()
    s.execute(("BGSAVE",))
    s.read()
    cmd_s = time.monotonic() - t0
    while b"rdb_bgsave_in_progress:1" in cmd(e, "INFO", "persistence"):
        time.sleep(0.01)
    t1 = time.monotonic()
    samples = json.loads(reader.stdout.read())
    reader.wait(30)
    server.close()
    e.close()
    during = [lat for t, lat in samples if t0 <= t + lat and t <= t1]
    before = [lat for t, lat in samples if t0 - (t1 - t0) - 0.5 <= t < t0 - 0.5]
    return {"bgsave_s": t1 - t0, "command_ms": cmd_s * 1000, "max_during_ms": max(during) * 1000,
            "max_before_ms": max(before) * 1000 if before else float("nan"),
            "p99_during_ms": statistics.quantiles(during, n=100)[98] * 1000, "commands_during": len(during)}


def main() -> None:
    d = tempfile.mkdtemp()
    try:
        print(f"N = {N:,} small keys; load average {os.getloadavg()[0]:.2f} at start")
        b = burner_save_load(d, N)
        rs = redis_figures(d, N) if shutil.which("redis-server") else None
        print(f"save: burner {b['save_s']:.2f} s ({b['bytes'] / 1e6:.1f} MB)", end="")
        if rs:
            print(f"   redis-server SAVE {rs['save_s']:.2f} s ({rs['bytes'] / 1e6:.1f} MB)", end="")
        print()
        print(f"load: burner {b['load_s']:.2f} s (Engine open)", end="")
        if rs:
            print(f"   redis-server {rs['load_s']:.2f} s (its log), {rs['ready_s']:.2f} s start to ready", end="")
        print()
        t = throughput(d)
        print(f"SET rate: no persistence {t['none']:,.0f}/s, everysec {t['everysec']:,.0f}/s "
              f"-> log cost {t['cost'] * 100:.1f}% (medians of {len(t['rounds']['none'])}; {t['rounds']}); "
              f"always {t['always']:,.0f}/s")
        p = bgsave_pause(d, N)
        print(f"BGSAVE of {N:,} keys: {p['bgsave_s']:.2f} s in the background, the command itself "
              f"{p['command_ms']:.1f} ms; another process's GET/SET: worst wait {p['max_during_ms']:.1f} ms "
              f"during it (p99 {p['p99_during_ms']:.2f} ms, {p['commands_during']:,} commands), "
              f"{p['max_before_ms']:.1f} ms in an equal stretch before it")
        print(f"load average {os.getloadavg()[0]:.2f} at end")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
