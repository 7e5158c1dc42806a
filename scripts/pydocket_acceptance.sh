#!/usr/bin/env bash
# Acceptance: pydocket's own test suite (from its sdist) in memory:// mode against this package.
# Installs this package's wheel first, so pydocket's `burner-redis>=0.1.7` is satisfied by ours.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${PYDOCKET_VERSION:-0.27.0}
work=${PYDOCKET_DIR:-/tmp/pydocket-acceptance}
mkdir -p "$work"
python3 -m pip install -q --disable-pip-version-check maturin
rm -rf dist && maturin build --release -q -o dist
python3 -m pip install -q --disable-pip-version-check --force-reinstall --no-deps dist/burner_redis-*.whl
python3 -m pip install -q --disable-pip-version-check "pydocket==$VERSION" pytest pytest-asyncio pytest-timeout pytest-xdist pytest-cov \
  docker opentelemetry-sdk opentelemetry-exporter-prometheus opentelemetry-instrumentation-redis
python3 -c "import burner_redis, sys; assert burner_redis.__version__ >= '0.2', burner_redis.__version__"
if [ ! -d "$work/pydocket-$VERSION" ]; then
  (cd "$work" && python3 -m pip download -q --no-deps --no-binary :all: "pydocket==$VERSION" && tar xzf "pydocket-$VERSION.tar.gz")
fi
cd "$work/pydocket-$VERSION"
REDIS_VERSION=memory python3 -m pytest -q -p no:cacheprovider -o addopts="" --timeout=60 -n 2 \
  --import-mode=importlib --ignore=tests/fundamentals/test_cron.py "$@" tests
