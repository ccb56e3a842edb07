// routing_check.cpp — see routing_check.hpp.
#include "daemon/routing/routing_check.hpp"

#include "daemon/routing/routing_plan.hpp"

#include <fmt/format.h>

namespace joincast::daemon::routing {

RoutingCheck check_routing(const RoutingSection& config, const core::InterfaceTable& interfaces) {
  RoutingCheck out;
  out.warnings = config.warnings;
  if (!config.enabled) return out;
  const std::vector<RouteRule> no_runtime;
  PlanInput in{config, no_runtime, interfaces, {},
               config.table.value_or(netlink::default_mroute_table_ipv4),
               config.table.value_or(netlink::default_mroute_table_ipv6)};
  const RoutingPlan plan = make_plan(in);
  if (auto fits = applicable(plan); !fits) out.errors.push_back(fits.error().message());
  for (const auto& p : plan.incomplete) out.warnings.push_back(fmt::format("{} ({}): {}", p.what, p.origin, p.reason));
  for (const auto& p : plan.pending)
    if (!p.vif_exhausted) out.pending.push_back(fmt::format("{} ({}): {}", p.what, p.origin, p.reason));
  return out;
}

}  // namespace joincast::daemon::routing
