// mdns_relayed_copies_test.cpp — what the relay sent into each zone, to
// know another relay's copies of it: by zone and bytes, within the window,
// bounded. Time is passed in.
#include "daemon/lan/mdns/dns_message.hpp"
#include "daemon/lan/mdns/relayed_copies.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace joincast;
using namespace joincast::daemon::lan::mdns;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0{};

std::vector<std::uint8_t> query(const char* n) {
  Message m;
  m.questions.push_back({Name::parse(n).value(), rr::ptr, 1, false});
  return write_message(m).value();
}

}  // namespace

TEST_CASE("mdns relayed copies: the bytes sent into a zone, within the window") {
  RelayedCopies copies;
  const auto ipp = query("_ipp._tcp.local"), ssh = query("_ssh._tcp.local");
  copies.sent(1, ipp, t0);
  CHECK(copies.is_copy(1, ipp, t0 + 10ms));
  CHECK_FALSE(copies.is_copy(0, ipp, t0 + 10ms));  // not sent into that zone (the original's own zone, say)
  CHECK_FALSE(copies.is_copy(1, ssh, t0 + 10ms));
  auto other = ipp;
  other[0] = 1;  // another ID: other bytes
  CHECK_FALSE(copies.is_copy(1, other, t0 + 10ms));
  CHECK(copies.is_copy(1, ipp, t0 + RelayedCopies::window));
  CHECK_FALSE(copies.is_copy(1, ipp, t0 + RelayedCopies::window + 1ms));  // a retransmission, later
  copies.sent(1, ipp, t0 + 1s);  // sent again: renewed
  CHECK(copies.size() == 1);
  CHECK(copies.is_copy(1, ipp, t0 + 1s + 10ms));
  copies.expire(t0 + 1s + RelayedCopies::window + 1ms);
  CHECK(copies.size() == 0);
}

TEST_CASE("mdns relayed copies: bounded, room again after expiry") {
  RelayedCopies copies;
  for (std::size_t i = 0; i < RelayedCopies::max_entries + 100; ++i) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8)};
    copies.sent(i % 3, b, t0);
  }
  CHECK(copies.size() == RelayedCopies::max_entries);
  const auto ipp = query("_ipp._tcp.local");
  copies.sent(1, ipp, t0);
  CHECK_FALSE(copies.is_copy(1, ipp, t0));  // full: not remembered
  copies.expire(t0 + 1s);
  CHECK(copies.size() == 0);
  copies.sent(1, ipp, t0 + 1s);
  CHECK(copies.is_copy(1, ipp, t0 + 1s));
}
