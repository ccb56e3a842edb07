#!/usr/bin/env bash
# The BPF programs on a second kernel: every BPF_PROG_TEST_RUN case of
# build/tests/bpf_tests (one process, all cases) on Debian 12's own kernel,
# in the VM scripts/vm.sh starts, after ctest ran them on the machine's.
# The verifier differs between kernels (stack accounting, bounds it
# learns, what sleepable programs may do), and Debian 12's 6.1 is what a
# router installing the package runs. Fails when the VM cannot be started:
# scripts/install-deps.sh prepares it.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=build/tests/bpf_tests
[[ -x "$binary" ]] || { echo "bpf-kernels.sh: $binary missing (scripts/build.sh builds it)" >&2; exit 1; }
bash scripts/vm.sh --available || { echo "bpf-kernels.sh: no VM (scripts/vm.sh --prepare)" >&2; exit 1; }
bash scripts/vm.sh -- bash -c "uname -r && exec $binary --no-colors=true"
