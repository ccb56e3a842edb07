// membership_config.cpp — see membership_config.hpp.
#include "daemon/membership/membership_config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::membership {

namespace {

void parse_timers(core::ConfigReader& r, const toml::table& parent, MembershipTimers& tm) {
  const std::string path = "membership.timers";
  const toml::table& t = *r.table(parent, "timers", "membership");
  r.only_keys(t, path,
              {"robustness", "query_interval", "query_response_interval", "last_listener_query_interval",
               "last_listener_query_count", "startup_query_interval", "startup_query_count", "listener_interval",
               "other_querier_timeout", "aging_period", "empty_group_retention"});
  tm.robustness = static_cast<unsigned>(r.integer(t, "robustness", path, tm.robustness, 1, 7));
  tm.query_interval = r.positive_duration(t, "query_interval", path, tm.query_interval);
  tm.query_response_interval = r.positive_duration(t, "query_response_interval", path, tm.query_response_interval);
  tm.last_listener_query_interval =
      r.positive_duration(t, "last_listener_query_interval", path, tm.last_listener_query_interval);
  tm.last_listener_query_count =
      static_cast<unsigned>(r.integer(t, "last_listener_query_count", path, tm.robustness, 1, 7));
  tm.startup_query_interval = r.positive_duration(t, "startup_query_interval", path, tm.query_interval / 4);
  tm.startup_query_count = static_cast<unsigned>(r.integer(t, "startup_query_count", path, tm.robustness, 0, 7));
  tm.listener_interval =
      r.positive_duration(t, "listener_interval", path, tm.robustness * tm.query_interval + tm.query_response_interval);
  tm.other_querier_timeout = r.positive_duration(t, "other_querier_timeout", path,
                                        tm.robustness * tm.query_interval + tm.query_response_interval / 2);
  tm.aging_period = r.positive_duration(t, "aging_period", path, tm.aging_period);
  tm.empty_group_retention = r.duration(t, "empty_group_retention", path, tm.empty_group_retention);

  if (tm.query_response_interval >= tm.query_interval)
    r.error(t.get("query_response_interval"), path + ".query_response_interval",
            "must be shorter than query_interval (RFC 3810 §9.3)");
  // The Maximum Response Code is 16 bits of milliseconds in MLDv2 with a
  // floating-point form up to about 8.4 million ms; IGMPv3's is 1/10 s in
  // 8 bits with a float form up to 3174.4 s.
  if (tm.query_response_interval > milliseconds(3'174'400))
    r.error(t.get("query_response_interval"), path + ".query_response_interval",
            "cannot be encoded in an IGMPv3 query (at most 3174.4s)");
}

}  // namespace

void parse_membership_section(core::ConfigReader& r, const toml::table& root, MembershipSection& m) {
  const std::string path = "membership";
  const toml::table& t = *r.table(root, "membership", "");
  r.only_keys(t, path,
              {"interfaces", "bpf_pin_root", "backend", "track_link_local", "verify_checksum", "querier",
               "query_ipv4", "query_ipv6", "timers", "max_listeners", "max_groups", "max_groups_per_host",
               "max_groups_per_interface", "event_buffer"});
  m.interfaces = r.strings(t, "interfaces", path);
  for (const auto& name : m.interfaces) {
    if (name.empty() || name.size() >= 16 || name.find('/') != std::string::npos)
      r.error(t.get("interfaces"), path + ".interfaces", fmt::format("\"{}\" is not a valid interface name", name));
  }
  m.bpf_pin_root = r.string(t, "bpf_pin_root", path, m.bpf_pin_root);
  if (m.bpf_pin_root.empty() || m.bpf_pin_root.front() != '/')
    r.error(t.get("bpf_pin_root"), path + ".bpf_pin_root", "must be an absolute path");
  std::string backend = r.string(t, "backend", path, "auto");
  if (backend == "auto") m.backend = MembershipSection::Backend::automatic;
  else if (backend == "bpf") m.backend = MembershipSection::Backend::bpf;
  else if (backend == "socket") m.backend = MembershipSection::Backend::socket;
  else r.error(t.get("backend"), path + ".backend", "must be \"auto\", \"bpf\" or \"socket\"");
  m.track_link_local = r.boolean(t, "track_link_local", path, m.track_link_local);
  m.verify_checksum = r.boolean(t, "verify_checksum", path, m.verify_checksum);
  m.max_listeners = static_cast<unsigned>(r.integer(t, "max_listeners", path, m.max_listeners, 16, 1 << 22));
  m.max_groups = static_cast<unsigned>(r.integer(t, "max_groups", path, m.max_groups, 16, 1 << 20));
  m.max_groups_per_host =
      static_cast<unsigned>(r.integer(t, "max_groups_per_host", path, m.max_groups_per_host, 0, 1 << 22));
  m.max_groups_per_interface =
      static_cast<unsigned>(r.integer(t, "max_groups_per_interface", path, m.max_groups_per_interface, 0, 1 << 22));
  m.event_buffer = static_cast<unsigned>(r.integer(t, "event_buffer", path, m.event_buffer, 4096, 64 << 20));
  if (m.event_buffer & (m.event_buffer - 1))
    r.error(t.get("event_buffer"), path + ".event_buffer", "must be a power of two (4096, 8192, ... bytes)");
  m.querier = r.boolean(t, "querier", path, m.querier);
  m.query_ipv4 = r.boolean(t, "query_ipv4", path, m.query_ipv4);
  m.query_ipv6 = r.boolean(t, "query_ipv6", path, m.query_ipv6);
  parse_timers(r, t, m.timers);
}

void parse_proxy_section(core::ConfigReader& r, const toml::table& root, const MembershipSection& membership, ProxySection& p) {
  const std::string path = "proxy";
  const toml::table& t = *r.table(root, "proxy", "");
  r.only_keys(t, path, {"upstream"});
  p.upstream = r.string(t, "upstream", path, p.upstream);
  if (p.upstream.empty()) return;
  if (p.upstream.size() >= 16 || p.upstream.find('/') != std::string::npos)
    r.error(t.get("upstream"), "proxy.upstream", "\"" + p.upstream + "\" is not a valid interface name");
  // RFC 4605 §4: a proxy neither counts listeners nor queries upstream.
  if (std::find(membership.interfaces.begin(), membership.interfaces.end(), p.upstream) != membership.interfaces.end())
    r.error(t.get("upstream"), "proxy.upstream",
            "\"" + p.upstream + "\" is also in membership.interfaces; the upstream interface must not be");
}

const char* backend_name(MembershipSection::Backend b) {
  switch (b) {
    case MembershipSection::Backend::automatic: return "auto";
    case MembershipSection::Backend::bpf: return "bpf";
    case MembershipSection::Backend::socket: return "socket";
  }
  return "?";
}

}  // namespace joincast::daemon::membership
