#!/usr/bin/env bash
# Prefect end to end with no Redis anywhere (scripts/prefect_e2e.py, both variants by default), in
# the venv of scripts/prefect_venv.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash scripts/prefect_venv.sh)
"$py" scripts/prefect_e2e.py "$@"
