#!/usr/bin/env bash
# Runs every benchmark in full and rewrites its section of BENCHMARKS.md.
# (ctest -L bench runs the same benchmarks in a short mode as tests.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
for b in bench/*/run.sh; do
  [[ -x "$b" ]] || continue
  echo "== $b"
  "$b" --full --write
done
