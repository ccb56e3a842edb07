#!/usr/bin/env bash
# Runs the unit and bpf tests and a chosen set of netns tests against the
# sanitizer build (build-fuzz/, scripts/configure-sanitized.sh: clang,
# ASan+UBSan, assertions on): membership, an end-to-end join/leave, source
# failures, routing, and the DVB tuner (whose driver's exit status carries
# LeakSanitizer's verdict). After scripts/fuzz.sh only the tests and
# joincastd are left to compile. Extra arguments go to every ctest call.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/configure-sanitized.sh
start=$SECONDS
cmake --build build-fuzz
echo "sanitize.sh: build took $((SECONDS - start)) s"

# Leaks are failures; a sanitizer report ends the process with an error.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

netns='^netns\.(test_membership_counts|test_e2e_join_leave|test_e2e_failures|test_routing_forwarding|test_dvb)$'
cd build-fuzz
# A selection that matches nothing is a failure, not a pass.
for sel in "-L unit" "-L bpf" "-R $netns"; do
  # shellcheck disable=SC2086
  n=$(ctest -N $sel | sed -n 's/^Total Tests: //p')
  if [[ -z "$n" || "$n" -eq 0 ]]; then
    echo "sanitize.sh: ctest $sel selects no test" >&2
    exit 1
  fi
done
start=$SECONDS
# All three selections run; any failure fails the script at the end.
rc=0
ctest --output-on-failure --timeout 900 -L unit "$@" || rc=1
ctest --output-on-failure --timeout 900 -L bpf "$@" || rc=1
ctest --output-on-failure --timeout 900 -R "$netns" "$@" || rc=1
echo "sanitize.sh: tests took $((SECONDS - start)) s"
exit $rc
