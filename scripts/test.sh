#!/usr/bin/env bash
# The one test command (npm test): peers, dependencies, build, then every test suite.
#
# usage: bash scripts/test.sh [NODE_TEST_OPTION ...] [DIST_PATH ...]
#   with no paths: runs dist/test/unit, dist/test/adversarial and dist/test/integration
#   options starting with -- go to 'node --test' (e.g. --test-name-pattern=busybox)
#   paths (e.g. dist/test/integration/pull.test.js) run only those
# env:
#   COVERAGE=1   add Node's --experimental-test-coverage report (reported, never a gate)
#
# Installs missing peers with scripts/install-peers.sh (a no-op when all are there), runs 'npm ci'
# when node_modules is missing, builds with 'npm run build', and runs node:test one file at a time
# (integration tests share the image cache in .cache/). Exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

opts=()
paths=()
for a in "$@"; do
  case $a in
    --*) opts+=("$a") ;;
    *) paths+=("$a") ;;
  esac
done

bash scripts/install-peers.sh
if [ ! -d node_modules ]; then
  npm ci
fi
npm run build

# A test deleted from test/ leaves its compiled file in dist/test; do not run it.
if [ -d dist/test ]; then
  while IFS= read -r -d '' js; do
    src=${js#dist/}
    src=${src%.js}.ts
    if [ ! -e "$src" ]; then
      echo "test: removing stale $js (no $src)" >&2
      rm -f "$js" "$js.map" "${js%.js}.d.ts"
    fi
  done < <(find dist/test -name '*.test.js' -print0)
fi

if [ ${#paths[@]} -eq 0 ]; then
  for d in dist/test/unit dist/test/adversarial dist/test/integration; do
    if [ -d "$d" ]; then
      paths+=("$d")
    else
      echo "test: $d does not exist (no tests compiled there)" >&2
    fi
  done
fi
if [ ${#paths[@]} -eq 0 ]; then
  echo "test: no test directories under dist/test; nothing would run" >&2
  exit 1
fi

if [ "${COVERAGE:-0}" = 1 ]; then
  opts+=(--experimental-test-coverage)
fi

# spec reporter: readable per-test lines and the summary (tests/pass/fail/...) at the end.
exec node --test --test-concurrency=1 --test-reporter=spec "${opts[@]}" "${paths[@]}"
