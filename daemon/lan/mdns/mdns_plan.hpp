// mdns_plan.hpp — what the [mdns] zones mean on the interfaces that exist
// now: for each zone interface, whether the relay can take part in mDNS
// there over IPv4 (it has an IPv4 address to send from) and IPv6 (a
// link-local address, RFC 6762 §6 / RFC 4291), and what waits (an
// interface that is missing or down). A pure function of the configuration
// and the interface table; the module joins and leaves to match it.
#pragma once

#include "common/ip_address.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/lan/mdns/mdns_config.hpp"

#include <string>
#include <vector>

namespace joincast::daemon::lan::mdns {

struct ZoneInterface {
  std::size_t zone = 0;  // index in MdnsSection::zones
  std::string interface;
  int ifindex = 0;
  IpAddress v4;  // the interface's IPv4 address; empty: no IPv4 mDNS here
  IpAddress v6;  // its IPv6 link-local address; empty: no IPv6 mDNS here
  bool operator==(const ZoneInterface&) const = default;
};

struct PendingInterface {
  std::size_t zone = 0;
  std::string interface;
  std::string reason;
};

struct MdnsPlan {
  std::vector<ZoneInterface> interfaces;
  std::vector<PendingInterface> pending;
  // The zone of an interface in force, or -1.
  int zone_of(int ifindex) const;
};

MdnsPlan plan_mdns(const MdnsSection& config, const core::InterfaceTable& interfaces);

}  // namespace joincast::daemon::lan::mdns
