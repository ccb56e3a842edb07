// mroute_family.hpp — one address family's multicast routing table as
// joincastd holds it: the mroute socket, the VIFs/MIFs it created, the
// (S,G) entries it wrote (configured, resolved from an upcall, or stop
// filters), the (S,G)s learned from upcalls and the report groups the
// membership tap joined. Writes go over rtnetlink for IPv4 when the kernel
// can take them that way (see netlink_can_write) and by socket option
// otherwise; closing the socket flushes the table.
#pragma once

#include "common/result.hpp"
#include "daemon/routing/kernel/mfc_key.hpp"
#include "netlink/mroute_socket.hpp"
#include "netlink/socket.hpp"
#include "netlink/vif_table.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::routing::kernel {

enum class EntryKind { route, dynamic, stop };
const char* entry_kind_name(EntryKind kind);

// An MFC entry as written to the kernel.
struct InstalledEntry {
  int iif = 0;
  unsigned iif_vif = 0;
  netlink::VifTtls ttls{};
  OifMap oifs;
  EntryKind kind = EntryKind::route;
  std::string origin;
  bool same_in_kernel(const InstalledEntry& o) const { return iif_vif == o.iif_vif && ttls == o.ttls; }
};

// An (S,G) learned from an upcall.
struct DynamicEntry {
  int iif = 0;
  bool stop = false;  // no template matched: a stop filter, as smcroute installs
  std::chrono::steady_clock::time_point since;
};

// The groups IGMPv3/MLDv2 reports and IGMPv2 leaves / MLDv1 dones go to
// (RFC 3376 §4.2.14, RFC 3810 §5.2.14, RFC 2236 §3, RFC 2710 §5).
std::vector<IpAddress> report_groups(int family);

class MrouteFamily {
 public:
  explicit MrouteFamily(int address_family) : family(address_family) {}
  MrouteFamily(const MrouteFamily&) = delete;
  MrouteFamily& operator=(const MrouteFamily&) = delete;
  ~MrouteFamily();

  // The entry for traffic from `iif` to `oifs` with the VIFs as they are
  // now; outputs without a VIF are left out. Nullopt if `iif` has none.
  std::optional<InstalledEntry> entry(int iif, const OifMap& oifs, EntryKind kind, std::string origin) const;
  Result<void> write(netlink::NetlinkSocket& nl, std::uint32_t table, const MfcKey& key, const InstalledEntry& entry);
  Result<void> erase(netlink::NetlinkSocket& nl, std::uint32_t table, const MfcKey& key);
  // Opens the mroute socket of `table` (EADDRINUSE: another daemon owns it).
  Result<void> open(std::uint32_t table);
  // Closes it, which flushes the table's VIFs and MFC entries at once.
  void close();

  const int family;
  std::optional<netlink::MrouteSocket> socket;
  std::unique_ptr<boost::asio::posix::stream_descriptor> watch;
  netlink::VifTable vifs;
  std::map<MfcKey, InstalledEntry> installed;
  std::map<MfcKey, DynamicEntry> dynamic;
  std::map<int, int> report_joins;  // ifindex -> report groups joined (membership tap)
  std::string socket_error;
};

}  // namespace joincast::daemon::routing::kernel
