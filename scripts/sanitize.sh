#!/usr/bin/env bash
# Builds everything with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc, assertions on: no NDEBUG) in build-asan/, then runs the unit and
# bpf tests and a chosen set of netns tests against it: membership, an
# end-to-end join/leave, source failures, routing, and the DVB tuner
# (whose driver's exit status carries LeakSanitizer's verdict).
# Extra arguments go to every ctest call.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f build-asan/build.ninja ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # -O1 -g1: sanitizer reports need line tables only; both build faster.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DJOINCAST_SANITIZE=address,undefined -DJOINCAST_BENCH=OFF "${launcher[@]}"
fi
start=$SECONDS
cmake --build build-asan
echo "sanitize.sh: build took $((SECONDS - start)) s"

# Leaks are failures; a sanitizer report ends the process with an error.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

netns='^netns\.(test_membership_counts|test_e2e_join_leave|test_e2e_failures|test_routing_forwarding|test_dvb)$'
cd build-asan
start=$SECONDS
# All three selections run; any failure fails the script at the end.
rc=0
ctest --output-on-failure --timeout 900 -L unit "$@" || rc=1
ctest --output-on-failure --timeout 900 -L bpf "$@" || rc=1
ctest --output-on-failure --timeout 900 -R "$netns" "$@" || rc=1
echo "sanitize.sh: tests took $((SECONDS - start)) s"
exit $rc
