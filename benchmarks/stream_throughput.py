"""Stream message throughput: XADD, then XREADGROUP (COUNT 10) and XACK, with redis.asyncio clients.

Back ends, measured in one run:
  burner     BurnerConnectionPool on a fresh engine
  floor      the same pool with a do-nothing connection (canned replies): redis-py's own cost,
             the most any in-process engine could reach through redis-py
  redis      a real redis-server on a unix socket (started here when the binary is installed)

Workloads (each message is added once, read once through a consumer group and acknowledged once):
  lockstep   one client: XADD 10 messages, XREADGROUP COUNT 10, XACK the 10 ids, repeat
  tasks      a producer task XADDing (yielding to the loop every 10) and a consumer task reading
             with BLOCK and acking, running concurrently
  pipelined  the producer pipelines its 10 XADDs; the consumer reads and acks as in lockstep

Usage: python benchmarks/stream_throughput.py [--quick] [--only burner,redis] [--size 100]
Machines are noisy: compare the ratios printed at the end, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))

import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool
from compare import _CANNED, NullPool, start_redis_server

STREAM = "bench:stream"
GROUP = "workers"
BATCH = 10


async def _setup(r):
    await r.delete(STREAM)
    await r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)


async def _consume(r, n, consumer="c1"):
    """Reads and acknowledges `n` messages in batches of BATCH; returns how many were seen."""
    seen = 0
    while seen < n:
        # BLOCK as workers do: returns at once when entries are there, else waits for an XADD.
        got = await r.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=BATCH, block=1000)
        if not got:
            continue
        ids = [mid for mid, _ in got[0][1]]
        await r.xack(STREAM, GROUP, *ids)
        seen += len(ids)
    return seen


async def w_lockstep(r, n, payload):
    await _setup(r)
    fields = {"data": payload}
    done = 0
    for _ in range(n // BATCH):
        for _ in range(BATCH):
            await r.xadd(STREAM, fields)
        done += await _consume(r, BATCH)
    return done


async def w_tasks(r, n, payload):
    await _setup(r)
    fields = {"data": payload}

    async def produce():
        for i in range(n):
            await r.xadd(STREAM, fields)
            if i % BATCH == BATCH - 1:
                await asyncio.sleep(0)  # let the consumer run, as a socket round trip would

    _, seen = await asyncio.gather(produce(), _consume(r, n))
    return seen


async def w_pipelined(r, n, payload):
    await _setup(r)
    fields = {"data": payload}
    done = 0
    for _ in range(n // BATCH):
        async with r.pipeline(transaction=False) as p:
            for _ in range(BATCH):
                p.xadd(STREAM, fields)
            await p.execute()
        done += await _consume(r, BATCH)
    return done


WORKLOADS = [("lockstep", w_lockstep), ("tasks", w_tasks), ("pipelined", w_pipelined)]


def can_floor(payload):
    """Canned replies shaped as the engine gives them before redis-py's callbacks run (RESP3,
    redis-py 8's default; the floor is only drawn for RESP3)."""
    entry = [b"1-0", [b"data", payload.encode()]]
    _CANNED.update(
        {
            b"XADD": b"1-0",
            b"XREADGROUP": {STREAM.encode(): [entry] * BATCH},  # the RESP3 shape
            b"XACK": BATCH,
            b"XGROUP": b"OK",
            b"DEL": 1,
        }
    )


async def measure(make, fn, n, repeats, payload):
    best = None
    for _ in range(repeats):
        r = make()
        floor = isinstance(r.connection_pool, NullPool)
        t0 = time.perf_counter()
        msgs = await fn(r, n, payload)
        dt = time.perf_counter() - t0
        assert msgs == n, (msgs, n)
        if not floor:
            pending = await r.xpending(STREAM, GROUP)
            assert pending["pending"] == 0, pending
        rate = msgs / dt
        best = rate if best is None else max(best, rate)
        await r.delete(STREAM)
        await r.aclose()
    return best


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer messages (smoke run)")
    ap.add_argument("--only", default="burner,floor,redis")
    ap.add_argument("--size", type=int, default=100, help="payload bytes per message")
    args = ap.parse_args()
    only = set(args.only.split(","))
    n = 2000 if args.quick else 20000
    repeats = 2 if args.quick else 5
    payload = "x" * args.size

    clients = {}
    if "burner" in only:
        clients["burner"] = lambda: redis.asyncio.Redis(connection_pool=BurnerConnectionPool())
    if "floor" in only:
        can_floor(payload)
        clients["floor"] = lambda: redis.asyncio.Redis(connection_pool=NullPool())
    proc = None
    if "redis" in only:
        proc, sock = start_redis_server()
        if sock:
            clients["redis"] = lambda: redis.asyncio.Redis(unix_socket_path=sock)
        else:
            print("redis-server not installed: burner only")

    print(
        f"redis-py {redis.__version__}, python {sys.version.split()[0]}, "
        f"{n} messages of {args.size} B, best of {repeats}"
    )
    results = {}
    try:
        for label, fn in WORKLOADS:
            results[label] = {name: await measure(make, fn, n, repeats, payload) for name, make in clients.items()}
    finally:
        if proc:
            proc.terminate()
            proc.wait()

    names = list(clients)
    ratios = [(a, b) for a, b in [("burner", "redis"), ("floor", "redis"), ("burner", "floor")] if a in names and b in names]
    print("messages/s (each: 1 XADD + 1/10 XREADGROUP + 1/10 XACK)")
    print(f"{'workload':<12}" + "".join(f"{nm:>12}" for nm in names) + "".join(f"{a + '/' + b:>14}" for a, b in ratios))
    for label, row in results.items():
        line = f"{label:<12}" + "".join(f"{row[nm]:>12,.0f}" for nm in names)
        line += "".join(f"{row[a] / row[b]:>14.2f}" for a, b in ratios)
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
