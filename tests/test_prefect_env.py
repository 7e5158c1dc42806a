"""The Prefect plug-in's environment block and its lazy imports.

The components themselves need prefect and prefect-redis and are exercised end to end against a
real ``prefect server start`` by scripts/prefect_e2e.sh (run by CI in its own venv).
"""

from __future__ import annotations

import importlib
import os
import shlex
import subprocess
import sys

import pytest
from burner_redis.prefect import COMPONENTS, environment, format_environment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    return subprocess.run([sys.executable, "-m", "burner_redis", *args], check=False, capture_output=True, text=True, env=env)


def parse_exports(text: str) -> dict:
    env = {}
    for line in text.splitlines():
        word, assignment = line.split(" ", 1)
        assert word == "export"
        [(k, v)] = [shlex.split(assignment)[0].split("=", 1)]
        env[k] = v
    return env


def test_every_component_module_exists_in_the_package():
    for setting, module in COMPONENTS.items():
        assert setting.startswith("PREFECT_")
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin.endswith(module.rsplit(".", 1)[1] + ".py"), module


def test_prefect_env_prints_the_components():
    out = run_cli("prefect-env")
    assert out.returncode == 0, out.stderr
    assert parse_exports(out.stdout) == COMPONENTS


def test_prefect_env_server_with_socket_and_persistence():
    out = run_cli("prefect-env", "--unix-socket", "/tmp/a b.sock", "--persistence-path", "/data/p.dat")
    assert out.returncode == 0, out.stderr
    env = parse_exports(out.stdout)
    assert env["PREFECT_BURNER_UNIX_SOCKET"] == "/tmp/a b.sock"
    assert env["PREFECT_BURNER_PERSISTENCE_PATH"] == "/data/p.dat"
    assert env["PREFECT_SERVER_DOCKET_URL"] == "unix:///tmp/a b.sock?db=1"
    assert {k: env[k] for k in COMPONENTS} == COMPONENTS


def test_prefect_env_client_role_uses_prefect_redis_over_the_socket():
    env = parse_exports(run_cli("prefect-env", "--role", "client", "--unix-socket", "/s.sock").stdout)
    assert env["PREFECT_MESSAGING_BROKER"] == "prefect_redis.messaging"
    assert env["PREFECT_REDIS_MESSAGING_URL"] == "unix:///s.sock?db=0"
    assert env["PREFECT_SERVER_DOCKET_URL"] == "unix:///s.sock?db=1"
    assert not any(v.startswith("burner_redis") for v in env.values())


def test_prefect_env_client_role_needs_the_socket():
    out = run_cli("prefect-env", "--role", "client")
    assert out.returncode == 2 and "unix socket" in out.stderr
    with pytest.raises(ValueError):
        environment(role="client")
    with pytest.raises(ValueError):
        environment(role="worker")


def test_format_environment_quotes_for_the_shell():
    text = format_environment({"A": "x y", "B": "it's"})
    assert subprocess.run(["bash", "-c", text + 'printf "%s|%s" "$A" "$B"'], check=True, capture_output=True, text=True).stdout == "x y|it's"


def test_importing_the_package_imports_no_prefect():
    code = "import sys, burner_redis, burner_redis.prefect; print(any(m == 'prefect' or m.startswith(('prefect.', 'prefect_redis')) for m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


PLUGIN_ENGINE = """
import sys, types
import burner_redis.prefect as plugin
plugin._settings = lambda: types.SimpleNamespace(persistence_path=sys.argv[1], appendfsync="always", unix_socket=None)
e = plugin.engine()
assert plugin.engine() is e
c = plugin.client()
import asyncio
async def main():
    if sys.argv[2] == "write":
        await c.set("flow", "ran")
        await c.rpush("queue", "a", "b")
    else:
        print(await c.get("flow"), await c.lrange("queue", 0, -1))
asyncio.run(main())
"""


def test_plugin_engine_with_a_persistence_path_keeps_data_across_processes(tmp_path):
    # The settings reader needs Prefect; the engine, client and save at exit do not.
    path = str(tmp_path / "prefect.dat")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    for mode in ("write", "read"):
        done = subprocess.run([sys.executable, "-c", PLUGIN_ENGINE, path, mode], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ran ['a', 'b']"
