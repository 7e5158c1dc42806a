#!/usr/bin/env bash
# Acceptance: pydocket's own test suite (from its sdist) in memory:// mode against this package,
# in a venv of its own (nothing is installed into the system Python). Our wheel goes in before
# pydocket, so pydocket's `burner-redis>=0.1.7` is satisfied by ours and PyPI's 0.1.7 never lands.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${PYDOCKET_VERSION:-0.27.0}
work=${PYDOCKET_DIR:-/tmp/pydocket-acceptance}
venv=${PYDOCKET_VENV:-$work/venv}
mkdir -p "$work"
wheel=$(bash scripts/wheel.sh)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip="$venv/bin/python -m pip install -q --disable-pip-version-check"
$pip --force-reinstall --no-deps "$wheel"
$pip "$wheel" "redis>=5,<9" "pydocket==$VERSION" pytest pytest-asyncio pytest-timeout pytest-xdist pytest-cov \
  docker opentelemetry-sdk opentelemetry-exporter-prometheus opentelemetry-instrumentation-redis
(cd / && "$venv/bin/python" -c "
import importlib.metadata as md, burner_redis
assert md.version('burner-redis') == burner_redis.__version__ >= '0.2', (md.version('burner-redis'), burner_redis.__file__)
print('pydocket', md.version('pydocket'), 'burner-redis', burner_redis.__version__)")
if [ ! -d "$work/pydocket-$VERSION" ]; then
  (cd "$work" && "$venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: "pydocket==$VERSION" \
    && tar xzf "pydocket-$VERSION.tar.gz")
fi
cd "$work/pydocket-$VERSION"
# Bounded: 60 s per test and ${PYDOCKET_TIMEOUT:-1500} s for the whole run. pydocket's CLI tests
# run `docket` in subprocesses: the venv's bin goes first on PATH.
PATH="$venv/bin:$PATH" REDIS_VERSION=memory timeout "${PYDOCKET_TIMEOUT:-1500}" "$venv/bin/python" -m pytest -q \
  -p no:cacheprovider -o addopts="" --timeout=60 -n 2 --import-mode=importlib \
  --ignore=tests/fundamentals/test_cron.py "$@" tests
