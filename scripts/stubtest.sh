#!/usr/bin/env bash
# Checks python/burner_redis/_engine.pyi against the built extension with mypy's stubtest.
# Needs the extension in place (scripts/test.sh or `make dev`). stubtest runs on a copy of the stub
# under an empty package stub, so it checks the compiled module alone and not the pure-Python
# modules around it (those subclass redis-py's classes and are not what the stub describes).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "mypy>=1.18"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/burner_redis"
cp python/burner_redis/_engine.pyi "$tmp/burner_redis/"
: > "$tmp/burner_redis/__init__.pyi"
root=$PWD
(cd "$tmp" && PYTHONPATH="$root/python" python3 -m mypy.stubtest --allowlist "$root/scripts/stubtest-allowlist.txt" burner_redis._engine)
