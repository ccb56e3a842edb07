// route.hpp — unicast-FIB routes (IPv4 and IPv6, any table) over
// rtnetlink: RTM_NEWROUTE/RTM_DELROUTE builders, the RTM_GETROUTE dump and
// its parser. The multicast forwarding cache, which also travels as
// RTM_*ROUTE but in the RTNL_FAMILY_IPMR/IP6MR families, is in mfc.hpp.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <linux/rtnetlink.h>

#include <cstdint>
#include <optional>

namespace joincast::netlink {

struct Route {
  IpPrefix destination;
  std::uint32_t table = RT_TABLE_MAIN;
  std::uint8_t type = RTN_UNICAST;  // RTN_MULTICAST for group routes
  std::uint8_t protocol = RTPROT_STATIC;
  std::uint8_t scope = RT_SCOPE_UNIVERSE;
  int oif = 0;
  std::optional<IpAddress> gateway;
  std::optional<std::uint32_t> priority;  // the metric
  std::optional<IpAddress> prefsrc;

  int family() const { return destination.family(); }
  bool operator==(const Route&) const = default;
};

// Adds or replaces (NLM_F_CREATE | NLM_F_REPLACE): the route identified by
// table, destination, metric (and for IPv4 tos) ends up exactly as given.
Message new_route(const Route& r);
// Deletes; ESRCH/ENOENT (no such route) counts as success.
Message del_route(const Route& r);
// RTM_GETROUTE dump of a family; with a table and/or protocol the kernel
// returns only those routes (the socket enables strict checking).
Message dump_routes(int family, std::uint32_t table = 0, std::uint8_t protocol = 0);

// Parses RTM_NEWROUTE/RTM_DELROUTE of AF_INET/AF_INET6. Multipath routes
// keep only their first next hop's device.
Result<Route> parse_route(const nlmsghdr* nlh);

}  // namespace joincast::netlink
