// session_limits.hpp — sessions.max_sessions and sessions.limits: how many
// sessions may run at once, in all and per directory (or "dvb").
#pragma once

#include "daemon/sessions/session_config.hpp"

#include <optional>
#include <string>

namespace joincast::daemon::sessions {

// Why one more session of `directory` may not start while `running`
// sessions run, `running_same` of them of the same directory; nothing when
// it may.
std::optional<std::string> limit_refusal(const SessionsSection& config, const std::string& directory, unsigned running,
                                         unsigned running_same);

}  // namespace joincast::daemon::sessions
