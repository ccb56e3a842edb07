// routing_check.hpp — what `joincastd --check` says about the [routing]
// section: the same plan and the same refusal the daemon makes at start
// (a route needing a 33rd VIF), against the interfaces present where the
// check runs, and the warnings the daemon logs at start (a route output
// that matches no interface, such as the typo `to ext1`; smcroute.conf
// lines joincastd ignores).
#pragma once

#include "daemon/core/interface_table.hpp"
#include "daemon/routing/routing_config.hpp"

#include <string>
#include <vector>

namespace joincast::daemon::routing {

struct RoutingCheck {
  std::vector<std::string> errors;    // the daemon would refuse to start
  std::vector<std::string> warnings;  // it would start, and log these
  std::vector<std::string> pending;   // it would wait for an interface
};

RoutingCheck check_routing(const RoutingSection& config, const core::InterfaceTable& interfaces);

}  // namespace joincast::daemon::routing
