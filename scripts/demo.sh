#!/usr/bin/env bash
# joincast's demo, as root on Debian 12: installs what is missing, builds,
# then runs scripts/demo.py in a network-namespace lab it removes again.
# It says what it is doing while it installs and builds: on a first run
# that takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: installing the Debian packages joincast needs, if any are missing (scripts/install-deps.sh)"
bash scripts/install-deps.sh
log="${TMPDIR:-/tmp}/joincast-demo-build.log"
echo "demo: building joincast into build/ (a first build takes several minutes on a small machine; output in $log)"
bash scripts/build.sh >"$log" 2>&1 &
build=$!
last=""
while kill -0 "$build" 2>/dev/null; do
  sleep 3
  # ninja's progress, "[n/m] what", on one line that rewrites itself.
  step=$(grep -o '^\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -1 || true)
  if [[ -n "$step" && "$step" != "$last" ]]; then
    printf '\rdemo: building %s ' "$step"
    last=$step
  fi
done
if ! wait "$build"; then
  echo
  tail -30 "$log" >&2
  echo "demo: the build failed; the whole output is in $log" >&2
  exit 1
fi
[[ -n "$last" ]] && echo
echo "demo: built; starting the lab"
exec /usr/bin/python3 -u scripts/demo.py "$@"
