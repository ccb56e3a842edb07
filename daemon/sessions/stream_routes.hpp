// stream_routes.hpp — the routes of the sessions' streams: from
// sessions.interface to the interfaces that have listeners, installed by
// the routing module (owner "session") when joincast is also the router.
#pragma once

#include "daemon/catalogue/group_address.hpp"
#include "daemon/routing/route_controller.hpp"

#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon {

class StreamRoutes {
 public:
  explicit StreamRoutes(RouteController& routes) : routes_(routes) {}

  // Only with a [routing] section that started.
  bool enabled() const { return routes_.enabled(); }
  // Routes group's stream from `from` to `to`, replacing what it had; an
  // empty `to` removes the route. Returns why it cannot, if it cannot.
  std::optional<std::string> route(const GroupAddress& group, const std::string& from, std::vector<std::string> to);

 private:
  RouteController& routes_;
};

}  // namespace joincast::daemon
