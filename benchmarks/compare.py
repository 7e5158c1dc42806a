"""Throughput of redis.asyncio clients over several back ends, as ratios measured in one run.

Back ends:
  burner     BurnerConnectionPool on a fresh engine
  floor      the same pool with a do-nothing connection (canned replies): redis-py's own cost
  redis      a real redis-server on a unix socket (started here when the binary is installed)
  fakeredis  fakeredis.aioredis.FakeRedis, when installed

Usage: python benchmarks/compare.py [--quick] [--only burner,floor,...]
Machines are noisy: compare the ratios printed at the end, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool
from burner_redis.connection import BurnerConnection

# ---------------------------------------------------------------- the floor: a do-nothing connection

_CANNED = {
    b"SET": b"OK",
    b"GET": b"v",
    b"INCR": 1,
    b"HSET": 1,
    b"HGETALL": {b"f": b"v"},
    b"ZADD": 1,
    b"ZRANGEBYSCORE": [b"m"],
    b"MULTI": b"OK",
    b"EXEC": [],
}


class NullConnection(BurnerConnection):
    """Answers from a table without any engine: what redis-py costs by itself."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._replies = []
        self._session = True  # "connected"

    async def connect(self, *a, **k):
        self._session = True

    def _drop_session(self):
        pass

    def _reset_if_dirty(self):
        pass

    def _reply(self, args):
        name = args[0]
        if isinstance(name, str):
            name = name.encode()
        v = _CANNED.get(name.upper(), b"OK")
        if isinstance(v, dict) and self.protocol == 2:
            v = [x for kv in v.items() for x in kv]
        return v

    async def send_command(self, *args, **kwargs):
        self._replies.append(self._reply(args))

    async def send_packed_command(self, command, check_health=True):
        for args in command:
            self._replies.append(self._reply(args))

    async def read_response(self, disable_decoding=False, timeout=None, *, disconnect_on_error=True, push_request=False):
        return self._replies.pop(0)


class NullPool(BurnerConnectionPool):
    connection_class = NullConnection


# ---------------------------------------------------------------- workloads

async def w_set_get(r, n):
    for i in range(n):
        await r.set("k", "v")
        await r.get("k")
    return 2 * n


async def w_pipeline(r, n):
    rounds = max(1, n // 100)
    for _ in range(rounds):
        async with r.pipeline(transaction=False) as p:
            for i in range(100):
                p.set("k", "v") if i % 2 == 0 else p.get("k")
            await p.execute()
    return rounds * 100


async def w_concurrent_incr(r, n):
    per = max(1, n // 50)

    async def task():
        for _ in range(per):
            await r.incr("counter")

    await asyncio.gather(*(task() for _ in range(50)))
    return per * 50


async def w_hash(r, n):
    for i in range(n):
        await r.hset("h", "f", "v")
        await r.hgetall("h")
    return 2 * n


async def w_zset(r, n):
    for i in range(n):
        await r.zadd("z", {f"m{i % 100}": i})
        await r.zrangebyscore("z", i - 10, i)
    return 2 * n


WORKLOADS = [
    ("SET+GET loop", w_set_get),
    ("pipeline x100", w_pipeline),
    ("50 tasks INCR", w_concurrent_incr),
    ("HSET+HGETALL", w_hash),
    ("ZADD+ZRANGEBYSCORE", w_zset),
]

# ---------------------------------------------------------------- back ends


def start_redis_server():
    exe = shutil.which("redis-server")
    if not exe:
        return None, None
    tmp = tempfile.mkdtemp(prefix="burner-bench-")
    sock = os.path.join(tmp, "redis.sock")
    proc = subprocess.Popen(
        [exe, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        if os.path.exists(sock):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                s.close()
                return proc, sock
            except OSError:
                pass
        time.sleep(0.01)
    proc.kill()
    return None, None


def make_clients(only):
    clients = {}
    if "burner" in only:
        clients["burner"] = lambda: redis.asyncio.Redis(connection_pool=BurnerConnectionPool())
    if "floor" in only:
        clients["floor"] = lambda: redis.asyncio.Redis(connection_pool=NullPool())
    return clients


async def measure(make, fn, n, repeats):
    best = None
    for _ in range(repeats):
        r = make()
        await r.flushall() if not isinstance(r.connection_pool, NullPool) else None
        t0 = time.perf_counter()
        ops = await fn(r, n)
        dt = time.perf_counter() - t0
        rate = ops / dt
        best = rate if best is None else max(best, rate)
        await r.aclose() if hasattr(r, "aclose") else await r.close()
    return best


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    ap.add_argument("--only", default="burner,floor,redis,fakeredis")
    ap.add_argument("--workloads", default="", help="comma-separated substrings of workload names")
    args = ap.parse_args()
    only = set(args.only.split(","))
    n = 2000 if args.quick else 20000
    repeats = 2 if args.quick else 5

    clients = make_clients(only)
    proc = None
    if "redis" in only:
        proc, sock = start_redis_server()
        if sock:
            clients["redis"] = lambda: redis.asyncio.Redis(unix_socket_path=sock)
    if "fakeredis" in only:
        try:
            import fakeredis

            clients["fakeredis"] = lambda: fakeredis.FakeAsyncRedis()
        except ImportError:
            pass

    print(f"redis-py {redis.__version__}, python {sys.version.split()[0]}, n={n}, best of {repeats}")
    results = {}
    try:
        picked = [w for w in WORKLOADS if not args.workloads or any(p.lower() in w[0].lower() for p in args.workloads.split(","))]
        for label, fn in picked:
            row = {}
            for name, make in clients.items():
                row[name] = await measure(make, fn, n, repeats)
            results[label] = row
    finally:
        if proc:
            proc.terminate()
            proc.wait()

    names = list(clients)
    head = f"{'workload':<20}" + "".join(f"{nm:>12}" for nm in names)
    if "burner" in names and "floor" in names:
        head += f"{'floor/burner':>14}"
    if "burner" in names and "redis" in names:
        head += f"{'burner/redis':>14}"
    if "burner" in names and "fakeredis" in names:
        head += f"{'burner/fake':>13}"
    print("ops/s")
    print(head)
    for label, row in results.items():
        line = f"{label:<20}" + "".join(f"{row[nm]:>12,.0f}" for nm in names)
        if "burner" in row and "floor" in row:
            line += f"{row['floor'] / row['burner']:>14.2f}"
        if "burner" in row and "redis" in row:
            line += f"{row['burner'] / row['redis']:>14.2f}"
        if "burner" in row and "fakeredis" in row:
            line += f"{row['burner'] / row['fakeredis']:>13.2f}"
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
