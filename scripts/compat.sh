#!/usr/bin/env bash
# Runs the suite (or the files given) against older redis-py releases, each installed into its own
# directory that shadows the default redis-py through PYTHONPATH. Expects the extension built in
# place (scripts/test.sh or `make dev`).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS=${COMPAT_VERSIONS:-"5.0.8 6.4.0 7.4.1 8.1.0"}
root=${COMPAT_DIR:-/tmp/burner-compat}
status=0
for v in $VERSIONS; do
  dir="$root/redis-$v"
  if [ ! -d "$dir/redis" ]; then
    python3 -m pip install -q --disable-pip-version-check --target "$dir" "redis==$v" >/dev/null
  fi
  echo "== redis-py $v"
  if ! PYTHONPATH="$dir${PYTHONPATH:+:$PYTHONPATH}" python3 -m pytest -q -p no:cacheprovider "$@"; then
    status=1
  fi
done
exit $status
