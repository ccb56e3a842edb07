// ssdp_bench.cpp — nanoseconds per packet of bpf/ssdp.bpf.c on traffic that
// is not SSDP, through BPF_PROG_TEST_RUN with `repeat`, each packet beside
// an empty TC program (`return TC_ACT_UNSPEC`) run on the same frame in the
// same invocation, interleaved over several rounds (bench/membership's
// method); prints a markdown table of medians and ratios. The packets are
// received on an interface that is in a zone (its entry is in the
// program's map), the case where the program is attached at all.
//
// The target ratio is printed, met or missed; the run fails (exit 1) only
// past fail_ratio, the bench ctests' one policy (bench/checks.py,
// BENCHMARKS.md): a same-run ratio to the baseline, with a margin a shared
// machine does not trip. The counters are checked after each case: a
// packet that is not SSDP must leave them all at zero.
//
//   ssdp_bench [--full] [--rounds N] [--max-repeat N] [--budget-ms N]
#include "daemon/lan/ssdp/loader/ssdp_program.hpp"
#include "bench/common/tc_test_run.hpp"
#include "tests/bpf/packet_builder.hpp"
#include "tests/bpf/private_bpffs.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using joincast::daemon::lan::ssdp::SsdpProgram;
using joincast::tests::Bytes;
using joincast::tests::PacketBuilder;

// Issue 11, "Benchmarks": a packet that is not SSDP costs at most 1.1× the
// empty program.
constexpr double target_ratio = 1.1;
// What fails the run: past this (measured 1.00-1.10× on a quiet 2-core
// machine; a short run under load from other work has shown 1.4-1.6×).
constexpr double fail_ratio = 2.0;
constexpr int samples_per_round = 3;

using joincast::bench::bench_ifindex;
using joincast::bench::EmptyProgram;
using joincast::bench::fail;
using joincast::bench::median;
using joincast::bench::ns_per_run;

struct Case {
  std::string name;
  Bytes frame;
};

std::vector<Case> cases() {
  Bytes rtp(12 + 160, 0x55);  // an RTP header and 20 ms of G.711
  Bytes reply;
  for (char c : std::string("HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n")) reply.push_back(static_cast<std::uint8_t>(c));
  return {
      {"UDP/IPv4 multicast 239.255.0.1, 214 B",
       PacketBuilder().ipv4("192.0.2.10", "239.255.0.1").no_router_alert().udp(5004, 5004, rtp).build()},
      {"UDP/IPv4 unicast to port 1900 (an M-SEARCH answer)",
       PacketBuilder().ipv4("192.0.2.10", "192.0.2.1").no_router_alert().eth_dst({2, 0, 0, 0, 0, 2})
           .udp(1900, 50000, reply).build()},
      {"TCP/IPv4 unicast", PacketBuilder().ipv4("192.0.2.10", "192.0.2.1").no_router_alert()
                               .eth_dst({2, 0, 0, 0, 0, 2}).tcp(40000, 1400).build()},
      {"UDP/IPv6 multicast, 234 B",
       PacketBuilder().ipv6("2001:db8::10", "ff3e::8000:1").no_hop_by_hop().udp(5004, 5004, rtp).build()},
      {"ARP request (broadcast)", PacketBuilder().arp_request("192.0.2.10", "192.0.2.1").build()},
      // A broadcast: its port is read and checked against the ports map.
      {"DHCP broadcast to 255.255.255.255:67 (port checked)",
       PacketBuilder().ipv4("0.0.0.0", "255.255.255.255").no_router_alert().udp(68, 67, Bytes(300, 0)).build()},
  };
}

struct Options {
  int rounds = 5;
  std::uint32_t max_repeat = 200'000;
  double budget_ms = 10;
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
                                  " (usage: ssdp_bench [--full] [--rounds N] [--max-repeat N] [--budget-ms N])");
    }
  }
  if (o.rounds < 1) throw std::invalid_argument("--rounds must be at least 1");
  return o;
}

struct Result {
  std::uint32_t repeat;
  double empty_ns, program_ns, added_ns, ratio, ratio_min, ratio_max;
};

Result measure(SsdpProgram& program, const EmptyProgram& empty, const Case& c, const Options& o) {
  int prog = program.program_fd();
  ns_per_run(prog, c.frame, 1);
  double estimate = ns_per_run(prog, c.frame, 1000);
  auto repeat = static_cast<std::uint32_t>(
      std::clamp(o.budget_ms * 1e6 / estimate, 1000.0, static_cast<double>(o.max_repeat)));
  std::vector<double> empties, programs, added, ratios;
  for (int round = 0; round < o.rounds; ++round) {
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
  auto counters = program.counters();
  if (!counters) fail("reading the counters", counters.error().value());
  for (const auto& entry : counters.value())
    for (const auto& f : joincast::daemon::lan::ssdp::counter_fields)
      if (entry.value.*f.member != 0)
        throw std::runtime_error(c.name + ": counted as " + f.name + ": the program took it for SSDP");
  return {repeat,
          median(empties),
          median(programs),
          median(added),
          median(ratios),
          *std::min_element(ratios.begin(), ratios.end()),
          *std::max_element(ratios.begin(), ratios.end())};
}

// The interface the packets arrive on: in a zone with the defaults
// (IPv4 and IPv6, broadcast rewrite, ports 1900 and 6969, a subnet, a
// rate limit) and one peer, so every check the program makes is armed.
jc_ssdp_iface zone_entry() {
  jc_ssdp_iface e{};
  e.zone = 1;
  e.flags = JC_SSDP_F_IPV4 | JC_SSDP_F_IPV6 | JC_SSDP_F_REWRITE;
  const std::uint8_t mac[6] = {2, 0, 0, 0, 0, 7};
  std::memcpy(e.mac, mac, 6);
  e.interval_ns = 10'000'000;
  e.burst = 200;
  e.ports[0] = 1900;
  e.ports[1] = 6969;
  e.subnet[0] = htonl(0xc0000200);  // 192.0.2.0/24
  e.mask[0] = htonl(0xffffff00);
  e.peer_count = 1;
  e.peers[0].ifindex = bench_ifindex + 1;
  e.peers[0].kinds = JC_SSDP_SEARCH | JC_SSDP_NOTIFY | JC_SSDP_OTHER;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    joincast::tests::PrivateBpffs bpffs("joincast-bench-ssdp");
    SsdpProgram::Options options;
    options.pin_root = bpffs.dir() + "/ssdp";
    auto loaded = SsdpProgram::load(options);
    if (!loaded) fail("loading the SSDP program", loaded.error().value());
    auto program = std::move(loaded).value();
    if (auto r = program->configure(bench_ifindex, zone_entry()); !r) fail("configuring the zone", r.error().value());
    EmptyProgram empty;

    bool failed = false;
    std::printf("Nanoseconds per packet through `BPF_PROG_TEST_RUN` with `repeat`, the SSDP relay\n"
                "program on traffic that is not SSDP, received on a zone interface (its entry in the\n"
                "map, all checks armed), beside an empty TC program (`return TC_ACT_UNSPEC`) on the\n"
                "same frame, interleaved: %d rounds, each the best of %d alternating pairs of runs\n"
                "timed around the syscall; medians over the rounds. Both include test_run's own\n"
                "per-repeat loop, which is most of the empty program's time; *added* is the SSDP\n"
                "program's own cost. Every counter stays zero (checked): none of these is taken for\n"
                "SSDP. Target: at most %.1f× the empty program.\n\n",
                o.rounds, samples_per_round, target_ratio);
    std::printf("| packet | repeat | empty ns | ssdp ns | added ns | ratio | ratio range | target |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (const auto& c : cases()) {
      std::fprintf(stderr, "measuring %s\n", c.name.c_str());
      Result r = measure(*program, empty, c, o);
      bool ok = r.ratio <= target_ratio;
      bool past_limit = r.ratio > fail_ratio;
      failed = failed || past_limit;
      std::fprintf(stderr, "bench.ssdp: ratio %s, ssdp / empty: %.2f× (limit ≤ %.0f×): %s\n", c.name.c_str(),
                   r.ratio, fail_ratio, past_limit ? "FAILED" : "ok");
      std::fprintf(stderr, "bench.ssdp: target %s ≤ %.1f×: %s\n", c.name.c_str(), target_ratio,
                   ok ? "met" : "missed (printed, not a failure)");
      std::printf("| %s | %u | %.1f | %.1f | %.1f | %.2f× | %.2f–%.2f | ≤ %.1f× %s |\n", c.name.c_str(), r.repeat,
                  r.empty_ns, r.program_ns, r.added_ns, r.ratio, r.ratio_min, r.ratio_max, target_ratio,
                  ok ? "met" : "**missed**");
      std::fflush(stdout);
    }
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ssdp_bench: %s\n", e.what());
    return 2;
  }
}
