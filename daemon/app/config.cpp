// config.cpp — TOML to Config, section by section.
#include "daemon/app/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace joincast::daemon::app {

ConfigResult parse_config(std::string_view text, const std::string& path) {
  ConfigResult result;
  result.config.path = path;
  core::ConfigReader reader(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    reader.error(e.source(), "", std::string(e.description()));
    result.errors = reader.errors();
    return result;
  }
  reader.only_keys(root, "", {"daemon", "membership", "metrics", "proxy", "routing", "address_plan", "http", "directory", "dvb",
                            "sessions", "policy", "monitor", "ssdp", "mdns"});
  core::parse_daemon_section(reader, root, result.config.daemon);
  parse_membership_section(reader, root, result.config.membership);
  core::parse_metrics_section(reader, root, result.config.metrics);
  parse_proxy_section(reader, root, result.config.membership, result.config.proxy);
  routing::parse_routing(reader, root, result.config.routing);
  lan::ssdp::parse_ssdp_section(reader, root, result.config.ssdp);
  lan::ssdp::check_on_demand(reader, root, result.config.ssdp, result.config.membership.interfaces);
  parse_media_sections(reader, root, result.config.daemon, result.config.media);
  lan::monitor::parse_monitor_section(reader, root, result.config.monitor);
  lan::mdns::parse_mdns_section(reader, root, result.config.mdns);
  result.errors = reader.errors();
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult result;
    result.errors.push_back({path, 0, 0, "", "cannot be read: " + std::string(std::strerror(errno))});
    return result;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), path);
}

}  // namespace joincast::daemon::app
