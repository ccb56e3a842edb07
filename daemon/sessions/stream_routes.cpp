// stream_routes.cpp — see stream_routes.hpp.
#include "daemon/sessions/stream_routes.hpp"

namespace joincast::daemon {

std::optional<std::string> StreamRoutes::route(const GroupAddress& group, const std::string& from,
                                               std::vector<std::string> to) {
  return routes_.route_stream(group.ip(), from, std::move(to));
}

}  // namespace joincast::daemon
