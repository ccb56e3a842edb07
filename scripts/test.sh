#!/usr/bin/env bash
# The whole test suite, as root on Debian 12: installs what is missing,
# builds, and runs every ctest label (unit, bpf, netns, bench, guard);
# tests of the kernel's multicast routing run in a VM on Debian's kernel
# when the machine's own lacks it (scripts/vm.sh). Then, each timed: the
# BPF tests on Debian 12's kernel (scripts/bpf-kernels.sh), the fuzz
# targets (scripts/fuzz.sh: every corpus file replayed, then a bounded
# fuzzing run), the sanitizer run (scripts/sanitize.sh: unit, bpf and
# chosen netns tests against the same ASan+UBSan build), and the Debian
# package (scripts/package.sh: dpkg-buildpackage, lintian, install, check,
# purge).
#
# The extra compiles those steps need (the sanitizer build, the package,
# and the routing-only build of -DJOINCAST_MEDIA=OFF) run in the background
# at the lowest CPU priority while ctest runs, whose network tests mostly
# wait on the network and timers; their logs are build/prebuild.log and
# build/routing-build.log. The routing-only build's checks (ctest label
# build) run once it is done.
# Extra arguments go to ctest and run that selection only, without the
# other steps, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if (($#)); then
  cd build
  exec ctest --output-on-failure --timeout 900 "$@"
fi

package_dir=$PWD/build/package
start=$SECONDS
nice -n 19 bash -c "bash scripts/configure-sanitized.sh && cmake --build build-fuzz && bash scripts/package.sh --build '$package_dir'" \
  > build/prebuild.log 2>&1 &
prebuild=$!
# One compile at a time: it has the whole ctest run to finish in, and two
# parallel background builds would hold too many compilers in memory.
CMAKE_BUILD_PARALLEL_LEVEL=1 nice -n 19 bash scripts/build-routing.sh > build/routing-build.log 2>&1 &
routing_build=$!
trap 'kill "$prebuild" "$routing_build" 2>/dev/null || true' EXIT

if [[ -e /proc/net/ip_mr_vif && -e /proc/net/ip6_mr_vif ]] || ! bash scripts/vm.sh --available; then
  (cd build && ctest --output-on-failure --timeout 900 -LE build)
  echo "test.sh: ctest took $((SECONDS - start)) s"
else
  # This kernel has no multicast routing: the tests labelled mroute run
  # in one VM on Debian's kernel, the others here.
  (cd build && ctest --output-on-failure --timeout 900 -LE 'mroute|build')
  echo "test.sh: ctest (this kernel, $(uname -r)) took $((SECONDS - start)) s"
  start=$SECONDS
  (cd build && JOINCAST_VM_TIMEOUT=3600 bash ../scripts/vm.sh -- ctest --output-on-failure --timeout 900 -L mroute)
  echo "test.sh: ctest -L mroute (Debian's kernel in a VM) took $((SECONDS - start)) s"
fi

step() {
  local start=$SECONDS
  "$@"
  echo "test.sh: $* took $((SECONDS - start)) s"
}
if bash scripts/vm.sh --available; then
  step bash scripts/bpf-kernels.sh
else
  echo "test.sh: no VM (scripts/vm.sh --prepare failed): the BPF tests ran on this machine's kernel only" >&2
fi
start=$SECONDS
if ! wait "$routing_build"; then
  tail -60 build/routing-build.log >&2
  echo "test.sh: the routing-only build failed (build/routing-build.log)" >&2
  exit 1
fi
echo "test.sh: waited $((SECONDS - start)) s for the routing-only build"
step bash -c 'cd build && ctest --output-on-failure --timeout 900 -L build'
start=$SECONDS
if ! wait "$prebuild"; then
  tail -60 build/prebuild.log >&2
  echo "test.sh: the background builds failed (build/prebuild.log)" >&2
  exit 1
fi
trap - EXIT
echo "test.sh: waited $((SECONDS - start)) s for the background builds"
step bash scripts/fuzz.sh
step bash scripts/sanitize.sh
step bash scripts/package.sh --install "$package_dir"
