#!/usr/bin/env bash
# The media benchmark: N RTP sessions in one joincast process against one
# ffmpeg per stream. --full runs N = 10, 100, 1000 (a few minutes); without
# it, N = 10, the ctest check (bench/checks.py). --write updates BENCHMARKS.md.
# Needs root (network namespaces) and a build (JOINCAST_BUILD_DIR, default
# ./build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export JOINCAST_SOURCE_DIR="${JOINCAST_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
export JOINCAST_BUILD_DIR="${JOINCAST_BUILD_DIR:-$JOINCAST_SOURCE_DIR/build}"
export PYTHONDONTWRITEBYTECODE=1
exec python3 -u "$here/bench_media.py" "$@"
