// multicast_egress.hpp — the first half of the ff00::/8 fix: a socket that
// sends to a multicast group names the interface its packets leave by
// (IP_MULTICAST_IF / IPV6_MULTICAST_IF), so the local table's
// per-interface ff00::/8 routes, whose order changes at every restart,
// never decide it. Every socket joincast sends multicast from goes through
// here: media's sender sockets and the querier's IGMP socket (its MLD
// queries name the interface per packet, with IPV6_PKTINFO). The second
// half, routes for tools that do not choose, is the routing module's
// group blocks. tests/unit/multicast_egress_test.cpp keeps it the only one.
#pragma once

#include "netlink/error.hpp"

namespace joincast::netlink {

// Sets the egress interface of a UDP (or raw) socket of `family` for
// multicast. For IPv4 by index (struct ip_mreqn), so an interface without
// an IPv4 address works too.
Result<void> set_multicast_egress(int fd, int family, int ifindex);

}  // namespace joincast::netlink
