#!/usr/bin/env bash
# Prints the path of this package's release wheel: $BURNER_WHEEL when set (CI builds it once),
# otherwise builds one into dist/. Build output goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${BURNER_WHEEL:-}" ] && [ -f "$BURNER_WHEEL" ]; then
  echo "$BURNER_WHEEL"
  exit 0
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore maturin >&2
rm -rf dist
maturin build --release -q -o dist >&2
ls "$PWD"/dist/burner_redis-*.whl
