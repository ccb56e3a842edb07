// routing_check_test.cpp — `joincastd --check` runs the routing module's
// own start-up validation: a configuration the daemon would refuse (a
// 33rd VIF) is an error there too, and a route output that matches no
// interface, or a route without outputs, is a warning.
#include "daemon/app/config.hpp"
#include "daemon/routing/routing_check.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <linux/if.h>

using namespace joincast::daemon;
using namespace joincast::daemon::routing;

namespace {

void add_link(core::InterfaceTable& t, int ifindex, const std::string& name) {
  joincast::netlink::Link l;
  l.ifindex = ifindex;
  l.name = name;
  l.flags = static_cast<unsigned>(IFF_MULTICAST | IFF_UP);
  t.apply(l);
}

RoutingSection section(const std::string& toml) {
  auto r = app::parse_config(toml, "j.toml");
  REQUIRE(r.ok());
  return r.config.routing;
}

}  // namespace

TEST_CASE("check_routing refuses what the daemon refuses at start: a route needing a 33rd VIF") {
  core::InterfaceTable t;
  std::string toml = "[routing]\n";
  for (int i = 0; i < 33; ++i) {
    add_link(t, 10 + i, fmt::format("v{}", i));
    toml += fmt::format("[[routing.route]]\nfrom = \"v{}\"\nsource = \"10.0.0.{}\"\ngroup = \"239.1.1.1\"\nto = [\"v0\"]\n",
                        i, i + 1);
  }
  auto c = check_routing(section(toml), t);
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].find("needs a VIF for v32, but all 32 VIFs of multicast routing table 253 are in use") !=
        std::string::npos);
  // 32 are fine.
  core::InterfaceTable fewer;
  for (int i = 0; i < 32; ++i) add_link(fewer, 10 + i, fmt::format("v{}", i));
  CHECK(check_routing(section(toml), fewer).errors.empty());
}

TEST_CASE("check_routing warns of a route output that matches no interface (a typo such as to ext1)") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  add_link(t, 3, "eth1");
  auto c = check_routing(section(R"([routing]
[[routing.route]]
from = "eth0"
source = "10.0.0.2"
group = "239.1.1.1"
to = ["eth1", "ext1"]
)"),
                         t);
  CHECK(c.errors.empty());
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0] ==
        "route from eth0 source 10.0.0.2 group 239.1.1.1 to eth1 ext1 (j.toml:2): output interface ext1 is missing; "
        "routed without it until it appears");
}

TEST_CASE("a route without outputs is a warning") {
  core::InterfaceTable t;
  add_link(t, 2, "eth0");
  auto c = check_routing(section(R"([routing]
[[routing.route]]
from = "eth0"
group = "239.1.1.1"
)"),
                         t);
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0] == "j.toml:2: a route without \"to\" forwards nothing; name the outputs");
}
