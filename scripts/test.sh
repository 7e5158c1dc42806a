#!/usr/bin/env bash
# Builds the extension in place (release) and runs the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check "redis>=5,<9" pytest pytest-asyncio hypothesis
cargo build --release --features extension-module --quiet
cp target/release/libburner_redis.so "python/burner_redis/_engine$(python3 -c 'import sysconfig;print(sysconfig.get_config_var("EXT_SUFFIX"))')"
python3 -m pytest -q -p no:cacheprovider "$@"
