// membership_json.cpp — see membership_json.hpp.
#include "daemon/membership/loader/membership_json.hpp"

#include <fmt/format.h>
#include <net/if.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

namespace joincast::daemon::membership::loader {

std::string interface_name(std::uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (::if_indextoname(ifindex, name)) return name;
  return fmt::format("if{}", ifindex);
}

std::string monotonic_to_iso(std::uint64_t t_ns, std::uint64_t now_ns) {
  using namespace std::chrono;
  auto wall = system_clock::now() - nanoseconds(static_cast<std::int64_t>(now_ns - std::min(t_ns, now_ns)));
  auto secs = system_clock::to_time_t(time_point_cast<seconds>(wall));
  auto ms = duration_cast<milliseconds>(wall.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

namespace {
double ago_s(std::uint64_t t_ns, std::uint64_t now_ns) {
  return t_ns > now_ns ? 0.0 : static_cast<double>(now_ns - t_ns) / 1e9;
}
}  // namespace

nlohmann::json groups_json(const std::vector<GroupEntry>& groups, const std::vector<ListenerEntry>& listeners,
                           std::uint64_t now_ns, bool include_empty) {
  std::map<Address16, nlohmann::json> members;
  for (const auto& l : listeners) {
    Address16 g;
    std::copy(std::begin(l.key.group), std::end(l.key.group), g.begin());
    nlohmann::json m = {
        {"interface", interface_name(l.key.ifindex)},
        {"ifindex", l.key.ifindex},
        {"host", format_address(l.key.host)},
        {"version", version_name(l.value.version)},
        {"mode", mode_name(l.value.filter_mode)},
        {"sources", l.value.sources},
        {"last_record", record_name(l.value.record_type)},
        {"first_report", monotonic_to_iso(l.value.first_report_ns, now_ns)},
        {"last_report_ago_s", ago_s(l.value.last_report_ns, now_ns)},
        {"leaving", l.value.leave_ns != 0},
    };
    if (l.value.vlan) m["vlan"] = l.value.vlan;
    members[g].push_back(std::move(m));
  }
  nlohmann::json out = nlohmann::json::array();
  std::vector<GroupEntry> sorted = groups;
  std::sort(sorted.begin(), sorted.end(), [](const GroupEntry& a, const GroupEntry& b) {
    return std::lexicographical_compare(std::begin(a.key.group), std::end(a.key.group), std::begin(b.key.group),
                                        std::end(b.key.group));
  });
  for (const auto& g : sorted) {
    if (!include_empty && g.value.listeners == 0) continue;
    Address16 key;
    std::copy(std::begin(g.key.group), std::end(g.key.group), key.begin());
    nlohmann::json list = members.count(key) ? members[key] : nlohmann::json::array();
    std::sort(list.begin(), list.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return std::tie(a["interface"], a["host"]) < std::tie(b["interface"], b["host"]);
    });
    out.push_back({
        {"group", format_address(g.key.group)},
        {"family", is_ipv4_mapped(g.key.group) ? "ipv4" : "ipv6"},
        {"listeners", g.value.listeners},
        {"first_join", monotonic_to_iso(g.value.first_join_ns, now_ns)},
        {"last_change", monotonic_to_iso(g.value.last_change_ns, now_ns)},
        {"last_change_ago_s", ago_s(g.value.last_change_ns, now_ns)},
        {"members", std::move(list)},
    });
  }
  return {{"groups", std::move(out)}};
}

nlohmann::json counters_json(const jc_counters& c) {
  return {
      {"packets", c.packets},       {"messages", c.messages},
      {"reports", c.reports},       {"queries", c.queries},
      {"records", c.records},       {"records_skipped", c.records_skipped},
      {"malformed", c.malformed},   {"truncated", c.truncated},
      {"bad_checksum", c.bad_checksum}, {"bad_source", c.bad_source},
      {"listeners_full", c.listeners_full}, {"groups_full", c.groups_full},
      {"events_lost", c.events_lost},
      {"host_quota", c.host_quota}, {"interface_quota", c.interface_quota},
  };
}

nlohmann::json event_json(const jc_event& e, std::uint64_t now_ns) {
  nlohmann::json j = {
      {"event", event_name(e.type)},
      {"time", monotonic_to_iso(e.time_ns, now_ns)},
      {"interface", interface_name(e.ifindex)},
      {"ifindex", e.ifindex},
      {"version", version_name(e.version)},
  };
  if (e.type == JC_EV_QUERY_SEEN) {
    j["querier"] = format_address(e.host);
    return j;
  }
  j["group"] = format_address(e.group);
  j["host"] = format_address(e.host);
  j["listeners"] = e.listeners;
  j["record"] = record_name(e.record_type);
  j["mode"] = mode_name(e.filter_mode);
  if (e.reason) j["reason"] = reason_name(e.reason);
  if (e.vlan) j["vlan"] = e.vlan;
  return j;
}

}  // namespace joincast::daemon::membership::loader
