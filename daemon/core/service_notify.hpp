// service_notify.hpp — tells the service manager how joincastd is doing
// (READY=1, RELOADING=1, STOPPING=1, STATUS=…) for the unit's Type=notify:
// the datagram protocol of sd_notify(3) on $NOTIFY_SOCKET, written here so
// joincastd does not link libsystemd (and the six libraries it brings) for
// one sendmsg. Without $NOTIFY_SOCKET it does nothing.
#pragma once

#include <string_view>

namespace joincast::daemon::core {

// Sends state ("READY=1\nSTATUS=running") once; false if $NOTIFY_SOCKET is
// set and the datagram could not be sent (nothing to act on: systemd then
// times the start out, as with sd_notify).
bool notify_service_manager(std::string_view state);

}  // namespace joincast::daemon::core
