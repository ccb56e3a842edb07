// group_block.hpp — blocks of multicast groups joincast routes as a unit.
//
// The IPv6 blocks are RFC 3306 unicast-prefix-based groups
// ff3e:0040:<64-bit prefix>:<32-bit group id>, the prefix taken from an
// interface's global /64 the way people script it today (the old smcroute
// startup script's casts()), so a renumbered network gets renumbered
// groups (the address plan's encoder and prefix choice, so a block and the
// catalogue's station groups always agree). A block is a set of group-id ranges; each range becomes the few
// CIDR prefixes that cover it exactly, and those prefixes are what the
// kernel gets: (*,G) templates for the MFC and more-specific routes that
// end the ff00::/8 ambiguity.
#pragma once

#include "daemon/catalogue/address_plan.hpp"  // the one RFC 3306 encoder and prefix choice
#include "netlink/address.hpp"
#include "common/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace joincast::daemon::routing {

struct GroupIdRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  bool operator==(const GroupIdRange&) const = default;
};

// "0x80000000-0x8000000f", "0xd0bef00d", "2147483648", or the address's
// own spelling of the last 32 bits: "8000:0-8000:f", "d0be:f00d".
std::optional<GroupIdRange> parse_group_id_range(std::string_view text);

// The CIDR blocks (first id, prefix length within 32 bits) that cover a
// range exactly, fewest first-to-last.
std::vector<std::pair<std::uint32_t, unsigned>> group_id_cidrs(const GroupIdRange& range);

// The group prefixes of a block under prefix64, in range order.
std::vector<IpPrefix> derive_block_prefixes(const IpPrefix& prefix64,
                                                     std::span<const GroupIdRange> ranges, std::uint8_t scope = 0xe);

}  // namespace joincast::daemon::routing
