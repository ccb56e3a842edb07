// routing_plan_test.cpp — what the routing module asks of the kernel for a
// configuration and a set of interfaces: (S,G) entries, templates, VIFs
// (and the refusal of a 33rd), group block routes that follow a renumbered
// prefix, joins, and everything that waits for a missing interface.
#include "daemon/app/config.hpp"
#include "daemon/routing/routing_plan.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

using namespace joincast::daemon;
using namespace joincast::daemon::routing;
using namespace joincast::daemon::routing::kernel;
using joincast::netlink::InterfaceAddress;
using joincast::IpAddress;
using joincast::IpPrefix;
using joincast::netlink::Link;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

void add_link(core::InterfaceTable& t, int ifindex, const std::string& name, bool up = true, const std::string& kind = "",
              int master = 0) {
  Link l;
  l.ifindex = ifindex;
  l.name = name;
  l.flags = static_cast<unsigned>(IFF_MULTICAST) | (up ? static_cast<unsigned>(IFF_UP) : 0u);
  l.kind = kind;
  l.master = master;
  if (kind == "bridge") l.bridge = joincast::netlink::BridgeMulticast{};
  t.apply(l);
}

void add_address(core::InterfaceTable& t, int ifindex, const char* a, unsigned len, bool deleted = false) {
  InterfaceAddress x;
  x.ifindex = ifindex;
  x.address = ip(a);
  x.prefix_length = static_cast<std::uint8_t>(len);
  x.scope = RT_SCOPE_UNIVERSE;
  x.deleted = deleted;
  t.apply(x);
}

RoutingSection section(const std::string& toml) {
  auto r = app::parse_config(toml, "j.toml");
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  INFO(errors);
  REQUIRE(r.ok());
  return r.config.routing;
}

RoutingPlan plan(const RoutingSection& s, const core::InterfaceTable& t, const std::vector<RouteRule>& runtime = {},
                 std::map<int, std::set<int>> pinned = {}) {
  return make_plan({s, runtime, t, std::move(pinned)});
}

}  // namespace

TEST_CASE("an (S,G) route becomes one entry with VIFs for its interfaces") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  add_link(t, 4, "eth2");
  auto s = section(R"([routing]
[[routing.interface]]
name = "eth2"
ttl_threshold = 5
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1", "eth2"]
)");
  auto p = plan(s, t);
  CHECK(p.pending.empty());
  REQUIRE(p.routes.size() == 1);
  const auto& [key, r] = *p.routes.begin();
  CHECK(key.source == ip("10.0.0.2"));
  CHECK(key.group == ip("239.1.1.1"));
  CHECK(r.iif == 2);
  CHECK(r.oifs == OifMap{{3, 1}, {4, 5}});  // the output's phyint threshold
  CHECK(p.vifs[AF_INET].size() == 3);
  CHECK(p.templates.empty());
}

TEST_CASE("a missing input interface makes the route pending, a missing output is left out") {
  core::InterfaceTable t;
  add_link(t, 3, "eth1");
  auto s = section(R"([routing]
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1"]
[[routing.route]]
from = "eth1"
source = "10.0.0.3"
group = "239.1.1.2"
to = ["eth0", "eth1"]
)");
  auto p = plan(s, t);
  REQUIRE(p.pending.size() == 1);
  CHECK(p.pending[0].reason == "input interface eth0 is missing");
  CHECK(p.pending[0].origin == "j.toml:2");
  REQUIRE(p.routes.size() == 1);
  CHECK(p.routes.begin()->second.missing_outputs == std::vector<std::string>{"eth0"});
  // The interface appears: the first route is planned.
  add_link(t, 2, "eth0");
  auto q = plan(s, t);
  CHECK(q.pending.empty());
  CHECK(q.routes.size() == 2);
}

TEST_CASE("a route output that matches no interface is listed as incomplete, the route installed without it") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  auto s = section(R"([routing]
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1", "ext1"]
[[routing.route]]
from = "eth0"
group = "239.2.0.0/16"
to = ["ext+"]
)");
  auto p = plan(s, t);
  CHECK(p.pending.empty());
  REQUIRE(p.routes.size() == 1);
  CHECK(p.routes.begin()->second.oifs == OifMap{{3, 1}});
  REQUIRE(p.templates.size() == 1);
  REQUIRE(p.incomplete.size() == 2);
  CHECK(p.incomplete[0].what == "route from eth0 source 10.0.0.2 group 239.1.1.1 to eth1 ext1");
  CHECK(p.incomplete[0].reason == "output interface ext1 is missing; routed without it until it appears");
  CHECK(p.incomplete[0].origin == "j.toml:2");
  CHECK(p.incomplete[1].reason == "output interface ext+ is missing; routed without it until it appears");
  add_link(t, 4, "ext1");
  add_link(t, 5, "ext0");
  CHECK(plan(s, t).incomplete.empty());
}

TEST_CASE("several lines for one (S,G) add up their outputs, as smcroute does") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  add_link(t, 4, "eth2");
  auto s = section(R"([routing]
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1"]
)");
  RouteRule more = s.routes[0];
  more.to = {"eth2"};
  more.origin = "control";
  auto p = plan(s, t, {more});
  REQUIRE(p.routes.size() == 1);
  CHECK(p.routes.begin()->second.oifs.size() == 2);
}

TEST_CASE("(*,G) and ranges are templates, and the first matching one wins") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  add_link(t, 4, "eth2");
  add_link(t, 5, "wlan0");
  auto s = section(R"([routing]
[[routing.route]]
from = "eth0"
group = "239.2.0.0/16"
to = ["eth1"]
[[routing.route]]
from = "eth+"
group = "239.0.0.0/8"
to = ["wlan+"]
[[routing.route]]
from = "eth0"
source = "10.9.0.0/16"
group = "239.3.3.3"
to = ["eth2"]
)");
  auto p = plan(s, t);
  REQUIRE(p.templates.size() == 3);
  CHECK(p.templates[1].iifs == std::vector<int>{2, 3, 4});
  CHECK(p.templates[1].oifs == OifMap{{5, 1}});
  const Template* m = p.match(AF_INET, "eth0", ip("10.0.0.2"), ip("239.2.1.1"));
  REQUIRE(m);
  CHECK(m->origin == "j.toml:2");
  m = p.match(AF_INET, "eth2", ip("10.0.0.2"), ip("239.2.1.1"));
  REQUIRE(m);
  CHECK(m->origin == "j.toml:6");
  m = p.match(AF_INET, "eth0", ip("10.9.1.1"), ip("239.3.3.3"));
  REQUIRE(m);
  CHECK(m->origin == "j.toml:6");  // eth+ 239/8 comes first in the file
  CHECK_FALSE(p.match(AF_INET, "wlan0", ip("10.0.0.2"), ip("239.2.1.1")));
  CHECK_FALSE(p.match(AF_INET, "eth0", ip("10.0.0.2"), ip("238.1.1.1")));
  CHECK_FALSE(p.match(AF_INET6, "eth0", ip("2001:db8::1"), ip("ff3e::1")));
}

TEST_CASE("a route needing a 33rd VIF is pending with a reason that says so") {
  core::InterfaceTable t;
  std::string toml = "[routing]\n";
  for (int i = 0; i < 33; ++i) {
    add_link(t, 10 + i, fmt::format("v{}", i));
    toml += fmt::format("[[routing.route]]\nfrom = \"v{}\"\nsource = \"10.0.0.{}\"\ngroup = \"239.1.1.1\"\nto = []\n", i, i + 1);
  }
  auto p = plan(section(toml), t);
  CHECK(p.vifs[AF_INET].size() == 32);
  CHECK(p.routes.size() == 32);
  REQUIRE(p.vif_exhausted());
  REQUIRE(p.pending.size() == 1);
  CHECK(p.pending[0].what == "route from v32 source 10.0.0.33 group 239.1.1.1");
  CHECK(p.pending[0].reason.find("needs a VIF for v32, but all 32 VIFs of multicast routing table 253 are in use") == 0);
  // IPv6 has its own 32 MIFs.
  RouteRule six;
  six.family = AF_INET6;
  six.from = "v32";
  six.source = IpPrefix::parse("2001:db8::1");
  six.group = IpPrefix::parse("ff3e::1");
  six.origin = "control";
  auto q = plan(section(toml), t, {six});
  CHECK(q.vifs[AF_INET6].size() == 1);
}

TEST_CASE("pinned interfaces (the membership tap) get their VIFs first") {
  core::InterfaceTable t;
  std::string toml = "[routing]\n";
  for (int i = 0; i < 32; ++i) {
    add_link(t, 10 + i, fmt::format("v{}", i));
    toml += fmt::format("[[routing.route]]\nfrom = \"v{}\"\nsource = \"10.0.0.{}\"\ngroup = \"239.1.1.1\"\nto = []\n", i, i + 1);
  }
  add_link(t, 99, "lan0");
  auto p = plan(section(toml), t, {}, {{AF_INET, {99}}});
  CHECK(p.vifs[AF_INET].count(99));
  CHECK(p.vif_exhausted());  // the 32nd route no longer fits
}

TEST_CASE("group blocks: derived from the /64, routed to their interface, renumbered with it") {
  core::InterfaceTable t;
  add_link(t, 2, "int0");
  add_link(t, 3, "ext0");
  auto s = section(R"([routing]
[[routing.group_block]]
name = "streams"
interface = "int0"
ids = ["0x80000000-0x8000000f", "0xd0bef00d"]
[[routing.route]]
from = "int0"
block = "streams"
to = ["ext0"]
)");
  auto p = plan(s, t);
  REQUIRE(p.blocks.size() == 1);
  CHECK_FALSE(p.blocks[0].prefix64);
  CHECK(p.group_routes.empty());
  REQUIRE(p.pending.size() == 2);
  CHECK(p.pending[0].reason == "int0 has no global IPv6 address to derive groups from");
  CHECK(p.pending[1].reason == "group block \"streams\" has no groups yet");

  add_address(t, 2, "2001:db8:1:2::1", 64);
  p = plan(s, t);
  CHECK(p.pending.empty());
  REQUIRE(p.group_routes.size() == 2);
  CHECK(p.group_routes[0].destination.to_string() == "ff3e:40:2001:db8:1:2:8000:0/124");
  CHECK(p.group_routes[0].oif == 2);
  CHECK(p.group_routes[0].table == 255);
  CHECK(p.group_routes[0].type == RTN_MULTICAST);
  CHECK(p.group_routes[0].protocol == 200);
  CHECK(p.group_routes[1].destination.to_string() == "ff3e:40:2001:db8:1:2:d0be:f00d/128");
  REQUIRE(p.templates.size() == 2);
  CHECK(p.match(AF_INET6, "int0", ip("2001:db8:1:2::5"), ip("ff3e:40:2001:db8:1:2:8000:7")));

  // Renumbered: the old address goes, a new one comes.
  add_address(t, 2, "2001:db8:1:2::1", 64, true);
  add_address(t, 2, "2001:db8:9:9::1", 64);
  p = plan(s, t);
  CHECK(p.group_routes[0].destination.to_string() == "ff3e:40:2001:db8:9:9:8000:0/124");
  CHECK_FALSE(p.match(AF_INET6, "int0", ip("2001:db8:1:2::5"), ip("ff3e:40:2001:db8:1:2:8000:7")));
  CHECK(p.match(AF_INET6, "int0", ip("2001:db8:9:9::5"), ip("ff3e:40:2001:db8:9:9:8000:7")));

  // Its interface goes down: the routes wait (the kernel refuses them).
  add_link(t, 2, "int0", false);
  p = plan(s, t);
  CHECK(p.group_routes.empty());
  REQUIRE(p.pending.size() == 1);
  CHECK(p.pending[0].reason == "interface int0 is down; its group routes wait");
}

TEST_CASE("literal group blocks route IPv4 groups too") {
  core::InterfaceTable t;
  add_link(t, 2, "int0");
  auto s = section(R"([routing]
[[routing.group_block]]
name = "ssdp"
interface = "int0"
groups = ["239.255.255.250", "ff0e::2:7ffe"]
)");
  auto p = plan(s, t);
  REQUIRE(p.group_routes.size() == 2);
  CHECK(p.group_routes[0].destination.to_string() == "239.255.255.250/32");
  CHECK(p.group_routes[0].scope == RT_SCOPE_LINK);
  CHECK(p.group_routes[1].destination.family() == AF_INET6);
}

TEST_CASE("joins expand ranges, and phyint disable keeps an interface out") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  auto s = section(R"([routing]
[[routing.join]]
interface = "eth0"
group = "239.1.1.0/30"
[[routing.join]]
interface = "eth0"
source = "2001:db8::2"
group = "ff3e::1"
[[routing.interface]]
name = "eth1"
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1"]
)");
  auto p = plan(s, t);
  REQUIRE(p.joins.size() == 5);  // 239.1.1.0-3, and (2001:db8::2, ff3e::1)
  CHECK(p.joins.begin()->group == ip("239.1.1.0"));
  CHECK(std::prev(p.joins.end())->source == ip("2001:db8::2"));
  s.interfaces[0].enabled = false;
  auto q = plan(s, t);
  REQUIRE(q.routes.size() == 1);
  CHECK(q.routes.begin()->second.oifs.empty());
  CHECK(q.routes.begin()->second.missing_outputs == std::vector<std::string>{"eth1"});
}

TEST_CASE("MDB entries and bridge settings wait for their bridge and port") {
  core::InterfaceTable t;
  add_link(t, 5, "br0", true, "bridge");
  add_link(t, 6, "eth1", true, "veth", 0);
  auto s = section(R"([routing]
[[routing.bridge]]
name = "br0"
snooping = false
[[routing.mdb]]
bridge = "br0"
port = "eth1"
group = "239.1.1.1"
)");
  auto p = plan(s, t);
  CHECK(p.bridges.size() == 1);
  CHECK(p.mdb.empty());
  REQUIRE(p.pending.size() == 1);
  CHECK(p.pending[0].reason == "eth1 is not a port of br0");
  add_link(t, 6, "eth1", true, "veth", 5);
  p = plan(s, t);
  REQUIRE(p.mdb.size() == 1);
  CHECK(p.mdb[0].entry.bridge == 5);
  CHECK(p.mdb[0].entry.port == 6);
}

TEST_CASE("planning one more (S,G) on top gives what planning everything gives") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  add_link(t, 4, "eth2");
  auto s = section(R"([routing]
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1"]
[[routing.route]]
from = "eth0"
group = "239.2.0.0/16"
to = ["eth1"]
)");
  RouteRule added;
  added.family = AF_INET;
  added.from = "eth1";
  added.source = IpPrefix::parse("10.0.0.9");
  added.group = IpPrefix::parse("239.9.9.9");
  added.to = {"eth2", "missing0"};
  added.origin = "control";
  for (const RouteRule& rule : {added, [&] {
                                  RouteRule pending_one = added;
                                  pending_one.from = "gone0";
                                  return pending_one;
                                }()}) {
    std::vector<RouteRule> none, with{rule};
    auto incremental = plan(s, t);
    plan_one_more(incremental, {s, none, t, {}}, rule);
    auto whole = plan(s, t, with);
    CHECK(incremental.routes.size() == whole.routes.size());
    for (const auto& [key, r] : whole.routes) {
      REQUIRE(incremental.routes.count(key));
      CHECK(incremental.routes.at(key).iif == r.iif);
      CHECK(incremental.routes.at(key).oifs == r.oifs);
      CHECK(incremental.routes.at(key).missing_outputs == r.missing_outputs);
    }
    CHECK(incremental.vifs == whole.vifs);
    REQUIRE(incremental.pending.size() == whole.pending.size());
    for (std::size_t i = 0; i < whole.pending.size(); ++i) CHECK(incremental.pending[i].reason == whole.pending[i].reason);
  }
}
