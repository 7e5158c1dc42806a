#!/usr/bin/env bash
# Prefect end to end with no Redis anywhere (scripts/prefect_e2e.py): a venv with this package's
# wheel installed *before* prefect, so Prefect's pydocket dependency (burner-redis>=0.1.7) is
# satisfied by ours and never by PyPI's 0.1.7. Versions: PREFECT_VERSION, PREFECT_REDIS_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFECT_VERSION=${PREFECT_VERSION:-3.9.1}
PREFECT_REDIS_VERSION=${PREFECT_REDIS_VERSION:-0.3.0}
venv=${PREFECT_E2E_VENV:-/tmp/prefect-e2e-venv}
wheel=$(bash scripts/wheel.sh)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip="$venv/bin/python -m pip -q --disable-pip-version-check"
$pip install --force-reinstall --no-deps "$wheel"
$pip install "$wheel" "prefect==$PREFECT_VERSION" "prefect-redis==$PREFECT_REDIS_VERSION" "redis>=5,<9"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md, burner_redis, burner_redis.prefect
assert md.version("burner-redis") == burner_redis.__version__ and burner_redis.__version__ >= "0.2", md.version("burner-redis")
print("prefect", md.version("prefect"), "prefect-redis", md.version("prefect-redis"), "pydocket", md.version("pydocket"), "burner-redis", burner_redis.__version__)
PY
"$venv/bin/python" scripts/prefect_e2e.py "$@"
