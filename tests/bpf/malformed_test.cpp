// malformed_test.cpp — input that lies or ends early, wrong checksums and
// sources, groups that must not be tracked, traffic that is not
// membership at all, full maps and a full event ring, and the largest
// report BPF_PROG_TEST_RUN accepts. Every run also checks (in the harness)
// that the verdict is TC_ACT_UNSPEC and the frame is unchanged.
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/frames.hpp"
#include "tests/bpf/harness.hpp"

#include <doctest/doctest.h>
#include <linux/pkt_cls.h>

#include <cerrno>
#include <cstdio>
#include <functional>

#include <string>

using namespace joincast::tests;
using joincast::daemon::membership::loader::MembershipProgram;

namespace {

jc_counters counters_of(std::initializer_list<std::pair<__u64 jc_counters::*, std::uint64_t>> fields) {
  jc_counters c{};
  for (const auto& [member, value] : fields) c.*member = value;
  return c;
}

constexpr auto packets = &jc_counters::packets;
constexpr auto messages = &jc_counters::messages;
constexpr auto reports = &jc_counters::reports;
constexpr auto records = &jc_counters::records;
constexpr auto records_skipped = &jc_counters::records_skipped;
constexpr auto malformed = &jc_counters::malformed;
constexpr auto truncated = &jc_counters::truncated;
constexpr auto bad_checksum = &jc_counters::bad_checksum;
constexpr auto bad_source = &jc_counters::bad_source;

// The largest frame BPF_PROG_TEST_RUN takes (a page minus skb overhead).
std::size_t test_run_limit(LoadedMembership& m) {
  for (std::size_t size = 4096; size > 1000; size -= 4) {
    Bytes frame = PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").udp(1, 2, Bytes(size - 14 - 24 - 8, 0)).build();
    std::uint32_t retval = 0;
    if (m.try_run(frame, test_ifindex, &retval, nullptr) == 0) return size;
  }
  FAIL("BPF_PROG_TEST_RUN accepts no frame of 1000 bytes or more");
  return 0;
}

}  // namespace

TEST_CASE("an IP length beyond the frame is truncation") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).ip_length(24 + 8 + 100).build());
  m.run(mld2(host6_a, {}));  // a valid empty report, for contrast
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).ip_length(1000).build());
  check_counters(m.counters(), counters_of({{packets, 3}, {messages, 1}, {reports, 1}, {truncated, 2}}));
  CHECK(m.listener_count() == 0);
  CHECK(m.events().empty());
}

TEST_CASE("IP lengths too short for the headers they announce") {
  LoadedMembership m;
  // IPv4 total length shorter than its own header: no IPv4 packet.
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).ip_length(10).build());
  check_counters(m.counters(), counters_of({{packets, 1}, {malformed, 1}}));
  // IPv4 total length that ends inside the 8-byte IGMP header.
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).ip_length(24 + 4).build());
  // IPv6 payload length that ends inside the hop-by-hop header ...
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).ip_length(4).build());
  // ... and inside the MLD header.
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).ip_length(12).build());
  check_counters(m.counters(), counters_of({{packets, 4}, {malformed, 1}, {truncated, 3}}));
  CHECK(m.listener_count() == 0);
}

TEST_CASE("header fields no IGMP packet has") {
  LoadedMembership m;
  // IPv4 ethertype with an IPv6 version nibble.
  Bytes v6_in_v4 = PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build();
  v6_in_v4[14] = 0x66;
  m.run(v6_in_v4);
  // IGMP is never fragmented.
  m.run(PacketBuilder().ipv4(host4_a, group4).ipv4_fragment(0x2000).igmp_v2_report(group4).build());
  // An IPv6 ethertype carrying version 4.
  Bytes v4_in_v6 = mld2(host6_a, {record(JC_REC_TO_EX, group6)});
  v4_in_v6[14] = 0x45;
  m.run(v4_in_v6);
  // IGMP messages are whole 32-bit words: 9 and 10 bytes are no message.
  m.run(PacketBuilder().ipv4(router4, "224.0.0.1").igmp_raw(0x11, 100, {0, 0, 0, 0, 0}).build());
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_raw(0x16, 0, {239, 1, 2, 3, 0, 0}).build());
  // The same for MLD: a 26-byte query.
  m.run(PacketBuilder().ipv6(router6, "ff02::1").mld_v2_query(1000, 2, 125).cut_message(26).build());
  check_counters(m.counters(), counters_of({{packets, 6}, {messages, 3}, {malformed, 6}}));
  CHECK(m.listener_count() == 0);
  CHECK(m.queriers().empty());
}

TEST_CASE("IGMP types that are not membership are counted as unknown") {
  // DVMRP (0x13), PIM v1 (0x14), mtrace (0x1f), Multicast Router
  // Discovery advertisement (0x30, RFC 4286) share IP protocol 2.
  LoadedMembership m;
  for (std::uint8_t type : std::initializer_list<std::uint8_t>{0x13, 0x14, 0x1f, 0x30})
    m.run(PacketBuilder().ipv4(router4, "224.0.0.106").igmp_raw(type, 0, {0, 0, 0, 0}).build());
  check_counters(m.counters(), counters_of({{packets, 4}, {messages, 4}, {malformed, 4}}));
  CHECK(m.events().empty());
}

TEST_CASE("record counts beyond the report: what is there applies and the report is truncated") {
  for (std::uint16_t claimed : std::initializer_list<std::uint16_t>{2, 1000, 65535}) {
    INFO("claimed records ", claimed);
    LoadedMembership m;
    m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).record_count(claimed).build());
    m.run(PacketBuilder().ipv4(host4_a, "224.0.0.22").igmp_v3_report({record(JC_REC_TO_EX, group4)}).record_count(claimed).build());
    // Records that are not in the packet are not counted anywhere.
    check_counters(m.counters(), counters_of({{packets, 2}, {messages, 2}, {records, 2}, {truncated, 2}}));
    CHECK(m.listener(group6, host6_a).has_value());
    CHECK(m.listener(group4, host4_a).has_value());
  }
}

TEST_CASE("a thousand records claimed with a full packet of them") {
  // As many IGMPv3 records as one test run takes, count claimed 1000.
  LoadedMembership m;
  std::size_t limit = test_run_limit(m);
  std::size_t fit = (limit - 14 - 24 - 8) / 8;
  REQUIRE(fit < 1000);
  std::vector<GroupRecord> recs;
  for (std::size_t i = 0; i < fit; ++i)
    recs.push_back(record(JC_REC_IS_EX, "239.9." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  m.run(PacketBuilder().ipv4(host4_a, "224.0.0.22").igmp_v3_report(recs).record_count(1000).build());
  check_counters(m.counters(), counters_of({{packets, 1}, {messages, 1}, {records, fit}, {truncated, 1}}));
  CHECK(m.listener_count() == fit);
}

TEST_CASE("source counts that overrun the report") {
  LoadedMembership m;
  auto lying = record(JC_REC_IS_IN, group6_b, {"2001:db8::5"});
  lying.claimed_sources = 500;
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, group6), lying}));
  // The first record applies; the one whose sources run past the end
  // does not.
  check_counters(m.counters(), counters_of({{packets, 1}, {messages, 1}, {records, 1}, {truncated, 1}}));
  CHECK(m.listener(group6, host6_a).has_value());
  CHECK_FALSE(m.listener(group6_b, host6_a).has_value());

  auto lying4 = record(JC_REC_ALLOW, group4, {"198.51.100.5"});
  lying4.claimed_sources = 65535;
  m.run(igmp3(host4_a, {lying4}));
  check_counters(m.counters(), counters_of({{packets, 2}, {messages, 2}, {records, 1}, {truncated, 2}}));
  CHECK(m.listener_count() == 1);
}

TEST_CASE("a message cut short at every length with lengths and checksum consistent") {
  // The report ends early, but the IP length and the checksum agree with
  // it: only the message's own structure says it is short. One program
  // per family; each cut comes from its own host so its listener (or its
  // absence) is its own.
  auto rec1 = record(JC_REC_IS_EX, group6, {"2001:db8::5"});
  auto rec2 = record(JC_REC_IS_IN, group6_b, {"2001:db8::5", "2001:db8::6"});
  rec2.aux_words = 1;
  auto rec1_4 = record(JC_REC_IS_EX, group4, {"198.51.100.5"});
  auto rec2_4 = record(JC_REC_IS_IN, group4_b, {"198.51.100.5", "198.51.100.6"});
  rec2_4.aux_words = 1;
  struct Case {
    const char* name;
    std::string group;
    std::size_t first_record_end;  // message bytes holding record 1 whole
    std::size_t full;              // message bytes of the whole report
    std::function<std::string(std::size_t)> host;
    std::function<PacketBuilder(const std::string&)> report;
  };
  Case cases[] = {
      {"MLDv2", std::string(group6), 8 + 20 + 16, 8 + (20 + 16) + (20 + 32 + 4),
       [](std::size_t cut) {
         char h[32];
         std::snprintf(h, sizeof h, "fe80::1:%zx", cut);
         return std::string(h);
       },
       [&](const std::string& host) { return PacketBuilder().ipv6(host, "ff02::16").mld_v2_report({rec1, rec2}); }},
      {"IGMPv3", std::string(group4), 8 + 8 + 4, 8 + (8 + 4) + (8 + 8 + 4),
       [](std::size_t cut) { return "198.18.0." + std::to_string(cut); },
       [&](const std::string& host) {
         return PacketBuilder().ipv4(host, "224.0.0.22").igmp_v3_report({rec1_4, rec2_4});
       }},
  };
  for (auto& c : cases) {
    LoadedMembership m;
    // The whole report, for contrast: both records apply.
    m.run(c.report(c.host(c.full)).build());
    REQUIRE(m.counters().records == 2);
    for (std::size_t cut = 0; cut < c.full; ++cut) {
      INFO(std::string(c.name), " cut to ", cut, " of ", c.full, " bytes");
      auto before = m.counters();
      m.run(c.report(c.host(cut)).cut_message(cut).build());
      auto got = counters_delta(m.counters(), before);
      bool whole_record = cut >= c.first_record_end && cut % 4 == 0;
      CHECK(got.packets == 1);
      CHECK(got.reports == 0);
      CHECK(got.records == (whole_record ? 1u : 0u));
      CHECK(got.records_skipped == 0);
      CHECK(got.bad_checksum == 0);
      // Shorter than a header: truncated. A length no message has (not a
      // multiple of 4): malformed. Otherwise the records run out: truncated.
      if (cut >= 8 && cut % 4 != 0) {
        CHECK(got.malformed == 1);
        CHECK(got.truncated == 0);
      } else {
        CHECK(got.truncated == 1);
        CHECK(got.malformed == 0);
      }
      CHECK(m.listener(c.group, c.host(cut)).has_value() == whole_record);
    }
  }
}

TEST_CASE("v1 messages and queries cut short") {
  LoadedMembership m;
  // MLDv1 report: 24 bytes; cut to 20 (address incomplete).
  m.run(PacketBuilder().ipv6(host6_a, group6).mld_v1_report(group6).cut_message(20).build());
  // MLDv2 query cut inside its source list (sources claimed, not present).
  m.run(PacketBuilder().ipv6(router6, "ff02::1").mld_v2_query(1000, 2, 125).cut_message(24 + 2).build());
  // IGMPv2 report: 8 bytes; cut to 4.
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).cut_message(4).build());
  CHECK(m.listener_count() == 0);
  CHECK(m.queriers().empty());
  auto got = m.counters();
  CHECK(got.packets == 3);
  CHECK(got.records == 0);
  CHECK(got.queries == 0);
  CHECK(got.truncated + got.malformed == 3);
}

TEST_CASE("frames cut at every byte: lengths that lie at every layer") {
  // The frame ends early while the IP length still announces the whole
  // report. Every cut must be harmless: no listener, no event, at most
  // one packet counted and then as truncated.
  struct Frame {
    Bytes bytes;
    // test_run itself refuses untagged IPv4/IPv6 frames shorter than the
    // IP header (it reads the header to fill in the socket); frames with
    // tags in the data are not checked, so they carry the cuts inside
    // the IP headers.
    std::size_t refused_below;
  };
  Frame frames[] = {
      {PacketBuilder().vlan(10).ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).build(), 0},
      {PacketBuilder().vlan(20, PacketBuilder::tpid_8021ad).vlan(10).ipv4(host4_a, "224.0.0.22")
           .igmp_v3_report({record(JC_REC_TO_EX, group4)}).build(), 0},
      {PacketBuilder().ipv6(host6_a, group6).no_hop_by_hop().mld_v1_report(group6).build(), 14 + 40},
      {PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build(), 14 + 20},
  };
  for (const Frame& f : frames) {
    // Plain references, not a structured binding: clang 14 cannot capture
    // those in the lambda INFO makes.
    const Bytes& full = f.bytes;
    const std::size_t refused_below = f.refused_below;
    LoadedMembership m;
    std::uint64_t expected_truncated = 0;
    for (std::size_t cut = 14; cut < full.size(); ++cut) {
      INFO("frame of ", full.size(), " bytes cut to ", cut);
      Bytes frame(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
      auto before = m.counters();
      if (cut < refused_below) {
        std::uint32_t retval = 0;
        Bytes out;
        int err = m.try_run(frame, test_ifindex, &retval, &out);
        if (err == -EINVAL) continue;
        REQUIRE(err == 0);
        CHECK(static_cast<int>(retval) == TC_ACT_UNSPEC);
        CHECK(out == frame);
      } else {
        m.run(frame);
      }
      auto after = m.counters();
      CHECK(after.packets - before.packets <= 1);
      CHECK(after.truncated - before.truncated == after.packets - before.packets);
      expected_truncated += after.truncated - before.truncated;
    }
    auto c = m.counters();
    CHECK(c.truncated == expected_truncated);
    CHECK(c.messages == 0);
    CHECK(c.malformed == 0);
    CHECK(c.records == 0);
    CHECK(m.listener_count() == 0);
    CHECK(m.events().empty());
    // The whole frame still works afterwards.
    m.run(full);
    CHECK(m.listener_count() == 1);
  }
}

TEST_CASE("wrong checksums: IGMP and ICMPv6 (including its pseudo-header)") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).bad_checksum().build());
  m.run(PacketBuilder().ipv4(host4_a, "224.0.0.22").igmp_v3_report({record(JC_REC_TO_EX, group4)}).bad_checksum().build());
  m.run(PacketBuilder().ipv4(router4, "224.0.0.1").igmp_v3_query(100, 2, 125).bad_checksum().build());
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).bad_checksum().build());
  m.run(PacketBuilder().ipv6(host6_a, group6).mld_v1_report(group6).bad_checksum().build());
  // Right over the message, wrong over the pseudo-header: the checksum
  // was computed for another destination.
  Bytes other_dst = mld2(host6_a, {record(JC_REC_TO_EX, group6)});
  other_dst[14 + 24 + 15] = 0x17;  // ff02::16 -> ff02::17
  m.run(other_dst);
  check_counters(m.counters(), counters_of({{packets, 6}, {messages, 6}, {bad_checksum, 6}}));
  CHECK(m.listener_count() == 0);
  CHECK(m.queriers().empty());
  CHECK(m.events().empty());
}

TEST_CASE("with checksum verification off a wrong checksum is accepted") {
  MembershipProgram::Options options;
  options.verify_checksum = false;
  LoadedMembership m(options);
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).bad_checksum().build());
  m.run(PacketBuilder().ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).bad_checksum().build());
  CHECK(m.listener_count() == 2);
  CHECK(m.counters().bad_checksum == 0);
}

TEST_CASE("MLD must come from a link-local source") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv6("2001:db8::10", "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).build());
  m.run(PacketBuilder().ipv6("::", "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).build());
  m.run(PacketBuilder().ipv6("2001:db8::10", group6).mld_v1_report(group6).build());
  m.run(PacketBuilder().ipv6("2001:db8::1", "ff02::1").mld_v2_query(1000, 2, 125).build());
  check_counters(m.counters(), counters_of({{packets, 4}, {messages, 4}, {bad_source, 4}}));
  CHECK(m.listener_count() == 0);
  CHECK(m.queriers().empty());
  CHECK(m.events().empty());
}

TEST_CASE("link-scope groups are skipped unless cfg_track_link_local") {
  auto send_all = [](LoadedMembership& m) {
    // Solicited-node and mDNS groups; 224.0.0.251 (mDNS) and 224.0.0.5.
    m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff02::1:ff00:10"), record(JC_REC_TO_EX, "ff02::fb")}));
    m.run(igmp3(host4_a, {record(JC_REC_TO_EX, "224.0.0.251")}));
    m.run(PacketBuilder().ipv4(host4_a, "224.0.0.5").igmp_v2_report("224.0.0.5").build());
    // Interface-local and reserved-scope groups are never reported (RFC 3810 §6).
    m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff01::1"), record(JC_REC_TO_EX, "ff00::1234")}));
    // A group of wider scope next to them always counts; so does 224.0.1.1 (NTP).
    m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff05::1:3")}));
    m.run(igmp3(host4_a, {record(JC_REC_TO_EX, "224.0.1.1")}));
  };
  {
    LoadedMembership m;
    send_all(m);
    CHECK(m.listener_count() == 2);
    CHECK(m.listener("ff05::1:3", host6_a).has_value());
    CHECK(m.listener("224.0.1.1", host4_a).has_value());
    check_counters(m.counters(), counters_of({{packets, 6}, {messages, 6}, {reports, 6}, {records, 2},
                                              {records_skipped, 6}}));
  }
  {
    MembershipProgram::Options options;
    options.track_link_local = true;
    LoadedMembership m(options);
    send_all(m);
    CHECK(m.listener_count() == 6);
    CHECK(m.listener("ff02::1:ff00:10", host6_a).has_value());
    CHECK(m.listener("224.0.0.251", host4_a).has_value());
    CHECK_FALSE(m.listener("ff01::1", host6_a).has_value());
    check_counters(m.counters(), counters_of({{packets, 6}, {messages, 6}, {reports, 6}, {records, 6},
                                              {records_skipped, 2}}));
  }
}

TEST_CASE("groups that are not multicast of the message family are skipped") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv4(host4_a, "10.1.2.3").igmp_v2_report("10.1.2.3").build());
  m.run(PacketBuilder().ipv4(host4_a, "255.255.255.255").igmp_v1_report("255.255.255.255").build());
  m.run(PacketBuilder().ipv6(host6_a, "2001:db8::1").mld_v1_report("2001:db8::1").build());
  // An MLD report naming an IPv4-mapped address must not count as an
  // IPv4 listener of 239.1.2.3.
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "::ffff:239.1.2.3")}));
  check_counters(m.counters(), counters_of({{packets, 4}, {messages, 4}, {reports, 4}, {records_skipped, 4}}));
  CHECK(m.listener_count() == 0);
  CHECK(m.group_count() == 0);
}

TEST_CASE("traffic that is not membership leaves every counter alone") {
  LoadedMembership m;
  Bytes frames[] = {
      PacketBuilder().ipv4("192.0.2.1", "239.1.2.3").no_router_alert().udp(5004, 5004, Bytes(172, 0x55)).build(),
      PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").no_router_alert().tcp(40000, 80).build(),
      PacketBuilder().ipv6("2001:db8::1", "ff3e::1").no_hop_by_hop().udp(5004, 5004, Bytes(172, 0x55)).build(),
      PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").no_hop_by_hop().tcp(40000, 443).build(),
      PacketBuilder().ipv6("fe80::1", "ff02::1:ff00:2").no_hop_by_hop().neighbour_solicitation("fe80::2").build(),
      PacketBuilder().ipv6("fe80::1", "fe80::2").no_hop_by_hop().icmpv6(128, 0, Bytes(60, 0)).build(),  // echo
      PacketBuilder().ipv6("fe80::1", "ff02::2").no_hop_by_hop().icmpv6(133, 0, Bytes(4, 0)).build(),  // RS
      PacketBuilder().arp_request("192.0.2.1", "192.0.2.2").build(),
      // The same behind VLAN tags (no offload): still not membership.
      PacketBuilder().vlan(10).ipv4("192.0.2.1", "239.1.2.3").no_router_alert().udp(5004, 5004, Bytes(172, 0x55)).build(),
      PacketBuilder().vlan(20, PacketBuilder::tpid_8021ad).vlan(10).ipv4("192.0.2.1", "192.0.2.2").no_router_alert()
          .tcp(1, 2).build(),
      PacketBuilder().vlan(10).ipv6("2001:db8::1", "ff3e::1").no_hop_by_hop().udp(5004, 5004, Bytes(64, 0)).build(),
      PacketBuilder().vlan(10).ipv6("fe80::1", "ff02::1:ff00:2").no_hop_by_hop()
          .neighbour_solicitation("fe80::2").build(),
      PacketBuilder().vlan(10).arp_request("192.0.2.1", "192.0.2.2").build(),
  };
  for (const auto& f : frames) m.run(f);
  check_counters(m.counters(), {});
  CHECK(m.events().empty());

  // Hop-by-hop options in front of something else are examined, as
  // documented (packets), and nothing more.
  m.run(PacketBuilder().ipv6("2001:db8::1", "ff3e::1").udp(5004, 5004, Bytes(64, 0)).build());
  m.run(PacketBuilder().vlan(10).ipv6("2001:db8::1", "ff3e::1").udp(5004, 5004, Bytes(64, 0)).build());
  check_counters(m.counters(), counters_of({{packets, 2}}));
}

TEST_CASE("the largest report a test run takes: every record applied") {
  LoadedMembership m;
  std::size_t limit = test_run_limit(m);
  MESSAGE("BPF_PROG_TEST_RUN takes frames up to ", limit, " bytes");

  // MLDv2: Ethernet 14, IPv6 40, hop-by-hop 8, MLD header 8, 20 per record.
  std::size_t fit6 = (limit - 14 - 40 - 8 - 8) / 20;
  std::vector<GroupRecord> recs6;
  for (std::size_t i = 0; i < fit6; ++i) {
    char g[64];
    std::snprintf(g, sizeof g, "ff3e:40:2001:db8:d0be:f00d:8000:%zx", i);
    recs6.push_back(record(JC_REC_IS_EX, g));
  }
  Bytes report6 = mld2(host6_a, recs6);
  REQUIRE(report6.size() <= limit);
  m.run(report6);
  CHECK(m.listener_count() == fit6);
  CHECK(m.group_count() == fit6);
  auto ev = m.events();
  REQUIRE(ev.size() == 2 * fit6);
  CHECK(ev.back().type == JC_EV_GROUP_UP);
  CHECK(joincast::daemon::membership::loader::format_address(ev.back().group) == joincast::daemon::membership::loader::format_address(recs6.back().group.data()));

  // IGMPv3: Ethernet 14, IPv4 with Router Alert 24, IGMP header 8, 8 per record.
  std::size_t fit4 = (limit - 14 - 24 - 8) / 8;
  std::vector<GroupRecord> recs4;
  for (std::size_t i = 0; i < fit4; ++i)
    recs4.push_back(record(JC_REC_IS_EX, "239.8." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  m.run(igmp3(host4_a, recs4));
  CHECK(m.listener_count() == fit6 + fit4);
  check_counters(m.counters(), counters_of({{packets, 2}, {messages, 2}, {reports, 2}, {records, fit6 + fit4}}));

  // The same reports again are refreshes: no events, counts unchanged.
  m.events();
  m.run(report6);
  m.run(igmp3(host4_a, recs4));
  CHECK(m.events().empty());
  CHECK(m.group("239.8.0.0")->listeners == 1);
}

TEST_CASE("full maps and a full event ring are counted and leave the maps consistent") {
  LoadedMembership m;
  std::size_t limit = test_run_limit(m);
  std::size_t per_report = (limit - 14 - 24 - 8) / 8;
  // Enough distinct groups to overflow jc_groups (JC_MAX_GROUPS).
  std::size_t reports_needed = JC_MAX_GROUPS / per_report + 1;
  std::size_t sent = 0;
  for (std::size_t r = 0; r < reports_needed; ++r) {
    std::vector<GroupRecord> recs;
    for (std::size_t i = 0; i < per_report; ++i, ++sent)
      recs.push_back(record(JC_REC_IS_EX, "239.7." + std::to_string(sent / 256) + "." + std::to_string(sent % 256)));
    m.run(igmp3(host4_a, recs));
  }
  REQUIRE(sent > JC_MAX_GROUPS);
  auto c = m.counters();
  CHECK(c.records == JC_MAX_GROUPS);
  CHECK(c.groups_full == sent - JC_MAX_GROUPS);
  CHECK(c.records_skipped == sent - JC_MAX_GROUPS);
  // No listener without its group.
  CHECK(m.group_count() == JC_MAX_GROUPS);
  CHECK(m.listener_count() == JC_MAX_GROUPS);
  // Two events per join, more than the ring holds when nobody reads it.
  auto ev = m.events();
  CHECK(ev.size() < 2 * JC_MAX_GROUPS);
  CHECK(ev.size() + c.events_lost == 2 * JC_MAX_GROUPS);
}
