// address.hpp — interface addresses over rtnetlink: the RTM_GETADDR dump
// and RTM_NEWADDR/RTM_DELADDR parsing (dump answers and the
// RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR events alike).
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <cstdint>

struct nlmsghdr;

namespace joincast::netlink {

struct InterfaceAddress {
  int ifindex = 0;
  IpAddress address;           // IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6
  std::uint8_t prefix_length = 0;
  std::uint8_t scope = 0;      // RT_SCOPE_*
  std::uint32_t flags = 0;     // IFA_F_*, from IFA_FLAGS when present
  bool deleted = false;        // from RTM_DELADDR

  int family() const { return address.family(); }
  IpPrefix prefix() const { return {address, prefix_length}; }
  // Global scope, not tentative, not deprecated: a usable source of a
  // prefix for group derivation.
  bool usable_global() const;
  bool operator==(const InterfaceAddress&) const = default;
};

// RTM_GETADDR dump for AF_INET, AF_INET6 or AF_UNSPEC (both).
Message dump_addresses(int family = AF_UNSPEC);
// RTM_NEWADDR / RTM_DELADDR (used by tests to renumber).
Message new_address(const InterfaceAddress& a);
Message del_address(const InterfaceAddress& a);

Result<InterfaceAddress> parse_address(const nlmsghdr* nlh);

}  // namespace joincast::netlink
