#!/usr/bin/env bash
# Configures and builds joincast into build/ (installing missing Debian
# packages first). Used by test.sh and demo.sh; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOINCAST_WERROR=ON
fi
cmake --build build
