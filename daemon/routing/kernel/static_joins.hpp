// static_joins.hpp — group memberships the routing configuration asks for
// (smcroute's `mgroup`, [[routing.join]]): the kernel then sends the IGMP
// or MLD reports that make upstream switches and routers deliver the
// group. Joins are held on plain UDP sockets, each naming its interface;
// Linux allows only so many per socket (net.ipv4.igmp_max_memberships,
// default 20), so another socket is opened when one says ENOBUFS.
#pragma once

#include "common/result.hpp"
#include "common/ip_address.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/kernel/transaction.hpp"

#include <optional>
#include <string>
#include <tuple>

#include <map>
#include <set>
#include <vector>

namespace joincast::daemon::routing::kernel {

// One membership: ASM, or SSM with a source.
struct PlannedJoin {
  int ifindex = 0;
  std::optional<IpAddress> source;
  IpAddress group;
  std::string origin;
  auto key() const { return std::tie(ifindex, source, group); }
  bool operator<(const PlannedJoin& o) const { return key() < o.key(); }
  bool operator==(const PlannedJoin& o) const { return key() == o.key(); }
};

class StaticJoins {
 public:
  StaticJoins() = default;
  StaticJoins(const StaticJoins&) = delete;
  StaticJoins& operator=(const StaticJoins&) = delete;
  ~StaticJoins();

  // Makes the memberships be `wanted`, leaving the others.
  Result<void> apply(const std::set<PlannedJoin>& wanted, Transaction& tx, const core::InterfaceTable& interfaces);
  // Joins (ASM, or SSM with a source); joined already is success.
  Result<void> join(const PlannedJoin& j);
  // Leaves; a membership the kernel dropped with its device is success.
  Result<void> leave(const PlannedJoin& j);
  // The device is gone and the kernel dropped its memberships.
  void forget_interface(int ifindex);
  std::vector<PlannedJoin> joined() const;
  void clear();

 private:
  struct Socket {
    int fd = -1;
    int family = AF_UNSPEC;
    std::size_t members = 0;
    bool full = false;  // said ENOBUFS once: use another
  };
  Result<int> socket_for(int family);
  void release(int fd);

  std::vector<Socket> sockets_;
  std::map<PlannedJoin, int> joined_;  // -> fd
};

}  // namespace joincast::daemon::routing::kernel
