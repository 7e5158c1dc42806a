"""Persistence numbers (not a test): save/load of N small keys, write throughput with the log,
and the BGSAVE pause. Usage: python benchmarks/persistence_bench.py [N]"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time

from burner_redis import Engine

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def fill(e, n):
    s = e.session()
    batch = 10_000
    for start in range(0, n, batch):
        s.execute_many([("SET", f"key:{i}", f"val:{i}") for i in range(start, min(n, start + batch))])
        for _ in range(min(batch, n - start)):
            s.read()


def throughput(e, n=100_000):
    s = e.session()
    t = time.perf_counter()
    for i in range(n):
        s.execute(("SET", f"t:{i}", "x"))
        s.read()
    return n / (time.perf_counter() - t)


def main():
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "d.dat")
        e = Engine(persistence_path=path, save_rules="", appendfsync="no")
        t = time.perf_counter()
        fill(e, N)
        print(f"fill {N} keys (logged, appendfsync=no): {time.perf_counter() - t:.2f}s")
        t = time.perf_counter()
        e.save()
        print(f"save {N} keys: {time.perf_counter() - t:.2f}s, {os.path.getsize(path) / 1e6:.1f} MB")
        # BGSAVE pause: the BGSAVE command itself holds the lock for the capture; a reader
        # thread measures the worst latency it sees meanwhile.
        worst = [0.0]
        stop = threading.Event()

        def reader():
            s = e.session()
            while not stop.is_set():
                t0 = time.perf_counter()
                s.execute(("GET", "key:1"))
                s.read()
                worst[0] = max(worst[0], time.perf_counter() - t0)

        th = threading.Thread(target=reader)
        th.start()
        time.sleep(0.2)
        worst[0] = 0.0
        s = e.session()
        t = time.perf_counter()
        s.execute(("BGSAVE",))
        s.read()
        pause = time.perf_counter() - t
        time.sleep(3)
        stop.set()
        th.join()
        print(f"BGSAVE with {N} keys: command (capture under lock) {pause * 1000:.0f} ms; worst GET latency meanwhile {worst[0] * 1000:.0f} ms")
        e.close()
        del e, s
        t = time.perf_counter()
        e = Engine(persistence_path=path, save_rules="")
        print(f"load {N} keys: {time.perf_counter() - t:.2f}s")
        e.close()
        del e
        for label, kw in [("no persistence", {}), ("appendfsync everysec", {"persistence_path": os.path.join(d, "t1.dat"), "save_rules": ""}),
                          ("appendfsync always", {"persistence_path": os.path.join(d, "t2.dat"), "save_rules": "", "appendfsync": "always"})]:
            e = Engine(**kw)
            n = 100_000 if "always" not in label else 5_000
            print(f"SET throughput, {label}: {throughput(e, n):,.0f}/s")
            if kw:
                e.close()
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
