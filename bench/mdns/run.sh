#!/usr/bin/env bash
# bench/mdns: the cost of carrying mDNS between two zones, joincastd against
# avahi-daemon's own reflector (enable-reflector=yes) in the same run.
#   run.sh            short version (200 queries timed, 3 000 carried)
#   run.sh --full     500 timed, 10 000 carried
#   run.sh --write    also rewrite the "mdns" section of BENCHMARKS.md
# Needs root (network namespaces), avahi-daemon and dbus-daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $EUID -ne 0 ]]; then
  echo "bench/mdns: needs root" >&2
  exit 77
fi
exec python3 bench/mdns/bench_mdns.py "$@"
