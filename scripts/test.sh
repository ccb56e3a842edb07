#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what is missing,
# builds, and runs every ctest label (unit, bpf, netns, bench); then the
# hardening steps: the fuzz targets (scripts/fuzz.sh: corpus replay and a
# bounded fuzzing run) and the sanitizer build (scripts/sanitize.sh: unit,
# bpf and chosen netns tests under ASan+UBSan), each timed.
# Extra arguments go to ctest and run that selection only, without the
# hardening steps, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if (($#)); then
  cd build
  exec ctest --output-on-failure --timeout 900 "$@"
fi
(cd build && ctest --output-on-failure --timeout 900)
for step in fuzz sanitize; do
  start=$SECONDS
  bash "scripts/$step.sh"
  echo "test.sh: scripts/$step.sh took $((SECONDS - start)) s"
done
