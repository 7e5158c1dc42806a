"""redis-benchmark against burner's socket server and a real redis-server, in one run.

    python benchmarks/server_bench.py [-n 200000] [--rounds 3]

Prints requests/s and p99 latency per test, without and with pipelining (-P 16), and the ratio
burner/redis. Both servers listen on unix sockets in a temp dir; burner runs in a child process
(`python -m burner_redis serve`). Each test runs `--rounds` times per server, alternating between
them, and the best round of each is shown (with its p99): on a shared machine the other load
only ever slows a round down.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = "set,get,incr,lpush,lpop"


def wait_socket(path: str, proc) -> None:
    for _ in range(500):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        time.sleep(0.02)
    raise RuntimeError(f"{path} did not appear")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench(sock: str, test: str, n: int, pipeline: int) -> tuple[float, float]:
    out = subprocess.run(
        ["redis-benchmark", "-s", sock, "-t", test, "-n", str(n), "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, check=True,
    ).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    return float(row["rps"]), float(row.get("p99_latency_ms", "nan"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        print("needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)")
        return 1
    tmp = tempfile.mkdtemp(prefix="burner-sbench-")
    real_sock, ours_sock = os.path.join(tmp, "real.sock"), os.path.join(tmp, "ours.sock")
    real = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", real_sock, "--save", "", "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(HERE, "..", "python") + os.pathsep + env.get("PYTHONPATH", "")
    ours = subprocess.Popen([sys.executable, "-m", "burner_redis", "serve", "--unix-socket", ours_sock], stdout=subprocess.DEVNULL, env=env)
    try:
        wait_socket(real_sock, real)
        wait_socket(ours_sock, ours)
        print(f"redis-benchmark -n {args.n}; requests/s (p99 ms); load average {load()}")
        print(f"{'test':<8}{'P':>4}{'burner':>22}{'redis-server':>22}{'ratio':>8}")
        for p in (1, 16):
            for t in TESTS.split(","):
                a, b = [], []
                for _ in range(args.rounds):
                    a.append(bench(ours_sock, t, args.n, p))
                    b.append(bench(real_sock, t, args.n, p))
                (ra, la), (rb, lb) = max(a), max(b)
                print(f"{t.upper():<8}{p:>4}{ra:>14,.0f} ({la:>5.2f}){rb:>14,.0f} ({lb:>5.2f}){ra / rb:>8.2f}", flush=True)
        print(f"load average at the end {load()}")
    finally:
        for p in (ours, real):
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
