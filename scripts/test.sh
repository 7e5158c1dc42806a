#!/usr/bin/env bash
# Builds the extension in place (release) and runs the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "redis>=5,<9" pytest pytest-asyncio hypothesis
cargo build --release --features extension-module --quiet
cp target/release/libburner_redis.so "python/burner_redis/_engine$(python3 -c 'import sysconfig;print(sysconfig.get_config_var("EXT_SUFFIX"))')"
python3 -m pytest -q -p no:cacheprovider "$@"
# The differential files once more with every burner client on the socket server (~80 s).
BURNER_VIA_SOCKET=1 python3 -m pytest -q -p no:cacheprovider \
  tests/test_string.py tests/test_hash.py tests/test_list.py tests/test_set.py tests/test_sorted_set.py \
  tests/test_stream.py tests/test_generic.py tests/test_transactions.py tests/test_connection.py \
  tests/test_pubsub.py tests/test_blocking.py
