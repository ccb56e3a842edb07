// mroute_family.cpp — see mroute_family.hpp.
#include "daemon/routing/kernel/mroute_family.hpp"

#include "netlink/mfc.hpp"

namespace joincast::daemon::routing::kernel {


const char* entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::route: return "route";
    case EntryKind::dynamic: return "dynamic";
    default: return "stop";
  }
}

std::vector<IpAddress> report_groups(int family) {
  if (family == AF_INET) return {*IpAddress::parse("224.0.0.22"), *IpAddress::parse("224.0.0.2")};
  return {*IpAddress::parse("ff02::16"), *IpAddress::parse("ff02::2")};
}

MrouteFamily::~MrouteFamily() {
  // The socket owns the descriptor; the watch only borrowed it.
  if (watch) watch->release();
}

std::optional<InstalledEntry> MrouteFamily::entry(int iif, const OifMap& oifs, EntryKind kind, std::string origin) const {
  auto iif_vif = vifs.index_of(iif);
  if (!iif_vif) return std::nullopt;
  InstalledEntry e;
  e.iif = iif;
  e.iif_vif = *iif_vif;
  e.kind = kind;
  e.origin = std::move(origin);
  for (const auto& [ifindex, ttl] : oifs) {
    auto v = vifs.index_of(ifindex);
    if (!v) continue;
    e.ttls[*v] = ttl ? ttl : 1;
    e.oifs[ifindex] = ttl;
  }
  return e;
}

Result<void> MrouteFamily::write(netlink::NetlinkSocket& nl, std::uint32_t table, const MfcKey& key,
                                 const InstalledEntry& e) {
  if (family == AF_INET && netlink::netlink_can_write(e.ttls)) {
    auto m = netlink::new_mfc4(table, key.source, key.group, e.iif, e.ttls);
    return nl.request(m);
  }
  return socket->add_mfc(key.source, key.group, e.iif_vif, e.ttls);
}

Result<void> MrouteFamily::erase(netlink::NetlinkSocket& nl, std::uint32_t table, const MfcKey& key) {
  if (family == AF_INET) {
    auto m = netlink::del_mfc4(table, key.source, key.group);
    return nl.request(m);
  }
  return socket->del_mfc(key.source, key.group);
}

Result<void> MrouteFamily::open(std::uint32_t table) {
  auto s = netlink::MrouteSocket::open(family, table);
  if (!s) return s.error();
  socket = std::move(s.value());
  return success();
}

void MrouteFamily::close() {
  if (!socket) return;
  if (watch) {
    watch->release();
    watch.reset();
  }
  socket.reset();
  vifs.clear();
  installed.clear();
  dynamic.clear();
  report_joins.clear();
}

}  // namespace joincast::daemon::routing::kernel
