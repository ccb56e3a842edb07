// monitor_test.cpp — bpf/monitor.bpf.c under BPF_PROG_TEST_RUN: the NTP
// rewrite (bytes and both checksums exactly those of a request sent to the
// unicast address), the sender filter, the counters, and everything else
// (other ports, interfaces, protocols, fragments, truncated frames) passing
// unchanged.
#include "daemon/lan/monitor/monitor_program.hpp"
#include "tests/bpf/harness.hpp"
#include "tests/bpf/packet_builder.hpp"

#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <linux/pkt_cls.h>

#include <cstring>

using namespace joincast;
using namespace joincast::tests;
using joincast::daemon::lan::monitor::MonitorProgram;

namespace {

constexpr std::uint32_t mgmt_ifindex = 9;
const Bytes router_mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01};

struct Run {
  int verdict = 0;
  Bytes frame;
};

Run run(MonitorProgram& p, const Bytes& frame, std::uint32_t ifindex = mgmt_ifindex) {
  std::uint32_t retval = 0;
  Bytes out;
  int err = test_run(p.program_fd(), frame, ifindex, &retval, &out);
  REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::string(std::strerror(-err)));
  return {static_cast<int>(retval), out};
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

std::unique_ptr<MonitorProgram> load() {
  auto p = MonitorProgram::load();
  REQUIRE_MESSAGE(p.has_value(), (p ? std::string() : p.error().message()));
  return std::move(p).value();
}

// An entry for group:port on the management interface, id 0.
void put(MonitorProgram& p, const char* group, std::uint16_t port, std::uint32_t flags, const char* local = nullptr,
         std::uint32_t id = 0) {
  jc_mon_entry e{};
  e.id = id;
  e.flags = flags;
  if (local) {
    Address16 a = ip(local).to_address16();
    std::copy(a.begin(), a.end(), e.local);
    std::copy(router_mac.begin(), router_mac.end(), e.local_mac);
  }
  REQUIRE(p.put_entry(MonitorProgram::key(mgmt_ifindex, ip(group), port), e));
}

Bytes ntp_request() {
  Bytes b(48, 0);
  b[0] = 0x23;  // version 4, mode 3
  for (std::size_t i = 40; i < 48; ++i) b[i] = static_cast<std::uint8_t>(0xa0 + i);
  return b;
}

// The frame after the rewrite must be, from the source MAC on, the request
// as if it had been sent to `to` in the first place: the builder computes
// both checksums for that destination.
void check_rewritten(const Run& r, const Bytes& expected) {
  CHECK(r.verdict == TC_ACT_UNSPEC);
  REQUIRE(r.frame.size() == expected.size());
  CHECK(Bytes(r.frame.begin(), r.frame.begin() + 6) == router_mac);
  CHECK(Bytes(r.frame.begin() + 6, r.frame.end()) == Bytes(expected.begin() + 6, expected.end()));
}

}  // namespace

TEST_CASE("monitor bpf: an IPv4 NTP request to 224.0.1.1 becomes one to the interface's address") {
  auto p = load();
  put(*p, "224.0.1.1", 123, JC_MON_F_REWRITE, "192.168.0.1");
  Bytes request = PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 123, ntp_request()).build();
  Bytes as_unicast = PacketBuilder().ipv4("192.168.0.239", "192.168.0.1").no_router_alert().udp(40123, 123, ntp_request()).build();
  check_rewritten(run(*p, request), as_unicast);
  auto c = p->counters(0);
  REQUIRE(c);
  CHECK(c.value().packets == 1);
  CHECK(c.value().rewritten == 1);
  CHECK(c.value().bytes == request.size() - 14);
  CHECK(IpAddress::from_address16(std::to_array(c.value().last_sender)) == ip("192.168.0.239"));
}

TEST_CASE("monitor bpf: an IPv6 NTP request to ff05::101 becomes one to the interface's address") {
  auto p = load();
  put(*p, "ff05::101", 123, JC_MON_F_REWRITE, "fd00:0:0:1::1");
  Bytes request = PacketBuilder().ipv6("fd00:0:0:1::239", "ff05::101").no_hop_by_hop().udp(40123, 123, ntp_request()).build();
  Bytes as_unicast =
      PacketBuilder().ipv6("fd00:0:0:1::239", "fd00:0:0:1::1").no_hop_by_hop().udp(40123, 123, ntp_request()).build();
  check_rewritten(run(*p, request), as_unicast);
  CHECK(p->counters(0).value().rewritten == 1);
}

TEST_CASE("monitor bpf: a UDP checksum of zero (none, RFC 768) stays zero") {
  auto p = load();
  put(*p, "224.0.1.1", 123, JC_MON_F_REWRITE, "192.168.0.1");
  PacketBuilder b;
  b.ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 123, ntp_request());
  Bytes request = b.build();
  const std::size_t udp_csum = b.l3_offset() + 20 + 6;
  request[udp_csum] = request[udp_csum + 1] = 0;
  Run r = run(*p, request);
  CHECK(r.verdict == TC_ACT_UNSPEC);
  CHECK(r.frame[udp_csum] == 0);
  CHECK(r.frame[udp_csum + 1] == 0);
  CHECK(r.frame[b.l3_offset() + 19] == 1);  // the destination did change: 192.168.0.1
}

TEST_CASE("monitor bpf: senders outside the allowed prefixes are dropped and counted") {
  auto p = load();
  put(*p, "234.192.168.0", 514, JC_MON_F_SENDERS);
  REQUIRE(p->add_sender(0, IpPrefix::host(ip("192.168.0.239"))));
  REQUIRE(p->add_sender(0, *IpPrefix::parse("fd00:0:0:1::/64")));
  Bytes payload = {'<', '1', '3', '>', 'h', 'i'};
  Bytes from_switch = PacketBuilder().ipv4("192.168.0.239", "234.192.168.0").no_router_alert().udp(514, 514, payload).build();
  Bytes from_other = PacketBuilder().ipv4("192.168.0.66", "234.192.168.0").no_router_alert().udp(514, 514, payload).build();
  Run ok = run(*p, from_switch);
  CHECK(ok.verdict == TC_ACT_UNSPEC);
  CHECK(ok.frame == from_switch);  // counted, not changed
  CHECK(run(*p, from_other).verdict == TC_ACT_SHOT);
  auto c = p->counters(0).value();
  CHECK(c.packets == 1);
  CHECK(c.filtered == 1);
  CHECK(IpAddress::from_address16(std::to_array(c.filtered_sender)) == ip("192.168.0.66"));
}

TEST_CASE("monitor bpf: everything else passes unchanged and uncounted") {
  auto p = load();
  put(*p, "224.0.1.1", 123, JC_MON_F_REWRITE | JC_MON_F_SENDERS, "192.168.0.1");
  Bytes req = ntp_request();
  const std::vector<std::pair<const char*, Bytes>> frames = {
      {"another port", PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 124, req).build()},
      {"another group", PacketBuilder().ipv4("192.168.0.239", "224.0.1.2").no_router_alert().udp(40123, 123, req).build()},
      {"unicast", PacketBuilder().ipv4("192.168.0.239", "192.168.0.1").no_router_alert().udp(40123, 123, req).build()},
      {"TCP", PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().tcp(40123, 123).build()},
      {"a fragment", PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().ipv4_fragment(0x2000)
                         .udp(40123, 123, req).build()},
      {"a later fragment", PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().ipv4_fragment(0x0010)
                               .udp(40123, 123, req).build()},
      {"truncated in the UDP header",
       PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 123, req).truncate(14 + 20 + 3).build()},
      // (test_run itself refuses a frame that ends inside the IP header.)
      {"truncated after the IP header",
       PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 123, req).truncate(14 + 20).build()},
      {"IPv6 with an extension header", PacketBuilder().ipv6("fd00::239", "ff05::101").udp(40123, 123, req).build()},
      {"ARP", PacketBuilder().arp_request("192.168.0.239", "192.168.0.1").build()},
  };
  for (const auto& [what, frame] : frames) {
    const std::string name = what;
    CAPTURE(name);
    Run r = run(*p, frame);
    CHECK(r.verdict == TC_ACT_UNSPEC);
    CHECK(r.frame == frame);
  }
  // On another interface the same request is not ours either.
  Bytes request = PacketBuilder().ipv4("192.168.0.239", "224.0.1.1").no_router_alert().udp(40123, 123, req).build();
  Run elsewhere = run(*p, request, mgmt_ifindex + 1);
  CHECK(elsewhere.frame == request);
  auto c = p->counters(0).value();
  CHECK(c.packets == 0);
  CHECK(c.filtered == 0);
}
