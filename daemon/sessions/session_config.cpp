// session_config.cpp — see session_config.hpp.
#include "daemon/sessions/session_config.hpp"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace joincast::daemon::sessions {

void parse_sessions(core::ConfigReader& r, const toml::table& root, SessionsSection& s) {
  const std::string path = "sessions";
  const toml::table& t = *r.table(root, "sessions", "");
  r.only_keys(t, path,
              {"interface", "source_address", "hop_limit", "grace", "max_sessions", "limits", "retry_initial",
               "retry_max", "start_timeout", "sap_interval", "sap_well_known", "sap_well_known_floor", "threads", "route", "rtcp_receivers",
               "rtcp_receivers_total"});
  s.interface = r.string(t, "interface", path, s.interface);
  if (!s.interface.empty() && (s.interface.size() >= 16 || s.interface.find('/') != std::string::npos))
    r.error(t.get("interface"), "sessions.interface", "\"" + s.interface + "\" is not a valid interface name");
  s.source_address = r.string(t, "source_address", path, s.source_address);
  if (!s.source_address.empty()) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(s.source_address, ec);
    if (ec || a.is_multicast() || a.is_unspecified())
      r.error(t.get("source_address"), "sessions.source_address", "must be a unicast address of this host");
  }
  s.hop_limit = static_cast<unsigned>(r.integer(t, "hop_limit", path, s.hop_limit, 1, 255));
  s.grace = r.duration(t, "grace", path, s.grace);
  s.max_sessions = static_cast<unsigned>(r.integer(t, "max_sessions", path, s.max_sessions, 1, 100000));
  const toml::table& limits = *r.table(t, "limits", path);
  for (const auto& [key, node] : limits) {
    auto v = node.value_exact<std::int64_t>();
    if (!v || *v < 0 || *v > 100000)
      r.error(&node, "sessions.limits." + std::string(key.str()), "must be a number of sessions (0..100000)");
    else
      s.limits[std::string(key.str())] = static_cast<unsigned>(*v);
  }
  s.retry_initial = r.duration(t, "retry_initial", path, s.retry_initial);
  s.retry_max = r.duration(t, "retry_max", path, s.retry_max);
  if (s.retry_initial.count() <= 0 || s.retry_max < s.retry_initial)
    r.error(t.get("retry_max"), "sessions.retry_max", "must be at least retry_initial, which must be positive");
  s.start_timeout = r.positive_duration(t, "start_timeout", path, s.start_timeout);
  s.rtcp_receivers = static_cast<std::size_t>(r.integer(t, "rtcp_receivers", path, static_cast<std::int64_t>(s.rtcp_receivers), 1, 100000));
  s.rtcp_receivers_total = static_cast<std::size_t>(
      r.integer(t, "rtcp_receivers_total", path, static_cast<std::int64_t>(s.rtcp_receivers_total), 1, 10000000));
  s.sap_interval = r.duration(t, "sap_interval", path, s.sap_interval);
  if (s.sap_interval < std::chrono::milliseconds(100))
    r.error(t.get("sap_interval"), "sessions.sap_interval", "must be at least 100ms");
  s.sap_well_known = r.boolean(t, "sap_well_known", path, s.sap_well_known);
  s.sap_well_known_floor = r.duration(t, "sap_well_known_floor", path, s.sap_well_known_floor);
  if (s.sap_well_known_floor < std::chrono::seconds(1) || s.sap_well_known_floor > std::chrono::hours(24))
    r.error(t.get("sap_well_known_floor"), "sessions.sap_well_known_floor",
            "must be between 1s and 24h (RFC 2974 §3.1 says 300s)");
  s.threads = static_cast<unsigned>(r.integer(t, "threads", path, s.threads, 0, 64));
  s.route = r.boolean(t, "route", path, s.route);

  if (const toml::node* n = root.get("policy")) {
    const toml::array* list = n->as_array();
    if (!list) {
      r.error(n, "policy", "must be an array of tables ([[policy]])");
      return;
    }
    for (const toml::node& item : *list) {
      const toml::table* p = item.as_table();
      if (!p) {
        r.error(&item, "policy", "must be a table");
        continue;
      }
      r.only_keys(*p, "policy", {"interfaces", "allow"});
      PolicyRule rule;
      rule.interfaces = r.strings(*p, "interfaces", "policy");
      std::vector<std::string> allow = r.strings(*p, "allow", "policy");
      rule.origin = fmt::format("{}:{}", r.file(), p->source().begin.line);
      if (rule.interfaces.empty()) r.error(p, "policy.interfaces", "a policy names at least one interface");
      for (const auto& a : allow) {
        auto parsed = parse_allow(a);
        if (!parsed) r.error(p->get("allow"), "policy.allow", parsed.error().message());
        else rule.allow.push_back(std::move(parsed).value());
      }
      s.policies.push_back(std::move(rule));
    }
  }
}

}  // namespace joincast::daemon::sessions
