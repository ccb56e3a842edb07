// session_limits.hpp — sessions.max_sessions and sessions.limits: how many
// sessions may run at once, in all and per directory (or "dvb").
#pragma once

#include "daemon/sessions/session_config.hpp"

#include "common/result.hpp"

#include <string>

namespace joincast::daemon::sessions {

// Whether one more session of `directory` may start while `running`
// sessions run, `running_same` of them of the same directory; if not,
// std::errc::resource_unavailable_try_again naming the limit's key.
Result<void> within_limits(const SessionsSection& config, const std::string& directory, unsigned running,
                           unsigned running_same);

}  // namespace joincast::daemon::sessions
