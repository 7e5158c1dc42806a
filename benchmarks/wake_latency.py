"""Wake latency of blocked list pops: from just before an LPUSH to the blocked BLPOP's return.

Scenarios:
  same-loop          async reader and async writer on one event loop
  thread->loop       async reader on a loop in another thread, sync writer on the main thread
  thread->thread     sync reader in one thread, sync writer on the main thread
  300-keys           300 async readers blocked on 300 keys, one loop; pushes to random keys
  300-keys-thread    the same readers on a loop thread, pushed from the main thread

Usage: python benchmarks/wake_latency.py [--quick]
Prints median and p99 in microseconds. `run()` returns the same numbers for compare.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine

now = time.perf_counter_ns


def _summary(samples_ns: list[int]) -> dict:
    s = sorted(samples_ns)
    return {
        "n": len(s),
        "median_us": statistics.median(s) / 1000,
        "p99_us": s[min(len(s) - 1, int(len(s) * 0.99))] / 1000,
    }


async def _settle():
    """Lets a reader that was just released issue its next BLPOP and park."""
    for _ in range(3):
        await asyncio.sleep(0)


async def same_loop(n: int) -> dict:
    e = Engine()
    reader = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e))
    writer = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e))
    got: asyncio.Queue = asyncio.Queue()

    async def read():
        while True:
            await reader.blpop(["k"], 0)
            got.put_nowait(now())

    task = asyncio.create_task(read())
    await _settle()
    samples = []
    for _ in range(n):
        t0 = now()
        await writer.lpush("k", "v")
        samples.append(await got.get() - t0)
        await _settle()
    task.cancel()
    return _summary(samples)


def thread_to_loop(n: int) -> dict:
    e = Engine()
    writer = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    ready = threading.Event()
    done = threading.Event()
    stamps: list[int] = []

    def reader_thread():
        async def go():
            r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e))
            for _ in range(n):
                ready.set()
                await r.blpop(["k"], 0)
                stamps.append(now())
                done.set()

        asyncio.run(go())

    th = threading.Thread(target=reader_thread)
    th.start()
    samples = []
    for _ in range(n):
        ready.wait()
        ready.clear()
        time.sleep(0.0005)  # the reader parks right after setting `ready`
        done.clear()
        t0 = now()
        writer.lpush("k", "v")
        done.wait()
        samples.append(stamps[-1] - t0)
    th.join()
    return _summary(samples)


def thread_to_thread(n: int) -> dict:
    e = Engine()
    writer = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    reader = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    ready = threading.Event()
    done = threading.Event()
    stamps: list[int] = []

    def read():
        for _ in range(n):
            ready.set()
            reader.blpop(["k"], 0)
            stamps.append(now())
            done.set()

    th = threading.Thread(target=read)
    th.start()
    samples = []
    for _ in range(n):
        ready.wait()
        ready.clear()
        time.sleep(0.0005)
        done.clear()
        t0 = now()
        writer.lpush("k", "v")
        done.wait()
        samples.append(stamps[-1] - t0)
    th.join()
    return _summary(samples)


async def many_keys(n: int, keys: int = 300) -> dict:
    e = Engine()
    pool = BurnerConnectionPool(e)
    reader = redis.asyncio.Redis(connection_pool=pool)
    writer = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e))
    got: asyncio.Queue = asyncio.Queue()

    async def read(i):
        while True:
            await reader.blpop([f"key:{i}"], 0)
            got.put_nowait(now())

    tasks = [asyncio.create_task(read(i)) for i in range(keys)]
    await _settle()
    rng = random.Random(1)
    samples = []
    for _ in range(n):
        t0 = now()
        await writer.lpush(f"key:{rng.randrange(keys)}", "v")
        samples.append(await got.get() - t0)
        await _settle()
    for t in tasks:
        t.cancel()
    return _summary(samples)


def many_keys_thread(n: int, keys: int = 300) -> dict:
    e = Engine()
    writer = redis.Redis(connection_pool=BurnerSyncConnectionPool(e))
    started = threading.Event()
    stamps: list[int] = []
    done = threading.Event()
    parked = [0]
    stop = threading.Event()

    def reader_thread():
        async def go():
            r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(e))

            async def read(i):
                while True:
                    parked[0] += 1
                    await r.blpop([f"key:{i}"], 0)
                    stamps.append(now())
                    done.set()

            tasks = [asyncio.create_task(read(i)) for i in range(keys)]
            await _settle()
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.01)
            for t in tasks:
                t.cancel()

        asyncio.run(go())

    th = threading.Thread(target=reader_thread)
    th.start()
    started.wait()
    rng = random.Random(1)
    samples = []
    for _ in range(n):
        target = parked[0] + 1
        done.clear()
        t0 = now()
        writer.lpush(f"key:{rng.randrange(keys)}", "v")
        done.wait()
        samples.append(stamps[-1] - t0)
        while parked[0] < target:  # the served reader has parked again
            time.sleep(0.0001)
        time.sleep(0.0003)
    stop.set()
    th.join()
    return _summary(samples)


def run(quick: bool = False) -> dict:
    n = 300 if quick else 3000
    return {
        "same-loop": asyncio.run(same_loop(n)),
        "thread->loop": thread_to_loop(n // 3),
        "thread->thread": thread_to_thread(n // 3),
        "300-keys": asyncio.run(many_keys(n)),
        "300-keys-thread": many_keys_thread(n // 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    args = ap.parse_args()
    res = run(args.quick)
    print(f"{'scenario':<18}{'samples':>9}{'median us':>12}{'p99 us':>10}")
    for name, r in res.items():
        print(f"{name:<18}{r['n']:>9}{r['median_us']:>12.1f}{r['p99_us']:>10.1f}")


if __name__ == "__main__":
    main()
