#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what is missing,
# builds, and runs every ctest label (unit, bpf, netns, bench).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
exec ctest --output-on-failure --timeout 900 "$@"
