// bridge_state.hpp — what the routing module keeps in bridges: the MDB
// entries it added (static bridge port memberships) and the multicast
// (snooping) settings it changed, with what it found before so that a
// bridge no longer configured gets its own settings back. Each apply is a
// diff against what was installed, undone by the Transaction on failure.
#pragma once

#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/kernel/transaction.hpp"
#include "netlink/link.hpp"
#include "netlink/mdb.hpp"
#include "netlink/socket.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace joincast::daemon::routing::kernel {

// An MDB entry the plan wants, and which configuration asked for it.
struct PlannedMdb {
  netlink::MdbEntry entry;
  std::string origin;
};

class BridgeState {
 public:
  // A bridge whose settings were changed as configured (for the log).
  using Changed = std::function<void(const std::string& bridge)>;

  // Makes the MDB entries joincastd added be `wanted`.
  Result<void> apply_mdb(netlink::NetlinkSocket& nl, Transaction& tx, const std::vector<PlannedMdb>& wanted,
                         const core::InterfaceTable& interfaces);
  // Makes the bridges of `wanted` (bridge ifindex -> settings to enforce)
  // have those settings, and gives the others back what they had.
  Result<void> apply_settings(netlink::NetlinkSocket& nl, Transaction& tx,
                              const std::map<int, netlink::BridgeMulticast>& wanted, const core::InterfaceTable& interfaces,
                              const Changed& changed);
  // The device is gone, and with it its MDB entries and settings.
  void forget_interface(int ifindex);
  // Stopping: the settings stay as they are (turning snooping back on
  // while the daemon restarts would cut exactly the traffic it was turned
  // off for), so nothing is to be given back.
  void keep_settings() { originals_.clear(); }

 private:
  std::vector<netlink::MdbEntry> mdb_installed_;
  std::map<int, netlink::BridgeMulticast> originals_;  // what we found before changing it
};

}  // namespace joincast::daemon::routing::kernel
