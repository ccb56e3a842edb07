// route_controller_network.cpp — the RouteController steps in the
// unicast tables: group block routes (the ff00::/8 fix) and the `ip
// mrule`s a non-default multicast table needs, which GroupRoutes (kernel/)
// applies as a diff against what is installed.
#include "daemon/routing/route_controller.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"

#include <linux/rtnetlink.h>

#include <algorithm>

namespace joincast::daemon::routing {

Result<void> RouteController::apply_group_routes(const RoutingPlan& plan, kernel::Transaction& tx) {
  return group_routes_.apply_routes(*netlink_, tx, plan.group_routes, config_.group_route_table, config_.route_protocol,
                                    [this](int ifindex) { return interfaces_.name(ifindex); });
}

Result<void> RouteController::apply_rules(const RoutingPlan& plan, kernel::Transaction& tx) {
  // One `iif X` and one `oif X` rule per interface the plan gives a VIF, in
  // the family's multicast rule table (RTNL_FAMILY_IPMR / RTNL_FAMILY_IP6MR).
  auto rules_for = [&](int fam) {
    std::vector<netlink::Rule> rules;
    auto it = plan.vifs.find(fam);
    if (!config_.table || it == plan.vifs.end()) return rules;
    for (const auto& [ifindex, ttl] : it->second) {
      const auto* link = interfaces_.find(ifindex);
      if (!link) continue;
      for (bool incoming : {true, false}) {
        netlink::Rule r;
        r.family = fam == AF_INET ? RTNL_FAMILY_IPMR : RTNL_FAMILY_IP6MR;
        r.priority = config_.rule_priority;
        r.table = *config_.table;
        r.protocol = config_.route_protocol;
        (incoming ? r.iif : r.oif) = link->name;
        rules.push_back(r);
      }
    }
    return rules;
  };
  std::vector<netlink::Rule> wanted;
  for (int fam : {AF_INET, AF_INET6}) std::ranges::copy(rules_for(fam), std::back_inserter(wanted));
  return group_routes_.apply_rules(*netlink_, tx, wanted, config_.route_protocol);
}

}  // namespace joincast::daemon::routing
