#!/usr/bin/env bash
# Makes (or refreshes) a venv with this package's wheel, prefect and prefect-redis, and prints its
# python. Our wheel goes in *before* prefect, so Prefect's pydocket dependency
# (burner-redis>=0.1.7) is satisfied by ours and PyPI's 0.1.7 never lands. Nothing touches the
# system Python. Versions: PREFECT_VERSION, PREFECT_REDIS_VERSION; location: PREFECT_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFECT_VERSION=${PREFECT_VERSION:-3.9.1}
PREFECT_REDIS_VERSION=${PREFECT_REDIS_VERSION:-0.3.0}
venv=${PREFECT_VENV:-/tmp/burner-prefect-venv}
wheel=$(bash scripts/wheel.sh)
{
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  pip="$venv/bin/python -m pip -q --disable-pip-version-check"
  $pip install --force-reinstall --no-deps "$wheel"
  $pip install "$wheel" "prefect==$PREFECT_VERSION" "prefect-redis==$PREFECT_REDIS_VERSION" "redis>=5,<9"
  (cd / && "$venv/bin/python" -c "
import importlib.metadata as md, burner_redis, burner_redis.prefect
v = md.version('burner-redis')
assert v == burner_redis.__version__ >= '0.2', (v, burner_redis.__file__)
print(' '.join(f'{d} {md.version(d)}' for d in ('prefect', 'prefect-redis', 'pydocket', 'burner-redis', 'redis')))")
} >&2
echo "$venv/bin/python"
