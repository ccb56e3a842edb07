// monitor_config.hpp — the [[monitor]] entries of joincast.toml: which
// monitoring traffic (NTP requests, syslog, SNMP traps, or any UDP port)
// switches send to which multicast groups on which interfaces, and who may
// send it. docs/configuration.md documents every key; docs/monitoring.md
// shows the management-VLAN setup.
#pragma once

#include "common/ip_address.hpp"
#include "daemon/core/config_reader.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace joincast::daemon::lan::monitor {

// A group as configured: an address, or derived from the interface.
struct GroupSpec {
  enum class Kind {
    address,  // as written
    rfc6034,  // 234.a.b.c from the interface's IPv4 /24 (RFC 6034)
  };
  Kind kind = Kind::address;
  IpAddress address;  // Kind::address
  std::string describe() const;  // "234.192.168.0" or "rfc6034"
  bool operator==(const GroupSpec&) const = default;
};

struct MonitorEntry {
  std::string service;                  // "ntp", "syslog", "snmp-trap", or "udp"
  std::uint16_t port = 0;               // UDP destination port
  std::vector<std::string> interfaces;  // where the traffic arrives
  std::vector<GroupSpec> groups;        // at least one
  std::vector<IpPrefix> senders;        // empty: anyone on the interface
  // Rewrite the destination to the interface's own unicast address before
  // the IP stack sees it (so an NTP server answers). Default: ntp only.
  bool rewrite = false;
  std::string origin;                   // "joincast.toml:12"
  bool operator==(const MonitorEntry&) const = default;
};

struct MonitorSection {
  std::vector<MonitorEntry> entries;
  bool operator==(const MonitorSection&) const = default;
};

// The well-known port of a service name, 0 if it has none.
std::uint16_t service_port(std::string_view service);

void parse_monitor_section(core::ConfigReader& r, const toml::table& root, MonitorSection& m);

}  // namespace joincast::daemon::lan::monitor
