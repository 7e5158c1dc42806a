"""Publish-to-receive latency of burner-redis Pub/Sub through redis-py's own PubSub.

Each message carries its send time (``time.perf_counter()``); readers wait in
``get_message(timeout=None)`` (a future woken by the publisher, no polling) and record the time
it took to reach them. One message is in flight at a time.

Scenarios:
  * async, one subscriber on the publisher's own event loop
  * async, 300 subscribers on the publisher's loop (latency to each receiver, and until the
    last of the 300 has it)
  * sync, one subscriber reading in another thread (condition-variable wake-up)

Usage: python benchmarks/pubsub_latency.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import redis
import redis.asyncio
from burner_redis import BurnerConnectionPool, BurnerSyncConnectionPool, Engine


def _us(xs):
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1e6:8.1f} us   p99 {xs[int(len(xs) * 0.99) - 1] * 1e6:8.1f} us"


async def async_fanout(n_subs: int, messages: int):
    engine = Engine()
    r = redis.asyncio.Redis(connection_pool=BurnerConnectionPool(engine))
    subs = []
    for _ in range(n_subs):
        p = r.pubsub(ignore_subscribe_messages=True)
        await p.subscribe("bench")
        await p.get_message(timeout=1)  # confirmation
        subs.append(p)
    per_receipt: list[float] = []
    until_all: list[float] = []
    state = {"left": 0, "sent": 0.0, "last": 0.0}
    all_in = asyncio.Event()

    async def reader(p):
        while True:
            m = await p.get_message(timeout=None)
            if m is None:
                continue
            now = time.perf_counter()
            if m["data"] == b"stop":
                return
            per_receipt.append(now - float(m["data"]))
            state["left"] -= 1
            if state["left"] == 0:
                until_all.append(now - state["sent"])
                all_in.set()

    tasks = [asyncio.create_task(reader(p)) for p in subs]
    await asyncio.sleep(0.01)
    for _ in range(messages):
        all_in.clear()
        state["left"] = n_subs
        state["sent"] = time.perf_counter()
        await r.publish("bench", repr(state["sent"]))
        await all_in.wait()
    await r.publish("bench", "stop")
    await asyncio.gather(*tasks)
    for p in subs:
        await p.aclose()
    await r.connection_pool.aclose()
    return per_receipt, until_all


def sync_thread(messages: int):
    engine = Engine()
    r = redis.Redis(connection_pool=BurnerSyncConnectionPool(engine))
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("bench")
    p.get_message(timeout=1)
    lat: list[float] = []
    got = threading.Event()

    def reader():
        while True:
            m = p.get_message(timeout=5)
            if m is None:
                continue
            if m["data"] == b"stop":
                return
            lat.append(time.perf_counter() - float(m["data"]))
            got.set()

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.05)
    for _ in range(messages):
        got.clear()
        r.publish("bench", repr(time.perf_counter()))
        got.wait(5)
    r.publish("bench", "stop")
    t.join()
    p.close()
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    args = ap.parse_args()
    n = args.messages
    one, _ = asyncio.run(async_fanout(1, n))
    print(f"async, 1 subscriber, same loop      : {_us(one)}")
    many, last = asyncio.run(async_fanout(300, max(50, n // 20)))
    print(f"async, 300 subscribers, per receiver: {_us(many)}")
    print(f"async, 300 subscribers, all received: {_us(last)}")
    st = sync_thread(n)
    print(f"sync, reader thread (GIL released)  : {_us(st)}")


if __name__ == "__main__":
    main()
