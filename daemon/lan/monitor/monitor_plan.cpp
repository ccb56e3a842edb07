// monitor_plan.cpp — see monitor_plan.hpp.
#include "daemon/lan/monitor/monitor_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

namespace joincast::daemon::lan::monitor {

namespace {

// The interface's address of a family the rewrite answers from: IPv4's
// first address; for IPv6 the first usable global one, else link-local.
IpAddress local_address(const std::vector<netlink::InterfaceAddress>& addresses, int family) {
  const netlink::InterfaceAddress* fallback = nullptr;
  for (const auto& a : addresses) {
    if (a.family() != family || (a.flags & IFA_F_TENTATIVE)) continue;
    if (family == AF_INET) return a.address;
    if (a.usable_global()) return a.address;
    if (!fallback && a.scope == RT_SCOPE_LINK) fallback = &a;
  }
  return fallback ? fallback->address : IpAddress{};
}

}  // namespace

IpAddress rfc6034_group(const IpAddress& unicast_v4) {
  const std::uint8_t* b = unicast_v4.data();
  in_addr a{};
  const std::uint8_t bytes[4] = {234, b[0], b[1], b[2]};
  std::copy(bytes, bytes + 4, reinterpret_cast<std::uint8_t*>(&a.s_addr));
  return IpAddress::v4(a);
}

MonitorPlan plan_monitor(const MonitorSection& config, const core::InterfaceTable& interfaces) {
  MonitorPlan plan;
  for (std::size_t i = 0; i < config.entries.size(); ++i) {
    const MonitorEntry& e = config.entries[i];
    for (const auto& name : e.interfaces) {
      const netlink::Link* link = interfaces.find(name);
      if (!link) {
        for (const auto& g : e.groups)
          plan.pending.push_back({i, name, g.describe(), "interface " + name + " does not exist (yet)"});
        continue;
      }
      const auto& addresses = interfaces.addresses(link->ifindex);
      for (const auto& g : e.groups) {
        Binding b;
        b.entry = i;
        b.interface = name;
        b.ifindex = link->ifindex;
        b.port = e.port;
        b.mac = link->mac;
        if (g.kind == GroupSpec::Kind::rfc6034) {
          IpAddress v4 = local_address(addresses, AF_INET);
          if (v4.empty()) {
            plan.pending.push_back({i, name, g.describe(), name + " has no IPv4 address to derive the RFC 6034 group from"});
            continue;
          }
          b.group = rfc6034_group(v4);
          b.derived = true;
        } else {
          b.group = g.address;
        }
        b.local = local_address(addresses, b.group.family());
        if (b.local.empty()) {
          plan.pending.push_back({i, name, g.describe(),
                                  fmt::format("{} has no {} address", name, b.group.is_v4() ? "IPv4" : "IPv6")});
          continue;
        }
        auto same = [&](const Binding& o) { return o.key() == b.key(); };
        if (std::any_of(plan.bindings.begin(), plan.bindings.end(), same)) {
          plan.pending.push_back({i, name, g.describe(),
                                  fmt::format("{} port {} on {} is already another entry's", b.group.to_string(), b.port, name)});
          continue;
        }
        plan.bindings.push_back(std::move(b));
      }
    }
  }
  return plan;
}

}  // namespace joincast::daemon::lan::monitor
