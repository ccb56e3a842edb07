// daemon_config.cpp — see daemon_config.hpp.
#include "daemon/core/daemon_config.hpp"

#include "daemon/core/log.hpp"
#include "daemon/core/metrics.hpp"

namespace joincast::daemon::core {

void parse_daemon_section(ConfigReader& r, const toml::table& root, DaemonSection& d) {
  const std::string path = "daemon";
  const toml::table& t = *r.table(root, "daemon", "");
  r.only_keys(t, path, {"state_dir", "control_socket", "control_group", "control_mode", "log_level"});
  d.state_dir = r.string(t, "state_dir", path, d.state_dir);
  d.control_socket = r.string(t, "control_socket", path, d.control_socket);
  d.control_group = r.string(t, "control_group", path, d.control_group);
  d.control_mode = static_cast<unsigned>(r.integer(t, "control_mode", path, d.control_mode, 0, 0777));
  d.log_level = r.string(t, "log_level", path, d.log_level);
  log::Level ignored;
  if (!log::parse_level(d.log_level, ignored))
    r.error(t.get("log_level"), "daemon.log_level", "must be one of debug, info, notice, warning, error");
}

void parse_metrics_section(ConfigReader& r, const toml::table& root, MetricsSection& m) {
  const std::string path = "metrics";
  const toml::table& t = *r.table(root, "metrics", "");
  r.only_keys(t, path, {"listen"});
  m.listen = r.string(t, "listen", path, m.listen);
  boost::asio::ip::tcp::endpoint ignored;
  if (!m.listen.empty() && !parse_endpoint(m.listen, ignored))
    r.error(t.get("listen"), "metrics.listen", "must be \"address:port\", e.g. \"127.0.0.1:9185\" or \"[::1]:9185\"");
}

}  // namespace joincast::daemon::core
