// interface_table.hpp — the interfaces and addresses of the network
// namespace as the kernel last described them (RTM_NEWLINK/DELLINK,
// RTM_NEWADDR/DELADDR, from a dump or live events). Routing decisions are
// made against this table, so an interface that is missing is simply
// absent here and its routes wait; apply() says whether anything that
// matters changed, so a burst of events makes one reconcile.
#pragma once

#include "netlink/address.hpp"
#include "netlink/link.hpp"
#include "netlink/socket.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::daemon::core {

// True if `name` matches `pattern`, where a trailing '+' matches any
// suffix ("eth+" matches "eth0" and "eth10", smcroute's wildcard).
bool interface_matches(std::string_view pattern, std::string_view name);
bool is_interface_wildcard(std::string_view pattern);

class InterfaceTable {
 public:
  // Applies a link message; true if the interface appeared, went, was
  // renamed, changed its up/multicast flags, master or bridge settings.
  bool apply(const netlink::Link& link);
  // Applies an address message; true if the address set changed.
  bool apply(const netlink::InterfaceAddress& address);
  void clear();
  // Replaces the table's contents with a dump of the links and addresses.
  netlink::Result<void> read(netlink::NetlinkSocket& nl);

  const netlink::Link* find(int ifindex) const;
  const netlink::Link* find(std::string_view name) const;
  std::optional<int> ifindex(std::string_view name) const;
  std::string name(int ifindex) const;  // "if<N>" when unknown
  // Interfaces whose name matches `pattern` (a name or "eth+"), by index.
  std::vector<const netlink::Link*> matching(std::string_view pattern) const;
  const std::vector<netlink::InterfaceAddress>& addresses(int ifindex) const;
  const std::map<int, netlink::Link>& links() const { return links_; }

 private:
  std::map<int, netlink::Link> links_;
  std::map<int, std::vector<netlink::InterfaceAddress>> addresses_;
};

}  // namespace joincast::daemon::core
