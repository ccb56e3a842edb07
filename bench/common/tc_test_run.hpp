// tc_test_run.hpp — what the BPF benchmarks (bench/membership, bench/ssdp)
// share: the baseline, an empty TC program loaded from raw instructions, and
// nanoseconds per run of a TC program over a frame with BPF_PROG_TEST_RUN.
// Header-only; the benches link libbpf already.
#pragma once

#include "tests/bpf/packet_builder.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace joincast::bench {

// The ifindex the frames arrive on (a zone or membership interface in the
// benches' maps).
inline constexpr std::uint32_t bench_ifindex = 7;

[[noreturn]] inline void fail(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

// The baseline: a TC program that only returns TC_ACT_UNSPEC, the two
// instructions clang emits for it, loaded from raw instructions.
class EmptyProgram {
 public:
  EmptyProgram() {
    bpf_insn insns[2]{};
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = TC_ACT_UNSPEC
    insns[0].dst_reg = BPF_REG_0;
    insns[0].imm = TC_ACT_UNSPEC;
    insns[1].code = BPF_JMP | BPF_EXIT;
    fd_ = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "jc_empty", "GPL", insns, 2, nullptr);
    if (fd_ < 0) fail("loading the empty TC program", -fd_);
  }
  ~EmptyProgram() { ::close(fd_); }
  EmptyProgram(const EmptyProgram&) = delete;
  EmptyProgram& operator=(const EmptyProgram&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

inline double monotonic() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Nanoseconds per run of prog over frame, `repeat` runs in one
// BPF_PROG_TEST_RUN. Timed around the syscall rather than with the
// kernel's `duration`, which is whole nanoseconds: at ~25 ns a packet that
// rounding would swamp the difference being measured. The syscall's own
// cost is spread over `repeat` runs. The verdict must be TC_ACT_UNSPEC.
inline double ns_per_run(int prog, const tests::Bytes& frame, std::uint32_t repeat) {
  __sk_buff ctx{};
  ctx.ingress_ifindex = bench_ifindex;
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof(ctx);
  opts.repeat = static_cast<int>(repeat);  // libbpf declares it int
  double start = monotonic();
  int err = bpf_prog_test_run_opts(prog, &opts);
  double elapsed = monotonic() - start;
  if (err < 0) fail("bpf_prog_test_run_opts", -err);
  if (static_cast<int>(opts.retval) != TC_ACT_UNSPEC) throw std::runtime_error("verdict is not TC_ACT_UNSPEC");
  return elapsed / repeat;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace joincast::bench
