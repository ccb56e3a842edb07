// stream_routes.hpp — the routes of the sessions' streams: from
// sessions.interface to the interfaces that have listeners, installed by
// the routing module when joincast is also the router. The daemon's goes to
// the RouteController (daemon/app/session_environment.hpp); unit tests use
// a fake.
#pragma once

#include "common/result.hpp"
#include "daemon/catalogue/group_address.hpp"

#include <string>
#include <vector>

namespace joincast::daemon::sessions {

class StreamRoutes {
 public:
  virtual ~StreamRoutes() = default;
  // Only with a [routing] section that started.
  virtual bool enabled() const = 0;
  // Routes group's stream from `from` to `to`, replacing what it had; an
  // empty `to` removes the route. Nothing is half-applied when it fails.
  virtual Result<void> route(const catalogue::GroupAddress& group, const std::string& from, std::vector<std::string> to) = 0;
};

}  // namespace joincast::daemon::sessions
