"""pydocket throughput on burner vs a real redis-server, and burner vs upstream burner-redis 0.1.7.

Part 1 (pydocket): add 2000 no-op tasks, then run them with one worker at concurrency 50;
adds/s and runs/s for
  burner     docket's ``memory://`` URL, which runs on this package's ``BurnerRedis``
  redis      a private redis-server (started here) over ``unix://``
  upstream   ``memory://`` on PyPI's burner-redis 0.1.7, when pydocket accepts it
Part 2 (client): an asyncio SET+GET loop on ``BurnerRedis()`` from this package vs the same
loop on upstream 0.1.7's own ``BurnerRedis()`` (installed with ``pip --target`` into its own
directory, never next to this package: both are distributions named burner-redis).

Every measurement runs in a fresh subprocess, the back ends alternate, and the best of
``--rounds`` is kept; the ratios at the end come from this one run. Needs pydocket: run it with
the venv of scripts/prefect_venv.sh (or scripts/pydocket_acceptance.sh), e.g.

    bash scripts/test.sh   # or any other way of building the extension in place, release mode
    $(bash scripts/prefect_venv.sh) benchmarks/docket_throughput.py

This package is imported from the source tree (python/), as the other benchmarks do.
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
IN_TREE = os.path.join(HERE, "..", "python")
UPSTREAM_VERSION = "0.1.7"

# ------------------------------------------------------------------ measurements (in subprocesses)


def measure_docket(url: str, tasks: int, concurrency: int, check_ms: float | None) -> dict:
    import asyncio
    import uuid
    from datetime import timedelta

    from docket import Docket, Worker

    ran = 0

    async def noop() -> None:
        nonlocal ran
        ran += 1

    async def main() -> dict:
        async with Docket(name=f"bench-{uuid.uuid4().hex[:8]}", url=url) as docket:
            docket.register(noop)
            t0 = time.perf_counter()
            for _ in range(tasks):
                await docket.add(noop)()
            add_s = time.perf_counter() - t0
            kw = {} if check_ms is None else {"minimum_check_interval": timedelta(milliseconds=check_ms)}
            async with Worker(docket, concurrency=concurrency, **kw) as worker:
                t0 = time.perf_counter()
                await worker.run_until_finished()
                run_s = time.perf_counter() - t0
        assert ran == tasks, (ran, tasks)
        return {"adds_per_s": tasks / add_s, "runs_per_s": tasks / run_s}

    return asyncio.run(main())


def measure_setget(n: int) -> dict:
    import asyncio

    from burner_redis import BurnerRedis

    async def main() -> dict:
        db = BurnerRedis()
        for _ in range(2000):  # warm-up
            await db.set("key", "value")
            await db.get("key")
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(n):
                await db.set("key", "value")
                await db.get("key")
            best = max(best, 2 * n / (time.perf_counter() - t0))
        assert await db.get("key") in (b"value", "value")
        return {"ops_per_s": best}

    return asyncio.run(main())


def child_main(args) -> None:
    import burner_redis

    if args.child == "docket":
        result = measure_docket(args.url, args.tasks, args.concurrency, args.check_ms)
    else:
        result = measure_setget(args.n)
    result["burner_redis"] = getattr(burner_redis, "__version__", "?")
    result["burner_redis_file"] = burner_redis.__file__
    print(json.dumps(result))


# ------------------------------------------------------------------ orchestration


def run_child(pythonpath: str, *child_args: str, timeout: float = 600) -> dict | str:
    env = dict(os.environ, PYTHONPATH=pythonpath, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *child_args],
        env=env,
        cwd=tempfile.gettempdir(),
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if p.returncode != 0:
        return (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return json.loads(p.stdout.strip().splitlines()[-1])


def ensure_upstream(path: str) -> str:
    marker = os.path.join(path, f"burner_redis-{UPSTREAM_VERSION}.dist-info")
    if not os.path.isdir(marker):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--target", path,
             f"burner-redis=={UPSTREAM_VERSION}"],
            check=True,
        )
    return path


def start_redis(tmp: str) -> tuple[subprocess.Popen, str] | None:
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    sock = os.path.join(tmp, "redis.sock")
    proc = subprocess.Popen(
        [exe, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if os.path.exists(sock):
            return proc, sock
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def best(results: list, key: str) -> float | None:
    vals = [r[key] for r in results if isinstance(r, dict)]
    return max(vals) if vals else None


def fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if not a or not b else f"{a / b:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--n", type=int, default=20000, help="SET+GET pairs per timed loop")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--upstream-dir", default=os.path.join(tempfile.gettempdir(), f"burner-upstream-{UPSTREAM_VERSION}"))
    ap.add_argument("--child", choices=("docket", "setget"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--check-ms", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args)
        return 0

    try:
        import docket  # noqa: F401
    except ImportError:
        print("needs pydocket: run with $(bash scripts/prefect_venv.sh) benchmarks/docket_throughput.py", file=sys.stderr)
        return 2
    from importlib.metadata import version

    upstream = ensure_upstream(args.upstream_dir)
    ours = os.path.abspath(IN_TREE)
    tmp = tempfile.mkdtemp(prefix="docket-bench-")
    server = start_redis(tmp)
    dk = ["--child", "docket", "--tasks", str(args.tasks), "--concurrency", str(args.concurrency)]
    # docket's default worker sleeps minimum_check_interval (250 ms) whenever all its slots are
    # taken, which caps no-op runs near concurrency / 0.25 s whatever the back end; 1 ms shows
    # what the back ends themselves sustain.
    configs = [("defaults", None), ("check 1 ms", "1")]
    backends = {"burner": (ours, "memory://bench"), "upstream": (upstream, "memory://bench")}
    if server is not None:
        backends["redis"] = (ours, f"unix://{server[1]}")
    docket_runs: dict = {(b, c): [] for b in ("burner", "redis", "upstream") for c, _ in configs}
    setget_runs: dict = {"burner": [], "upstream": []}
    try:
        for _ in range(args.rounds):
            for cname, check in configs:
                for b, (path, url) in backends.items():
                    extra = [] if check is None else ["--check-ms", check]
                    docket_runs[(b, cname)].append(run_child(path, *dk, "--url", url, *extra, timeout=180))
            setget_runs["burner"].append(run_child(ours, "--child", "setget", "--n", str(args.n)))
            setget_runs["upstream"].append(run_child(upstream, "--child", "setget", "--n", str(args.n)))
    finally:
        if server is not None:
            server[0].terminate()
            server[0].wait()
        shutil.rmtree(tmp, ignore_errors=True)

    for name, runs in [(f"{b}/{c}", v) for (b, c), v in docket_runs.items()] + [(f"setget/{k}", v) for k, v in setget_runs.items()]:
        for r in runs:
            if isinstance(r, str):
                print(f"  {name}: failed: {r}")
    ours_file = next((r["burner_redis_file"] for r in setget_runs["burner"] if isinstance(r, dict)), "?")
    print(f"pydocket {version('pydocket')}, redis-py {version('redis')}, Python {sys.version.split()[0]}; "
          f"best of {args.rounds}; ours from {ours_file}")
    print(f"\npydocket: {args.tasks} no-op tasks, worker concurrency {args.concurrency}")
    print(f"{'back end':<34}{'worker':<12}{'adds/s':>10}{'runs/s':>10}")
    rows = [("burner (memory://, this package)", "burner"), ("redis-server (unix://)", "redis"),
            (f"upstream {UPSTREAM_VERSION} (memory://)", "upstream")]
    for cname, _ in configs:
        for label, key in rows:
            runs = docket_runs[(key, cname)]
            print(f"{label:<34}{cname:<12}{fmt(best(runs, 'adds_per_s')):>10}{fmt(best(runs, 'runs_per_s')):>10}")
    for cname, _ in configs:
        b, r = docket_runs[("burner", cname)], docket_runs[("redis", cname)]
        print(f"burner/redis ({cname}): adds {ratio(best(b, 'adds_per_s'), best(r, 'adds_per_s'))}x, "
              f"runs {ratio(best(b, 'runs_per_s'), best(r, 'runs_per_s'))}x (target >= 1.2x)")
    ours_sg, up_sg = best(setget_runs["burner"], "ops_per_s"), best(setget_runs["upstream"], "ops_per_s")
    print(f"\nasyncio SET+GET loop, ops/s: ours {fmt(ours_sg)}, upstream {UPSTREAM_VERSION} {fmt(up_sg)}; "
          f"ours/upstream {ratio(ours_sg, up_sg)} (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
