// ssdp_config.cpp — see ssdp_config.hpp.
#include "daemon/lan/ssdp/ssdp_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

namespace joincast::daemon::lan::ssdp {

namespace {

// As bpf/shared/ssdp_abi.h bounds an interface's entry.
constexpr std::size_t max_ports = 4;
constexpr std::size_t max_peers = 8;

bool valid_interface_name(const std::string& n) {
  return !n.empty() && n.size() < 16 && n.find('/') == std::string::npos && n.find(' ') == std::string::npos;
}

}  // namespace

std::string kinds_name(std::uint8_t kinds) {
  if ((kinds & kind_all) == kind_all) return "all";
  std::string out;
  auto add = [&](std::uint8_t bit, const char* name) {
    if (kinds & bit) out += (out.empty() ? "" : "+") + std::string(name);
  };
  add(kind_search, "search");
  add(kind_announcements, "announcements");
  add(kind_other, "other");
  return out.empty() ? "none" : out;
}

std::optional<std::array<std::uint8_t, 6>> parse_mac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  std::array<std::uint8_t, 6> mac{};
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':' && text[i * 3 - 1] != '-') return std::nullopt;
    unsigned v = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
    }
    mac[i] = static_cast<std::uint8_t>(v);
  }
  return mac;
}

Result<ParsedRule> parse_rule(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 3 || (words[1] != "->" && words[1] != "<->"))
    return invalid("is not \"FROM -> TO [search] [announcements] [other] [all] [ttl=N]\"");
  ParsedRule parsed;
  RelayRule& rule = parsed.rule;
  rule.from = words[0];
  rule.to = words[2];
  parsed.both_ways = words[1] == "<->";
  std::uint8_t kinds = 0;
  for (std::size_t i = 3; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "search" || w == "m-search") kinds |= kind_search;
    else if (w == "announcements" || w == "notify") kinds |= kind_announcements;
    else if (w == "other") kinds |= kind_other;
    else if (w == "all") kinds |= kind_all;
    else if (w.rfind("ttl=", 0) == 0) {
      const std::string_view digits = std::string_view(w).substr(4);
      unsigned v = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc() || end != digits.data() + digits.size() || v < 1 || v > 255)
        return invalid(fmt::format("\"{}\": the TTL is a number from 1 to 255", w));
      rule.ttl = v;
    } else {
      return invalid(fmt::format("\"{}\" is not a kind of message (search, announcements, other, all) nor ttl=N", w));
    }
  }
  rule.kinds = kinds ? kinds : kind_all;
  return parsed;
}

std::vector<RelayRule> effective_rules(const Zone& zone) {
  if (!zone.relay.empty()) return zone.relay;
  std::vector<RelayRule> out;
  for (const auto& a : zone.interfaces)
    for (const auto& b : zone.interfaces)
      if (a != b) out.push_back({a, b, kind_all, std::nullopt});
  return out;
}

void parse_ssdp_section(core::ConfigReader& r, const toml::table& root, SsdpSection& s) {
  const toml::table& t = *r.table(root, "ssdp", "");
  r.only_keys(t, "ssdp", {"zone"});
  const toml::node* zones = t.get("zone");
  if (!zones) return;
  const toml::array* list = zones->as_array();
  if (!list) {
    r.error(zones, "ssdp.zone", "must be an array of tables ([[ssdp.zone]])");
    return;
  }
  std::map<std::string, std::string> zone_of;  // interface -> zone name
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::table* zt = list->get(i)->as_table();
    std::string path = fmt::format("ssdp.zone[{}]", i);
    if (!zt) {
      r.error(list->get(i), path, "must be a table");
      continue;
    }
    r.only_keys(*zt, path,
                {"name", "interfaces", "relay", "sources", "ports", "ipv4", "ipv6", "rewrite_broadcast", "rate",
                 "burst", "ttl", "on_demand"});
    Zone z;
    z.name = r.string(*zt, "name", path, fmt::format("zone{}", i));
    z.interfaces = r.strings(*zt, "interfaces", path);
    if (z.interfaces.size() < 2)
      r.error(zt->get("interfaces") ? zt->get("interfaces") : static_cast<const toml::node*>(zt),
              path + ".interfaces", "a zone needs at least two interfaces");
    std::set<std::string> names;
    for (const auto& n : z.interfaces) {
      if (!valid_interface_name(n))
        r.error(zt->get("interfaces"), path + ".interfaces", fmt::format("\"{}\" is not a valid interface name", n));
      if (!names.insert(n).second)
        r.error(zt->get("interfaces"), path + ".interfaces", fmt::format("\"{}\" is listed twice", n));
      auto [it, fresh] = zone_of.emplace(n, z.name);
      if (!fresh && it->second != z.name)
        r.error(zt->get("interfaces"), path + ".interfaces",
                fmt::format("\"{}\" is already in zone \"{}\": an interface is in one zone", n, it->second));
    }
    for (const auto& text : r.strings(*zt, "relay", path)) {
      auto parsed = parse_rule(text);
      if (!parsed) {
        r.error(zt->get("relay"), path + ".relay", fmt::format("\"{}\" {}", text, parsed.error().message()));
        continue;
      }
      const RelayRule* rule = &parsed.value().rule;
      const bool both = parsed.value().both_ways;
      bool ok = true;
      for (const auto* n : {&rule->from, &rule->to})
        if (!names.count(*n)) {
          r.error(zt->get("relay"), path + ".relay",
                  fmt::format("\"{}\": {} is not one of the zone's interfaces", text, *n));
          ok = false;
        }
      if (ok && rule->from == rule->to) {
        r.error(zt->get("relay"), path + ".relay", fmt::format("\"{}\": an interface does not relay to itself", text));
        ok = false;
      }
      if (!ok) continue;
      z.relay.push_back(*rule);
      if (both) z.relay.push_back({rule->to, rule->from, rule->kinds, rule->ttl});
    }
    // Merge duplicate pairs, then bound the peers per interface.
    std::map<std::pair<std::string, std::string>, RelayRule> merged;
    for (const auto& rule : z.relay) {
      auto [it, fresh] = merged.emplace(std::make_pair(rule.from, rule.to), rule);
      if (!fresh) {
        it->second.kinds |= rule.kinds;
        if (rule.ttl) it->second.ttl = rule.ttl;
      }
    }
    z.relay.clear();
    std::map<std::string, std::size_t> peers;
    for (const auto& [pair, rule] : merged) {
      z.relay.push_back(rule);
      if (++peers[pair.first] == max_peers + 1)
        r.error(zt->get("relay"), path + ".relay",
                fmt::format("{} relays to more than {} interfaces", pair.first, max_peers));
    }
    if (z.relay.empty() && z.interfaces.size() > max_peers + 1)
      r.error(zt->get("interfaces"), path + ".interfaces",
              fmt::format("without relay rules every interface relays to all others: at most {} interfaces",
                          max_peers + 1));

    if (const toml::node* src = zt->get("sources")) {
      const toml::table* st = src->as_table();
      if (!st) {
        r.error(src, path + ".sources", "must be a table of interface = [prefixes or MAC addresses]");
      } else {
        for (const auto& [key, value] : *st) {
          std::string iface(key.str());
          std::string spath = path + ".sources." + iface;
          if (!names.count(iface)) {
            r.error(&value, spath, fmt::format("{} is not one of the zone's interfaces", iface));
            continue;
          }
          auto& filters = z.sources[iface];
          for (const auto& text : r.strings(*st, iface, path + ".sources")) {
            SourceFilter f;
            if (auto mac = parse_mac(text)) f.mac = mac;
            else if (auto p = IpPrefix::parse(text)) f.prefix = p;
            else if (auto a = IpAddress::parse(text)) f.prefix = IpPrefix::host(*a);
            else {
              r.error(&value, spath, fmt::format("\"{}\" is neither an address prefix nor a MAC address", text));
              continue;
            }
            filters.push_back(f);
          }
          if (filters.empty()) r.error(&value, spath, "an empty filter would relay nothing: leave it out instead");
        }
      }
    }

    if (const toml::node* pn = zt->get("ports")) {
      z.ports.clear();
      const toml::array* pa = pn->as_array();
      if (!pa) r.error(pn, path + ".ports", "must be an array of UDP port numbers");
      else
        for (const auto& v : *pa) {
          auto n = v.value<std::int64_t>();
          if (!n || *n < 1 || *n > 65535) {
            r.error(&v, path + ".ports", "a port is a number from 1 to 65535");
            continue;
          }
          if (std::find(z.ports.begin(), z.ports.end(), *n) == z.ports.end())
            z.ports.push_back(static_cast<std::uint16_t>(*n));
        }
      if (z.ports.size() > max_ports)
        r.error(pn, path + ".ports", fmt::format("at most {} ports", max_ports));
    }
    z.ipv4 = r.boolean(*zt, "ipv4", path, z.ipv4);
    z.ipv6 = r.boolean(*zt, "ipv6", path, z.ipv6);
    if (!z.ipv4 && !z.ipv6) r.error(zt, path, "ipv4 and ipv6 are both off: the zone would relay nothing");
    z.rewrite_broadcast = r.boolean(*zt, "rewrite_broadcast", path, z.rewrite_broadcast);
    z.rate = static_cast<unsigned>(r.integer(*zt, "rate", path, z.rate, 0, 1'000'000));
    z.burst = static_cast<unsigned>(r.integer(*zt, "burst", path, std::max(z.burst, 2 * z.rate), 1, 1'000'000));
    z.ttl = static_cast<unsigned>(r.integer(*zt, "ttl", path, z.ttl, 0, 255));
    if (const toml::node* od = zt->get("on_demand")) {
      if (const auto* all = od->as_boolean()) {
        if (all->get()) z.on_demand.insert(z.interfaces.begin(), z.interfaces.end());
      } else if (od->is_array()) {
        for (const auto& n : r.strings(*zt, "on_demand", path)) {
          if (!names.count(n)) r.error(od, path + ".on_demand", fmt::format("{} is not one of the zone's interfaces", n));
          else z.on_demand.insert(n);
        }
      } else {
        r.error(od, path + ".on_demand", "must be true, false or a list of the zone's interfaces");
      }
    }
    s.zones.push_back(std::move(z));
  }
}

void check_on_demand(core::ConfigReader& r, const toml::table& root, const SsdpSection& s,
                     const std::vector<std::string>& membership_interfaces) {
  const toml::array* zones = root["ssdp"]["zone"].as_array();
  for (std::size_t i = 0; i < s.zones.size(); ++i) {
    const toml::node* where = zones && i < zones->size() ? zones->get(i) : nullptr;
    if (where && where->as_table() && where->as_table()->get("on_demand")) where = where->as_table()->get("on_demand");
    for (const auto& n : s.zones[i].on_demand)
      if (std::find(membership_interfaces.begin(), membership_interfaces.end(), n) == membership_interfaces.end())
        r.error(where, fmt::format("ssdp.zone[{}].on_demand", i),
                fmt::format("{} is on demand but not in membership.interfaces: its listeners would never be seen", n));
  }
}

}  // namespace joincast::daemon::lan::ssdp
