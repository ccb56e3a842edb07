// monitor_test.cpp — the [[monitor]] section, the groups it means on the
// interfaces there are (RFC 6034 derivation, pending groups), and the
// reading of /proc/net/udp that says whether a daemon listens.
#include "daemon/app/config.hpp"
#include "daemon/lan/monitor/monitor_plan.hpp"
#include "daemon/lan/monitor/udp_sockets.hpp"

#include <doctest/doctest.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

using namespace joincast;
using namespace joincast::daemon;
using namespace joincast::daemon::lan::monitor;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

core::InterfaceTable management_vlan(bool with_address = true) {
  core::InterfaceTable t;
  netlink::Link link;
  link.ifindex = 7;
  link.name = "mgmt0";
  link.flags = 0x1043;  // up, broadcast, running, multicast
  link.mac = {0x02, 0, 0, 0, 0, 0x07};
  t.apply(link);
  if (with_address) {
    netlink::InterfaceAddress a;
    a.ifindex = 7;
    a.address = ip("192.168.0.1");
    a.prefix_length = 24;
    a.scope = RT_SCOPE_UNIVERSE;
    t.apply(a);
    netlink::InterfaceAddress ll;
    ll.ifindex = 7;
    ll.address = ip("fe80::1");
    ll.prefix_length = 64;
    ll.scope = RT_SCOPE_LINK;
    ll.flags = IFA_F_PERMANENT;
    t.apply(ll);
  }
  return t;
}

}  // namespace

TEST_CASE("monitor: services get their port and default groups") {
  auto r = app::parse_config(R"(
[[monitor]]
service = "ntp"
interfaces = ["mgmt0"]

[[monitor]]
service = "syslog"
interfaces = ["mgmt0"]
senders = ["192.168.0.239"]

[[monitor]]
service = "udp"
port = 2055
interfaces = ["mgmt0"]
groups = ["239.1.2.3"]
)", "m.toml");
  REQUIRE(r.ok());
  const auto& e = r.config.monitor.entries;
  REQUIRE(e.size() == 3);
  CHECK(e[0].port == 123);
  CHECK(e[0].rewrite);
  REQUIRE(e[0].groups.size() == 2);
  CHECK(e[0].groups[0].address == ip("224.0.1.1"));
  CHECK(e[0].groups[1].address == ip("ff05::101"));
  CHECK(e[1].port == 514);
  CHECK_FALSE(e[1].rewrite);
  REQUIRE(e[1].groups.size() == 1);
  CHECK(e[1].groups[0].kind == GroupSpec::Kind::rfc6034);
  REQUIRE(e[1].senders.size() == 1);
  CHECK(e[1].senders[0].is_host());
  CHECK(e[1].origin == "m.toml:6");  // its [[monitor]] line
  CHECK(e[2].port == 2055);
}

TEST_CASE("monitor: mistakes are errors naming the key") {
  auto errors_of = [](const char* text) {
    auto r = app::parse_config(text, "bad.toml");
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    return all;
  };
  CHECK(errors_of("[[monitor]]\nservice = \"ftp\"\ninterfaces = [\"a\"]\n").find("monitor[0].service") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"udp\"\ninterfaces = [\"a\"]\ngroups = [\"239.1.1.1\"]\n")
            .find("monitor[0].port: is required") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\n").find("monitor[0].interfaces: is required") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\ninterfaces = [\"a\"]\ngroups = [\"10.0.0.1\"]\n")
            .find("neither a multicast address") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\ninterfaces = [\"a\"]\nsenders = [\"nonsense\"]\n")
            .find("monitor[0].senders") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\ninterfaces = [\"eth+\"]\n").find("no wildcards") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\ninterfaces = [\"a\"]\ncolour = 1\n").find("colour") != std::string::npos);
  CHECK(errors_of("[[monitor]]\nservice = \"syslog\"\ninterfaces = [\"a\"]\n[[monitor]]\nservice = \"syslog\"\n"
                  "interfaces = [\"a\"]\n")
            .find("already monitor[0]") != std::string::npos);
}

TEST_CASE("monitor: RFC 6034 puts the /24 after 234") {
  CHECK(rfc6034_group(ip("192.168.0.239")) == ip("234.192.168.0"));
  CHECK(rfc6034_group(ip("10.1.2.3")) == ip("234.10.1.2"));
}

TEST_CASE("monitor: the plan derives groups from the interface and keeps its address for the rewrite") {
  auto r = app::parse_config(R"(
[[monitor]]
service = "ntp"
interfaces = ["mgmt0", "absent0"]

[[monitor]]
service = "syslog"
interfaces = ["mgmt0"]
)", "m.toml");
  REQUIRE(r.ok());
  MonitorPlan plan = plan_monitor(r.config.monitor, management_vlan());
  REQUIRE(plan.bindings.size() == 3);
  CHECK(plan.bindings[0].group == ip("224.0.1.1"));
  CHECK(plan.bindings[0].local == ip("192.168.0.1"));
  CHECK(plan.bindings[0].mac[5] == 0x07);
  CHECK(plan.bindings[1].group == ip("ff05::101"));
  CHECK(plan.bindings[1].local == ip("fe80::1"));  // no global address: link-local answers
  CHECK(plan.bindings[2].group == ip("234.192.168.0"));
  CHECK(plan.bindings[2].derived);
  CHECK(plan.bindings[2].port == 514);
  REQUIRE(plan.pending.size() == 2);
  CHECK(plan.pending[0].interface == "absent0");
  CHECK(plan.pending[0].reason.find("does not exist") != std::string::npos);

  // Without an IPv4 address there is no subnet to derive from: it waits.
  MonitorPlan bare = plan_monitor(r.config.monitor, management_vlan(false));
  CHECK(bare.bindings.empty());
  bool derived_waits = false;
  for (const auto& p : bare.pending)
    if (p.group == "rfc6034" && p.reason.find("no IPv4 address") != std::string::npos) derived_waits = true;
  CHECK(derived_waits);
}

TEST_CASE("monitor: /proc/net/udp says who listens where") {
  const char* v4 =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  120: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n"
      "  200: 0100A8C0:007B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n"
      "  garbage line\n";
  auto bound = parse_proc_net_udp(v4, AF_INET);
  REQUIRE(bound.size() == 2);
  CHECK(bound[0].address == ip("0.0.0.0"));
  CHECK(bound[0].port == 514);
  CHECK(bound[1].address == ip("192.168.0.1"));
  CHECK(bound[1].port == 123);
  const char* v6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "   5: 00000000000000000000000000000000:00A2 00000000000000000000000000000000:0000 07 00000000:00000000 "
      "00:00000000 00000000     0        0 1 2 0 0\n";
  auto bound6 = parse_proc_net_udp(v6, AF_INET6);
  REQUIRE(bound6.size() == 1);
  CHECK(bound6[0].port == 162);

  CHECK(receives(bound, ip("234.192.168.0"), 514, ip("192.168.0.1")));
  CHECK(receives(bound, ip("224.0.1.1"), 123, ip("192.168.0.1")));   // bound to the rewrite target
  CHECK_FALSE(receives(bound, ip("224.0.1.1"), 123, ip("192.168.1.1")));
  CHECK_FALSE(receives(bound, ip("234.192.168.0"), 162, ip("192.168.0.1")));
  CHECK(receives(bound6, ip("234.192.168.0"), 162, ip("192.168.0.1")));  // :: takes IPv4 too
}
