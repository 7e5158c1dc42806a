"""Memory, idle CPU and expiry at scale: burner side by side with redis-server, in one run.

Each workload runs in a fresh process (a fresh burner engine in a child Python, a fresh private
redis-server on a unix socket), loads its data with the same Lua script on both sides, and reports:

  rss        resident memory growth of the process while loading (MB)
  used       INFO memory used_memory growth (MB)
  ratio      burner rss / redis rss

The `small*` workloads store n/5 keys, each a 5-element hash, sorted set or list (the shape of
pydocket's per-task records).

plus, for the `ttl` workload (1M string keys, half with a TTL far in the future), the CPU the idle
process spends over a few seconds, and for the `expire` workload (1M keys with 1-2 s TTLs, never
read) how long after the last deadline DBSIZE reaches 0; and the per-operation cost of sorted-set
commands on a 1M-member set against a 1k-member one, measured both at the engine's session level
(no redis-py on top: the engine's own scaling) and through a redis-py client (what a user sees).

Usage: python benchmarks/memory.py [--n 1000000] [--only string,hash,...]
Machines are noisy: compare within a row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.join(HERE, "..", "python")

LOAD = """
local kind, first, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = first, first + n - 1 do
  if kind == 'string' then
    redis.call('SET', 'key:' .. i, 'val:' .. i)
  elseif kind == 'ttl' then
    if i % 2 == 0 then
      redis.call('SET', 'key:' .. i, 'val:' .. i, 'EX', 1000000)
    else
      redis.call('SET', 'key:' .. i, 'val:' .. i)
    end
  elseif kind == 'expire' then
    redis.call('SET', 'key:' .. i, 'val:' .. i, 'PX', 1000 + (i * 7919) % 1000)
  elseif kind == 'hash' then
    redis.call('HSET', 'h', 'field:' .. i, 'val:' .. i)
  elseif kind == 'set' then
    redis.call('SADD', 's', 'member:' .. i)
  elseif kind == 'zset' then
    redis.call('ZADD', 'z', i, 'member:' .. i)
  elseif kind == 'smallhash' then
    if i % 5 == 0 then
      local k = 'h:' .. i
      redis.call('HSET', k, 'state', 'queued', 'when', i, 'function', 'task_' .. i, 'attempt', '1', 'key', k)
    end
  elseif kind == 'smallzset' then
    if i % 5 == 0 then
      redis.call('ZADD', 'z:' .. i, 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e')
    end
  elseif kind == 'smalllist' then
    if i % 5 == 0 then
      redis.call('RPUSH', 'l:' .. i, 'a', 'bb', 'ccc', 'dddd', 'eeeee')
    end
  end
end
return n
"""

WORKLOADS = ["string", "hash", "set", "zset", "smallhash", "smallzset", "smalllist", "ttl", "expire"]


def rss_kb(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def used_memory(info: dict) -> int:
    return int(info["used_memory"])


def run_workload(call, kind: str, n: int, pid, idle_s: float) -> dict:
    """Loads `kind` through `call(*args)` (a synchronous command function) and measures."""
    out: dict = {"kind": kind}
    before_rss = rss_kb(pid)
    before_used = used_memory(call("INFO", "memory", parse=True))
    chunk = 50_000
    t0 = time.perf_counter()
    for first in range(0, n, chunk):
        call("EVAL", LOAD, 0, kind, first, min(chunk, n - first))
    load_end = time.perf_counter()
    out["load_s"] = load_end - t0
    if kind == "expire":
        last_deadline = load_end + 2.0
        while True:
            size = call("DBSIZE")
            now = time.perf_counter()
            if size == 0:
                out["zero_after_deadline_s"] = now - last_deadline
                break
            if now - last_deadline > 30:
                out["zero_after_deadline_s"] = None
                out["left"] = size
                break
            time.sleep(0.05)
        return out
    out["rss_mb"] = (rss_kb(pid) - before_rss) / 1024
    out["used_mb"] = (used_memory(call("INFO", "memory", parse=True)) - before_used) / 2**20
    if kind == "ttl":
        time.sleep(0.5)
        c0, w0 = cpu_s(pid), time.perf_counter()
        time.sleep(idle_s)
        out["idle_cpu_pct"] = 100 * (cpu_s(pid) - c0) / (time.perf_counter() - w0)
    return out


def parse_info(raw) -> dict:
    if isinstance(raw, (bytes, str)):
        text = raw.decode() if isinstance(raw, bytes) else raw
        d = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                d[k] = v
        return d
    return raw


# ---------------------------------------------------------------- burner child

def burner_child(kind: str, n: int, idle_s: float) -> None:
    sys.path.insert(0, PYTHON_SRC)
    from burner_redis import Engine

    engine = Engine()
    session = engine.session()

    def call(*args, parse=False):
        session.execute(tuple(args))
        r = session.read()
        if isinstance(r, Exception):
            raise r
        return parse_info(r) if parse else r

    call("PING")
    print(json.dumps(run_workload(call, kind, n, "self", idle_s)))


def zset_cost(n_big: int) -> dict:
    """ns per command at the session level on a 1k and an n_big member sorted set."""
    sys.path.insert(0, PYTHON_SRC)
    from burner_redis import Engine

    engine = Engine()
    session = engine.session()

    def call(*args):
        session.execute(tuple(args))
        return session.read()

    for name, size in (("small", 1000), ("big", n_big)):
        for first in range(0, size, 50_000):
            call("EVAL", LOAD.replace("'z'", f"'{name}'"), 0, "zset", first, min(50_000, size - first))
    import random

    rnd = random.Random(7)
    ops = {
        "ZSCORE": lambda key, size: ("ZSCORE", key, f"member:{rnd.randrange(size)}"),
        "ZRANK": lambda key, size: ("ZRANK", key, f"member:{rnd.randrange(size)}"),
        "ZADD": lambda key, size: ("ZADD", key, rnd.randrange(size) + 0.5, f"member:{rnd.randrange(size)}"),
        "ZRANGEBYSCORE": lambda key, size: (
            "ZRANGEBYSCORE", key, (s := rnd.randrange(size)), s + 10, "LIMIT", 0, 10),
        "ZRANGE rank": lambda key, size: ("ZRANGE", key, (s := rnd.randrange(size)), s + 9),
    }
    import redis
    from burner_redis import BurnerSyncConnectionPool

    client = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine))
    result = {}
    reps = 20000
    for op, make in ops.items():
        row = {}
        for name, size in (("small", 1000), ("big", n_big)):
            cmds = [make(name, size) for _ in range(reps)]
            t0 = time.perf_counter()
            for c in cmds:
                session.execute(c)
                session.read()
            row[name] = (time.perf_counter() - t0) / reps * 1e9
            t0 = time.perf_counter()
            for c in cmds[: reps // 4]:
                client.execute_command(*c)
            row[name + "_py"] = (time.perf_counter() - t0) / (reps // 4) * 1e9
        result[op] = row
    return result


# ---------------------------------------------------------------- redis-server side

def start_redis(tmp: str):
    sock = os.path.join(tmp, "redis.sock")
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
         "--dir", tmp, "--lua-time-limit", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.02)
    import redis

    r = redis.Redis(unix_socket_path=sock, protocol=2)
    for _ in range(100):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, r


def redis_workload(kind: str, n: int, idle_s: float) -> dict:
    tmp = tempfile.mkdtemp()
    proc, r = start_redis(tmp)
    try:
        def call(*args, parse=False):
            if parse:
                return r.info(args[1])
            return r.execute_command(*args)

        return run_workload(call, kind, n, proc.pid, idle_s)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", default=",".join(WORKLOADS + ["zsetcost"]))
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        if args.child == "zsetcost":
            print(json.dumps(zset_cost(args.n)))
        else:
            burner_child(args.child, args.n, args.idle)
        return
    have_redis = shutil.which("redis-server") is not None
    rows = []
    for kind in args.only.split(","):
        if kind == "zsetcost":
            continue
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(args.n),
                              "--idle", str(args.idle)], check=True, capture_output=True, text=True)
        b = json.loads(out.stdout.strip().splitlines()[-1])
        r = redis_workload(kind, args.n, args.idle) if have_redis else {}
        rows.append((kind, b, r))
        print(kind, "burner", b, "redis", r, flush=True)
    print()
    print(f"n = {args.n:,}; load average {os.getloadavg()[0]:.1f}")
    print("| workload | burner rss MB | burner used MB | redis rss MB | redis used MB | rss ratio |")
    print("|---|---|---|---|---|---|")
    for kind, b, r in rows:
        if "rss_mb" not in b:
            continue
        ratio = b["rss_mb"] / r["rss_mb"] if r.get("rss_mb") else float("nan")
        print(f"| {kind} | {b['rss_mb']:.1f} | {b['used_mb']:.1f} | {r.get('rss_mb', float('nan')):.1f} | "
              f"{r.get('used_mb', float('nan')):.1f} | {ratio:.2f} |")
    for kind, b, r in rows:
        if kind == "ttl":
            print(f"idle CPU with {args.n:,} keys (half with a TTL): burner {b['idle_cpu_pct']:.3f}% of a core, "
                  f"redis {r.get('idle_cpu_pct', float('nan')):.3f}%")
        if kind == "expire":
            print(f"{args.n:,} keys with 1-2 s TTLs, never read: DBSIZE 0 at {b.get('zero_after_deadline_s')} s "
                  f"after the last deadline (redis: {r.get('zero_after_deadline_s')} s); load {b['load_s']:.1f} s")
    if "zsetcost" in args.only:
        out = subprocess.run([sys.executable, __file__, "--child", "zsetcost", "--n", str(args.n)],
                             check=True, capture_output=True, text=True)
        cost = json.loads(out.stdout.strip().splitlines()[-1])
        print()
        print(f"| sorted-set op | session 1k ns | session {args.n:,} ns | ratio | redis-py 1k ns | "
              f"redis-py {args.n:,} ns | ratio |")
        print("|---|---|---|---|---|---|---|")
        for op, row in cost.items():
            print(f"| {op} | {row['small']:.0f} | {row['big']:.0f} | {row['big'] / row['small']:.2f} | "
                  f"{row['small_py']:.0f} | {row['big_py']:.0f} | {row['big_py'] / row['small_py']:.2f} |")


if __name__ == "__main__":
    main()
