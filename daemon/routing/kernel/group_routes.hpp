// group_routes.hpp — the unicast-table routes and multicast rules the
// routing module owns, under its route protocol: the group block routes
// that end the ff00::/8 ambiguity, and an `ip mrule` pair (iif, oif) per
// routed interface when a non-default multicast table is used. Each apply
// is a diff against the kernel (dumped), undone by the Transaction on
// failure; while what was last applied is still wanted and nothing may
// have removed it (marked dirty by interface and route events), nothing
// is dumped, so a runtime route add stays cheap.
#pragma once

#include "daemon/routing/kernel/transaction.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"
#include "netlink/socket.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::routing::kernel {

class GroupRoutes {
 public:
  // An interface's name for messages.
  using InterfaceName = std::function<std::string(int ifindex)>;

  // Makes the routes of `table` under `protocol` (both families) be
  // `wanted`. In a transaction, the first failure is the error.
  Result<void> apply_routes(netlink::NetlinkSocket& nl, Transaction& tx, const std::vector<netlink::Route>& wanted,
                            std::uint32_t table, std::uint8_t protocol, const InterfaceName& name);
  // Makes the multicast rules under `protocol` (both families) be `wanted`.
  Result<void> apply_rules(netlink::NetlinkSocket& nl, Transaction& tx, const std::vector<netlink::Rule>& wanted,
                           std::uint8_t protocol);
  // Something may have removed them (a device went down, one was deleted).
  void routes_changed() { routes_dirty_ = true; }
  void rules_changed() { rules_dirty_ = true; }

  // Removes every route of `table`, every rule, under `protocol` (one no
  // longer in use), going on past a failure; the error names each route or
  // rule that stayed, and a dump that failed.
  static Result<void> remove_routes(netlink::NetlinkSocket& nl, std::uint8_t protocol, std::uint32_t table);
  static Result<void> remove_rules(netlink::NetlinkSocket& nl, std::uint8_t protocol);

 private:
  std::vector<netlink::Route> applied_routes_;
  std::vector<netlink::Rule> applied_rules_;
  bool routes_dirty_ = true;
  bool rules_dirty_ = true;
};

}  // namespace joincast::daemon::routing::kernel
