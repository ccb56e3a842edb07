// route_requests.hpp — how other modules ask the routing module for
// routes: one owner-tagged interface (implemented by RouteController), so
// no module reaches into the controller. Each owner's routes are its own:
// a session replacing its stream's outputs never touches a route the
// operator added with `joincast route add`, nor one from the configuration.
#pragma once

#include "common/result.hpp"
#include "common/ip_address.hpp"

#include <string>
#include <vector>

namespace joincast::daemon::routing {

// Who asked for a route; shown as the route's origin in `joincast routes`.
enum class RouteOwner { config, control, session, proxy, ssdp, monitor };
const char* route_owner_name(RouteOwner owner);

class RouteRequests {
 public:
  virtual ~RouteRequests() = default;

  // True when a [routing] section is in force and routing started.
  virtual bool routing_enabled() const = 0;

  // Routes traffic to `group` arriving on `from` (for a stream joincast
  // sends, its multicast loopback copy enters the routing as if received
  // there) to the interfaces `to`, as a (*,G) template resolved on the
  // first packet. A later call by the same owner for the same group and
  // input replaces the outputs; an empty `to` removes the route. Fails,
  // saying why, when it cannot be installed; nothing is half-applied then.
  virtual Result<void> route_group(RouteOwner owner, const IpAddress& group, const std::string& from,
                                   std::vector<std::string> to) = 0;
};

}  // namespace joincast::daemon::routing
