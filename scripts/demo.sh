#!/usr/bin/env bash
# joincast's demo, as root on Debian 12: installs what is missing, builds,
# then runs scripts/demo.py in a network-namespace lab it removes again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
exec /usr/bin/python3 -u scripts/demo.py "$@"
