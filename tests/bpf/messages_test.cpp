// messages_test.cpp — every IGMP and MLD message type through the TC
// program: what each leaves in the listener, group and querier maps, the
// counters and the event ring, plus the layer-2 and IPv6 extension-header
// framings a message may arrive in.
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/frames.hpp"
#include "tests/bpf/harness.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>

using namespace joincast::tests;
using joincast::daemon::membership::loader::monotonic_ns;

namespace {

jc_counters counted(std::uint64_t packets, std::uint64_t messages, std::uint64_t reports, std::uint64_t queries,
                    std::uint64_t records) {
  jc_counters c{};
  c.packets = packets;
  c.messages = messages;
  c.reports = reports;
  c.queries = queries;
  c.records = records;
  return c;
}

// A fresh listener as a first report leaves it.
void check_new_listener(const std::optional<jc_listener>& l, std::uint8_t version, std::uint8_t mode,
                        std::uint8_t record_type, std::uint64_t before, std::uint64_t after) {
  REQUIRE(l.has_value());
  CHECK(l->version == version);
  CHECK(l->filter_mode == mode);
  CHECK(l->record_type == record_type);
  CHECK(l->sources == 0);
  CHECK(l->leave_ns == 0);
  CHECK(l->vlan == 0);
  CHECK(l->first_report_ns >= before);
  CHECK(l->first_report_ns <= after);
  CHECK(l->last_report_ns == l->first_report_ns);
}

}  // namespace

TEST_CASE("IGMPv1 report: the host becomes a v1 listener in EXCLUDE mode") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(PacketBuilder().ipv4(host4_a, group4).no_router_alert().igmp_v1_report(group4).build());
  auto after = monotonic_ns();

  check_counters(m.counters(), counted(1, 1, 1, 0, 1));
  auto l = m.listener(group4, host4_a);
  check_new_listener(l, JC_IGMPV1, JC_MODE_EXCLUDE, JC_REC_V1_REPORT, before, after);
  auto g = m.group(group4);
  REQUIRE(g.has_value());
  CHECK(g->listeners == 1);
  CHECK(g->first_join_ns == l->first_report_ns);
  CHECK(g->last_change_ns == l->first_report_ns);
  CHECK(g->dead == 0);

  auto ev = m.events();
  check_events(ev, {{JC_EV_LISTENER_JOIN, std::string(group4), std::string(host4_a), 1},
                    {JC_EV_GROUP_UP, std::string(group4), std::string(host4_a), 1}});
  for (const auto& e : ev) {
    CHECK(e.ifindex == test_ifindex);
    CHECK(e.version == JC_IGMPV1);
    CHECK(e.record_type == JC_REC_V1_REPORT);
    CHECK(e.filter_mode == JC_MODE_EXCLUDE);
    CHECK(e.reason == 0);
    CHECK(e.time_ns == l->first_report_ns);
  }
}

TEST_CASE("IGMPv2 report joins and Leave marks the listener pending until a report") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build());
  check_new_listener(m.listener(group4, host4_a), JC_IGMPV2, JC_MODE_EXCLUDE, JC_REC_V1_REPORT, before,
                     monotonic_ns());
  m.events();

  // RFC 2236 §3: a Leave only starts the group-specific queries; the
  // listener stays (and keeps the group up) until userspace forgets it.
  auto leave = PacketBuilder().ipv4(host4_a, "224.0.0.2").igmp_v2_leave(group4).build();
  m.run(leave);
  auto l = m.listener(group4, host4_a);
  REQUIRE(l.has_value());
  CHECK(l->leave_ns >= l->last_report_ns);
  CHECK(m.group(group4)->listeners == 1);
  auto ev = m.events();
  check_events(ev, {{JC_EV_LEAVE_PENDING, std::string(group4), std::string(host4_a), 1}});
  CHECK(ev[0].record_type == JC_REC_V1_LEAVE);
  CHECK(ev[0].version == JC_IGMPV2);
  CHECK(ev[0].filter_mode == JC_MODE_EXCLUDE);
  check_counters(m.counters(), counted(2, 2, 2, 0, 2));

  // A repeated Leave keeps the time of the first one.
  auto first_leave = l->leave_ns;
  m.run(leave);
  CHECK(m.listener(group4, host4_a)->leave_ns == first_leave);

  // A report answers the query: the leave is off.
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build());
  l = m.listener(group4, host4_a);
  CHECK(l->leave_ns == 0);
  CHECK(l->last_report_ns > first_leave);
  CHECK(m.group(group4)->listeners == 1);
  check_events(m.events(), {{JC_EV_LEAVE_PENDING, std::string(group4), std::string(host4_a), 1}});
}

TEST_CASE("IGMPv2 Leave from a host that never reported (report suppression) still asks for a query") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build());
  m.events();
  // host B suppressed its report (RFC 2236 §3) and now leaves.
  m.run(PacketBuilder().ipv4(host4_b, "224.0.0.2").igmp_v2_leave(group4).build());
  check_events(m.events(), {{JC_EV_LEAVE_PENDING, std::string(group4), std::string(host4_b), 1}});
  CHECK_FALSE(m.listener(group4, host4_b).has_value());
  CHECK(m.listener(group4, host4_a)->leave_ns == 0);
}

TEST_CASE("a Leave for a group nobody listens to is understood and changes nothing") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, "224.0.0.2").igmp_v2_leave(group4).build());
  m.run(PacketBuilder().ipv6(host6_a, "ff02::2").mld_v1_done(group6).build());
  CHECK(m.events().empty());
  CHECK(m.listener_count() == 0);
  CHECK(m.group_count() == 0);
  check_counters(m.counters(), counted(2, 2, 2, 0, 2));
}

TEST_CASE("IGMP v1 v2 and v3 queries record the querier with one event per new querier") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(PacketBuilder().ipv4(router4, "224.0.0.1").igmp_v1_query().build());
  auto q = m.querier(AF_INET);
  REQUIRE(q.has_value());
  CHECK(q->version == JC_IGMPV1);
  CHECK(q->max_resp_ms == 0);
  CHECK(q->qqi_s == 0);
  CHECK(q->qrv == 0);
  CHECK(q->last_seen_ns >= before);
  CHECK(joincast::daemon::membership::loader::format_address(q->addr) == router4);
  auto ev = m.events();
  check_events(ev, {{JC_EV_QUERY_SEEN, "::", std::string(router4), 0}});
  CHECK(ev[0].version == JC_IGMPV1);
  CHECK(ev[0].ifindex == test_ifindex);

  // RFC 2236 §2.2: Max Resp Time in tenths of a second.
  m.run(PacketBuilder().ipv4(router4, "224.0.0.1").igmp_v2_query(100).build());
  q = m.querier(AF_INET);
  CHECK(q->version == JC_IGMPV2);
  CHECK(q->max_resp_ms == 10000);
  CHECK(m.events().empty());  // same querier: no news

  // RFC 3376 §4.1.1 and §4.1.7: codes >= 128 are floating point.
  // 0x8f: mant 0xf, exp 0 -> (0x1f) << 3 = 248 tenths; 0x90: 0x10 << 4 = 256 s.
  m.run(PacketBuilder().ipv4("192.0.2.2", "224.0.0.1").igmp_v3_query(0x8f, 0x0a, 0x90).build());
  q = m.querier(AF_INET);
  CHECK(q->version == JC_IGMPV3);
  CHECK(q->max_resp_ms == 24800);
  CHECK(q->qqi_s == 256);
  CHECK(q->qrv == 2);
  CHECK(joincast::daemon::membership::loader::format_address(q->addr) == "192.0.2.2");
  check_events(m.events(), {{JC_EV_QUERY_SEEN, "::", "192.0.2.2", 0}});

  // A group-and-source-specific v3 query with plain codes.
  m.run(PacketBuilder()
            .ipv4("192.0.2.2", std::string(group4))
            .igmp_v3_query(20, 0x03, 125, group4, {addr("198.51.100.1"), addr("198.51.100.2")})
            .build());
  q = m.querier(AF_INET);
  CHECK(q->max_resp_ms == 2000);
  CHECK(q->qqi_s == 125);
  CHECK(q->qrv == 3);

  CHECK(m.listener_count() == 0);
  CHECK(m.group_count() == 0);
  check_counters(m.counters(), counted(4, 4, 0, 4, 0));
  CHECK_FALSE(m.querier(AF_INET6).has_value());
}

TEST_CASE("MLDv1 report joins and Done marks the listener pending") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(PacketBuilder().ipv6(host6_a, group6).mld_v1_report(group6).build());
  check_new_listener(m.listener(group6, host6_a), JC_MLDV1, JC_MODE_EXCLUDE, JC_REC_V1_REPORT, before,
                     monotonic_ns());
  CHECK(m.group(group6)->listeners == 1);
  check_events(m.events(), {{JC_EV_LISTENER_JOIN, std::string(group6), std::string(host6_a), 1},
                            {JC_EV_GROUP_UP, std::string(group6), std::string(host6_a), 1}});

  m.run(PacketBuilder().ipv6(host6_a, "ff02::2").mld_v1_done(group6).build());
  auto l = m.listener(group6, host6_a);
  REQUIRE(l.has_value());
  CHECK(l->leave_ns >= l->last_report_ns);
  auto ev = m.events();
  check_events(ev, {{JC_EV_LEAVE_PENDING, std::string(group6), std::string(host6_a), 1}});
  CHECK(ev[0].version == JC_MLDV1);
  CHECK(ev[0].record_type == JC_REC_V1_LEAVE);
  check_counters(m.counters(), counted(2, 2, 2, 0, 2));
}

TEST_CASE("MLDv2 report: a TO_EX({}) join") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, group6)}));
  check_new_listener(m.listener(group6, host6_a), JC_MLDV2, JC_MODE_EXCLUDE, JC_REC_TO_EX, before,
                     monotonic_ns());
  check_events(m.events(), {{JC_EV_LISTENER_JOIN, std::string(group6), std::string(host6_a), 1},
                            {JC_EV_GROUP_UP, std::string(group6), std::string(host6_a), 1}});
  check_counters(m.counters(), counted(1, 1, 1, 0, 1));
}

TEST_CASE("IGMPv3 report: a TO_EX({}) join") {
  LoadedMembership m;
  auto before = monotonic_ns();
  m.run(igmp3(host4_a, {record(JC_REC_TO_EX, group4)}));
  check_new_listener(m.listener(group4, host4_a), JC_IGMPV3, JC_MODE_EXCLUDE, JC_REC_TO_EX, before,
                     monotonic_ns());
  check_events(m.events(), {{JC_EV_LISTENER_JOIN, std::string(group4), std::string(host4_a), 1},
                            {JC_EV_GROUP_UP, std::string(group4), std::string(host4_a), 1}});
  check_counters(m.counters(), counted(1, 1, 1, 0, 1));
}

TEST_CASE("MLDv1 and MLDv2 queries record the querier") {
  LoadedMembership m;
  // RFC 2710 §3.4: Maximum Response Delay in milliseconds.
  m.run(PacketBuilder().ipv6(router6, "ff02::1").mld_v1_query(10000).build());
  auto q = m.querier(AF_INET6);
  REQUIRE(q.has_value());
  CHECK(q->version == JC_MLDV1);
  CHECK(q->max_resp_ms == 10000);
  CHECK(joincast::daemon::membership::loader::format_address(q->addr) == router6);
  check_events(m.events(), {{JC_EV_QUERY_SEEN, "::", std::string(router6), 0}});

  // RFC 3810 §5.1.3: 0x8123 = mant 0x123, exp 0 -> 0x1123 << 3 = 35096 ms.
  m.run(PacketBuilder().ipv6(router6, "ff02::1").mld_v2_query(0x8123, 0x02, 125).build());
  q = m.querier(AF_INET6);
  CHECK(q->version == JC_MLDV2);
  CHECK(q->max_resp_ms == 35096);
  CHECK(q->qrv == 2);
  CHECK(q->qqi_s == 125);
  CHECK(m.events().empty());

  // A multicast-address-and-source-specific query, plain code.
  m.run(PacketBuilder()
            .ipv6("fe80::2", std::string(group6))
            .mld_v2_query(1000, 0x0f, 0x81, group6, {addr("2001:db8::1")})
            .build());
  q = m.querier(AF_INET6);
  CHECK(q->max_resp_ms == 1000);
  CHECK(q->qrv == 7);
  CHECK(q->qqi_s == ((0x01 | 0x10) << 3));
  check_events(m.events(), {{JC_EV_QUERY_SEEN, "::", "fe80::2", 0}});
  check_counters(m.counters(), counted(3, 3, 0, 3, 0));
  CHECK_FALSE(m.querier(AF_INET).has_value());
}

TEST_CASE("listeners are per interface and without ingress_ifindex the device index is used") {
  LoadedMembership m;
  auto join = mld2(host6_a, {record(JC_REC_IS_EX, group6)});
  m.run(join, 7);
  m.run(join, 8);
  CHECK(m.listener(group6, host6_a, 7).has_value());
  CHECK(m.listener(group6, host6_a, 8).has_value());
  CHECK(m.group(group6)->listeners == 2);
  auto ev = m.events();
  REQUIRE(ev.size() == 3);  // join on 7, group up, join on 8
  CHECK(ev[0].ifindex == 7);
  CHECK(ev[2].ifindex == 8);
  CHECK(ev[2].type == JC_EV_LISTENER_JOIN);

  // test_run's device is the loopback (ifindex 1) when ctx names none.
  m.run(join, 0);
  CHECK(m.listener(group6, host6_a, 1).has_value());
  CHECK(m.group(group6)->listeners == 3);
}

TEST_CASE("802.1Q and 802.1ad tags in the frame: the outer VLAN id is kept") {
  LoadedMembership m;
  m.run(PacketBuilder().vlan(100).ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).build());
  auto l = m.listener(group6, host6_a);
  REQUIRE(l.has_value());
  CHECK(l->vlan == 100);
  auto ev = m.events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].vlan == 100);

  m.run(PacketBuilder()
            .vlan(200, PacketBuilder::tpid_8021ad)
            .vlan(100)
            .ipv4(host4_a, "224.0.0.22")
            .igmp_v3_report({record(JC_REC_TO_EX, group4)})
            .build());
  l = m.listener(group4, host4_a);
  REQUIRE(l.has_value());
  CHECK(l->vlan == 200);

  // Priority bits are not part of the id.
  m.run(PacketBuilder().vlan(0xe000 | 42).ipv4(host4_b, group4).igmp_v2_report(group4).build());
  CHECK(m.listener(group4, host4_b)->vlan == 42);
  check_counters(m.counters(), counted(3, 3, 3, 0, 3));
}

TEST_CASE("three stacked tags are beyond the parser and the frame is ignored") {
  LoadedMembership m;
  m.run(PacketBuilder()
            .vlan(300, PacketBuilder::tpid_8021ad)
            .vlan(200)
            .vlan(100)
            .ipv6(host6_a, "ff02::16")
            .mld_v2_report({record(JC_REC_TO_EX, group6)})
            .build());
  check_counters(m.counters(), {});
  CHECK(m.listener_count() == 0);
  CHECK(m.events().empty());
}

TEST_CASE("messages without Router Alert or hop-by-hop header are still read") {
  // RFC 3810 §5 and RFC 3376 §4 say hosts send them; Linux's own snooping
  // accepts IGMP without the option, and a listener that forgot it is
  // still a listener.
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, "224.0.0.22").no_router_alert().igmp_v3_report(
      {record(JC_REC_TO_EX, group4)}).build());
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").no_hop_by_hop().mld_v2_report(
      {record(JC_REC_TO_EX, group6)}).build());
  CHECK(m.listener(group4, host4_a).has_value());
  CHECK(m.listener(group6, host6_a).has_value());
  check_counters(m.counters(), counted(2, 2, 2, 0, 2));
}

TEST_CASE("IPv6 extension headers before MLD: destination options and routing are walked") {
  LoadedMembership m;
  m.run(PacketBuilder()
            .ipv6(host6_a, "ff02::16")
            .ipv6_extension(60, {0x01, 0x04, 0, 0, 0, 0})  // destination options, PadN
            .ipv6_extension(43, {0, 0, 0, 0, 0, 0})        // routing type 0, segments left 0
            .mld_v2_report({record(JC_REC_TO_EX, group6)})
            .build());
  CHECK(m.listener(group6, host6_a).has_value());
  // Hop-by-hop plus three more: the most the walk follows (JC_MAX_EXT_HDRS).
  m.run(PacketBuilder()
            .ipv6(host6_b, "ff02::16")
            .ipv6_extension(60)
            .ipv6_extension(60, Bytes(14, 0))
            .ipv6_extension(60)
            .mld_v2_report({record(JC_REC_TO_EX, group6)})
            .build());
  CHECK(m.listener(group6, host6_b).has_value());
  check_counters(m.counters(), counted(2, 2, 2, 0, 2));
}

TEST_CASE("IPv6 headers MLD never comes behind are not followed") {
  LoadedMembership m;
  // A fifth extension header: past the walk's bound.
  m.run(PacketBuilder()
            .ipv6(host6_a, "ff02::16")
            .ipv6_extension(60)
            .ipv6_extension(60)
            .ipv6_extension(60)
            .ipv6_extension(60)
            .mld_v2_report({record(JC_REC_TO_EX, group6)})
            .build());
  // A fragment header (MLD is never fragmented).
  m.run(PacketBuilder()
            .ipv6(host6_a, "ff02::16")
            .ipv6_extension(44, {0, 0, 0, 0, 0, 0})
            .mld_v2_report({record(JC_REC_TO_EX, group6)})
            .build());
  // Examined (they carry hop-by-hop options), but no message is found.
  jc_counters expected{};
  expected.packets = 2;
  check_counters(m.counters(), expected);
  CHECK(m.listener_count() == 0);
}
