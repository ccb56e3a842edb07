#!/usr/bin/env bash
# Configures and builds joincast into build/ (installing missing Debian
# packages first). Used by test.sh and demo.sh; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  launcher=()
  # A developer's ccache, when there is one, makes rebuilds in several
  # work trees cheap; CI has none and builds from scratch.
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOINCAST_WERROR=ON "${launcher[@]}"
fi
cmake --build build
