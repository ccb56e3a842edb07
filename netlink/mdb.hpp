// mdb.hpp — the bridge multicast database (MDB) over rtnetlink: static
// group entries on bridge ports (RTM_NEWMDB/RTM_DELMDB with MDBA_SET_ENTRY)
// and the RTM_GETMDB dump / RTNLGRP_MDB events, which include the groups
// the bridge learned by snooping (RTPROT_KERNEL).
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace joincast::netlink {

struct MdbEntry {
  int bridge = 0;  // ifindex of the bridge
  int port = 0;    // ifindex of the port (the bridge itself for host joins)
  IpAddress group;
  std::optional<IpAddress> source;  // (S,G) entries, IGMPv3/MLDv2 bridges
  std::uint16_t vid = 0;
  bool permanent = true;
  std::uint8_t protocol = 0;  // MDBA_MDB_EATTR_RTPROT when reported
  bool operator==(const MdbEntry&) const = default;
};

// EEXIST (already there) counts as success.
Message new_mdb(const MdbEntry& e);
// ENOENT counts as success.
Message del_mdb(const MdbEntry& e);
Message dump_mdb();
// Every IP entry in an RTM_NEWMDB/RTM_DELMDB message (a dump answer holds
// many, an event one). Layer-2-only entries are skipped.
Result<std::vector<MdbEntry>> parse_mdb(const nlmsghdr* nlh);

}  // namespace joincast::netlink
