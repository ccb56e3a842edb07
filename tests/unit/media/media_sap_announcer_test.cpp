// media_sap_announcer_test.cpp — the SAP schedule of one stream on a fake
// clock: the first announcement and its repeats at 250 ms, 500 ms and 1 s,
// the periodic interval, a new listener's announcement, a changed SDP
// (deletion of the old hash, then the new one) and the deletion on stop.
#include "media/announce/sap.hpp"
#include "media/announce/sap_announcer.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {

struct Sent {
  SapAnnouncer::Clock::duration at;
  SapAnnouncer::Destination to;
  SapMessage message;
};

struct Harness {
  SapAnnouncer::Clock::time_point t0 = SapAnnouncer::Clock::time_point{} + 1000s;
  std::atomic<std::size_t> ads{0};
  std::vector<Sent> sent;
  std::string title = "one";
  SapAnnouncer::Clock::time_point now = t0;
  SapAnnouncer announcer;

  explicit Harness(SapOptions o = {})
      : announcer(o, boost::asio::ip::make_address("2001:db8::1"), 42, 7, ads, 1,
                  SapAnnouncer::Hooks{[this](std::uint64_t v) {
                                        return "v=0\r\no=- 42 " + std::to_string(v) + " IN IP6 2001:db8::1\r\ni=" +
                                               title + "\r\n";
                                      },
                                      [this](SapAnnouncer::Packet p) {
                                        auto m = decode_sap(p.bytes);
                                        REQUIRE(m);
                                        CHECK(m.value().deletion == p.deletion);
                                        sent.push_back({now - t0, p.to, m.value()});
                                      },
                                      {}}) {}

  // Runs the schedule up to t0 + until, as a worker would.
  void run_until(SapAnnouncer::Clock::duration until) {
    for (;;) {
      auto next = announcer.next_event();
      if (!next || *next > t0 + until) break;
      now = std::max(now, *next);
      announcer.on_timer(now);
    }
    now = t0 + until;
  }
};

}  // namespace

TEST_CASE("SAP: the first announcement is repeated 250 ms, 500 ms and 1 s after it, then every interval") {
  SapOptions o;
  o.interval = 30s;  // periodic ones well out of the way
  Harness h(o);
  h.announcer.on_timer(h.now);
  h.run_until(1900ms);
  REQUIRE(h.sent.size() == 4);
  CHECK(h.sent[0].at == 0ms);
  CHECK(h.sent[1].at == 250ms);
  CHECK(h.sent[2].at == 500ms);
  CHECK(h.sent[3].at == 1000ms);
  for (const auto& s : h.sent) {
    CHECK(s.to == SapAnnouncer::Destination::own_group);
    CHECK_FALSE(s.message.deletion);
    CHECK(s.message.msg_id_hash == h.announcer.hash());
  }
  h.run_until(41s);
  // RFC 2974 §3.1: interval ± a third.
  REQUIRE(h.sent.size() == 5);
  CHECK(h.sent[4].at >= 20s);
  CHECK(h.sent[4].at <= 41s);
}

TEST_CASE("SAP: a new listener is announced to at once, at most every 100 ms, with its own repeats") {
  SapOptions o;
  o.interval = 60s;
  Harness h(o);
  CHECK_FALSE(h.announcer.listener_appeared(h.now));  // no SDP yet: the first announcement is the listener's
  h.announcer.on_timer(h.now);
  h.run_until(5s);
  h.sent.clear();
  CHECK(h.announcer.listener_appeared(h.now));
  CHECK_FALSE(h.announcer.listener_appeared(h.now + 10ms));  // a burst: the next one is 100 ms after
  h.run_until(5s + 1500ms);
  REQUIRE(h.sent.size() >= 5);
  CHECK(h.sent[0].at == 5s);
  CHECK(h.sent[1].at == 5s + 100ms);
  CHECK(h.sent[2].at == 5s + 350ms);
}

TEST_CASE("SAP: a changed description deletes the old hash, then announces the new one") {
  Harness h;
  h.announcer.on_timer(h.now);
  h.run_until(3s);
  std::uint16_t old_hash = h.announcer.hash();
  std::string old_sdp = h.announcer.sdp();
  h.sent.clear();
  h.announcer.description_changed();  // same text: nothing changes
  h.run_until(4500ms);
  for (const auto& s : h.sent) CHECK_FALSE(s.message.deletion);
  h.sent.clear();
  h.title = "two";
  h.announcer.description_changed();
  h.run_until(5600ms);
  REQUIRE(h.sent.size() >= 2);
  auto del = std::find_if(h.sent.begin(), h.sent.end(), [](const Sent& s) { return s.message.deletion; });
  REQUIRE(del != h.sent.end());
  CHECK(del->message.msg_id_hash == old_hash);
  CHECK(del->message.payload.find("o=- 42 7 ") == 0);
  auto next = std::next(del);
  REQUIRE(next != h.sent.end());
  CHECK_FALSE(next->message.deletion);
  CHECK(next->message.msg_id_hash != old_hash);
  CHECK(next->message.payload.find("i=two") != std::string::npos);
  CHECK(next->message.payload.find("o=- 42 8 ") != std::string::npos);
  CHECK(h.announcer.sdp() != old_sdp);
}

TEST_CASE("SAP: stopping deletes the announcement on every group it was made on, once") {
  SapOptions o;
  o.well_known_group = true;
  Harness h(o);
  h.announcer.on_timer(h.now);
  CHECK(h.ads == 1);
  h.run_until(2s);
  h.sent.clear();
  h.announcer.stop();
  h.announcer.stop();
  REQUIRE(h.sent.size() == 2);
  CHECK(h.sent[0].message.deletion);
  CHECK(h.sent[0].to == SapAnnouncer::Destination::own_group);
  CHECK(h.sent[1].message.deletion);
  CHECK(h.sent[1].to == SapAnnouncer::Destination::well_known);
  CHECK(h.sent[0].message.msg_id_hash == h.announcer.hash());
  CHECK(h.ads == 0);
  CHECK_FALSE(h.announcer.next_event());
}
