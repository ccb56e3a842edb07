#!/usr/bin/env bash
# bench/footprint: what the routing-only joincastd (-DJOINCAST_MEDIA=OFF,
# build-routing/) costs a small router, against smcrouted in the same run:
# shared libraries, stripped size, RSS for the seed's routes, start to
# first route, `joincast route add` against `smcroutectl add`, memory per
# route at 100 000 routes; the full build's RSS beside it.
#   run.sh            short version (fewer repetitions, 20 000 routes)
#   run.sh --full     5 repetitions, 100 000 routes
#   run.sh --write    also rewrite the "footprint" section of BENCHMARKS.md
# Needs root and multicast routing (on a kernel without it, the VM of
# scripts/vm.sh). Builds build-routing/ first (scripts/build-routing.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $EUID -ne 0 ]]; then
  echo "bench/footprint: needs root" >&2
  exit 77
fi
if [[ -z ${JOINCAST_IN_VM:-} ]]; then
  bash scripts/build-routing.sh >&2
fi
exec python3 bench/footprint/bench_footprint.py "$@"
