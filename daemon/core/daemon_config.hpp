// daemon_config.hpp — the [daemon] and [metrics] sections: where the daemon
// keeps its state and control socket, how much it logs, where metrics are
// served. docs/configuration.md documents every key.
#pragma once

#include "daemon/core/config_reader.hpp"

#include <string>

namespace joincast::daemon::core {

struct DaemonSection {
  std::string state_dir = "/var/lib/joincast";
  std::string control_socket = "/run/joincast/control.sock";
  std::string control_group;      // group owning the control socket, empty: root's
  unsigned control_mode = 0660;
  std::string log_level = "info";
};

struct MetricsSection {
  std::string listen;  // "127.0.0.1:9185"; empty: no metrics endpoint
};

void parse_daemon_section(ConfigReader& r, const toml::table& root, DaemonSection& d);
void parse_metrics_section(ConfigReader& r, const toml::table& root, MetricsSection& m);

}  // namespace joincast::daemon::core
