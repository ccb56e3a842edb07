// membership_bench.cpp — nanoseconds per packet of bpf/membership.bpf.c
// through BPF_PROG_TEST_RUN with `repeat`, each packet kind beside an empty
// TC program (`return TC_ACT_UNSPEC`) run on the same frame in the same
// invocation, interleaved over several rounds; prints a markdown table of
// medians and ratios. The target ratio is printed, met or missed; the run
// fails (exit 1) only past fail_ratio, the bench ctests' one policy
// (bench/checks.py, BENCHMARKS.md): a same-run ratio to the baseline, with
// a margin a shared machine does not trip.
//
// Reports are measured on the steady-state refresh path: each report is
// run once first, which creates its listeners (and their events); every
// repeat after that finds them and refreshes them. The counters are checked
// after each case to prove the program really parsed what was timed.
//
//   membership_bench [--full] [--rounds N] [--max-repeat N] [--budget-ms N]
#include "daemon/membership/loader/membership_maps.hpp"
#include "daemon/membership/loader/membership_program.hpp"
#include "bench/common/tc_test_run.hpp"
#include "tests/bpf/packet_builder.hpp"
#include "tests/bpf/private_bpffs.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using joincast::daemon::membership::loader::MembershipMaps;
using joincast::daemon::membership::loader::MembershipProgram;
using joincast::tests::addr;
using joincast::tests::Bytes;
using joincast::tests::GroupRecord;
using joincast::tests::PacketBuilder;

// A packet that is not membership may cost at most this many times the
// empty program (issue 2, "Benchmark").
constexpr double target_ratio = 1.5;
// What fails the run: the same ratio past this limit (measured 1.06-1.08×
// on a shared 2-core machine, ranges up to 1.2×).
constexpr double fail_ratio = 2.0;
// Alternating (empty, membership) pairs per round; a round keeps the best.
constexpr int samples_per_round = 3;

using joincast::bench::bench_ifindex;
using joincast::bench::EmptyProgram;
using joincast::bench::fail;
using joincast::bench::median;
using joincast::bench::ns_per_run;

struct Case {
  std::string name;
  Bytes frame;
  bool membership;          // a report: measured on the refresh path
  std::uint64_t records;    // records each run applies (checked)
};

struct Result {
  std::uint32_t repeat;
  double empty_ns, program_ns, added_ns, ratio, ratio_min, ratio_max;
};

std::string group6(std::size_t i) {
  char g[64];
  std::snprintf(g, sizeof g, "ff3e:40:2001:db8:d0be:f00d:8000:%zx", i);
  return g;
}

std::vector<Case> cases() {
  auto rec = [](std::uint8_t type, const std::string& group) {
    GroupRecord r;
    r.type = type;
    r.group = addr(group);
    return r;
  };
  std::vector<GroupRecord> one6{rec(JC_REC_IS_EX, group6(0))};
  std::vector<GroupRecord> many6;
  for (std::size_t i = 0; i < 64; ++i) many6.push_back(rec(JC_REC_IS_EX, group6(0x100 + i)));
  std::vector<GroupRecord> one4{rec(JC_REC_IS_EX, "239.255.0.1")};
  Bytes rtp(12 + 160, 0x55);  // an RTP header and 20 ms of G.711
  return {
      {"UDP/IPv4, 214 B (not membership)",
       PacketBuilder().ipv4("192.0.2.1", "239.255.0.1").no_router_alert().udp(5004, 5004, rtp).build(), false, 0},
      {"UDP/IPv6, 234 B (not membership)",
       PacketBuilder().ipv6("2001:db8::1", group6(0)).no_hop_by_hop().udp(5004, 5004, rtp).build(), false, 0},
      {"ICMPv6 neighbour solicitation (not membership)",
       PacketBuilder().ipv6("fe80::1", "ff02::1:ff00:2").no_hop_by_hop().neighbour_solicitation("fe80::2").build(),
       false, 0},
      {"MLDv2 report, 1 record", PacketBuilder().ipv6("fe80::10", "ff02::16").mld_v2_report(one6).build(), true, 1},
      {"MLDv2 report, 64 records", PacketBuilder().ipv6("fe80::10", "ff02::16").mld_v2_report(many6).build(), true,
       64},
      {"IGMPv3 report, 1 record", PacketBuilder().ipv4("192.0.2.10", "224.0.0.22").igmp_v3_report(one4).build(), true,
       1},
  };
}

struct Options {
  bool full = false;
  int rounds = 5;
  std::uint32_t max_repeat = 200'000;
  double budget_ms = 10;  // per measurement
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--full") {
      o.full = true;
      o.rounds = 15;
      o.max_repeat = 1'000'000;
      o.budget_ms = 50;
    } else if (a == "--rounds") {
      o.rounds = std::stoi(value());
    } else if (a == "--max-repeat") {
      o.max_repeat = static_cast<std::uint32_t>(std::stoul(value()));
    } else if (a == "--budget-ms") {
      o.budget_ms = std::stod(value());
    } else {
      throw std::invalid_argument("unknown argument " + a +
                                  " (usage: membership_bench [--full] [--rounds N] [--max-repeat N] [--budget-ms N])");
    }
  }
  if (o.rounds < 1) throw std::invalid_argument("--rounds must be at least 1");
  return o;
}

Result measure(MembershipProgram& program, const EmptyProgram& empty, const Case& c, const Options& o) {
  int prog = program.program_fd();
  // Warm up; for a report this first run creates the listeners, so every
  // timed run is a refresh.
  ns_per_run(prog, c.frame, 1);
  double estimate = ns_per_run(prog, c.frame, 1000);
  auto repeat = static_cast<std::uint32_t>(std::clamp(o.budget_ms * 1e6 / estimate, 1000.0,
                                                      static_cast<double>(o.max_repeat)));

  auto maps = MembershipMaps::borrow(program.listeners_fd(), program.groups_fd(), program.queriers_fd(),
                                     program.counters_fd());
  auto read_counters = [&] {
    auto r = maps.counters();
    if (!r) fail("reading the counters", r.error().value());
    return r.value();
  };
  jc_counters before = read_counters();
  std::vector<double> empties, programs, added, ratios;
  for (int round = 0; round < o.rounds; ++round) {
    // Each round is the best of a few alternating pairs: on a shared
    // machine the wall clock also counts time the CPU spent on someone
    // else, and the minimum of deterministic work filters that out.
    // Alternating the order keeps either from always getting the warm cache.
    double e = 1e300, p = 1e300;
    for (int pair = 0; pair < samples_per_round; ++pair) {
      if ((round + pair) % 2 == 0) {
        e = std::min(e, ns_per_run(empty.fd(), c.frame, repeat));
        p = std::min(p, ns_per_run(prog, c.frame, repeat));
      } else {
        p = std::min(p, ns_per_run(prog, c.frame, repeat));
        e = std::min(e, ns_per_run(empty.fd(), c.frame, repeat));
      }
    }
    empties.push_back(e);
    programs.push_back(p);
    added.push_back(p - e);
    ratios.push_back(p / e);
  }
  jc_counters after = read_counters();
  // The program did the work that was timed, and nothing else.
  std::uint64_t runs = std::uint64_t{repeat} * static_cast<std::uint64_t>(o.rounds * samples_per_round);
  if (after.records - before.records != runs * c.records)
    throw std::runtime_error(c.name + ": expected " + std::to_string(runs * c.records) + " records applied, got " +
                             std::to_string(after.records - before.records));
  if (!c.membership && after.packets != before.packets)
    throw std::runtime_error(c.name + ": a packet that is not membership was inspected");
  if (after.malformed + after.truncated + after.bad_checksum + after.records_skipped + after.listeners_full +
          after.groups_full !=
      0)
    throw std::runtime_error(c.name + ": the program found fault with the frame");

  return {repeat,
          median(empties),
          median(programs),
          median(added),
          median(ratios),
          *std::min_element(ratios.begin(), ratios.end()),
          *std::max_element(ratios.begin(), ratios.end())};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    joincast::tests::PrivateBpffs bpffs("joincast-bench");
    MembershipProgram::Options options;
    options.pin_root = bpffs.dir() + "/membership";
    auto loaded = MembershipProgram::load(options);
    if (!loaded) fail("loading the membership program", loaded.error().value());
    auto program = std::move(loaded).value();
    EmptyProgram empty;

    bool failed = false;
    std::printf("Nanoseconds per packet through `BPF_PROG_TEST_RUN` with `repeat`, the membership\n"
                "program (checksums verified, as configured by default) beside an empty TC program\n"
                "(`return TC_ACT_UNSPEC`) on the same frame, interleaved: %d rounds, each the best of\n"
                "%d alternating pairs of runs timed around the syscall; medians over the rounds.\n"
                "Both include test_run's own per-repeat loop, which is most of the empty program's\n"
                "time; *added* is the membership program's own cost. Reports are timed on the\n"
                "steady-state refresh path: each was run once first, so its listeners exist and\n"
                "every timed run refreshes them (no events). Target: a packet that is not\n"
                "membership costs at most %.1f× the empty program.\n\n",
                o.rounds, samples_per_round, target_ratio);
    std::printf("| packet | repeat | empty ns | membership ns | added ns | ratio | ratio range | target |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (const auto& c : cases()) {
      std::fprintf(stderr, "measuring %s\n", c.name.c_str());
      Result r = measure(*program, empty, c, o);
      std::string target = "–";
      if (!c.membership) {
        bool ok = r.ratio <= target_ratio;
        bool past_limit = r.ratio > fail_ratio;
        failed = failed || past_limit;
        std::fprintf(stderr, "bench.membership: ratio %s, membership / empty: %.2f× (limit ≤ %.0f×): %s\n",
                     c.name.c_str(), r.ratio, fail_ratio, past_limit ? "FAILED" : "ok");
        std::fprintf(stderr, "bench.membership: target %s ≤ %.1f×: %s\n", c.name.c_str(), target_ratio,
                     ok ? "met" : "missed (printed, not a failure)");
        char t[32];
        std::snprintf(t, sizeof t, "≤ %.1f× %s", target_ratio, ok ? "met" : "**missed**");
        target = t;
      }
      std::printf("| %s | %u | %.1f | %.1f | %.1f | %.2f× | %.2f–%.2f | %s |\n", c.name.c_str(), r.repeat,
                  r.empty_ns, r.program_ns, r.added_ns, r.ratio, r.ratio_min, r.ratio_max, target.c_str());
      std::fflush(stdout);
    }
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "membership_bench: %s\n", e.what());
    return 2;
  }
}
