"""Per-command cost on small collections at the engine's session level (no redis-py on top).

Each row is ns per command on collections of 5, 16, 32 and 200 elements: the first sizes are
the packed form (up to 32 fields, members or elements; sorted sets up to 16), 200 the indexed
form. With ``--baseline path/to/_engine.so`` the same rows are also measured with
another build of the extension (for example one built from main), alternating between the two
in child processes, and the ratio current / baseline is printed: compare within a row, the
machine is noisy.

Usage: python benchmarks/small_ops.py [--baseline SO] [--rounds 3] [--reps 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.join(HERE, "..", "python")
SIZES = (5, 16, 32, 200)


def workloads(size: int, rnd):
    """(name, setup commands, command maker) per workload."""
    fields = [f"field:{i}" for i in range(size)]
    hset = ("HSET", "h", *[x for f in fields for x in (f, "value:xx")])
    zadd = ("ZADD", "z", *[x for i in range(size) for x in (i, f"member:{i}")])
    sadd = ("SADD", "s", *[f"member:{i}" for i in range(size)])
    rpush = ("RPUSH", "l", *[f"element:{i}" for i in range(size)])
    pick = lambda: rnd.randrange(size)
    return [
        ("HGET", [hset], lambda: ("HGET", "h", f"field:{pick()}")),
        ("HSET update", [hset], lambda: ("HSET", "h", f"field:{pick()}", "value:yy")),
        ("HGETALL", [hset], lambda: ("HGETALL", "h")),
        ("ZSCORE", [zadd], lambda: ("ZSCORE", "z", f"member:{pick()}")),
        ("ZADD update", [zadd], lambda: ("ZADD", "z", rnd.randrange(size) + 0.5, f"member:{pick()}")),
        ("ZRANGEBYSCORE", [zadd], lambda: ("ZRANGEBYSCORE", "z", (s := pick()), s + 3)),
        ("ZRANK", [zadd], lambda: ("ZRANK", "z", f"member:{pick()}")),
        ("SISMEMBER", [sadd], lambda: ("SISMEMBER", "s", f"member:{pick()}")),
        ("SADD+SREM", [sadd], lambda: ("SADD", "s", "extra") if rnd.random() < 0.5 else ("SREM", "s", "extra")),
        ("LINDEX", [rpush], lambda: ("LINDEX", "l", pick())),
        ("LPUSH+RPOP", [rpush], lambda: ("LPUSH", "l", "x") if rnd.random() < 0.5 else ("RPOP", "l")),
    ]


def child(reps: int) -> None:
    import random

    sys.path.insert(0, os.environ.get("SMALL_OPS_PYTHON", PYTHON_SRC))
    from burner_redis import Engine

    out = {}
    for size in SIZES:
        rnd = random.Random(size)
        for name, setup, make in workloads(size, rnd):
            engine = Engine()
            session = engine.session()

            for c in setup:
                session.execute(c)
                session.read()
            cmds = [make() for _ in range(reps)]
            t0 = time.perf_counter()
            for c in cmds:
                session.execute(c)
                session.read()
            out[f"{name}/{size}"] = (time.perf_counter() - t0) / reps * 1e9
    print(json.dumps(out))


def run(python_dir: str, reps: int) -> dict:
    env = dict(os.environ, SMALL_OPS_PYTHON=python_dir)
    out = subprocess.run([sys.executable, __file__, "--child", "--reps", str(reps)], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default=None, help="another build of _engine*.so to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.reps)
        return
    builds = {"current": os.path.abspath(PYTHON_SRC)}
    tmp = None
    if args.baseline:
        tmp = tempfile.mkdtemp(prefix="small-ops-")
        pkg = os.path.join(tmp, "burner_redis")
        shutil.copytree(os.path.join(PYTHON_SRC, "burner_redis"), pkg,
                        ignore=shutil.ignore_patterns("_engine*.so", "__pycache__"))
        import sysconfig

        shutil.copy(args.baseline, os.path.join(pkg, "_engine" + sysconfig.get_config_var("EXT_SUFFIX")))
        builds["baseline"] = tmp
    try:
        samples: dict[str, dict[str, list[float]]] = {b: {} for b in builds}
        for _ in range(args.rounds):
            for b, path in builds.items():
                for k, v in run(path, args.reps).items():
                    samples[b].setdefault(k, []).append(v)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    med = {b: {k: statistics.median(v) for k, v in s.items()} for b, s in samples.items()}
    print(f"ns per command (median of {args.rounds}); load average {os.getloadavg()[0]:.1f}")
    head = "| command |" + "".join(f" {n} elements |" for n in SIZES)
    if "baseline" in med:
        head = "| command |" + "".join(f" {n}: current / baseline ns |" for n in SIZES)
    print(head)
    print("|---" * (1 + len(SIZES)) + "|")
    names = dict.fromkeys(k.split("/")[0] for k in med["current"])
    for name in names:
        cells = []
        for n in SIZES:
            cur = med["current"][f"{name}/{n}"]
            if "baseline" in med:
                base = med["baseline"][f"{name}/{n}"]
                cells.append(f" {cur:.0f} / {base:.0f} = {cur / base:.2f} |")
            else:
                cells.append(f" {cur:.0f} |")
        print(f"| {name} |" + "".join(cells))


if __name__ == "__main__":
    main()
