// mdns_relay_state_test.cpp — the relay's state beside the policy: the
// per-sender rate limit, the reflector watch (a unique record copied into a
// second zone by another sender), the services seen per zone, the reply to
// a legacy unicast query (RFC 6762 §6.7), and the [mdns] rate keys. Time is
// passed in: no sleeping, no timed assertions.
#include "daemon/app/config.hpp"
#include "daemon/lan/mdns/legacy_unicast.hpp"
#include "daemon/lan/mdns/mdns_policy.hpp"
#include "daemon/lan/mdns/reflector_watch.hpp"
#include "daemon/lan/mdns/service_table.hpp"
#include "daemon/lan/mdns/source_rate_limit.hpp"
#include "tests/unit/lan/mdns_zones.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace joincast;
using namespace joincast::daemon;
using namespace joincast::daemon::lan::mdns;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0{};

Name name(const char* text) { return Name::parse(text).value(); }
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
Record ptr(const char* owner, const char* target, std::uint32_t ttl = 4500) {
  return {name(owner), rr::ptr, 1, false, ttl, NameData{name(target)}};
}
Record srv(const char* owner, std::uint16_t port, const char* host, std::uint32_t ttl = 120) {
  return {name(owner), rr::srv, 1, true, ttl, SrvData{0, 0, port, name(host)}};
}
Record addr(const char* owner, const char* a, std::uint32_t ttl = 120) {
  auto x = ip(a);
  return {name(owner), x.is_v4() ? rr::a : rr::aaaa, 1, true, ttl, AddressData{x}};
}
Message printer() {
  Message m;
  m.flags = 0x8400;
  m.answers = {ptr("_ipp._tcp.local", "Printer._ipp._tcp.local")};
  m.additionals = {srv("Printer._ipp._tcp.local", 631, "printer.local"), addr("printer.local", "10.20.0.5"),
                   addr("printer.local", "fd00:20::5")};
  return m;
}

}  // namespace

TEST_CASE("mdns rate limit: a burst, then the rate, per sender") {
  SourceRateLimit limit(10, 20);
  const auto flood = ip("10.20.0.9"), other = ip("10.20.0.5");
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += limit.admit(flood, t0);
  CHECK(admitted == 20);
  CHECK(limit.admit(other, t0));  // another sender keeps its own bucket
  CHECK_FALSE(limit.admit(flood, t0 + 50ms));
  admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += limit.admit(flood, t0 + 1s);
  CHECK(admitted == 10);  // one second's worth
  SourceRateLimit none(0, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(none.admit(flood, t0));
}

TEST_CASE("mdns rate limit: bounded in senders") {
  SourceRateLimit limit(1, 1);
  for (std::uint32_t i = 0; i < SourceRateLimit::max_sources + 10; ++i) {
    in_addr a{htonl(0x0a000000u + i)};
    (void)limit.admit(IpAddress::v4(a), t0 + std::chrono::milliseconds(i));
  }
  CHECK(limit.sources() == SourceRateLimit::max_sources);
}

TEST_CASE("mdns reflector watch: a unique record copied into another zone by another sender") {
  ReflectorWatch w;
  const auto owner = ip("10.20.0.5"), reflector = ip("10.10.0.7");
  CHECK(w.observe(printer(), 1, owner, t0) == ReflectorWatch::Verdict::original);
  // The owner again, and on IPv6: not a copy.
  CHECK(w.observe(printer(), 1, ip("fe80::5"), t0 + 100ms) == ReflectorWatch::Verdict::original);
  CHECK(w.observe(printer(), 1, owner, t0 + 1s) == ReflectorWatch::Verdict::original);
  CHECK_FALSE(w.drop(reflector, 0, t0 + 1s));
  // The same SRV and addresses from another sender in zone 0.
  CHECK(w.observe(printer(), 0, reflector, t0 + 1100ms) == ReflectorWatch::Verdict::found);
  CHECK(w.observe(printer(), 0, reflector, t0 + 1200ms) == ReflectorWatch::Verdict::copy);
  auto r = w.reflectors(t0 + 2s);
  REQUIRE(r.size() == 1);
  CHECK(r[0].address == reflector);
  CHECK(r[0].zone == 0);
  CHECK(r[0].origin_zone == 1);
  CHECK(w.drop(reflector, 0, t0 + 2s));     // its queries too
  CHECK_FALSE(w.drop(reflector, 1, t0 + 2s));  // per zone
  CHECK_FALSE(w.drop(owner, 1, t0 + 2s));
  // Gone quiet for longer than the hold: relayed again.
  w.expire(t0 + 1200ms + ReflectorWatch::hold + 1s);
  CHECK(w.reflectors(t0 + 1200ms + ReflectorWatch::hold + 1s).empty());
  CHECK_FALSE(w.drop(reflector, 0, t0 + 1200ms + ReflectorWatch::hold + 1s));
}

TEST_CASE("mdns reflector watch: shared records, goodbyes and late repeats are not copies") {
  ReflectorWatch w;
  Message shared;
  shared.flags = 0x8400;
  shared.answers = {ptr("_ipp._tcp.local", "Printer._ipp._tcp.local")};  // no cache-flush bit
  CHECK(w.observe(shared, 1, ip("10.20.0.5"), t0) == ReflectorWatch::Verdict::original);
  CHECK(w.observe(shared, 0, ip("10.10.0.7"), t0 + 10ms) == ReflectorWatch::Verdict::original);
  CHECK(w.observe(printer(), 1, ip("10.20.0.5"), t0) == ReflectorWatch::Verdict::original);
  // Outside the copy window: the record moved (a host that changed zones), not copied.
  CHECK(w.observe(printer(), 0, ip("10.10.0.7"), t0 + ReflectorWatch::copy_window + 1s) ==
        ReflectorWatch::Verdict::original);
  CHECK(w.reflectors(t0 + 10s).empty());
}

TEST_CASE("mdns record key: case of names and TTLs do not matter, data does") {
  auto a = srv("Printer._ipp._tcp.local", 631, "printer.local");
  auto b = srv("printer._IPP._tcp.local", 631, "PRINTER.local", 10);
  b.cache_flush = false;
  CHECK(record_key(a) == record_key(b));
  CHECK(record_key(a) != record_key(srv("Printer._ipp._tcp.local", 632, "printer.local")));
  CHECK(record_key(addr("h.local", "10.0.0.1")) != record_key(addr("h.local", "10.0.0.2")));
}

TEST_CASE("mdns services seen: instances, hosts, addresses, goodbyes and TTLs") {
  ServiceTable t;
  t.observe(printer(), 1, ip("10.20.0.5"), t0);
  auto s = t.services(1, t0 + 1s);
  REQUIRE(s.size() == 1);
  CHECK(s[0].instance == name("Printer._ipp._tcp.local"));
  CHECK(s[0].type == name("_ipp._tcp"));
  CHECK(s[0].host == name("printer.local"));
  CHECK(s[0].port == 631);
  CHECK(s[0].addresses == std::vector<IpAddress>{ip("10.20.0.5"), ip("fd00:20::5")});
  CHECK(s[0].source == ip("10.20.0.5"));
  CHECK(t.services(0, t0 + 1s).empty());  // per zone
  CHECK(t.has_instance(1, name("printer._IPP._tcp.local"), t0 + 1s));
  CHECK_FALSE(t.has_instance(0, name("Printer._ipp._tcp.local"), t0 + 1s));
  // A cache-flush A record a while later replaces the older IPv4 address only.
  Message moved;
  moved.flags = 0x8400;
  moved.answers = {addr("printer.local", "10.20.0.6")};
  t.observe(moved, 1, ip("10.20.0.6"), t0 + 5s);
  CHECK(t.services(1, t0 + 6s)[0].addresses == std::vector<IpAddress>{ip("10.20.0.6"), ip("fd00:20::5")});
  // The PTR (4500 s) outlives the SRV (120 s): still listed, host kept.
  CHECK(t.services(1, t0 + 200s).size() == 1);
  // A goodbye removes it.
  Message bye;
  bye.flags = 0x8400;
  bye.answers = {ptr("_ipp._tcp.local", "Printer._ipp._tcp.local", 0)};
  t.observe(bye, 1, ip("10.20.0.5"), t0 + 7s);
  CHECK(t.services(1, t0 + 8s).empty());
  CHECK_FALSE(t.has_instance(1, name("Printer._ipp._tcp.local"), t0 + 8s));
}

TEST_CASE("mdns services seen: expire with their TTL") {
  ServiceTable t;
  Message m;
  m.flags = 0x8400;
  m.answers = {ptr("_ipp._tcp.local", "Printer._ipp._tcp.local", 10)};
  t.observe(m, 2, ip("10.30.0.5"), t0);
  CHECK(t.services(2, t0 + 9s).size() == 1);
  CHECK(t.services(2, t0 + 11s).empty());
  t.expire(t0 + 11s);
  CHECK_FALSE(t.has_instance(2, name("Printer._ipp._tcp.local"), t0 + 1s));
}

TEST_CASE("mdns legacy reply: the query's ID and question, no cache-flush bits, TTLs of at most 10 s") {
  std::vector<Question> questions = {{name("Printer._ipp._tcp.local"), rr::srv, 1, false}};
  Message response = printer();
  response.answers.push_back(srv("Printer._ipp._tcp.local", 631, "printer.local"));
  auto reply = legacy_reply(0x1234, questions, response);
  REQUIRE(reply);
  CHECK(reply->id == 0x1234);
  CHECK(reply->flags == 0x8400);
  CHECK(reply->questions == questions);
  REQUIRE(reply->answers.size() == 2);  // the SRV, from both sections
  for (const auto& r : reply->answers) CHECK(r.type == rr::srv);
  CHECK(reply->additionals.size() == 3);  // the PTR and the addresses
  for (const auto* list : {&reply->answers, &reply->additionals})
    for (const auto& r : *list) {
      CHECK_FALSE(r.cache_flush);
      CHECK(r.ttl <= legacy_ttl_cap);
    }
  // Through the codec: the bits are gone on the wire too.
  auto bytes = write_message(*reply);
  REQUIRE(bytes);
  auto back = parse_message(bytes.value());
  REQUIRE(back);
  CHECK(back.value() == *reply);
  // Nothing that answers: no reply.
  CHECK_FALSE(legacy_reply(1, {{name("nas.local"), rr::a, 1, false}}, printer()));
}

TEST_CASE("mdns query filter: the addresses of learned hosts may be asked for") {
  auto r = app::parse_config(std::string(test::mdns_zones) + R"(
[[mdns.rule]]
from = "trusted"
to = "iot"
services = ["_ipp._tcp"]
)",
                        "t.toml");
  REQUIRE(r.ok());
  Policy p(r.config.mdns);
  Message q;
  q.questions = {{name("printer.local"), rr::a, 1, false}};
  CHECK_FALSE(filter_query(p, q, 0, 1).forward);
  CHECK(filter_query(p, q, 0, 1, {name("printer.local")}).forward);
  CHECK_FALSE(filter_query(p, q, 0, 1, {name("nas.local")}).forward);
}

TEST_CASE("mdns config: rate and burst") {
  auto zones = std::string(R"(
[[mdns.zone]]
name = "trusted"
interfaces = ["lan0"]
)");
  auto r = app::parse_config(zones, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config.mdns.rate == 50);
  CHECK(r.config.mdns.burst == 100);
  r = app::parse_config("[mdns]\nrate = 200\n" + zones, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config.mdns.burst == 400);
  r = app::parse_config("[mdns]\nrate = 0\nburst = 5\n" + zones, "t.toml");
  REQUIRE(r.ok());
  CHECK(r.config.mdns.rate == 0);
  CHECK(r.config.mdns.burst == 5);
  CHECK_FALSE(app::parse_config("[mdns]\nrate = -1\n" + zones, "t.toml").ok());
}
