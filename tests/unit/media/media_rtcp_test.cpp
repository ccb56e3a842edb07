// media_rtcp_test.cpp — RTCP parsing with RFC 3550 §A.2 validity, the
// builders, SR stamping, and the per-session receiver table.
#include "media/rtcp/rtcp.hpp"
#include "media/rtcp/receiver_table.hpp"

#include <doctest/doctest.h>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {
std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
ReportBlock block(std::uint32_t ssrc) {
  ReportBlock b;
  b.ssrc = ssrc;
  b.fraction_lost = 64;       // 25 %
  b.cumulative_lost = -3;     // duplicates
  b.highest_seq = 0x00012345;
  b.jitter = 900;             // 10 ms at 90 kHz
  b.last_sr = 0x11112222;
  b.delay_since_sr = 0x00010000;  // 1 s
  return b;
}
constexpr std::uint32_t kSender = 0xabcdef01;
}  // namespace

TEST_CASE("RR + SDES + BYE round-trip through the parser") {
  ReportBlock b = block(kSender);
  auto rr = build_receiver_report(0x1234, std::span(&b, 1));
  CHECK(rr.size() == 8 + 24);
  auto compound = cat({rr, build_sdes(0x1234, "listener@host", "tool"), build_bye(std::vector<std::uint32_t>{0x1234}, "bye")});
  CHECK(is_rtcp(compound));
  auto parsed = parse_rtcp(compound);
  REQUIRE(parsed);
  const auto& c = parsed.value();
  REQUIRE(c.reports.size() == 1);
  CHECK(c.reports[0].ssrc == 0x1234);
  CHECK_FALSE(c.reports[0].sender);
  REQUIRE(c.reports[0].blocks.size() == 1);
  CHECK(c.reports[0].blocks[0] == b);
  REQUIRE(c.sdes.size() == 1);
  CHECK(c.sdes[0].cname == "listener@host");
  CHECK(c.sdes[0].tool == "tool");
  REQUIRE(c.byes.size() == 1);
  CHECK(c.byes[0].ssrcs == std::vector<std::uint32_t>{0x1234});
  CHECK(c.byes[0].reason == "bye");
}

TEST_CASE("an SR parses and can be stamped in place") {
  SenderInfo info{0x0102030405060708ull, 1000, 5, 500};
  auto sr = cat({build_sender_report(kSender, info), build_sdes(kSender, "joincast@x")});
  SenderInfo later{0x1111111122222222ull, 2000, 10, 1000};
  REQUIRE(stamp_sender_report(sr, later));
  auto parsed = parse_rtcp(sr);
  REQUIRE(parsed);
  REQUIRE(parsed.value().reports.size() == 1);
  const auto& s = *parsed.value().reports[0].sender;
  CHECK(s.ntp == later.ntp);
  CHECK(s.rtp_timestamp == 2000);
  CHECK(s.packet_count == 10);
  CHECK(s.octet_count == 1000);
  std::vector<std::byte> rr = build_receiver_report(1, {});
  CHECK_FALSE(stamp_sender_report(rr, later));  // not an SR
}

TEST_CASE("malformed RTCP is refused") {
  auto rr = build_receiver_report(0x1234, {});
  auto sdes = build_sdes(0x1234, "x");
  auto bye = build_bye(std::vector<std::uint32_t>{0x1234});

  SUBCASE("empty, or not a multiple of four") {
    CHECK_FALSE(parse_rtcp({}));
    auto odd = rr;
    odd.push_back(std::byte{0});
    CHECK_FALSE(parse_rtcp(odd));
  }
  SUBCASE("version other than 2") {
    auto v1 = rr;
    v1[0] = std::byte{0x40};
    CHECK_FALSE(parse_rtcp(v1));
  }
  SUBCASE("first packet not SR or RR") {
    CHECK_FALSE(parse_rtcp(sdes));
    CHECK_FALSE(parse_rtcp(cat({bye, rr})));
  }
  SUBCASE("length beyond the datagram") {
    auto longer = rr;
    longer[3] = std::byte{9};
    CHECK_FALSE(parse_rtcp(longer));
  }
  SUBCASE("lengths that do not add up to the datagram") {
    auto extra = cat({rr, std::vector<std::byte>(4, std::byte{0})});
    CHECK_FALSE(parse_rtcp(extra));  // trailing bytes are a packet with version 0
  }
  SUBCASE("report count larger than the packet") {
    auto lying = rr;
    lying[0] = std::byte{0x81};  // claims one block, has none
    CHECK_FALSE(parse_rtcp(lying));
  }
  SUBCASE("padding in a packet that is not the last") {
    auto padded = rr;
    padded[0] |= std::byte{0x20};
    CHECK_FALSE(parse_rtcp(cat({padded, sdes})));
  }
  SUBCASE("an SDES item running past its packet") {
    auto bad = sdes;
    bad[9] = std::byte{200};  // CNAME length
    CHECK_FALSE(parse_rtcp(cat({rr, bad})));
  }
  SUBCASE("a BYE reason running past its packet") {
    auto b = build_bye(std::vector<std::uint32_t>{1}, "why");
    b[8] = std::byte{100};
    CHECK_FALSE(parse_rtcp(cat({rr, b})));
  }
  SUBCASE("well-formed compounds still parse") {
    CHECK(parse_rtcp(cat({rr, sdes, bye})));
    CHECK(parse_rtcp(rr));
  }
}

TEST_CASE("the receiver table aggregates reports, honours BYE and times out") {
  ReceiverTable table(30s);
  table.set_sender(kSender, 90000);
  auto t0 = ReceiverTable::Clock::now();
  ReportBlock b = block(kSender);
  ReportBlock other = block(0x99);
  ReportBlock blocks[] = {other, b};
  auto rr1 = cat({build_receiver_report(0x1111, blocks), build_sdes(0x1111, "one@a")});
  // A = LSR + DLSR + 0.5 s (in 1/65536 s): RTT 500 ms.
  std::uint64_t ntp = std::uint64_t{0x11112222u + 0x00010000u + 0x8000u} << 16;
  REQUIRE(table.on_packet(rr1, "2001:db8::2", t0, ntp));
  auto rr2 = cat({build_receiver_report(0x2222, {}), build_sdes(0x2222, "two@b")});
  REQUIRE(table.on_packet(rr2, "2001:db8::3", t0 + 1s, ntp));

  auto rs = table.receivers();
  REQUIRE(rs.size() == 2);
  const auto& one = rs[0].ssrc == 0x1111 ? rs[0] : rs[1];
  const auto& two = rs[0].ssrc == 0x2222 ? rs[0] : rs[1];
  CHECK(one.cname == "one@a");
  CHECK(one.address == "2001:db8::2");
  CHECK(one.reports_on_us);
  CHECK(one.fraction_lost == doctest::Approx(0.25));
  CHECK(one.cumulative_lost == -3);
  CHECK(one.jitter_ms == doctest::Approx(10.0));
  REQUIRE(one.rtt_ms);
  CHECK(*one.rtt_ms == doctest::Approx(500.0));
  CHECK(two.cname == "two@b");
  CHECK_FALSE(two.reports_on_us);

  SUBCASE("BYE removes a receiver") {
    auto bye = cat({build_receiver_report(0x1111, {}), build_bye(std::vector<std::uint32_t>{0x1111})});
    REQUIRE(table.on_packet(bye, "2001:db8::2", t0 + 2s, ntp));
    REQUIRE(table.size() == 1);
    CHECK(table.receivers()[0].ssrc == 0x2222);
    CHECK(table.counters().byes == 1);
  }
  SUBCASE("silence removes a receiver") {
    table.expire(t0 + 30s + 500ms);
    REQUIRE(table.size() == 1);
    CHECK(table.receivers()[0].ssrc == 0x2222);
    CHECK(table.counters().timeouts == 1);
  }
  SUBCASE("malformed packets are counted and change nothing") {
    std::vector<std::byte> junk(12, std::byte{0xff});
    CHECK_FALSE(table.on_packet(junk, "2001:db8::9", t0, ntp));
    CHECK(table.counters().malformed == 1);
    CHECK(table.counters().packets == 3);
    CHECK(table.size() == 2);
  }
  SUBCASE("our own SR looping back is not a receiver") {
    auto sr = cat({build_sender_report(kSender, SenderInfo{}), build_sdes(kSender, "self")});
    REQUIRE(table.on_packet(sr, "2001:db8::1", t0, ntp));
    CHECK(table.size() == 2);
  }
}

TEST_CASE("the receiver table caps receivers per session and in total, counting what it refuses") {
  auto t0 = ReceiverTable::Clock::now();
  // One RR per SSRC, as many hosts (or one host claiming many SSRCs) send.
  auto rr = [](std::uint32_t ssrc) { return cat({build_receiver_report(ssrc, {}), build_sdes(ssrc, "x@y")}); };
  auto total = std::make_shared<ReceiverBudget>(5);
  {
    ReceiverTable a(30s, ReceiverLimits{3, total});
    ReceiverTable b(30s, ReceiverLimits{3, total});
    for (std::uint32_t s = 1; s <= 4; ++s) REQUIRE(a.on_packet(rr(s), "2001:db8::2", t0, 0));
    CHECK(a.size() == 3);
    CHECK(a.counters().refused == 1);
    CHECK(total->used() == 3);
    // A known receiver is still updated when the table is full.
    REQUIRE(a.on_packet(rr(1), "2001:db8::7", t0 + 1s, 0));
    CHECK(a.counters().refused == 1);
    for (std::uint32_t s = 10; s <= 13; ++s) REQUIRE(b.on_packet(rr(s), "2001:db8::3", t0, 0));
    CHECK(b.size() == 2);  // the total of 5 is reached
    CHECK(b.counters().refused == 2);
    // A BYE and silence give the room back.
    REQUIRE(a.on_packet(cat({build_receiver_report(2, {}), build_bye(std::vector<std::uint32_t>{2})}), "h", t0, 0));
    CHECK(total->used() == 4);
    a.expire(t0 + 30s + 500ms);  // 3 leaves, 1 was heard later
    CHECK(total->used() == 3);
    REQUIRE(b.on_packet(rr(20), "2001:db8::3", t0, 0));
    CHECK(b.size() == 3);
  }
  CHECK(total->used() == 0);  // tables that go give their receivers back
  // A single datagram with many SSRCs is capped too.
  ReceiverTable c(30s, ReceiverLimits{10, nullptr});
  std::vector<std::byte> many = build_receiver_report(1000, {});
  for (std::uint32_t s = 1001; s < 1100; ++s) many = cat({many, build_receiver_report(s, {})});
  REQUIRE(c.on_packet(many, "h", t0, 0));
  CHECK(c.size() == 10);
  CHECK(c.counters().refused == 90);
}

TEST_CASE("RTCP builders split more than 31 items into several packets") {
  for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 62u, 63u}) {
    CAPTURE(n);
    std::vector<ReportBlock> blocks;
    std::vector<std::uint32_t> ssrcs;
    for (std::size_t i = 0; i < n; ++i) {
      blocks.push_back(block(static_cast<std::uint32_t>(100 + i)));
      ssrcs.push_back(static_cast<std::uint32_t>(100 + i));
    }
    auto compound = cat({build_receiver_report(0x1234, blocks), build_bye(ssrcs, "gone")});
    auto parsed = parse_rtcp(compound);
    REQUIRE(parsed);
    const auto& c = parsed.value();
    std::size_t packets = n == 0 ? 1 : (n + 30) / 31;
    REQUIRE(c.reports.size() == packets);
    REQUIRE(c.byes.size() == packets);
    std::vector<ReportBlock> got_blocks;
    std::vector<std::uint32_t> got_ssrcs;
    for (const auto& r : c.reports) {
      CHECK(r.ssrc == 0x1234);
      CHECK(r.blocks.size() <= 31);
      got_blocks.insert(got_blocks.end(), r.blocks.begin(), r.blocks.end());
    }
    for (const auto& b : c.byes) got_ssrcs.insert(got_ssrcs.end(), b.ssrcs.begin(), b.ssrcs.end());
    CHECK(got_blocks == blocks);
    CHECK(got_ssrcs == ssrcs);
    CHECK(c.byes.back().reason == "gone");  // the reason once, in the last BYE
    for (std::size_t i = 0; i + 1 < c.byes.size(); ++i) CHECK(c.byes[i].reason.empty());
  }
}
