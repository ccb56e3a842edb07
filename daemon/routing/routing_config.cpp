// routing_config.cpp — see routing_config.hpp.
#include "daemon/routing/routing_config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace joincast::daemon::routing {


namespace {

bool valid_interface_name(std::string_view name, bool allow_wildcard) {
  std::string_view base = name;
  if (allow_wildcard && core::is_interface_wildcard(base)) base.remove_suffix(1);
  if (name.empty() || name.size() >= 16) return false;
  for (char c : base)
    if (c == '/' || c == '+' || c == ':' || c <= ' ') return false;
  return true;
}

std::string origin_of(const core::ConfigReader& r, const toml::node& n) {
  return fmt::format("{}:{}", r.file(), n.source().begin.line);
}

// "a.b.c.d[/len]" or "x::y[/len]" in key `name` of t.
std::optional<IpPrefix> prefix_value(core::ConfigReader& r, const toml::table& t, std::string_view name,
                                     const std::string& path) {
  const toml::node* n = t.get(name);
  if (!n) return std::nullopt;
  auto s = n->value_exact<std::string>();
  auto p = s ? IpPrefix::parse(*s) : std::nullopt;
  if (!p) {
    r.error(n, core::ConfigReader::join(path, name), "must be an address or ADDRESS/LEN string");
    return std::nullopt;
  }
  return p;
}

std::optional<IpPrefix> group_value(core::ConfigReader& r, const toml::table& t, std::string_view name,
                                    const std::string& path) {
  const toml::node* n = t.get(name);
  if (!n) return std::nullopt;
  auto text = n->value_exact<std::string>();
  if (!text) {
    r.error(n, core::ConfigReader::join(path, name), "must be a group or GROUP/LEN string");
    return std::nullopt;
  }
  std::string error;
  auto g = parse_group_prefix(*text, error);
  if (!g) r.error(n, core::ConfigReader::join(path, name), error);
  return g;
}

std::optional<IpPrefix> source_value(core::ConfigReader& r, const toml::table& t, std::string_view name,
                                     const std::string& path, const std::optional<IpPrefix>& group) {
  auto s = prefix_value(r, t, name, path);
  if (!s) return std::nullopt;
  if (s->address().is_multicast()) {
    r.error(t.get(name), core::ConfigReader::join(path, name), "a source must be a unicast address");
    return std::nullopt;
  }
  if (group && group->family() != s->family()) {
    r.error(t.get(name), core::ConfigReader::join(path, name), "source and group must be of the same address family");
    return std::nullopt;
  }
  // 0.0.0.0 or :: means any source, as in smcroute.
  if (s->address().is_unspecified() && (s->length() == 0 || s->is_host())) return std::nullopt;
  return s;
}

// Iterates an array of tables ([[routing.route]]): calls f(table, path) for
// each element, reporting non-tables.
template <class F>
void each_table(core::ConfigReader& r, const toml::table& parent, std::string_view name, const std::string& path, F&& f) {
  const toml::node* n = parent.get(name);
  if (!n) return;
  const toml::array* a = n->as_array();
  if (!a) {
    r.error(n, core::ConfigReader::join(path, name), "must be an array of tables ([[" + core::ConfigReader::join(path, name) + "]])");
    return;
  }
  std::size_t i = 0;
  for (const toml::node& item : *a) {
    const std::string item_path = fmt::format("{}[{}]", core::ConfigReader::join(path, name), i++);
    if (const toml::table* t = item.as_table()) f(*t, item_path);
    else r.error(&item, item_path, "must be a table");
  }
}

std::string interface_value(core::ConfigReader& r, const toml::table& t, std::string_view name, const std::string& path,
                            bool required, bool allow_wildcard) {
  const toml::node* n = t.get(name);
  if (!n) {
    if (required) r.error(&t, core::ConfigReader::join(path, name), "is required");
    return {};
  }
  std::string s = r.string(t, name, path, "");
  if (!valid_interface_name(s, allow_wildcard)) {
    r.error(n, core::ConfigReader::join(path, name), fmt::format("\"{}\" is not a valid interface name", s));
    return {};
  }
  return s;
}

void parse_route(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path, {"from", "source", "group", "block", "to"});
  RouteRule rule;
  rule.origin = origin_of(r, t);
  rule.from = interface_value(r, t, "from", path, true, true);
  rule.group = group_value(r, t, "group", path);
  rule.block = r.string(t, "block", path, "");
  if (t.get("group") && t.get("block")) r.error(t.get("block"), path + ".block", "give either group or block, not both");
  if (!t.get("group") && !t.get("block")) r.error(&t, path + ".group", "a route needs group (or block)");
  rule.source = source_value(r, t, "source", path, rule.group);
  if (rule.source) rule.family = rule.source->family();
  if (rule.group) rule.family = rule.group->family();
  if (!rule.block.empty()) rule.family = AF_INET6;  // refined once blocks are known
  for (const auto& o : r.strings(t, "to", path)) {
    if (!valid_interface_name(o, true)) r.error(t.get("to"), path + ".to", fmt::format("\"{}\" is not a valid interface name", o));
    else rule.to.push_back(o);
  }
  if (!t.get("to"))
    s.warnings.push_back(fmt::format("{}: a route without \"to\" forwards nothing; name the outputs", rule.origin));
  s.routes.push_back(std::move(rule));
}

void parse_join(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path, {"interface", "group", "source"});
  StaticJoin j;
  j.origin = origin_of(r, t);
  j.interface = interface_value(r, t, "interface", path, true, true);
  auto g = group_value(r, t, "group", path);
  if (!t.get("group")) r.error(&t, path + ".group", "is required");
  if (!g) return;
  j.group = *g;
  j.source = source_value(r, t, "source", path, g);
  s.joins.push_back(std::move(j));
}

void parse_block(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path, {"name", "interface", "derive_from", "prefix", "ids", "groups", "scope", "route"});
  GroupBlockConfig b;
  b.origin = origin_of(r, t);
  b.name = r.string(t, "name", path, "");
  if (b.name.empty()) r.error(&t, path + ".name", "a group block needs a name");
  b.interface = interface_value(r, t, "interface", path, true, false);
  b.derive_from = interface_value(r, t, "derive_from", path, false, false);
  b.route = r.boolean(t, "route", path, true);
  b.scope = static_cast<std::uint8_t>(r.integer(t, "scope", path, 0xe, 1, 0xf));
  b.prefix = prefix_value(r, t, "prefix", path);
  if (b.prefix && (!b.prefix->address().is_v6() || b.prefix->length() != 64 || b.prefix->address().is_multicast()))
    r.error(t.get("prefix"), path + ".prefix", "must be an IPv6 unicast /64");
  for (const auto& text : r.strings(t, "ids", path)) {
    auto range = parse_group_id_range(text);
    if (!range) {
      r.error(t.get("ids"), path + ".ids",
              fmt::format("\"{}\" is not a group id or range (\"0x80000000-0x8000000f\", \"8000:0-8000:f\")", text));
      continue;
    }
    if (!(range->first & 0x80000000u))
      r.error(t.get("ids"), path + ".ids",
              fmt::format("\"{}\": group ids must have the top bit set (RFC 3306 §4 dynamic range)", text));
    b.ids.push_back(*range);
  }
  for (const auto& text : r.strings(t, "groups", path)) {
    std::string error;
    auto g = parse_group_prefix(text, error);
    if (!g) {
      r.error(t.get("groups"), path + ".groups", error);
      continue;
    }
    b.groups.push_back(*g);
  }
  if (!b.groups.empty() && (!b.ids.empty() || b.prefix || !b.derive_from.empty()))
    r.error(t.get("groups"), path + ".groups", "literal groups exclude ids, prefix and derive_from");
  if (b.groups.empty() && b.ids.empty()) b.ids.push_back({0x80000000u, 0xffffffffu});
  if (b.derive_from.empty() && !b.prefix) b.derive_from = b.interface;
  if (!b.derive_from.empty() && b.prefix)
    r.error(t.get("prefix"), path + ".prefix", "give either prefix or derive_from, not both");
  s.blocks.push_back(std::move(b));
}

void parse_bridge(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path,
              {"name", "snooping", "querier", "igmp_version", "mld_version", "multicast_router", "query_interval",
               "query_response_interval", "membership_interval"});
  BridgeConfig b;
  b.origin = origin_of(r, t);
  b.bridge = interface_value(r, t, "name", path, true, false);
  auto& m = b.settings;
  if (t.get("snooping")) m.snooping = r.boolean(t, "snooping", path, true);
  if (t.get("querier")) m.querier = r.boolean(t, "querier", path, false);
  if (t.get("igmp_version")) m.igmp_version = static_cast<std::uint8_t>(r.integer(t, "igmp_version", path, 2, 2, 3));
  if (t.get("mld_version")) m.mld_version = static_cast<std::uint8_t>(r.integer(t, "mld_version", path, 1, 1, 2));
  if (const toml::node* n = t.get("multicast_router")) {
    std::string v = r.string(t, "multicast_router", path, "learn");
    if (v == "disabled") m.router = 0;
    else if (v == "learn") m.router = 1;
    else if (v == "permanent") m.router = 2;
    else r.error(n, path + ".multicast_router", "must be \"disabled\", \"learn\" or \"permanent\"");
  }
  auto centiseconds = [&](std::string_view key, std::optional<std::uint64_t>& out) {
    if (!t.get(key)) return;
    auto d = r.duration(t, key, path, std::chrono::milliseconds(0));
    out = static_cast<std::uint64_t>(d.count() / 10);
  };
  centiseconds("query_interval", m.query_interval_cs);
  centiseconds("query_response_interval", m.query_response_interval_cs);
  centiseconds("membership_interval", m.membership_interval_cs);
  s.bridges.push_back(std::move(b));
}

void parse_mdb(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path, {"bridge", "port", "group", "source", "vid", "permanent"});
  MdbConfig e;
  e.origin = origin_of(r, t);
  e.bridge = interface_value(r, t, "bridge", path, true, false);
  e.port = interface_value(r, t, "port", path, true, false);
  auto g = group_value(r, t, "group", path);
  if (!t.get("group")) r.error(&t, path + ".group", "is required");
  if (g && !g->is_host()) r.error(t.get("group"), path + ".group", "an MDB entry is one group, not a range");
  if (g) e.group = g->address();
  if (auto src = source_value(r, t, "source", path, g)) {
    if (!src->is_host()) r.error(t.get("source"), path + ".source", "an MDB source is one address");
    e.source = src->address();
  }
  e.vid = static_cast<std::uint16_t>(r.integer(t, "vid", path, 0, 0, 4094));
  e.permanent = r.boolean(t, "permanent", path, true);
  if (g) s.mdb.push_back(std::move(e));
}

void parse_interface(core::ConfigReader& r, const toml::table& t, const std::string& path, RoutingSection& s) {
  r.only_keys(t, path, {"name", "ttl_threshold"});
  InterfaceConfig i;
  i.origin = origin_of(r, t);
  i.name = interface_value(r, t, "name", path, true, true);
  i.ttl_threshold = static_cast<std::uint8_t>(r.integer(t, "ttl_threshold", path, 1, 1, 255));
  s.interfaces.push_back(std::move(i));
}

std::uint32_t table_value(core::ConfigReader& r, const toml::table& t, std::string_view name, const std::string& path,
                          std::uint32_t fallback) {
  const toml::node* n = t.get(name);
  if (!n) return fallback;
  if (auto s = n->value_exact<std::string>()) {
    if (*s == "local") return 255;
    if (*s == "main") return 254;
    if (*s == "default") return 253;
    r.error(n, core::ConfigReader::join(path, name), "must be \"local\", \"main\", \"default\" or a table number");
    return fallback;
  }
  return static_cast<std::uint32_t>(r.integer(t, name, path, fallback, 1, 0xffffffffLL));
}

void merge_smcroute(core::ConfigReader& r, const SmcrouteConf& conf, RoutingSection& s) {
  for (const auto& p : conf.phyints) {
    InterfaceConfig i;
    i.name = p.name;
    i.enabled = p.enable;
    if (p.ttl_threshold) i.ttl_threshold = *p.ttl_threshold;
    i.origin = p.where.to_string();
    s.interfaces.push_back(std::move(i));
  }
  for (const auto& m : conf.mroutes) {
    RouteRule rule;
    rule.family = m.group.family();
    rule.from = m.from;
    rule.source = m.source;
    rule.group = m.group;
    rule.to = m.to;
    rule.origin = m.where.to_string();
    s.routes.push_back(std::move(rule));
  }
  for (const auto& g : conf.mgroups) s.joins.push_back({g.from, g.source, g.group, g.where.to_string()});
  for (const auto& w : conf.warnings) s.warnings.push_back(w);
  (void)r;
}

// An error at an origin "file:line" (the TOML file or an included
// smcroute.conf).
core::ConfigError error_at(const std::string& origin, std::string key, std::string message) {
  core::ConfigError e;
  auto colon = origin.rfind(':');
  e.file = origin.substr(0, colon);
  if (colon != std::string::npos) {
    e.line = static_cast<std::uint32_t>(std::strtoul(origin.c_str() + colon + 1, nullptr, 10));
    e.column = 1;
  }
  e.key = std::move(key);
  e.message = std::move(message);
  return e;
}

// Checks that need the whole section: block references, families,
// conflicting (S,G) routes.
void cross_check(core::ConfigReader& r, RoutingSection& s) {
  std::map<std::string, const GroupBlockConfig*> blocks;
  for (const auto& b : s.blocks) {
    if (!b.name.empty() && !blocks.emplace(b.name, &b).second)
      r.add(error_at(b.origin, "routing.group_block", fmt::format("group block \"{}\" is defined twice", b.name)));
  }
  for (auto& rule : s.routes) {
    if (!rule.block.empty()) {
      auto it = blocks.find(rule.block);
      if (it == blocks.end()) {
        r.add(error_at(rule.origin, "routing.route", fmt::format("no group block named \"{}\"", rule.block)));
        continue;
      }
      const GroupBlockConfig& b = *it->second;
      rule.family = b.derived() ? AF_INET6 : b.groups.front().family();
      for (const auto& g : b.groups) {
        if (g.family() != rule.family)
          r.add(error_at(rule.origin, "routing.route",
                         fmt::format("group block \"{}\" mixes IPv4 and IPv6 groups, which one route cannot carry",
                                     rule.block)));
      }
      if (rule.source && rule.source->family() != rule.family)
        r.add(error_at(rule.origin, "routing.route",
                       fmt::format("the source is not of group block \"{}\"'s address family", rule.block)));
    }
    if ((rule.family == AF_INET && !s.ipv4) || (rule.family == AF_INET6 && !s.ipv6))
      r.add(error_at(rule.origin, "routing.route",
                     fmt::format("an {} route, but routing.{} is false", family_name(rule.family),
                                 family_name(rule.family))));
  }
  for (const auto& j : s.joins) {
    const unsigned max = j.group.address().max_prefix();
    const unsigned bits = (max - j.group.length()) + (j.source ? max - j.source->length() : 0);
    if (bits > 10)
      r.add(error_at(j.origin, "routing.join",
                     fmt::format("joining {}{} on {} means more than 1024 joins", j.source ? j.source->to_string() + " " : "",
                                 j.group.to_string(), j.interface)));
  }
  // Two (S,G) routes for the same source and group from different
  // interfaces would fight over one kernel entry.
  std::map<std::pair<IpAddress, IpAddress>, const RouteRule*> sg;
  for (const auto& rule : s.routes) {
    if (!rule.source_specific()) continue;
    auto [it, inserted] = sg.emplace(std::make_pair(rule.source->address(), rule.group->address()), &rule);
    if (!inserted && it->second->from != rule.from)
      r.add(error_at(rule.origin, "routing.route",
                     fmt::format("({}, {}) is already routed from {} ({})", rule.source->to_string(true),
                                 rule.group->to_string(true), it->second->from, it->second->origin)));
  }
}

}  // namespace

std::optional<IpPrefix> parse_group_prefix(std::string_view text, std::string& error) {
  auto g = IpPrefix::parse(text);
  if (!g) {
    error = fmt::format("\"{}\" is not an address or ADDRESS/LEN", text);
    return std::nullopt;
  }
  const unsigned min_len = g->family() == AF_INET ? 4 : 8;
  const bool typed_multicast = IpAddress::parse(text.substr(0, text.find('/')))->is_multicast();
  if (!typed_multicast) {
    error = fmt::format("{} is not a multicast group", text);
    return std::nullopt;
  }
  if (g->length() < min_len) {
    error = fmt::format("{}: a group range must be /{} or longer", text, min_len);
    return std::nullopt;
  }
  return g;
}

bool RouteRule::source_specific() const {
  return block.empty() && group && group->is_host() && source && source->is_host() && !core::is_interface_wildcard(from);
}

bool RouteRule::same_selector(const RouteRule& o) const {
  return family == o.family && from == o.from && source == o.source && group == o.group && block == o.block;
}

std::string RouteRule::describe() const {
  std::string s = "from " + from;
  if (source) s += " source " + source->to_string(true);
  if (group) s += " group " + group->to_string(true);
  else s += " block " + block;
  if (!to.empty()) {
    s += " to";
    for (const auto& o : to) s += " " + o;
  }
  return s;
}

void parse_routing(core::ConfigReader& r, const toml::table& root, RoutingSection& s) {
  const std::string path = "routing";
  if (!root.get("routing")) return;
  const toml::table& t = *r.table(root, "routing", "");
  s.enabled = true;
  r.only_keys(t, path,
              {"ipv4", "ipv6", "table", "rule_priority", "dynamic_expiry", "group_route_table", "group_route_metric",
               "route_protocol", "smcroute_conf", "interface", "route", "join", "group_block", "bridge", "mdb"});
  s.ipv4 = r.boolean(t, "ipv4", path, s.ipv4);
  s.ipv6 = r.boolean(t, "ipv6", path, s.ipv6);
  if (t.get("table")) {
    // The kernel refuses MRT_TABLE ids of 1e9 and above.
    s.table = static_cast<std::uint32_t>(r.integer(t, "table", path, 253, 1, 999'999'999));
  }
  s.rule_priority = static_cast<std::uint32_t>(r.integer(t, "rule_priority", path, s.rule_priority, 1, 32765));
  s.dynamic_expiry = r.duration(t, "dynamic_expiry", path, s.dynamic_expiry);
  if (t.get("dynamic_expiry") && s.dynamic_expiry.count() != 0 && s.dynamic_expiry < std::chrono::seconds(1))
    r.error(t.get("dynamic_expiry"), path + ".dynamic_expiry", "must be 0 (never) or at least 1s");
  s.group_route_table = table_value(r, t, "group_route_table", path, s.group_route_table);
  s.group_route_metric = static_cast<std::uint32_t>(r.integer(t, "group_route_metric", path, s.group_route_metric, 0, 0xffffffffLL));
  // 0-4 are the kernel's own (unspec, redirect, kernel, boot, static).
  s.route_protocol = static_cast<std::uint8_t>(r.integer(t, "route_protocol", path, s.route_protocol, 5, 255));

  each_table(r, t, "interface", path, [&](const toml::table& x, const std::string& p) { parse_interface(r, x, p, s); });
  each_table(r, t, "route", path, [&](const toml::table& x, const std::string& p) { parse_route(r, x, p, s); });
  each_table(r, t, "join", path, [&](const toml::table& x, const std::string& p) { parse_join(r, x, p, s); });
  each_table(r, t, "group_block", path, [&](const toml::table& x, const std::string& p) { parse_block(r, x, p, s); });
  each_table(r, t, "bridge", path, [&](const toml::table& x, const std::string& p) { parse_bridge(r, x, p, s); });
  each_table(r, t, "mdb", path, [&](const toml::table& x, const std::string& p) { parse_mdb(r, x, p, s); });

  // smcroute_conf = "/etc/smcroute.conf" or a list; relative to this file.
  std::vector<std::string> includes;
  if (const toml::node* n = t.get("smcroute_conf")) {
    if (auto one = n->value_exact<std::string>()) includes.push_back(*one);
    else includes = r.strings(t, "smcroute_conf", path);
  }
  for (auto& inc : includes) {
    std::filesystem::path p(inc);
    if (p.is_relative()) p = std::filesystem::path(r.file()).parent_path() / p;
    s.smcroute_files.push_back(p.string());
    SmcrouteResult result = read_smcroute_conf(p.string());
    for (const auto& e : result.errors)
      r.add({e.where.file, e.where.line, e.where.line ? std::max<std::uint32_t>(e.where.column, 1) : 0, "",
             e.message});
    if (result.ok()) merge_smcroute(r, result.conf, s);
  }
  cross_check(r, s);
}

}  // namespace joincast::daemon::routing
