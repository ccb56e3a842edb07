#!/usr/bin/env bash
# The end-to-end benchmark: time to playable (a listener's join to ffprobe
# identifying the stream over SAP) for the test channel and a loopback
# Icecast station, against FFmpeg's own SAP muxer already running; and the
# last leave to the SAP deletion. --full runs 15 repetitions per case
# (about ten minutes); without it, 3, the ctest check (bench/checks.py).
# --write updates BENCHMARKS.md. With --full it then runs listeners.py
# (what listeners and their networks see: leave, restart, well-known SAP
# group, title change; from the netns tests that guard them). Needs root
# (network namespaces), icecast2, ffmpeg/ffprobe, VLC, GStreamer and a
# build (JOINCAST_BUILD_DIR, default ./build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export JOINCAST_SOURCE_DIR="${JOINCAST_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
export JOINCAST_BUILD_DIR="${JOINCAST_BUILD_DIR:-$JOINCAST_SOURCE_DIR/build}"
export PYTHONDONTWRITEBYTECODE=1
python3 -u "$here/bench_e2e.py" "$@"
for arg in "$@"; do
  if [[ $arg == --full ]]; then
    write=(); [[ " $* " == *" --write "* ]] && write=(--write)
    exec python3 -u "$here/listeners.py" "${write[@]}"
  fi
done
