// netlink_message_test.cpp — the netlink builders and parsers without a
// kernel: every builder's message is parsed back (the kernel's format is
// the same in both directions for these types), kernel-only messages (MFC
// dumps, cache reports, MDB dumps) are built by hand as the kernel lays
// them out, and malformed input is refused.
#include "netlink/address.hpp"
#include "netlink/attributes.hpp"
#include "netlink/link.hpp"
#include "netlink/mdb.hpp"
#include "netlink/message.hpp"
#include "netlink/mfc.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"

#include <doctest/doctest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <linux/rtnetlink.h>

#include <cstring>

using namespace joincast;
using namespace joincast::netlink;

namespace {
IpAddress ip(const char* s) { return *IpAddress::parse(s); }
IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }
}  // namespace

TEST_CASE("addresses and prefixes parse, mask and print") {
  CHECK(ip("239.1.2.3").is_multicast());
  CHECK(ip("ff3e:40:2001:db8::8000:0").is_multicast());
  CHECK_FALSE(ip("10.0.0.1").is_multicast());
  CHECK(ip("224.0.0.22").is_link_local_multicast());
  CHECK(ip("ff02::16").is_link_local_multicast());
  CHECK_FALSE(ip("ff0e::2:7ffe").is_link_local_multicast());
  CHECK_FALSE(IpAddress::parse("1.2.3.4.5"));
  CHECK_FALSE(IpAddress::parse("ff3e::1%eth0"));
  CHECK(pfx("225.1.2.3/24").to_string() == "225.1.2.0/24");
  CHECK(pfx("225.1.2.3/24").contains(ip("225.1.2.200")));
  CHECK_FALSE(pfx("225.1.2.3/24").contains(ip("225.1.3.1")));
  CHECK(pfx("ff05:bad0::/31").contains(ip("ff05:bad1::1")));   // smcroute's own examples
  CHECK_FALSE(pfx("ff05:bad0::/32").contains(ip("ff05:bad1::1")));
  CHECK(pfx("10.0.0.1").is_host());
  CHECK(pfx("10.0.0.1").to_string(true) == "10.0.0.1");
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/33"));
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/"));
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/1x"));
  CHECK(pfx("10.0.0.0/8").contains(pfx("10.1.0.0/16")));
  CHECK_FALSE(pfx("10.1.0.0/16").contains(pfx("10.0.0.0/8")));
}

TEST_CASE("every request asks for an ack and knows its tolerated errors") {
  Route r;
  r.destination = pfx("ff3e:40:2001:db8::8000:0/97");
  r.oif = 3;
  auto add = new_route(r);
  CHECK((add.flags() & NLM_F_ACK));
  CHECK((add.flags() & NLM_F_REPLACE));
  auto del = del_route(r);
  CHECK((del.flags() & NLM_F_ACK));
  CHECK(del.tolerates(ESRCH));
  CHECK(del.tolerates(ENOENT));
  CHECK_FALSE(del.tolerates(EPERM));
  auto dump = dump_routes(AF_INET6);
  CHECK(dump.is_dump());
  CHECK_FALSE((dump.flags() & NLM_F_ACK));
  CHECK(new_rule(Rule{}).tolerates(EEXIST));
  CHECK(del_mfc4(253, ip("10.0.0.1"), ip("239.1.1.1")).tolerates(ENOENT));
}

TEST_CASE("a message that outgrows its buffer is marked and never complete") {
  Message m(RTM_NEWROUTE, 0, 64);
  m.put_header<rtmsg>();
  std::uint8_t big[100] = {};
  m.put(RTA_DST, big, sizeof big);
  CHECK_FALSE(m.complete());
}

TEST_CASE("a route round-trips through its builder and parser") {
  Route r;
  r.destination = pfx("ff3e:40:2001:db8:1:2:8000:0/124");
  r.table = 255;
  r.type = RTN_MULTICAST;
  r.protocol = 200;
  r.oif = 7;
  r.priority = 256;
  auto m = new_route(r);
  REQUIRE(m.complete());
  auto parsed = parse_route(m.nlh());
  REQUIRE(parsed);
  CHECK(parsed.value() == r);

  Route big_table;
  big_table.destination = pfx("239.255.255.250/32");
  big_table.table = 1000;
  big_table.oif = 2;
  auto m2 = new_route(big_table);
  CHECK(m2.header<rtmsg>().rtm_table == RT_TABLE_UNSPEC);  // the id is in RTA_TABLE
  CHECK(parse_route(m2.nlh()).value().table == 1000);
}

TEST_CASE("route dumps carry their filters for strict checking") {
  auto m = dump_routes(AF_INET6, 255, 200);
  CHECK(m.header<rtmsg>().rtm_protocol == 200);
  CHECK(m.header<rtmsg>().rtm_table == 255);
  static constexpr std::array<AttributeRule, RTA_TABLE + 1> policy = [] {
    std::array<AttributeRule, RTA_TABLE + 1> p{};
    p[RTA_TABLE] = {MNL_TYPE_U32};
    return p;
  }();
  auto a = parse_attributes(m.nlh(), sizeof(rtmsg), policy);
  REQUIRE(a);
  CHECK(a.value().u32(RTA_TABLE) == 255u);
}

TEST_CASE("the route parser refuses an address of the wrong size") {
  Message m(RTM_NEWROUTE, 0);
  auto& rtm = m.put_header<rtmsg>();
  rtm.rtm_family = AF_INET6;
  rtm.rtm_dst_len = 8;
  std::uint8_t four[4] = {0xff, 0, 0, 0};
  m.put(RTA_DST, four, sizeof four);
  CHECK(parse_route(m.nlh()).error() == Errc::malformed_message);
  Message n(RTM_NEWROUTE, 0);
  auto& r2 = n.put_header<rtmsg>();
  r2.rtm_family = AF_INET;
  std::uint8_t two[2] = {};
  n.put(RTA_OIF, two, sizeof two);  // a u32 attribute with 2 bytes
  CHECK(parse_route(n.nlh()).error() == Errc::malformed_message);
}

TEST_CASE("a truncated message is refused, not read past its end") {
  Route r;
  r.destination = pfx("10.0.0.0/8");
  r.oif = 2;
  auto m = new_route(r);
  // Claim an attribute runs beyond the message.
  auto* last = reinterpret_cast<nlattr*>(static_cast<std::uint8_t*>(mnl_nlmsg_get_payload_tail(m.nlh())) - 8);
  last->nla_len = 200;
  CHECK_FALSE(parse_route(m.nlh()));
  // A header shorter than rtmsg.
  Message s(RTM_NEWROUTE, 0);
  s.put_header<std::uint32_t>();
  CHECK(parse_route(s.nlh()).error() == Errc::malformed_message);
}

TEST_CASE("rules for multicast routing tables round-trip") {
  Rule r;
  r.family = RTNL_FAMILY_IPMR;
  r.priority = 1000;
  r.table = 100;
  r.protocol = 200;
  r.iif = "eth0";
  auto m = new_rule(r);
  CHECK((m.flags() & NLM_F_EXCL));
  auto parsed = parse_rule(m.nlh());
  REQUIRE(parsed);
  CHECK(parsed.value() == r);

  Rule f;
  f.family = AF_INET6;
  f.table = 254;
  f.priority = 5;
  f.source = pfx("2001:db8::/32");
  f.oif = "eth1";
  CHECK(parse_rule(new_rule(f).nlh()).value() == f);
}

TEST_CASE("addresses round-trip, IFA_FLAGS wins over the 8-bit flags") {
  InterfaceAddress a;
  a.ifindex = 4;
  a.address = ip("2001:db8:1:2::1");
  a.prefix_length = 64;
  a.flags = IFA_F_NODAD | IFA_F_MANAGETEMPADDR;  // beyond 8 bits
  auto m = new_address(a);
  auto parsed = parse_address(m.nlh());
  REQUIRE(parsed);
  CHECK(parsed.value().address == a.address);
  CHECK(parsed.value().prefix_length == 64);
  CHECK(parsed.value().flags == a.flags);
  CHECK(parsed.value().prefix() == pfx("2001:db8:1:2::/64"));
  CHECK(parsed.value().usable_global());
  a.flags = IFA_F_TENTATIVE;
  CHECK_FALSE(a.usable_global());
  auto d = parse_address(del_address(a).nlh());
  REQUIRE(d);
  CHECK(d.value().deleted);
}

TEST_CASE("a link message gives name, flags, kind and bridge multicast settings") {
  BridgeMulticast s;
  s.snooping = false;
  s.querier = true;
  s.igmp_version = 3;
  s.mld_version = 2;
  s.query_interval_cs = 12500;
  auto m = set_bridge_multicast(9, s);
  // set_bridge_multicast carries no name; the kernel's answer does: add one.
  m.put_string(IFLA_IFNAME, "br0");
  auto parsed = parse_link(m.nlh());
  REQUIRE(parsed);
  const Link& l = parsed.value();
  CHECK(l.ifindex == 9);
  CHECK(l.name == "br0");
  CHECK(l.kind == "bridge");
  REQUIRE(l.bridge);
  CHECK(*l.bridge == s);
  CHECK_FALSE(s.empty());
  CHECK(BridgeMulticast{}.empty());
}

TEST_CASE("a link message without a name is malformed") {
  Message m(RTM_NEWLINK, 0);
  m.put_header<ifinfomsg>().ifi_index = 3;
  CHECK(parse_link(m.nlh()).error() == Errc::malformed_message);
  Message d(RTM_DELLINK, 0);
  auto& ifi = d.put_header<ifinfomsg>();
  ifi.ifi_index = 3;
  ifi.ifi_flags = IFF_UP | IFF_MULTICAST;
  d.put_string(IFLA_IFNAME, "eth0");
  auto l = parse_link(d.nlh());
  REQUIRE(l);
  CHECK(l.value().deleted);
  CHECK(l.value().up());
  CHECK(l.value().multicast());
}

TEST_CASE("IPv4 MFC entries put TTLs at their VIF's position in RTA_MULTIPATH") {
  VifTtls ttls{};
  ttls[1] = 1;
  ttls[4] = 3;
  auto m = new_mfc4(253, ip("10.0.0.2"), ip("239.1.1.1"), 5, ttls);
  const auto& rtm = m.header<rtmsg>();
  CHECK(rtm.rtm_family == RTNL_FAMILY_IPMR);
  CHECK(rtm.rtm_type == RTN_MULTICAST);
  CHECK(rtm.rtm_dst_len == 32);
  CHECK(rtm.rtm_protocol == RTPROT_MROUTED);
  static constexpr std::array<AttributeRule, RTA_TABLE + 1> policy = [] {
    std::array<AttributeRule, RTA_TABLE + 1> p{};
    p[RTA_MULTIPATH] = {MNL_TYPE_BINARY};
    p[RTA_IIF] = {MNL_TYPE_U32};
    p[RTA_TABLE] = {MNL_TYPE_U32};
    return p;
  }();
  auto a = parse_attributes(m.nlh(), sizeof(rtmsg), policy);
  REQUIRE(a);
  CHECK(a.value().u32(RTA_IIF) == 5u);
  CHECK(a.value().u32(RTA_TABLE) == 253u);
  auto mp = a.value().bytes(RTA_MULTIPATH);
  // Five next hops: VIFs 0..4, the kernel reads them by position.
  REQUIRE(mp.size() == 5 * sizeof(rtnexthop));
  std::uint8_t hops[5];
  for (std::size_t i = 0; i < 5; ++i) {
    rtnexthop nh;
    std::memcpy(&nh, mp.data() + i * sizeof(rtnexthop), sizeof nh);
    CHECK(nh.rtnh_len == sizeof(rtnexthop));
    hops[i] = nh.rtnh_hops;
  }
  CHECK(hops[0] == 0);
  CHECK(hops[1] == 1);
  CHECK(hops[2] == 0);
  CHECK(hops[4] == 3);
  // No outputs (a stop filter): no RTA_MULTIPATH at all, which the kernel
  // would refuse empty.
  auto stop = new_mfc4(253, ip("10.0.0.2"), ip("239.1.1.1"), 5, VifTtls{});
  CHECK_FALSE(parse_attributes(stop.nlh(), sizeof(rtmsg), policy).value().has(RTA_MULTIPATH));
  // VIF 31 as an output needs all 32 next hops, which the kernel refuses
  // (ipmr_nla_get_ttls): such entries take the socket option instead.
  CHECK(netlink_can_write(ttls));
  ttls[31] = 1;
  CHECK_FALSE(netlink_can_write(ttls));
}

namespace {
// An MFC dump entry laid out as the kernel's mr_fill_mroute() writes it.
Message kernel_mfc(int rtnl_family, const IpAddress& s, const IpAddress& g, int iif,
                   std::vector<std::pair<int, int>> oifs, bool unresolved = false) {
  Message m(RTM_NEWROUTE, NLM_F_MULTI, 2048);
  auto& rtm = m.put_header<rtmsg>();
  rtm.rtm_family = static_cast<std::uint8_t>(rtnl_family);
  rtm.rtm_dst_len = static_cast<std::uint8_t>(g.max_prefix());
  rtm.rtm_table = 253;
  rtm.rtm_type = RTN_MULTICAST;
  rtm.rtm_protocol = RTPROT_MROUTED;
  if (unresolved) rtm.rtm_flags |= RTNH_F_UNRESOLVED;
  m.put_u32(RTA_TABLE, 253);
  m.put_address(RTA_SRC, s);
  m.put_address(RTA_DST, g);
  if (!unresolved) {
    m.put_u32(RTA_IIF, static_cast<std::uint32_t>(iif));
    auto nest = m.begin_nest(RTA_MULTIPATH);
    for (auto [ifindex, ttl] : oifs) {
      auto* nh = static_cast<rtnexthop*>(m.append_raw(sizeof(rtnexthop)));
      nh->rtnh_len = sizeof(rtnexthop);
      nh->rtnh_ifindex = ifindex;
      nh->rtnh_hops = static_cast<std::uint8_t>(ttl);
    }
    m.end_nest(nest);
    rta_mfc_stats stats{1234, 56789, 3};
    m.put(RTA_MFC_STATS, &stats, sizeof stats);
    m.put_u64(RTA_EXPIRES, 250);
  }
  return m;
}
}  // namespace

TEST_CASE("MFC dump entries give interfaces, TTLs and counters, both families") {
  auto m4 = kernel_mfc(RTNL_FAMILY_IPMR, ip("10.0.0.2"), ip("239.1.1.1"), 2, {{3, 1}, {4, 5}});
  auto e = parse_mfc(m4.nlh());
  REQUIRE(e);
  CHECK(e.value().family == AF_INET);
  CHECK(e.value().source == ip("10.0.0.2"));
  CHECK(e.value().group == ip("239.1.1.1"));
  CHECK(e.value().iif == 2);
  REQUIRE(e.value().oifs.size() == 2);
  CHECK(e.value().oifs[1] == MfcEntry::Oif{4, 5});
  CHECK(e.value().packets == 1234);
  CHECK(e.value().bytes == 56789);
  CHECK(e.value().wrong_if == 3);
  CHECK(e.value().idle_cs == 250);
  CHECK(e.value().resolved);
  CHECK(e.value().table == 253);

  auto m6 = kernel_mfc(RTNL_FAMILY_IP6MR, ip("2001:db8::2"), ip("ff3e::1"), 2, {});
  auto e6 = parse_mfc(m6.nlh());
  REQUIRE(e6);
  CHECK(e6.value().family == AF_INET6);
  CHECK(e6.value().oifs.empty());  // an empty nest: a stop filter

  auto u = parse_mfc(kernel_mfc(RTNL_FAMILY_IPMR, ip("10.0.0.2"), ip("239.1.1.1"), 0, {}, true).nlh());
  REQUIRE(u);
  CHECK_FALSE(u.value().resolved);
  CHECK(u.value().iif == 0);
}

TEST_CASE("an MFC entry whose next hop overruns its nest is malformed") {
  auto m = kernel_mfc(RTNL_FAMILY_IPMR, ip("10.0.0.2"), ip("239.1.1.1"), 2, {{3, 1}});
  // Find the next hop and make it claim more than the nest holds.
  static constexpr std::array<AttributeRule, RTA_MULTIPATH + 1> policy = [] {
    std::array<AttributeRule, RTA_MULTIPATH + 1> p{};
    p[RTA_MULTIPATH] = {MNL_TYPE_BINARY};
    return p;
  }();
  auto a = parse_attributes(m.nlh(), sizeof(rtmsg), policy);
  REQUIRE(a);
  auto* nh = const_cast<rtnexthop*>(reinterpret_cast<const rtnexthop*>(a.value().bytes(RTA_MULTIPATH).data()));
  nh->rtnh_len = 64;
  CHECK(parse_mfc(m.nlh()).error() == Errc::malformed_message);
  // A unicast route is not an MFC entry.
  Route r;
  r.destination = pfx("10.0.0.0/8");
  CHECK(parse_mfc(new_route(r).nlh()).error() == Errc::malformed_message);
}

TEST_CASE("RTM_NEWCACHEREPORT becomes an upcall, both families") {
  Message m(RTM_NEWCACHEREPORT, 0);
  m.put_header<rtgenmsg>().rtgen_family = RTNL_FAMILY_IPMR;
  m.put_u8(IPMRA_CREPORT_MSGTYPE, IGMPMSG_NOCACHE);
  m.put_u32(IPMRA_CREPORT_VIF_ID, 3);
  m.put_address(IPMRA_CREPORT_SRC_ADDR, ip("10.0.0.2"));
  m.put_address(IPMRA_CREPORT_DST_ADDR, ip("239.1.2.3"));
  m.put_u32(IPMRA_CREPORT_TABLE, 100);
  auto u = parse_cache_report(m.nlh());
  REQUIRE(u);
  CHECK(u.value().family == AF_INET);
  CHECK(u.value().kind == UpcallKind::nocache);
  CHECK(u.value().vif == 3);
  CHECK(u.value().group == ip("239.1.2.3"));
  CHECK(u.value().table == 100u);

  Message m6(RTM_NEWCACHEREPORT, 0);
  m6.put_header<rtgenmsg>().rtgen_family = RTNL_FAMILY_IP6MR;
  m6.put_u8(IP6MRA_CREPORT_MSGTYPE, MRT6MSG_WRONGMIF);
  m6.put_u32(IP6MRA_CREPORT_MIF_ID, 1);
  m6.put_address(IP6MRA_CREPORT_SRC_ADDR, ip("2001:db8::2"));
  m6.put_address(IP6MRA_CREPORT_DST_ADDR, ip("ff3e::1"));
  auto u6 = parse_cache_report(m6.nlh());
  REQUIRE(u6);
  CHECK(u6.value().kind == UpcallKind::wrong_vif);
  CHECK(u6.value().source == ip("2001:db8::2"));

  // A missing group is malformed; so is an IPv4 address in an IPv6 report.
  Message bad(RTM_NEWCACHEREPORT, 0);
  bad.put_header<rtgenmsg>().rtgen_family = RTNL_FAMILY_IP6MR;
  bad.put_u8(IP6MRA_CREPORT_MSGTYPE, MRT6MSG_NOCACHE);
  bad.put_u32(IP6MRA_CREPORT_MIF_ID, 1);
  bad.put_address(IP6MRA_CREPORT_SRC_ADDR, ip("10.0.0.1"));
  CHECK(parse_cache_report(bad.nlh()).error() == Errc::malformed_message);
}

TEST_CASE("MDB entries: the set request and a dump answer with a source") {
  MdbEntry e;
  e.bridge = 5;
  e.port = 6;
  e.group = ip("ff3e:40:2001:db8::8000:1");
  e.source = ip("2001:db8::2");
  e.vid = 10;
  auto m = new_mdb(e);
  CHECK(m.tolerates(EEXIST));
  const auto& bpm = m.header<br_port_msg>();
  CHECK(bpm.ifindex == 5u);

  // Dump answer: MDBA_MDB { MDBA_MDB_ENTRY { MDBA_MDB_ENTRY_INFO {entry + attrs} } }
  Message d(RTM_NEWMDB, NLM_F_MULTI, 2048);
  auto& h = d.put_header<br_port_msg>();
  h.family = PF_BRIDGE;
  h.ifindex = 5;
  auto mdb = d.begin_nest(MDBA_MDB);
  auto entry = d.begin_nest(MDBA_MDB_ENTRY);
  auto info = d.begin_nest(MDBA_MDB_ENTRY_INFO);
  br_mdb_entry raw{};
  raw.ifindex = 6;
  raw.state = MDB_TEMPORARY;
  raw.vid = 10;
  raw.addr.proto = htons(ETH_P_IPV6);
  auto g = e.group.to_in6_addr();
  std::memcpy(&raw.addr.u.ip6, &g, 16);
  std::memcpy(d.append_raw(sizeof raw), &raw, sizeof raw);
  d.put_u32(MDBA_MDB_EATTR_TIMER, 26000);
  d.put_address(MDBA_MDB_EATTR_SOURCE, *e.source);
  d.put_u8(MDBA_MDB_EATTR_RTPROT, RTPROT_KERNEL);
  d.end_nest(info);
  d.end_nest(entry);
  d.end_nest(mdb);
  auto parsed = parse_mdb(d.nlh());
  REQUIRE(parsed);
  REQUIRE(parsed.value().size() == 1);
  const MdbEntry& p = parsed.value()[0];
  CHECK(p.bridge == 5);
  CHECK(p.port == 6);
  CHECK(p.group == e.group);
  CHECK(p.source == e.source);
  CHECK(p.vid == 10);
  CHECK_FALSE(p.permanent);
  CHECK(p.protocol == RTPROT_KERNEL);
}
