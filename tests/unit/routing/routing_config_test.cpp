// routing_config_test.cpp — the [routing] section: what it accepts, and
// errors that name file, line and key, including lines of an included
// smcroute.conf.
#include "daemon/app/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace joincast::daemon;
using namespace joincast::daemon::routing;
using joincast::IpPrefix;

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

TEST_CASE("no [routing]: routing is off") {
  auto r = app::parse_config("", "j.toml");
  REQUIRE(r.ok());
  CHECK_FALSE(r.config.routing.enabled);
}

TEST_CASE("a full [routing] section") {
  auto r = app::parse_config(R"(
[routing]
table = 100
dynamic_expiry = "30s"
group_route_table = "local"

[[routing.interface]]
name = "ext0"
ttl_threshold = 3

[[routing.route]]
from = "int0"
source = "10.0.0.2"
group = "239.255.255.250"
to = ["ext0"]

[[routing.route]]
from = "int0"
block = "streams"
to = ["ext0", "wlan+"]

[[routing.join]]
interface = "int0"
group = "239.255.255.250"

[[routing.group_block]]
name = "streams"
interface = "int0"
ids = ["0x80000000-0x8000000f", "0x90000000-0x9000000f", "0xd0bef00d"]

[[routing.group_block]]
name = "ssdp"
interface = "int0"
groups = ["239.255.255.250"]

[[routing.bridge]]
name = "int0"
snooping = false
querier = true
mld_version = 2
multicast_router = "permanent"
query_interval = "60s"

[[routing.mdb]]
bridge = "int0"
port = "eth1"
group = "ff3e:40:2001:db8::8000:1"
)",
                        "/etc/joincast/joincast.toml");
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const RoutingSection& s = r.config.routing;
  CHECK(s.enabled);
  CHECK(s.table == 100u);
  CHECK(s.dynamic_expiry == std::chrono::seconds(30));
  CHECK(s.group_route_table == 255);
  REQUIRE(s.routes.size() == 2);
  CHECK(s.routes[0].source_specific());
  CHECK(s.routes[0].origin == "/etc/joincast/joincast.toml:11");  // its [[routing.route]] line
  CHECK(s.routes[1].block == "streams");
  CHECK(s.routes[1].family == AF_INET6);
  CHECK_FALSE(s.routes[1].source_specific());
  REQUIRE(s.blocks.size() == 2);
  CHECK(s.blocks[0].derive_from == "int0");
  CHECK(s.blocks[0].ids.size() == 3);
  CHECK_FALSE(s.blocks[1].derived());
  REQUIRE(s.bridges.size() == 1);
  CHECK(s.bridges[0].settings.snooping == false);
  CHECK(s.bridges[0].settings.router == 2);
  CHECK(s.bridges[0].settings.query_interval_cs == 6000u);
  CHECK(s.interfaces[0].ttl_threshold == 3);
  CHECK(s.mdb.size() == 1);
  CHECK(s.joins.size() == 1);
}

TEST_CASE("[routing] errors name line and key") {
  auto r = app::parse_config(R"([routing]
tabel = 5
[[routing.route]]
from = "int0"
group = "10.1.2.3"
to = ["ext0"]
[[routing.route]]
from = "int0/x"
group = "239.1.1.1/2"
[[routing.route]]
from = "int0"
block = "nope"
[[routing.group_block]]
name = "b"
interface = "int0"
ids = ["0x10-0x20"]
prefix = "10.0.0.0/24"
[[routing.mdb]]
bridge = "br0"
port = "eth0"
group = "239.1.0.0/16"
)",
                        "j.toml");
  INFO(all_errors(r));
  CHECK(has_error(r, 2, "routing.tabel: unknown key"));
  CHECK(has_error(r, 5, "routing.route[0].group: 10.1.2.3 is not a multicast group"));
  CHECK(has_error(r, 8, "\"int0/x\" is not a valid interface name"));
  CHECK(has_error(r, 9, "a group range must be /4 or longer"));
  CHECK(has_error(r, 10, "no group block named \"nope\""));
  CHECK(has_error(r, 16, "group ids must have the top bit set"));
  CHECK(has_error(r, 17, "must be an IPv6 unicast /64"));
  CHECK(has_error(r, 21, "one group, not a range"));
}

TEST_CASE("two (S,G) routes from different interfaces conflict") {
  auto r = app::parse_config(R"([routing]
[[routing.route]]
from = "a"
source = "10.0.0.1"
group = "239.1.1.1"
to = ["c"]
[[routing.route]]
from = "b"
source = "10.0.0.1"
group = "239.1.1.1"
to = ["c"]
)",
                        "j.toml");
  CHECK(has_error(r, 7, "(10.0.0.1, 239.1.1.1) is already routed from a (j.toml:2)"));
}

TEST_CASE("an included smcroute.conf merges in, and its errors name its own file and line") {
  auto dir = std::filesystem::temp_directory_path() / ("jc-routing-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "smcroute.conf") << "phyint eth1 enable ttl-threshold 4\n"
                                          "mgroup from eth0 group 239.2.2.2\n"
                                          "mroute from eth0 source 10.0.0.2 group 239.2.2.2 to eth1\n";
  std::ofstream(dir / "joincast.toml") << "[routing]\nsmcroute_conf = \"smcroute.conf\"\n";
  auto r = app::load_config((dir / "joincast.toml").string());
  INFO(all_errors(r));
  REQUIRE(r.ok());
  const auto& s = r.config.routing;
  REQUIRE(s.routes.size() == 1);
  CHECK(s.routes[0].origin == (dir / "smcroute.conf").string() + ":3");
  CHECK(s.interfaces[0].ttl_threshold == 4);
  CHECK(s.joins.size() == 1);

  std::ofstream(dir / "smcroute.conf") << "phyint eth1 enable\n\nmroute from eth0 group 10.2.2.2 to eth1\n";
  auto bad = app::load_config((dir / "joincast.toml").string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors[0].file == (dir / "smcroute.conf").string());
  CHECK(bad.errors[0].line == 3);
  CHECK(bad.errors[0].to_string() == (dir / "smcroute.conf").string() + ":3:24: 10.2.2.2 is not a multicast group");

  std::ofstream(dir / "joincast.toml") << "[routing]\nsmcroute_conf = \"missing.conf\"\n";
  auto missing = app::load_config((dir / "joincast.toml").string());
  CHECK(has_error(missing, 0, "missing.conf: cannot be read"));
  std::filesystem::remove_all(dir);
}
