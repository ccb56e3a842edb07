// mdns_config.cpp — see mdns_config.hpp.
#include "daemon/lan/mdns/mdns_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace joincast::daemon::lan::mdns {

namespace {

bool service_label_ok(std::string_view l) {
  // RFC 6335 §5.1: 1-15 letters, digits and hyphens, with a letter.
  if (l.empty() || l.size() > 15 || l.front() == '-' || l.back() == '-') return false;
  bool letter = false;
  for (char c : l) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(c >= '0' && c <= '9') && c != '-') return false;
    letter = letter || alpha;
  }
  return letter;
}

bool zone_name_ok(std::string_view n) {
  if (n.empty() || n.size() > 32) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

ServiceSet parse_services(core::ConfigReader& r, const toml::table& t, const std::string& path) {
  ServiceSet s;
  if (!t.get("services")) return s;
  s.all = false;
  for (const auto& text : r.strings(t, "services", path)) {
    if (text == "all") {
      s.all = true;
      continue;
    }
    auto type = parse_service_type(text);
    if (!type) {
      r.error(t.get("services"), core::ConfigReader::join(path, "services"),
              "\"" + text + "\" is not a service type (\"_name._tcp\" or \"_name._udp\", or \"all\")");
      continue;
    }
    if (std::find(s.types.begin(), s.types.end(), *type) == s.types.end()) s.types.push_back(*type);
  }
  if (s.all) s.types.clear();
  return s;
}

}  // namespace

bool ServiceSet::contains(const Name& service_type) const {
  if (all) return true;
  return std::any_of(types.begin(), types.end(), [&](const ServiceType& t) { return t.name == service_type; });
}

std::optional<ServiceType> parse_service_type(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.size() > 6 && text.substr(text.size() - 6) == ".local") text.remove_suffix(6);
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view service = text.substr(0, dot), proto = text.substr(dot + 1);
  if (service.size() < 2 || service[0] != '_' || !service_label_ok(service.substr(1))) return std::nullopt;
  if (proto != "_tcp" && proto != "_udp") return std::nullopt;
  return ServiceType{Name{{std::string(service), std::string(proto)}}};
}

std::optional<Name> parse_host_name(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  auto n = Name::parse(text);
  if (!n || n.value().labels.empty()) return std::nullopt;
  Name name = std::move(n).value();
  for (const auto& l : name.labels)
    if (l.empty() || l[0] == '_' || l.find(' ') != std::string::npos) return std::nullopt;
  if (!label_equal(name.labels.back(), "local")) name.labels.emplace_back("local");
  if (name.labels.size() < 2) return std::nullopt;
  return name;
}

void parse_mdns_section(core::ConfigReader& r, const toml::table& root, MdnsSection& m) {
  const toml::table* t = r.table(root, "mdns", "mdns");
  if (!t) return;
  r.only_keys(*t, "mdns", {"zone", "rule", "stateful", "query_window", "rate", "burst"});
  m.stateful = r.boolean(*t, "stateful", "mdns", true);
  m.query_window = r.positive_duration(*t, "query_window", "mdns", m.query_window);
  m.rate = static_cast<unsigned>(r.integer(*t, "rate", "mdns", m.rate, 0, 1'000'000));
  m.burst = static_cast<unsigned>(r.integer(*t, "burst", "mdns", std::max(m.burst, 2 * m.rate), 1, 1'000'000));

  auto each = [&](std::string_view key, auto&& parse) {
    const toml::node* n = t->get(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) {
      r.error(n, fmt::format("mdns.{}", key), fmt::format("must be an array of tables ([[mdns.{}]])", key));
      return;
    }
    std::size_t i = 0;
    for (const toml::node& item : *a) {
      const std::string path = fmt::format("mdns.{}[{}]", key, i++);
      if (const toml::table* e = item.as_table())
        parse(*e, path);
      else
        r.error(&item, path, "must be a table");
    }
  };

  std::map<std::string, std::string> interface_zone;  // interface → the zone that has it
  each("zone", [&](const toml::table& z, const std::string& path) {
    r.only_keys(z, path, {"name", "interfaces", "trust", "services"});
    MdnsZone zone;
    zone.origin = fmt::format("{}:{}", r.file(), z.source().begin.line);
    zone.name = r.string(z, "name", path, "");
    if (zone.name.empty())
      r.error(&z, core::ConfigReader::join(path, "name"), "is required");
    else if (!zone_name_ok(zone.name))
      r.error(z.get("name"), core::ConfigReader::join(path, "name"),
              "\"" + zone.name + "\" is not a zone name (letters, digits, '-' and '_', at most 32)");
    else if (std::any_of(m.zones.begin(), m.zones.end(), [&](const MdnsZone& o) { return o.name == zone.name; }))
      r.error(z.get("name"), core::ConfigReader::join(path, "name"), "zone \"" + zone.name + "\" is defined twice");
    zone.interfaces = r.strings(z, "interfaces", path);
    if (zone.interfaces.empty())
      r.error(z.get("interfaces") ? z.get("interfaces") : &z, core::ConfigReader::join(path, "interfaces"),
              "is required: the interfaces (VLANs, bridges) of the zone");
    for (const auto& ifname : zone.interfaces) {
      if (ifname.empty() || ifname.size() >= 16 || ifname.find('/') != std::string::npos || ifname.back() == '+') {
        r.error(z.get("interfaces"), core::ConfigReader::join(path, "interfaces"),
                "\"" + ifname + "\" is not an interface name (no wildcards here)");
        continue;
      }
      auto [it, fresh] = interface_zone.emplace(ifname, zone.name);
      if (!fresh)
        r.error(z.get("interfaces"), core::ConfigReader::join(path, "interfaces"),
                "\"" + ifname + "\" is already in zone \"" + it->second + "\" (an interface is in one zone)");
    }
    zone.trust = static_cast<int>(r.integer(z, "trust", path, 0, 0, 1000));
    zone.services = parse_services(r, z, path);
    m.zones.push_back(std::move(zone));
  });

  auto known = [&](const std::string& name) {
    return std::any_of(m.zones.begin(), m.zones.end(), [&](const MdnsZone& z) { return z.name == name; });
  };
  each("rule", [&](const toml::table& rt, const std::string& path) {
    r.only_keys(rt, path, {"from", "to", "services", "hosts"});
    MdnsRule rule;
    rule.origin = fmt::format("{}:{}", r.file(), rt.source().begin.line);
    rule.from = r.string(rt, "from", path, "");
    rule.to = r.string(rt, "to", path, "");
    for (auto [key, value] : {std::pair{"from", &rule.from}, std::pair{"to", &rule.to}}) {
      if (value->empty())
        r.error(&rt, core::ConfigReader::join(path, key), "is required: a zone name");
      else if (!known(*value))
        r.error(rt.get(key), core::ConfigReader::join(path, key), "\"" + *value + "\" is not a zone ([[mdns.zone]] name)");
    }
    if (!rule.from.empty() && rule.from == rule.to)
      r.error(rt.get("to"), core::ConfigReader::join(path, "to"), "is the same zone as from: a zone sees itself anyway");
    for (const auto& o : m.rules)
      if (o.from == rule.from && o.to == rule.to && !rule.from.empty())
        r.error(&rt, path, fmt::format("a second rule from \"{}\" to \"{}\" (the first is at {})", rule.from, rule.to,
                                       o.origin));
    rule.services = parse_services(r, rt, path);
    for (const auto& text : r.strings(rt, "hosts", path)) {
      auto h = parse_host_name(text);
      if (!h) {
        r.error(rt.get("hosts"), core::ConfigReader::join(path, "hosts"),
                "\"" + text + "\" is not a host name (\"printer\" or \"printer.local\")");
        continue;
      }
      rule.hosts.push_back(std::move(*h));
    }
    m.rules.push_back(std::move(rule));
  });
  if (!m.rules.empty() && m.zones.empty()) r.error(t, "mdns.rule", "rules need zones ([[mdns.zone]])");
}

}  // namespace joincast::daemon::lan::mdns
