#!/usr/bin/env bash
# The soak (bench/soak/soak.py): an hour of join/leave churn, reloads and
# RTCP against a real Icecast2 station; RSS, fds and CPU every minute.
# --minutes N shortens it (the table says the growth is extrapolated then);
# --write updates BENCHMARKS.md. Not part of CI. Needs root, icecast2,
# ffmpeg and a build (JOINCAST_BUILD_DIR, default ./build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export JOINCAST_SOURCE_DIR="${JOINCAST_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
export JOINCAST_BUILD_DIR="${JOINCAST_BUILD_DIR:-$JOINCAST_SOURCE_DIR/build}"
export PYTHONDONTWRITEBYTECODE=1
exec python3 -u "$here/soak.py" "$@"
