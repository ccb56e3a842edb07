#!/usr/bin/env bash
# bench/membership/run.sh — nanoseconds per packet of the membership TC
# program through BPF_PROG_TEST_RUN beside an empty TC program, as ratios.
#
#   run.sh                  short run (what ctest bench.membership does);
#                           prints the section; fails only if a ratio to the
#                           empty program passes its limit (bench/checks.py)
#   run.sh --full           15 rounds, up to 1e6 repeats per measurement
#   run.sh --full --write   and rewrites the membership section of BENCHMARKS.md
#
# Needs root (BPF_PROG_TEST_RUN, a private bpffs). Uses the build in
# $JOINCAST_BUILD_DIR, default ./build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${JOINCAST_BUILD_DIR:-$root/build}

full=0
write=0
for arg in "$@"; do
  case $arg in
    --full) full=1 ;;
    --write) write=1 ;;
    *) echo "usage: $0 [--full] [--write]" >&2; exit 2 ;;
  esac
done

bin=$build/bench/membership/membership_bench
if [[ ! -x $bin ]]; then
  echo "$0: $bin not built (run scripts/build.sh)" >&2
  exit 2
fi
args=()
[[ $full == 1 ]] && args+=(--full)

measured_at=$(python3 "$root/bench/measured_at.py")
table=$(mktemp)
trap 'rm -f "$table"' EXIT
status=0
"$bin" "${args[@]}" >"$table" || status=$?
if [[ $status -ge 2 ]]; then
  exit "$status"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
section=$(
  echo "## membership: the eBPF membership program, per packet"
  echo
  echo "$measured_at"
  echo
  cat "$table"
  echo
  echo "Command: \`bench/membership/run.sh${*:+ $*}\`"
  echo
  echo "Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)," \
    "bpf_jit_enable=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo '?'), load average" \
    "$(cut -d' ' -f1 /proc/loadavg) at the start (a shared machine)."
)
if [[ $write == 1 ]]; then
  python3 "$root/bench/update_benchmarks.py" membership <<<"$section"
  echo "$section"
  echo "(written to BENCHMARKS.md)" >&2
else
  echo "$section"
fi
exit "$status"
