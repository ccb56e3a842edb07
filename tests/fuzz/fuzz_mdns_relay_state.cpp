// fuzz_mdns_relay_state.cpp — what the mDNS relay keeps of messages from
// the network, fed with decoded udp 5353 payloads: the services seen
// (ServiceTable), the questions remembered as forwarded (AskedQuestions),
// the reflector watch (the same message in two zones from
// two senders), the query and response filters of a three-zone policy and
// the reply to a legacy unicast query (RFC 6762 §6.7).
// Contract: nothing crashes or grows past its bound; what the filters and
// the legacy reply produce encodes; a legacy reply has the query's ID and
// questions, no cache-flush bit and no TTL over 10 s; a service listed has
// the type its instance name says; the list forgets everything within a day.
#include "daemon/app/config.hpp"
#include "daemon/lan/mdns/asked_questions.hpp"
#include "daemon/lan/mdns/legacy_unicast.hpp"
#include "daemon/lan/mdns/mdns_policy.hpp"
#include "daemon/lan/mdns/reflector_watch.hpp"
#include "daemon/lan/mdns/service_table.hpp"
#include "fuzz_check.hpp"
#include "tests/unit/lan/mdns_zones.hpp"

#include <string>

using namespace joincast;
using namespace joincast::daemon;
using namespace joincast::daemon::lan::mdns;

namespace {

const Policy& policy() {
  static const Policy p = [] {
    auto r = daemon::app::parse_config(std::string(test::mdns_zones) + R"(
[[mdns.rule]]
from = "guest"
to = "iot"
services = ["_ipp._tcp"]
hosts = ["printer"]
)",
                          "fuzz.toml");
    return Policy(r.config.mdns);
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = parse_message({data, size});
  if (!parsed) return 0;
  const Message& m = parsed.value();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0{};
  const auto a = *IpAddress::parse("10.20.0.5"), b = *IpAddress::parse("10.10.0.7");

  ServiceTable services;
  services.observe(m, 1, a, t0);
  for (const auto& s : services.services(1, t0)) {
    const ServiceName n = classify(s.instance);
    FUZZ_CHECK(n.kind == ServiceName::Kind::instance);
    FUZZ_CHECK(n.type == s.type);
    FUZZ_CHECK(services.has_instance(1, s.instance, t0));
    FUZZ_CHECK(s.addresses.size() <= 16);
  }
  // Nothing outlives a day without being heard of again, whatever its TTL.
  services.expire(t0 + std::chrono::hours(25));
  FUZZ_CHECK(services.services(1, t0 + std::chrono::hours(25)).empty());

  ReflectorWatch watch;
  FUZZ_CHECK(watch.observe(m, 1, a, t0) == ReflectorWatch::Verdict::original);
  (void)watch.observe(m, 0, b, t0 + std::chrono::milliseconds(10));
  (void)watch.observe(m, 0, b, t0 + std::chrono::milliseconds(20));
  for (const auto& r : watch.reflectors(t0 + std::chrono::seconds(1))) {
    FUZZ_CHECK(r.address == b);
    FUZZ_CHECK(r.zone == 0 && r.origin_zone == 1);
  }

  // The questions remembered as forwarded: within their bound, and the
  // message's own answers to them are found while the window lasts.
  AskedQuestions asked(std::chrono::seconds(30), 8);
  for (const auto& q : m.questions) (void)asked.remember(0, 1, q, t0);
  FUZZ_CHECK(asked.size() <= 8 && asked.size() <= m.questions.size());
  bool answers_own = false;
  for (const auto& q : m.questions)
    for (const auto& r : m.answers) answers_own |= answers(q, r);
  if (answers_own && m.questions.size() <= 8) FUZZ_CHECK(asked.answered(0, 1, m, t0 + std::chrono::seconds(30)));
  FUZZ_CHECK(!asked.answered(1, 0, m, t0));
  asked.expire(t0 + std::chrono::seconds(31));
  FUZZ_CHECK(asked.size() == 0);

  for (std::size_t from = 0; from < 3; ++from)
    for (std::size_t to = 0; to < 3; ++to) {
      if (from == to) continue;
      Filtered q = filter_query(policy(), m, from, to, {Name::parse("printer.local").value()});
      if (q.forward) FUZZ_CHECK(write_message(q.message));
      Filtered r = filter_response(policy(), m, from, to);
      if (!r.forward) continue;
      FUZZ_CHECK(write_message(r.message));
      if (m.questions.empty()) continue;
      auto reply = legacy_reply(0x4a43, m.questions, r.message);
      if (!reply) continue;
      FUZZ_CHECK(reply->id == 0x4a43);
      FUZZ_CHECK(reply->questions.size() == m.questions.size());
      for (const auto* list : {&reply->answers, &reply->additionals})
        for (const auto& rec : *list) FUZZ_CHECK(!rec.cache_flush && rec.ttl <= legacy_ttl_cap);
      auto bytes = write_message(*reply);
      FUZZ_CHECK(bytes);
      auto back = parse_message(bytes.value());
      FUZZ_CHECK(back);
    }
  return 0;
}
