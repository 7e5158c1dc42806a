"""A self-hosted Prefect server with no Redis: its message bus, event ordering, concurrency leases
and worker cleanup queue run on burner (``pip install prefect prefect-redis``).

The whole recipe is the environment of ``python -m burner_redis prefect-env`` (here
``burner_redis.prefect.environment()``) given to ``prefect server start``.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from burner_redis.prefect import environment

home = tempfile.mkdtemp(prefix="prefect-burner-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
api = f"http://127.0.0.1:{port}/api"
server_env = dict(
    os.environ,
    **environment(),
    PREFECT_HOME=home,
    PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home}/prefect.db",
    PREFECT_SERVER_UI_ENABLED="false",
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
)
cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
server = subprocess.Popen(cmd, env=server_env, cwd=home, stdout=subprocess.DEVNULL, start_new_session=True)


def wait_for_server(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "server exited"
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("server did not start")


try:
    wait_for_server()
    os.environ.update(PREFECT_API_URL=api, PREFECT_HOME=os.path.join(home, "client"))
    from prefect import flow, get_client, task
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    @task
    def square(x: int) -> int:
        return x * x

    @flow
    def sum_of_squares(n: int) -> int:
        return sum(square.map(range(n)).result())

    state = sum_of_squares(5, return_state=True)
    assert state.is_completed() and state.result() == 30

    async def completed_task_runs() -> int:
        # Task runs reach the database through the server's task-run recorder, which reads them
        # from the message bus: that is, from burner.
        flow_filter = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        async with get_client() as client:
            for _ in range(120):
                runs = await client.read_task_runs(flow_run_filter=flow_filter)
                if sum(1 for r in runs if r.state and r.state.is_completed()) == 5:
                    return 5
                await asyncio.sleep(0.5)
        raise AssertionError("task runs were not recorded")

    print("flow completed; task runs recorded:", asyncio.run(completed_task_runs()))
finally:
    os.killpg(server.pid, signal.SIGINT)
    server.wait(30)
