// session_limits.cpp — see session_limits.hpp.
#include "daemon/sessions/session_limits.hpp"

#include <fmt/format.h>

namespace joincast::daemon::sessions {

Result<void> within_limits(const SessionsSection& config, const std::string& directory, unsigned running,
                           unsigned running_same) {
  if (running >= config.max_sessions)
    return Error(std::errc::resource_unavailable_try_again,
                 fmt::format("{} sessions run already (sessions.max_sessions)", running));
  if (auto it = config.limits.find(directory); it != config.limits.end() && running_same >= it->second)
    return Error(std::errc::resource_unavailable_try_again,
                 fmt::format("{} {} sessions run already (sessions.limits.{})", running_same, directory, directory));
  return success();
}

}  // namespace joincast::daemon::sessions
