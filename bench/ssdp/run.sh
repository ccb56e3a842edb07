#!/usr/bin/env bash
# bench/ssdp/run.sh — the SSDP relay's costs, each as a ratio to a baseline
# measured in the same run:
#   1. ssdp_bench: nanoseconds per packet of bpf/ssdp.bpf.c on traffic that
#      is not SSDP, beside an empty TC program (BPF_PROG_TEST_RUN);
#   2. bench_relay.py: CPU per relayed SSDP packet and added latency in a
#      netns lab, joincastd beside an nftables `dup` rule and a userspace
#      raw-socket relay.
#
#   run.sh                  short run (what ctest bench.ssdp does): prints the
#                           section; fails only on a same-run ratio past its
#                           limit (bench/checks.py)
#   run.sh --full           more rounds and packets
#   run.sh --full --write   and rewrites the ssdp section of BENCHMARKS.md
#
# Needs root (BPF_PROG_TEST_RUN, network namespaces) and nft. Uses the
# build in $JOINCAST_BUILD_DIR, default ./build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${JOINCAST_BUILD_DIR:-$root/build}
export JOINCAST_BUILD_DIR=$build JOINCAST_SOURCE_DIR=$root PYTHONDONTWRITEBYTECODE=1

full=0
write=0
for arg in "$@"; do
  case $arg in
    --full) full=1 ;;
    --write) write=1 ;;
    *) echo "usage: $0 [--full] [--write]" >&2; exit 2 ;;
  esac
done
if [[ $EUID -ne 0 ]]; then
  echo "bench/ssdp: needs root" >&2
  exit 77
fi
bin=$build/bench/ssdp/ssdp_bench
if [[ ! -x $bin ]]; then
  echo "$0: $bin not built (run scripts/build.sh)" >&2
  exit 2
fi
args=()
[[ $full == 1 ]] && args+=(--full)

measured_at=$(python3 "$root/bench/measured_at.py")
table=$(mktemp)
relay=$(mktemp)
trap 'rm -f "$table" "$relay"' EXIT
status=0
"$bin" "${args[@]}" >"$table" || status=$?
if [[ $status -ge 2 ]]; then
  exit "$status"
fi
relay_status=0
python3 "$here/bench_relay.py" "${args[@]}" --markdown "$relay" || relay_status=$?
if [[ $relay_status -ge 2 ]]; then
  exit "$relay_status"
fi
[[ $relay_status -ne 0 ]] && status=1

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
section=$(
  echo "## ssdp: the SSDP relay program on other traffic, per packet"
  echo
  echo "$measured_at"
  echo
  cat "$table"
  echo
  echo "Command: \`bench/ssdp/run.sh${*:+ $*}\`"
  echo
  echo "Machine: ${cpu:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)," \
    "bpf_jit_enable=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo '?'), load average" \
    "$(cut -d' ' -f1 /proc/loadavg) at the start (a shared machine)."
  echo
  # bench_relay.py's section names the same commit; its own header is a
  # sub-heading here.
  sed -e '1s/^## /### /' -e '/^Commit: /,+1d' -e '/^Command: /,+1d' "$relay"
)
if [[ $write == 1 ]]; then
  python3 "$root/bench/update_benchmarks.py" ssdp <<<"$section"
  echo "$section"
  echo "(written to BENCHMARKS.md)" >&2
else
  echo "$section"
fi
exit "$status"
