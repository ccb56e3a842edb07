// mfc.hpp — the kernel's multicast forwarding cache (MFC) over rtnetlink.
//
// IPv4 entries are written with RTM_NEWROUTE/RTM_DELROUTE in the
// RTNL_FAMILY_IPMR family; IPv6 entries can only be written with the MRT6
// socket options (mroute_socket.hpp), but both families are read with an
// RTM_GETROUTE dump that carries packet/byte counters. Kernel upcalls
// (NOCACHE, WRONGVIF, ...) arrive on the mroute socket and, as
// RTM_NEWCACHEREPORT, on the RTNLGRP_IPV4_MROUTE_R / IPV6_MROUTE_R groups;
// both become an Upcall.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace joincast::netlink {

// MAXVIFS and MAXMIFS in the kernel UAPI: one table has at most 32.
constexpr unsigned max_vifs = 32;

// The kernel's default multicast routing tables: the ones MRT_INIT and
// MRT6_INIT use unless MRT_TABLE/MRT6_TABLE chose another. IPv4 uses
// RT_TABLE_DEFAULT (253), IPv6 RT6_TABLE_DFLT, which is main (254).
constexpr std::uint32_t default_mroute_table_ipv4 = 253;
constexpr std::uint32_t default_mroute_table_ipv6 = 254;
constexpr std::uint32_t default_mroute_table(int family) {
  return family == AF_INET6 ? default_mroute_table_ipv6 : default_mroute_table_ipv4;
}

// TTL threshold per VIF index: 0 means "not an output interface"; n >= 1
// forwards packets whose TTL is greater than n.
using VifTtls = std::array<std::uint8_t, max_vifs>;

enum class UpcallKind : std::uint8_t {
  nocache = 1,          // IGMPMSG_NOCACHE / MRT6MSG_NOCACHE: no (S,G) entry
  wrong_vif = 2,        // arrived on another VIF than the entry's input
  whole_packet = 3,     // PIM register (whole packet)
  wrong_vif_whole = 4,  // WRONGVIF with the whole packet
};
const char* upcall_kind_name(UpcallKind k);

struct Upcall {
  int family = AF_UNSPEC;
  UpcallKind kind = UpcallKind::nocache;
  unsigned vif = 0;
  IpAddress source;
  IpAddress group;
  std::optional<std::uint32_t> table;  // known for IPv4 cache reports only
};

// An MFC entry as the kernel reports it.
struct MfcEntry {
  struct Oif {
    int ifindex = 0;
    std::uint8_t ttl = 0;
    bool operator==(const Oif&) const = default;
  };
  int family = AF_UNSPEC;
  std::uint32_t table = 0;
  IpAddress source;
  IpAddress group;
  int iif = 0;  // ifindex of the input VIF's device; 0 when unresolved
  std::vector<Oif> oifs;
  bool resolved = true;
  std::uint8_t protocol = 0;  // RTPROT_MROUTED (owned by the mroute socket) or RTPROT_STATIC
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t wrong_if = 0;
  // Time since a packet last used the entry, in centiseconds (USER_HZ).
  std::uint64_t idle_cs = 0;
};

// Adds or updates an IPv4 (S,G) entry in `table`: packets from `source`
// to `group` arriving on the VIF of `iif_ifindex` leave by every VIF whose
// ttls[] is non-zero. RTPROT_MROUTED ties the entry to the mroute socket
// owning the table, so the kernel flushes it when that socket closes (a
// crashed daemon leaves no stale routes), exactly as MRT_ADD_MFC does.
//
// The kernel cannot take VIF 31 as an output this way: ipmr_nla_get_ttls()
// stops reading at the 32nd next hop before consuming it and then refuses
// the message as having bytes left over (EINVAL). Such an entry has to go
// through MrouteSocket::add_mfc (MRT_ADD_MFC, same result);
// netlink_can_write() says which.
Message new_mfc4(std::uint32_t table, const IpAddress& source, const IpAddress& group, int iif_ifindex,
                 const VifTtls& ttls);
inline bool netlink_can_write(const VifTtls& ttls) { return ttls[max_vifs - 1] == 0; }
// Deletes an IPv4 (S,G) entry; ENOENT counts as success.
Message del_mfc4(std::uint32_t table, const IpAddress& source, const IpAddress& group);
// RTM_GETROUTE dump of the MFC of one table of a family (AF_INET or
// AF_INET6); table 0 is the family's default table. The kernel filters by
// table (strict checking); a table that does not exist (no mroute socket
// made it) answers ENOENT.
Message dump_mfc(int family, std::uint32_t table = 0);

Result<MfcEntry> parse_mfc(const nlmsghdr* nlh);
// RTM_NEWCACHEREPORT (both families).
Result<Upcall> parse_cache_report(const nlmsghdr* nlh);

}  // namespace joincast::netlink
