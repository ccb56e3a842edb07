// ssdp_config_test.cpp — [[ssdp.zone]]: the Sonos example as docs/ssdp.md
// gives it, defaults, and errors that name the line and key.
#include "daemon/app/config.hpp"

#include <doctest/doctest.h>

using namespace joincast::daemon;
using namespace joincast::daemon::lan::ssdp;

namespace {
bool has_error(const app::ConfigResult& r, std::uint32_t line, const std::string& text) {
  for (const auto& e : r.errors)
    if ((line == 0 || e.line == line) && e.to_string().find(text) != std::string::npos) return true;
  return false;
}
std::string all_errors(const app::ConfigResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}
}  // namespace

TEST_CASE("ssdp config: no [[ssdp.zone]] means no zone") {
  auto r = app::parse_config("", "j.toml");
  REQUIRE(r.ok());
  CHECK(r.config.ssdp.zones.empty());
}

TEST_CASE("ssdp config: the Sonos zone with directions and a source filter") {
  auto r = app::parse_config(R"(
[[ssdp.zone]]
name = "home"
interfaces = ["int0", "ext0"]
relay = ["ext0 -> int0 search", "int0 -> ext0 announcements other ttl=2", "ext0 -> int0 other"]
sources = { ext0 = ["192.168.2.0/24", "aa:bb:cc:dd:ee:0f", "2001:db8::1"] }
rate = 50
)",
                        "j.toml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  REQUIRE(r.config.ssdp.zones.size() == 1);
  const Zone& z = r.config.ssdp.zones[0];
  CHECK(z.name == "home");
  CHECK(z.ports == std::vector<std::uint16_t>{1900, 6969});
  CHECK(z.ipv4);
  CHECK(z.ipv6);
  CHECK(z.rate == 50);
  CHECK(z.burst == 200);
  REQUIRE(z.relay.size() == 2);  // the two ext0 -> int0 rules merged
  const RelayRule* e2i = z.relay[0].from == "ext0" ? &z.relay[0] : &z.relay[1];
  const RelayRule* i2e = z.relay[0].from == "ext0" ? &z.relay[1] : &z.relay[0];
  CHECK(e2i->to == "int0");
  CHECK(e2i->kinds == (kind_search | kind_other));
  CHECK_FALSE(e2i->ttl);
  CHECK(i2e->kinds == (kind_announcements | kind_other));
  CHECK(i2e->ttl == 2u);
  REQUIRE(z.sources.count("ext0"));
  const auto& f = z.sources.at("ext0");
  REQUIRE(f.size() == 3);
  CHECK(f[0].prefix->length() == 24);
  CHECK((*f[1].mac)[5] == 0x0f);
  CHECK(f[2].prefix->length() == 128);
}

TEST_CASE("ssdp config: without relay rules every pair relays both ways") {
  auto r = app::parse_config("[[ssdp.zone]]\ninterfaces = [\"a\", \"b\", \"c\"]\n", "j.toml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  auto rules = effective_rules(r.config.ssdp.zones[0]);
  CHECK(rules.size() == 6);
  for (const auto& x : rules) CHECK(x.kinds == kind_all);
  auto both = app::parse_config("[[ssdp.zone]]\ninterfaces = [\"a\", \"b\"]\nrelay = [\"a <-> b search\"]\n", "j.toml");
  REQUIRE(both.ok());
  CHECK(both.config.ssdp.zones[0].relay.size() == 2);
}

TEST_CASE("ssdp config: errors name the line and the key") {
  auto r = app::parse_config(R"([[ssdp.zone]]
interfaces = ["int0", "ext0", "bad/name"]
relay = ["ext0 => int0", "ext0 -> wlan9", "int0 -> int0", "ext0 -> int0 everything", "ext0 -> int0 ttl=0"]
sources = { ext0 = ["not an address"], eth7 = ["10.0.0.0/8"] }
ports = [1900, 0, 2, 3, 4, 5]
colour = "blue"
[[ssdp.zone]]
interfaces = ["int0"]
)",
                        "j.toml");
  CHECK(has_error(r, 2, "\"bad/name\" is not a valid interface name"));
  CHECK(has_error(r, 3, "\"ext0 => int0\" is not \"FROM -> TO"));
  CHECK(has_error(r, 3, "wlan9 is not one of the zone's interfaces"));
  CHECK(has_error(r, 3, "an interface does not relay to itself"));
  CHECK(has_error(r, 3, "\"everything\" is not a kind of message"));
  CHECK(has_error(r, 3, "the TTL is a number from 1 to 255"));
  CHECK(has_error(r, 4, "\"not an address\" is neither an address prefix nor a MAC address"));
  CHECK(has_error(r, 4, "eth7 is not one of the zone's interfaces"));
  CHECK(has_error(r, 5, "a port is a number from 1 to 65535"));
  CHECK(has_error(r, 5, "at most 4 ports"));
  CHECK(has_error(r, 6, "ssdp.zone[0].colour: unknown key"));
  CHECK(has_error(r, 0, "ssdp.zone[1].interfaces: a zone needs at least two interfaces"));
  CHECK(has_error(r, 0, "\"int0\" is already in zone \"zone0\""));
}

TEST_CASE("ssdp config: on_demand is off by default, true for every interface, or a list") {
  auto r = app::parse_config(R"(
[membership]
interfaces = ["int0", "ext0", "guest0"]

[[ssdp.zone]]
interfaces = ["int0", "ext0"]

[[ssdp.zone]]
interfaces = ["a0", "b0"]
on_demand = false

[[ssdp.zone]]
interfaces = ["guest0", "lab0"]
on_demand = ["guest0"]
)",
                             "j.toml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  REQUIRE(r.config.ssdp.zones.size() == 3);
  CHECK(r.config.ssdp.zones[0].on_demand.empty());
  CHECK(r.config.ssdp.zones[1].on_demand.empty());
  CHECK(r.config.ssdp.zones[2].on_demand == std::set<std::string>{"guest0"});

  r = app::parse_config(R"(
[membership]
interfaces = ["int0", "ext0"]

[[ssdp.zone]]
interfaces = ["int0", "ext0"]
on_demand = true
)",
                        "j.toml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.config.ssdp.zones[0].on_demand == std::set<std::string>{"int0", "ext0"});
}

TEST_CASE("ssdp config: an on-demand interface must be the zone's and in membership.interfaces") {
  auto r = app::parse_config(R"(
[membership]
interfaces = ["int0"]

[[ssdp.zone]]
interfaces = ["int0", "ext0"]
on_demand = ["ext0", "wlan0"]

[[ssdp.zone]]
interfaces = ["a0", "b0"]
on_demand = 1
)",
                             "j.toml");
  CHECK(has_error(r, 7, "ssdp.zone[0].on_demand: wlan0 is not one of the zone's interfaces"));
  CHECK(has_error(r, 7, "ext0 is on demand but not in membership.interfaces"));
  CHECK(has_error(r, 11, "must be true, false or a list of the zone's interfaces"));
}
