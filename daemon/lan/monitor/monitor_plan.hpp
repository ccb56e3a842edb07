// monitor_plan.hpp — what the [[monitor]] entries mean on the interfaces
// that exist now: one binding per (interface, group, port) with the
// interface's own address and MAC for the NTP rewrite, and the groups that
// must wait (an interface that is not there yet, an RFC 6034 group of an
// interface without an IPv4 address). A pure function of the configuration
// and the interface table, so the derivation rules are tested without a
// network; the module applies the difference to the kernel.
#pragma once

#include "common/ip_address.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/lan/monitor/monitor_config.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace joincast::daemon::lan::monitor {

struct Binding {
  std::size_t entry = 0;  // index in MonitorSection::entries
  std::string interface;
  int ifindex = 0;
  IpAddress group;
  std::uint16_t port = 0;
  bool derived = false;  // the group came from the interface's subnet (RFC 6034)
  // For the rewrite: the interface's unicast address of the group's family
  // (empty when it has none) and its MAC.
  IpAddress local;
  std::array<std::uint8_t, 6> mac{};

  auto key() const { return std::tie(ifindex, group, port); }
};

struct PendingGroup {
  std::size_t entry = 0;
  std::string interface;
  std::string group;  // as configured
  std::string reason;
};

struct MonitorPlan {
  std::vector<Binding> bindings;
  std::vector<PendingGroup> pending;
};

// RFC 6034: 234.0.0.0/8 followed by a /24 (or shorter) IPv4 unicast prefix.
// A longer prefix gets the group of the /24 it lies in.
IpAddress rfc6034_group(const IpAddress& unicast_v4);

MonitorPlan plan_monitor(const MonitorSection& config, const core::InterfaceTable& interfaces);

}  // namespace joincast::daemon::lan::monitor
