#!/usr/bin/env bash
# bench/routes: 10 000 (S,G) routes installed and removed, and one route
# added at runtime, joincastd against smcrouted in the same run.
#   run.sh            short version (5 000 routes): fails unless joincastd
#                     loads them faster than smcrouted (bench/checks.py); the
#                     absolute targets are printed
#   run.sh --full     10 000 routes, 5 repetitions
#   run.sh --write    also rewrite the "routes" section of BENCHMARKS.md
# Needs root (network namespaces, multicast routing sockets).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $EUID -ne 0 ]]; then
  echo "bench/routes: needs root" >&2
  exit 77
fi
exec python3 bench/routes/bench_routes.py "$@"
