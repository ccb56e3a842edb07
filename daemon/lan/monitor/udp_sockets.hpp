// udp_sockets.hpp — which UDP ports something in this network namespace
// listens on, from /proc/net/udp and /proc/net/udp6: the monitor module's
// answer to "is a daemon there to receive this?" (traffic to a port nobody
// binds is lost, and an admin wants to hear that before a switch's syslog
// vanishes).
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace joincast::daemon::lan::monitor {

struct BoundUdp {
  IpAddress address;  // 0.0.0.0 / :: for the wildcard
  std::uint16_t port = 0;
};

// Parses the text of /proc/net/udp or /proc/net/udp6 (family AF_INET or
// AF_INET6). Lines it cannot read are skipped.
std::vector<BoundUdp> parse_proc_net_udp(std::string_view text, int family);
// Both files of this namespace.
Result<std::vector<BoundUdp>> read_bound_udp();

// True when one of `bound` would receive a datagram to group:port arriving
// at an interface with address `local`: a wildcard socket of the family
// (an IPv6 wildcard socket also takes IPv4 unless it is v6-only, which
// procfs does not tell; it counts), or one bound to the group or to local.
bool receives(const std::vector<BoundUdp>& bound, const IpAddress& group, std::uint16_t port, const IpAddress& local);

}  // namespace joincast::daemon::lan::monitor
