#!/usr/bin/env bash
# Runs every example in examples/ against the installed wheel (in the venv of
# scripts/prefect_venv.sh, which also has pydocket and prefect); each asserts its own result.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash scripts/prefect_venv.sh)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
ran=0
for f in examples/*.py; do
  start=$(date +%s%N)
  if timeout 300 "$py" "$f" >"$log" 2>&1; then
    printf '%-36s ok  %6d ms\n' "$f" $((($(date +%s%N) - start) / 1000000))
  else
    printf '%-36s FAIL\n' "$f"
    cat "$log"
    failed=$((failed + 1))
  fi
  ran=$((ran + 1))
done
echo "examples: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
