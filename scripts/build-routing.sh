#!/usr/bin/env bash
# Configures and builds the routing-only joincast (-DJOINCAST_MEDIA=OFF,
# docs/building.md) into build-routing/: joincastd, joincast and the unit
# tests that apply to it, nothing else (no benchmarks, man pages or
# drivers), so CI can afford it beside the full build. Safe to run
# repeatedly; tests/build/test_routing_only.py checks what it builds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${JOINCAST_ROUTING_BUILD_DIR:-build-routing}
if [[ ! -f $dir/build.ninja ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOINCAST_WERROR=ON \
    -DJOINCAST_MEDIA=OFF -DJOINCAST_BENCH=OFF "${launcher[@]}"
fi
cmake --build "$dir" --target joincastd joincast unit_tests
