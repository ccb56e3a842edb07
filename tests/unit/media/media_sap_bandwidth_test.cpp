// media_sap_bandwidth_test.cpp — the well-known SAP group's bandwidth
// (RFC 2974 §3.1): slots spaced by size × 8 / rate, one bucket per group,
// and an announcer that a host joining the group again and again cannot
// make exceed it.
#include "media/announce/sap.hpp"
#include "media/announce/sap_announcer.hpp"
#include "media/announce/sap_bandwidth.hpp"

#include <doctest/doctest.h>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {
const auto kSap6 = boost::asio::ip::make_address("ff0e::2:7ffe");
const auto kSap4 = boost::asio::ip::make_address("224.2.127.254");
}  // namespace

TEST_CASE("SAP bandwidth: slots are spaced by size times 8 over the rate, per group") {
  SapBandwidth b(4000);
  SapBandwidth::Clock::time_point t{};
  t += 100s;
  CHECK(b.reserve(kSap6, t, 500) == t);        // an empty bucket: now
  CHECK(b.reserve(kSap6, t, 500) == t + 1s);   // 500 bytes = 4000 bits = 1 s
  CHECK(b.reserve(kSap6, t, 250) == t + 2s);
  CHECK(b.reserve(kSap4, t, 500) == t);        // another group has its own
  CHECK(b.reserve(kSap6, t + 10s, 500) == t + 10s);  // idle time is not saved up
}

TEST_CASE("SAP bandwidth: a packet sent late pushes the next slot, so no two come closer than the rate") {
  // test_e2e_sap_join once saw 9 announcements in 5 s (22536 bit, over
  // 4000 bit/s and a packet): a timer fired late, the next slot did not move.
  SapBandwidth b(4000);
  SapBandwidth::Clock::time_point t{};
  t += 100s;
  CHECK(b.reserve(kSap6, t, 500) == t);
  b.sent(kSap6, t + 50ms, 500);               // its timer fired 50 ms late
  CHECK(b.reserve(kSap6, t, 500) == t + 1050ms);  // 1 s after it left, not after its slot
  b.sent(kSap6, t + 1050ms, 500);             // on time: no change
  CHECK(b.reserve(kSap6, t, 500) == t + 2050ms);
}

TEST_CASE("SAP bandwidth: the well-known groups are recognised, station groups are not") {
  CHECK(is_sap_well_known_group(kSap6));
  CHECK(is_sap_well_known_group(boost::asio::ip::make_address("ff05::2:7ffe")));
  CHECK(is_sap_well_known_group(kSap4));
  CHECK(is_sap_well_known_group(boost::asio::ip::make_address("239.255.255.255")));
  CHECK(!is_sap_well_known_group(boost::asio::ip::make_address("ff3e:40:2001:db8:d0be:f00d:8000:0")));
  CHECK(!is_sap_well_known_group(boost::asio::ip::make_address("ff1e::2:7ffe")));  // transient
  CHECK(!is_sap_well_known_group(boost::asio::ip::make_address("239.255.0.1")));
}

TEST_CASE("SAP: joins of the well-known group announce there at once, then no faster than its bandwidth") {
  std::atomic<std::size_t> ads{0};
  std::vector<std::pair<SapAnnouncer::Clock::time_point, std::size_t>> well_known;
  SapOptions o;
  o.interval = 1h;  // own-group ones out of the way
  o.well_known_bandwidth = std::make_shared<SapBandwidth>(4000);
  SapAnnouncer::Clock::time_point now = SapAnnouncer::Clock::time_point{} + 1000s;
  SapAnnouncer a(o, boost::asio::ip::make_address("2001:db8::1"), 42, 7, ads, 1,
                 SapAnnouncer::Hooks{[](std::uint64_t v) {
                                       return "v=0\r\no=- 42 " + std::to_string(v) + " IN IP6 2001:db8::1\r\n" +
                                              std::string(400, 'a') + "\r\n";
                                     },
                                     [&](SapAnnouncer::Packet p) {
                                       if (p.to == SapAnnouncer::Destination::well_known)
                                         well_known.emplace_back(now, p.bytes.size());
                                     },
                                     {}});
  a.set_well_known_group(boost::asio::ip::make_address("ff0e::2:7ffe"));
  a.on_timer(now);  // the first SDP; sap_well_known is off: nothing there
  CHECK(well_known.empty());
  auto t0 = now;
  a.well_known_joined(now);
  a.on_timer(now);
  REQUIRE(well_known.size() == 1);
  CHECK(well_known[0].first == t0);
  // A host joins every 10 ms for 20 s.
  for (int i = 1; i <= 2000; ++i) {
    now = t0 + std::chrono::milliseconds(10 * i);
    a.well_known_joined(now);
    while (auto next = a.next_event()) {
      if (*next > now) break;
      a.on_timer(now);
    }
  }
  std::size_t bytes = 0;
  for (const auto& [t, size] : well_known) bytes += size;
  // At most 4000 bit/s over the 20 s, plus the first packet.
  CHECK(bytes * 8 <= 4000 * 20 + well_known[0].second * 8);
  CHECK(well_known.size() > 10);  // and it did keep announcing
  // Nor in any 5 s window (one packet of slack: a window may start just
  // before a packet).
  for (std::size_t i = 0; i < well_known.size(); ++i) {
    std::size_t in_window = 0;
    for (std::size_t j = i; j < well_known.size() && well_known[j].first < well_known[i].first + 5s; ++j)
      in_window += well_known[j].second;
    CHECK(in_window * 8 <= 4000 * 5 + well_known[i].second * 8);
  }
}
