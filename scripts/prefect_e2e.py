"""Prefect end to end on burner: a self-hosted Prefect server with no Redis anywhere.

    python scripts/prefect_e2e.py [--variant single|split|both]

*single*: ``prefect server start`` (SQLite in a temp dir, UI and analytics off, a free loopback
port) with the environment of ``python -m burner_redis prefect-env``.
*split*: ``prefect server start --no-services`` owns the engine and serves it on a unix socket;
``prefect server services start`` runs in a second process with prefect-redis's own components
and Docket on ``unix://`` (``prefect-env --role client``). The event persister and the task-run
recorder then run only in the second process, so task runs and events in the database prove
that the two processes shared one message bus.

A flow whose tasks each take a slot of a global concurrency limit runs against the server; the
flow and every task run must complete, the limit must hold and be released, events must be
persisted, and the server logs must hold no traceback. Redis settings point at a closed port, so
any accidental use of a real Redis would fail. Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

LIMIT_NAME = "burner-e2e"
LIMIT = 2
TASKS = 6

ENV_DROP_PREFIXES = ("PREFECT_",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "burner_redis", "prefect-env", *args], check=True, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        assert line.startswith("export "), line
        k, _, v = line[len("export "):].partition("=")
        env[k] = v.strip("'")
    return env


def base_env(tmp: Path, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_DROP_PREFIXES)}
    home = tmp / f"home-{name}"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{tmp}/prefect.db",
        PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL="1",
        # A closed port: if anything reached for a real Redis, it would fail loudly.
        PREFECT_REDIS_MESSAGING_HOST="127.0.0.1",
        PREFECT_REDIS_MESSAGING_PORT="1",
        PREFECT_REDIS_WORKER_CLEANUP_QUEUE_HOST="127.0.0.1",
        PREFECT_REDIS_WORKER_CLEANUP_QUEUE_PORT="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def start(args: list, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as f:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", *args],
            env=env,
            cwd=env["PREFECT_HOME"],  # Prefect reads .env and prefect.toml from the working directory
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was up:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server not healthy after {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def check_log(log: Path) -> list:
    text = log.read_text(errors="replace")
    if "Traceback" in text or "Warning:" in text:
        raise SystemExit(f"traceback or warning in {log.name}:\n{text}")
    return [line for line in text.splitlines() if " ERROR " in line or "| ERROR" in line]


def run_client(api_url: str, tmp: Path) -> dict:
    env = base_env(tmp, "client")
    env["PREFECT_API_URL"] = api_url
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--client", api_url],
        env=env,
        cwd=env["PREFECT_HOME"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise SystemExit(f"flow client failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def engine_evidence(sock: str) -> dict:
    """What the components did on the engine, read over its socket: the event consumers' groups,
    and the stream and script traffic (lease storage runs Lua scripts)."""
    import redis

    r = redis.Redis(unix_socket_path=sock, decode_responses=True)
    try:
        stats = r.info("commandstats")
        calls = {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()}
        ev = {
            "events_groups": sorted(_groups(r, "events")),
            "xadd": calls.get("xadd", 0),
            "xreadgroup": calls.get("xreadgroup", 0),
            "eval+evalsha": calls.get("eval", 0) + calls.get("evalsha", 0),
        }
    finally:
        r.close()
    assert {"event-persister", "task-run-recorder"} <= set(ev["events_groups"]), ev
    assert ev["xadd"] > 0 and ev["xreadgroup"] > 0, ev
    assert ev["eval+evalsha"] >= TASKS, ev  # every slot is taken and released by a lease script
    return ev


def variant_single(tmp: Path) -> dict:
    port = free_port()
    env = base_env(tmp, "server") | prefect_env()
    # The socket only to look at the engine afterwards; Docket stays on its own memory:// engine.
    sock = str(tmp / "burner.sock")
    env["PREFECT_BURNER_UNIX_SOCKET"] = sock
    data = tmp / "burner.dat"
    env["PREFECT_BURNER_PERSISTENCE_PATH"] = str(data)
    log = tmp / "server.log"
    server = start(["server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api", server, log)
        result = run_client(f"http://127.0.0.1:{port}/api", tmp)
        result["engine"] = engine_evidence(sock)
    finally:
        stop(server)
    result["server_errors"] = check_log(log)
    result["persisted"] = reopen(data)
    return result


def reopen(data: Path) -> dict:
    """The server saved its engine at exit: reopen the file and find the event stream's groups."""
    from burner_redis import BurnerSyncRedis

    r = BurnerSyncRedis(persistence_path=str(data), decode_responses=True)
    try:
        groups = _groups(r, "events")
        found = {"events_len": r.xlen("events"), "events_groups": sorted(groups), "keys": r.dbsize()}
    finally:
        r.close()
    assert {"event-persister", "task-run-recorder"} <= groups, found
    return found


def _groups(r, stream: str) -> set:
    import redis

    try:
        return {g["name"] for g in r.xinfo_groups(stream)}
    except redis.ResponseError:  # no such key yet
        return set()


def variant_split(tmp: Path) -> dict:
    import redis

    port = free_port()
    sock = str(tmp / "burner.sock")
    server_env = base_env(tmp, "server") | prefect_env("--unix-socket", sock)
    services_env = base_env(tmp, "services") | prefect_env("--role", "client", "--unix-socket", sock)
    for k in ("MESSAGING", "WORKER_CLEANUP_QUEUE"):  # the URLs replace the closed-port guard
        del services_env[f"PREFECT_REDIS_{k}_HOST"], services_env[f"PREFECT_REDIS_{k}_PORT"]
    server_log, services_log = tmp / "server.log", tmp / "services.log"
    server = start(["server", "start", "--no-services", "--host", "127.0.0.1", "--port", str(port)], server_env, server_log)
    services = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api", server, server_log)
        assert Path(sock).exists(), "the server process did not serve its engine"
        services = start(["server", "services", "start"], services_env, services_log)
        # The services process's consumers create their groups on the engine through the socket.
        r = redis.Redis(unix_socket_path=sock, decode_responses=True)
        needed = {"event-persister", "task-run-recorder"}
        deadline = time.monotonic() + 90
        while not needed <= _groups(r, "events"):
            if services.poll() is not None:
                raise SystemExit(f"services exited with {services.returncode}:\n{services_log.read_text()}")
            if time.monotonic() > deadline:
                raise SystemExit(f"services did not attach to the socket:\n{services_log.read_text()}")
            time.sleep(0.3)
        result = run_client(f"http://127.0.0.1:{port}/api", tmp)
        result["socket_clients"] = len(r.client_list())
        r.close()
        result["engine"] = engine_evidence(sock)
    finally:
        if services is not None:
            stop(services)
        stop(server)
    result["server_errors"] = check_log(server_log)
    result["services_errors"] = check_log(services_log)
    return result


# ---- the flow, run in a client process -------------------------------------------------------


def client_main(api_url: str) -> None:
    import asyncio
    import threading

    from prefect import flow, get_client, task
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.concurrency.sync import concurrency

    lock = threading.Lock()
    state = {"active": 0, "peak": 0}

    @task
    def work(i: int) -> int:
        with concurrency(LIMIT_NAME, occupy=1):
            with lock:
                state["active"] += 1
                state["peak"] = max(state["peak"], state["active"])
            time.sleep(0.3)
            with lock:
                state["active"] -= 1
        return i * i

    @flow
    def burner_e2e(n: int) -> list:
        futures = [work.submit(i) for i in range(n)]
        return [f.result() for f in futures]

    async def create_limit() -> None:
        async with get_client() as c:
            await c.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=LIMIT_NAME, limit=LIMIT))

    asyncio.run(create_limit())
    t0 = time.monotonic()
    state_obj = burner_e2e(TASKS, return_state=True)
    flow_seconds = time.monotonic() - t0
    assert state_obj.is_completed(), state_obj
    values = state_obj.result()
    assert values == [i * i for i in range(TASKS)], values
    assert 1 <= state["peak"] <= LIMIT, state
    flow_run_id = state_obj.state_details.flow_run_id

    async def verify() -> dict:
        async with get_client() as c:
            fr = await c.read_flow_run(flow_run_id)
            assert fr.state is not None and fr.state.is_completed(), fr.state
            # Task runs reach the database through the message bus (the task-run recorder).
            deadline = time.monotonic() + 60
            while True:
                trs = await c.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
                done = [t for t in trs if t.state is not None and t.state.is_completed()]
                if len(done) == TASKS:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"task runs not all completed: {[(t.name, t.state_name) for t in trs]}")
                await asyncio.sleep(0.5)
            # Events reach the database through the message bus (the event persister).
            wanted = {"prefect.flow-run.Completed", "prefect.task-run.Completed"}
            deadline = time.monotonic() + 60
            while True:
                resp = await c._client.post(
                    "/events/filter",
                    json={"filter": {"any_resource": {"id": [f"prefect.flow-run.{flow_run_id}"]}}, "limit": 50},
                )
                resp.raise_for_status()
                names = [e["event"] for e in resp.json()["events"]]
                if wanted <= set(names):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"events not persisted: {sorted(set(names))}")
                await asyncio.sleep(0.5)
            limit = await c.read_global_concurrency_limit_by_name(LIMIT_NAME)
            assert limit.active_slots == 0, limit
            return {
                "flow_run": str(flow_run_id),
                "flow_state": fr.state.type.value,
                "task_runs_completed": len(done),
                "events": len(names),
                "event_names": sorted(set(names)),
                "limit_peak": state["peak"],
                "flow_seconds": round(flow_seconds, 2),
            }

    print(json.dumps(asyncio.run(verify())))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=("single", "split", "both"), default="both")
    ap.add_argument("--client", metavar="API_URL", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, database)")
    args = ap.parse_args()
    if args.client:
        client_main(args.client)
        return 0
    variants = ["single", "split"] if args.variant == "both" else [args.variant]
    for v in variants:
        t0 = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f"prefect-e2e-{v}-"))
        result = (variant_single if v == "single" else variant_split)(tmp)
        print(f"prefect e2e [{v}] passed in {time.monotonic() - t0:.1f} s: {json.dumps(result)}", flush=True)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
