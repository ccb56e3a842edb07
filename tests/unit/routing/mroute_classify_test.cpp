// mroute_classify_test.cpp — the mroute socket's receive path tells kernel
// upcalls from IGMP/MLD packets by bytes alone; these are the bytes.
#include "netlink/mroute_socket.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>

#include <cstring>
#include <vector>

using namespace joincast;
using namespace joincast::netlink;

namespace {
IpAddress ip(const char* s) { return *IpAddress::parse(s); }

std::vector<std::uint8_t> igmpmsg_bytes(unsigned char type, unsigned vif, const char* src, const char* dst) {
  igmpmsg m{};
  m.im_msgtype = type;
  m.im_mbz = 0;
  m.im_vif = static_cast<unsigned char>(vif & 0xff);
  m.im_vif_hi = static_cast<unsigned char>(vif >> 8);
  m.im_src = ip(src).to_in_addr();
  m.im_dst = ip(dst).to_in_addr();
  std::vector<std::uint8_t> out(sizeof m);
  std::memcpy(out.data(), &m, sizeof m);
  return out;
}

// An IGMPv3 report as a raw socket sees it: IP header with Router Alert
// (RFC 3376 §4), then the report.
std::vector<std::uint8_t> igmpv3_report() {
  return {
      0x46, 0x00, 0x00, 0x20,  // v4, IHL 6 (24 bytes: RA option), total 32
      0x00, 0x00, 0x00, 0x00,  // id, frag
      0x01, 0x02, 0x00, 0x00,  // TTL 1, protocol 2 (IGMP), checksum
      10, 0, 0, 5,             // source
      224, 0, 0, 22,           // destination
      0x94, 0x04, 0x00, 0x00,  // Router Alert
      0x22, 0x00, 0x00, 0x00,  // type 0x22 (v3 report), checksum
      0x00, 0x00, 0x00, 0x00,  // reserved, 0 records
  };
}
}  // namespace

TEST_CASE("an IPv4 upcall is the igmpmsg whose must-be-zero sits on the IP protocol") {
  auto d = igmpmsg_bytes(IGMPMSG_NOCACHE, 3, "10.0.0.2", "239.1.2.3");
  auto r = MrouteSocket::classify_ipv4(d, 0);
  REQUIRE(r);
  const auto* u = std::get_if<Upcall>(&r.value());
  REQUIRE(u);
  CHECK(u->family == AF_INET);
  CHECK(u->kind == UpcallKind::nocache);
  CHECK(u->vif == 3);
  CHECK(u->source == ip("10.0.0.2"));
  CHECK(u->group == ip("239.1.2.3"));
  auto w = MrouteSocket::classify_ipv4(igmpmsg_bytes(IGMPMSG_WRONGVIF, 0x102, "10.0.0.2", "239.1.2.3"), 0);
  CHECK(std::get<Upcall>(w.value()).kind == UpcallKind::wrong_vif);
  CHECK(std::get<Upcall>(w.value()).vif == 0x102);  // im_vif_hi carries the high byte
  // An unknown message type is neither.
  CHECK(MrouteSocket::classify_ipv4(igmpmsg_bytes(9, 0, "10.0.0.2", "239.1.2.3"), 0).error() ==
        Errc::not_membership_or_upcall);
}

TEST_CASE("an IGMP packet gives its interface, addresses, TTL, Router Alert and message") {
  auto d = igmpv3_report();
  auto r = MrouteSocket::classify_ipv4(d, 7);
  REQUIRE(r);
  const auto* p = std::get_if<MembershipPacket>(&r.value());
  REQUIRE(p);
  CHECK(p->family == AF_INET);
  CHECK(p->ifindex == 7);
  CHECK(p->source == ip("10.0.0.5"));
  CHECK(p->destination == ip("224.0.0.22"));
  CHECK(p->hop_limit == 1);
  CHECK(p->router_alert);
  REQUIRE(p->message.size() == 8);
  CHECK(p->message[0] == 0x22);
}

TEST_CASE("IPv4 garbage is refused: short, not IGMP, header past the end") {
  std::vector<std::uint8_t> shortd(10, 0);
  CHECK_FALSE(MrouteSocket::classify_ipv4(shortd, 1));
  auto udp = igmpv3_report();
  udp[9] = 17;
  CHECK_FALSE(MrouteSocket::classify_ipv4(udp, 1));
  auto long_header = igmpv3_report();
  long_header[0] = 0x4f;  // IHL 15: 60 bytes, more than there is
  CHECK_FALSE(MrouteSocket::classify_ipv4(long_header, 1));
}

TEST_CASE("an IPv6 upcall starts with a zero byte, MLD with its type") {
  mrt6msg m{};
  m.im6_mbz = 0;
  m.im6_msgtype = MRT6MSG_NOCACHE;
  m.im6_mif = 2;
  m.im6_src = ip("2001:db8::2").to_in6_addr();
  m.im6_dst = ip("ff3e:40:2001:db8::8000:1").to_in6_addr();
  std::vector<std::uint8_t> d(sizeof m);
  std::memcpy(d.data(), &m, sizeof m);
  auto r = MrouteSocket::classify_ipv6(d, 0, {}, {}, 0, false);
  REQUIRE(r);
  const auto* u = std::get_if<Upcall>(&r.value());
  REQUIRE(u);
  CHECK(u->vif == 2);
  CHECK(u->group == ip("ff3e:40:2001:db8::8000:1"));

  // An MLDv2 report (type 143) with no records.
  std::vector<std::uint8_t> mld{143, 0, 0, 0, 0, 0, 0, 0};
  auto q = MrouteSocket::classify_ipv6(mld, 4, ip("fe80::1"), ip("ff02::16"), 1, true);
  REQUIRE(q);
  const auto* p = std::get_if<MembershipPacket>(&q.value());
  REQUIRE(p);
  CHECK(p->ifindex == 4);
  CHECK(p->source == ip("fe80::1"));
  CHECK(p->destination == ip("ff02::16"));
  CHECK(p->router_alert);
  CHECK(p->message.size() == 8);
  // An echo request is neither; a truncated upcall neither.
  std::vector<std::uint8_t> echo{128, 0, 0, 0, 0, 0, 0, 0};
  CHECK_FALSE(MrouteSocket::classify_ipv6(echo, 4, {}, {}, 64, false));
  d.resize(12);
  CHECK_FALSE(MrouteSocket::classify_ipv6(d, 0, {}, {}, 0, false));
}
