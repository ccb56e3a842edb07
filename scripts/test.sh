#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what is missing,
# builds, and runs every ctest label (unit, bpf, netns, bench, guard);
# then the hardening steps, each timed: the fuzz targets (scripts/fuzz.sh:
# every corpus file replayed, then a bounded fuzzing run), the sanitizer
# run (scripts/sanitize.sh: unit, bpf and chosen netns tests against the
# same ASan+UBSan build), and the Debian package (scripts/package.sh:
# dpkg-buildpackage, lintian, install, check, purge).
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
for step in fuzz sanitize package; do
  start=$SECONDS
  bash "scripts/$step.sh"
  echo "test.sh: scripts/$step.sh took $((SECONDS - start)) s"
done
