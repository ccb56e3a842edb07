// monitor_config.cpp — see monitor_config.hpp.
#include "daemon/lan/monitor/monitor_config.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::lan::monitor {

namespace {

struct Service {
  std::string_view name;
  std::uint16_t port;
  // The groups an entry gets when it names none.
  std::vector<std::string_view> groups;
};

const std::vector<Service>& services() {
  // NTP: 224.0.1.1 (RFC 5905 §7.3's IPv4 group) and ff05::101, site-local
  // "all NTP servers". Syslog and traps have no group of their own: the
  // management subnet's RFC 6034 group, as the field notes use.
  static const std::vector<Service> list = {
      {"ntp", 123, {"224.0.1.1", "ff05::101"}},
      {"syslog", 514, {"rfc6034"}},
      {"snmp-trap", 162, {"rfc6034"}},
      {"udp", 0, {}},
  };
  return list;
}

std::string names() {
  std::string out;
  for (const auto& s : services()) out += (out.empty() ? "\"" : ", \"") + std::string(s.name) + "\"";
  return out;
}

std::optional<GroupSpec> parse_group(std::string_view text) {
  if (text == "rfc6034") return GroupSpec{GroupSpec::Kind::rfc6034, {}};
  auto a = IpAddress::parse(text);
  if (!a || !a->is_multicast()) return std::nullopt;
  return GroupSpec{GroupSpec::Kind::address, *a};
}

void parse_entry(core::ConfigReader& r, const toml::table& t, const std::string& path, MonitorEntry& e) {
  r.only_keys(t, path, {"service", "port", "interfaces", "groups", "senders", "rewrite"});
  e.origin = fmt::format("{}:{}", r.file(), t.source().begin.line);
  e.service = r.string(t, "service", path, "");
  auto known = std::find_if(services().begin(), services().end(), [&](const Service& s) { return s.name == e.service; });
  if (e.service.empty()) {
    r.error(&t, core::ConfigReader::join(path, "service"), "is required: one of " + names());
    return;
  }
  if (known == services().end()) {
    r.error(t.get("service"), core::ConfigReader::join(path, "service"),
            "\"" + e.service + "\" is not a service joincast knows; one of " + names() +
                " (\"udp\" with a port for any other)");
    return;
  }
  e.port = static_cast<std::uint16_t>(r.integer(t, "port", path, known->port, 0, 65535));
  if (e.port == 0)
    r.error(t.get("port") ? t.get("port") : &t, core::ConfigReader::join(path, "port"),
            "is required for service \"udp\" (1-65535)");

  e.interfaces = r.strings(t, "interfaces", path);
  if (e.interfaces.empty()) r.error(t.get("interfaces") ? t.get("interfaces") : &t, core::ConfigReader::join(path, "interfaces"),
                                    "is required: the interfaces the switches' traffic arrives on");
  for (const auto& name : e.interfaces)
    if (name.empty() || name.size() >= 16 || name.find('/') != std::string::npos || name.back() == '+')
      r.error(t.get("interfaces"), core::ConfigReader::join(path, "interfaces"),
              "\"" + name + "\" is not an interface name (no wildcards here)");

  std::vector<std::string> groups = r.strings(t, "groups", path);
  if (!t.get("groups"))
    for (auto g : known->groups) groups.emplace_back(g);
  if (groups.empty())
    r.error(t.get("groups") ? t.get("groups") : &t, core::ConfigReader::join(path, "groups"),
            "is required for service \"udp\": multicast addresses, or \"rfc6034\"");
  for (const auto& text : groups) {
    auto g = parse_group(text);
    if (!g) {
      r.error(t.get("groups"), core::ConfigReader::join(path, "groups"),
              "\"" + text + "\" is neither a multicast address nor \"rfc6034\"");
      continue;
    }
    if (g->kind == GroupSpec::Kind::address && g->address.is_v6() && (g->address.data()[1] & 0x0f) <= 1)
      r.error(t.get("groups"), core::ConfigReader::join(path, "groups"), "\"" + text + "\" is interface-local: nothing arrives there");
    if (std::find(e.groups.begin(), e.groups.end(), *g) == e.groups.end()) e.groups.push_back(*g);
  }

  for (const auto& text : r.strings(t, "senders", path)) {
    auto p = IpPrefix::parse(text);
    if (!p || p->address().is_multicast()) {
      r.error(t.get("senders"), core::ConfigReader::join(path, "senders"),
              "\"" + text + "\" is not a unicast address or subnet (a.b.c.d, a.b.c.d/len, x::y/len)");
      continue;
    }
    e.senders.push_back(*p);
  }
  e.rewrite = r.boolean(t, "rewrite", path, e.service == "ntp");
}

}  // namespace

std::uint16_t service_port(std::string_view service) {
  for (const auto& s : services())
    if (s.name == service) return s.port;
  return 0;
}

std::string GroupSpec::describe() const { return kind == Kind::rfc6034 ? "rfc6034" : address.to_string(); }

void parse_monitor_section(core::ConfigReader& r, const toml::table& root, MonitorSection& m) {
  const toml::node* n = root.get("monitor");
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a) {
    r.error(n, "monitor", "must be an array of tables ([[monitor]])");
    return;
  }
  std::size_t i = 0;
  for (const toml::node& item : *a) {
    const std::string path = fmt::format("monitor[{}]", i++);
    const toml::table* t = item.as_table();
    if (!t) {
      r.error(&item, path, "must be a table");
      continue;
    }
    MonitorEntry e;
    parse_entry(r, *t, path, e);
    m.entries.push_back(std::move(e));
  }
  // Two entries for the same (interface, group, port) would count each
  // datagram once, under whichever came first: say so instead.
  for (std::size_t x = 0; x < m.entries.size(); ++x)
    for (std::size_t y = x + 1; y < m.entries.size(); ++y) {
      const MonitorEntry& a1 = m.entries[x];
      const MonitorEntry& b1 = m.entries[y];
      if (a1.port != b1.port) continue;
      for (const auto& ifa : a1.interfaces)
        for (const auto& g : a1.groups)
          if (std::count(b1.interfaces.begin(), b1.interfaces.end(), ifa) &&
              std::count(b1.groups.begin(), b1.groups.end(), g))
            r.add({r.file(), 0, 0, fmt::format("monitor[{}]", y),
                   fmt::format("{} port {} on {} is already monitor[{}] ({})", g.describe(), b1.port, ifa, x,
                               a1.origin)});
    }
}

}  // namespace joincast::daemon::lan::monitor
