#!/usr/bin/env bash
# Configures build-fuzz/, the one sanitizer build that scripts/fuzz.sh and
# scripts/sanitize.sh share: clang, ASan+UBSan on every object, assertions
# on (no NDEBUG), libFuzzer's coverage in every library (JOINCAST_FUZZ=ON).
# The fuzz targets, the tests and joincastd are built from the same objects,
# so the second script compiles only what the first did not need.
# Does nothing when build-fuzz/ is configured already.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build-fuzz/build.ninja ]] && exit 0
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# -O1: the usual fuzzing trade of speed per execution against build time;
# -g1: line tables are all a sanitizer report needs, and build faster.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DJOINCAST_FUZZ=ON -DJOINCAST_BENCH=OFF "${launcher[@]}"
