#!/usr/bin/env bash
# Fresh machine: build and install the package (release), then run the main example.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore maturin "redis>=5,<9"
rm -rf dist
maturin build --release -q -o dist
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --force-reinstall --no-deps dist/burner_redis-*.whl
cd examples && python3 quickstart.py
