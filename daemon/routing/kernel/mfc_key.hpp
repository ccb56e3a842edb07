// mfc_key.hpp — the names of a multicast forwarding cache entry shared by
// the routing plan and the kernel tables: an (S,G) key per family and the
// output interfaces with their TTL thresholds.
#pragma once

#include "common/ip_address.hpp"

#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <map>

namespace joincast::daemon::routing::kernel {

struct MfcKey {
  int family = AF_UNSPEC;
  IpAddress source;
  IpAddress group;
  auto operator<=>(const MfcKey&) const = default;
};

using OifMap = std::map<int, std::uint8_t>;  // output ifindex -> TTL threshold

}  // namespace joincast::daemon::routing::kernel
