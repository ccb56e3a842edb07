// config.hpp — joincastd's whole configuration, read from TOML
// (/etc/joincast/joincast.toml by default). docs/configuration.md documents
// every key. Each module owns its section's struct and parse function; this
// file puts them together, and parse() collects every error with file, line
// and key.
#pragma once

#include "daemon/app/media_sections.hpp"
#include "daemon/core/config_reader.hpp"
#include "daemon/core/daemon_config.hpp"
#include "daemon/lan/mdns/mdns_config.hpp"
#include "daemon/lan/monitor/monitor_config.hpp"
#include "daemon/lan/ssdp/ssdp_config.hpp"
#include "daemon/membership/membership_config.hpp"
#include "daemon/routing/routing_config.hpp"

#include <boost/outcome/std_result.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace joincast::daemon::app {

struct Config {
  std::string path;
  core::DaemonSection daemon;
  membership::MembershipSection membership;
  core::MetricsSection metrics;
  membership::ProxySection proxy;
  routing::RoutingSection routing;
  lan::ssdp::SsdpSection ssdp;
  lan::monitor::MonitorSection monitor;  // [[monitor]]
  lan::mdns::MdnsSection mdns;           // [mdns]
  MediaSections media;                   // sessions and catalogue; none in a routing-only build
};

// Reads and validates a config file; on failure returns every error.
struct ConfigResult {
  Config config;
  std::vector<core::ConfigError> errors;
  bool ok() const { return errors.empty(); }
};
ConfigResult load_config(const std::string& path);
ConfigResult parse_config(std::string_view text, const std::string& path);

}  // namespace joincast::daemon::app
