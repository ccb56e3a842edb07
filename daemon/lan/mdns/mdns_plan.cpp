// mdns_plan.cpp — see mdns_plan.hpp.
#include "daemon/lan/mdns/mdns_plan.hpp"

#include "daemon/lan/mdns/mdns_policy.hpp"

#include <fmt/format.h>

namespace joincast::daemon::lan::mdns {

int MdnsPlan::zone_of(int ifindex) const {
  for (const auto& i : interfaces)
    if (i.ifindex == ifindex) return static_cast<int>(i.zone);
  return -1;
}

MdnsPlan plan_mdns(const MdnsSection& config, const core::InterfaceTable& interfaces) {
  MdnsPlan plan;
  for (std::size_t z = 0; z < config.zones.size(); ++z)
    for (const auto& name : config.zones[z].interfaces) {
      const netlink::Link* link = interfaces.find(name);
      if (!link) {
        plan.pending.push_back({z, name, "interface " + name + " does not exist (yet)"});
        continue;
      }
      if (!link->up()) {
        plan.pending.push_back({z, name, name + " is down"});
        continue;
      }
      if (!link->multicast()) {
        plan.pending.push_back({z, name, name + " has multicast off"});
        continue;
      }
      ZoneInterface zi{z, name, link->ifindex, {}, {}};
      for (const auto& a : interfaces.addresses(link->ifindex)) {
        if (a.address.is_v4() && zi.v4.empty()) zi.v4 = a.address;
        if (a.address.is_v6() && zi.v6.empty() && is_link_local(a.address)) zi.v6 = a.address;
      }
      if (zi.v4.empty() && zi.v6.empty()) {
        plan.pending.push_back({z, name, name + " has no IPv4 address and no IPv6 link-local address"});
        continue;
      }
      plan.interfaces.push_back(std::move(zi));
    }
  return plan;
}

}  // namespace joincast::daemon::lan::mdns
