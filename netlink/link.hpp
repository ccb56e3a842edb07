// link.hpp — network interfaces over rtnetlink: the RTM_GETLINK dump,
// RTM_NEWLINK/RTM_DELLINK parsing (dump answers and RTNLGRP_LINK events
// alike), and a bridge's multicast settings (IFLA_BR_MCAST_*), which are
// read from the same messages and written with RTM_NEWLINK.
#pragma once

#include "netlink/error.hpp"
#include "netlink/message.hpp"

#include <cstdint>
#include <array>
#include <optional>
#include <string>

struct nlmsghdr;

namespace joincast::netlink {

// A bridge's multicast snooping and querier settings. Unset members are
// left as they are when written and absent when the kernel did not say.
struct BridgeMulticast {
  std::optional<bool> snooping;           // IFLA_BR_MCAST_SNOOPING
  std::optional<bool> querier;            // IFLA_BR_MCAST_QUERIER
  std::optional<std::uint8_t> igmp_version;  // 2 or 3
  std::optional<std::uint8_t> mld_version;   // 1 or 2
  // 0 disabled, 1 temporary/learned (default), 2 permanent router port.
  std::optional<std::uint8_t> router;
  std::optional<bool> query_use_ifaddr;
  // Intervals in centiseconds (the kernel's clock_t for these attributes).
  std::optional<std::uint64_t> query_interval_cs;
  std::optional<std::uint64_t> query_response_interval_cs;
  std::optional<std::uint64_t> membership_interval_cs;

  bool empty() const;
  bool operator==(const BridgeMulticast&) const = default;

  // Calls f with the same field of every argument, field after field, so
  // code that combines settings field by field names the fields only here:
  //   BridgeMulticast::zip_fields([](auto& out, const auto& in) { ... }, a, b);
  template <class F, class... B>
  static void zip_fields(F&& f, B&... b) {
    f(b.snooping...);
    f(b.querier...);
    f(b.igmp_version...);
    f(b.mld_version...);
    f(b.router...);
    f(b.query_use_ifaddr...);
    f(b.query_interval_cs...);
    f(b.query_response_interval_cs...);
    f(b.membership_interval_cs...);
  }
};

struct Link {
  int ifindex = 0;
  std::string name;
  unsigned flags = 0;  // IFF_*
  unsigned mtu = 0;
  std::string kind;    // IFLA_INFO_KIND: "bridge", "veth", ... or empty
  int master = 0;      // ifindex of the bridge this is a port of, or 0
  std::uint8_t operstate = 0;  // IF_OPER_*
  std::array<std::uint8_t, 6> mac{};  // IFLA_ADDRESS of an Ethernet-like link; zeros otherwise
  std::optional<BridgeMulticast> bridge;  // kind == "bridge"
  bool deleted = false;  // from RTM_DELLINK

  bool up() const;
  bool multicast() const;
};

// RTM_GETLINK dump of every interface.
Message dump_links();
// RTM_GETLINK for one interface by name (answer: one RTM_NEWLINK).
Message get_link(const std::string& name);
// RTM_NEWLINK that changes only the bridge multicast settings given.
Message set_bridge_multicast(int ifindex, const BridgeMulticast& settings);

// Parses RTM_NEWLINK / RTM_DELLINK. Other families' link messages (the
// IPMR VIF table dump uses RTM_NEWLINK too) are not interfaces: callers
// check ifi_family first or accept that parse fails for them.
Result<Link> parse_link(const nlmsghdr* nlh);

}  // namespace joincast::netlink
