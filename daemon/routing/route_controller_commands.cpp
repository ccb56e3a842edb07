// route_controller_commands.cpp — RouteController's control commands
// (docs/control-protocol.md, "Routing"): `routes`, `route add`, `route
// del`, which return their refusals as values. A new runtime (S,G) route
// is planned and installed on its own (add_source_specific, at the end),
// so one add costs the same with 10 000 routes
// installed as with none; everything else goes through apply(). Runtime
// routes are tagged with their owner ("control" here; sessions' stream
// routes are "session"): a command never changes another owner's route.
#include "daemon/core/log.hpp"
#include "daemon/routing/route_controller.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::routing {

using Json = nlohmann::json;

Json RouteController::entry_json(const netlink::MfcEntry& e, const kernel::MrouteFamily& f) const {
  Json j{{"source", e.source.to_string()},
         {"group", e.group.to_string()},
         {"iif", e.iif ? interfaces_.name(e.iif) : ""},
         {"resolved", e.resolved},
         {"packets", e.packets},
         {"bytes", e.bytes},
         {"wrong_if", e.wrong_if},
         {"idle_s", static_cast<double>(e.idle_cs) / 100.0}};
  Json oifs = Json::array();
  for (const auto& o : e.oifs) oifs.push_back({{"interface", interfaces_.name(o.ifindex)}, {"ttl", o.ttl}});
  j["oifs"] = oifs;
  auto it = f.installed.find({f.family, e.source, e.group});
  if (it != f.installed.end()) {
    j["kind"] = kernel::entry_kind_name(it->second.kind);
    j["origin"] = it->second.origin;
  } else {
    j["kind"] = e.resolved ? "foreign" : "unresolved";
  }
  return j;
}

Json RouteController::routes_command() {
  Json families = Json::array();
  for (const auto& f : forwarding_.families()) {
    Json fj{{"family", family_name(f.family)}, {"table", table(f.family)}};
    fj["socket"] = f.socket ? "open" : (f.socket_error.empty() ? "closed" : f.socket_error);
    Json vifs = Json::array();
    for (const auto& v : f.vifs.list()) {
      Json vj{{"vif", v.index}, {"interface", interfaces_.name(v.ifindex)}, {"ifindex", v.ifindex}, {"threshold", v.threshold}};
      if (f.socket) {
        if (auto c = f.socket->vif_counters(v.index)) {
          vj["packets_in"] = c.value().packets_in;
          vj["bytes_in"] = c.value().bytes_in;
          vj["packets_out"] = c.value().packets_out;
          vj["bytes_out"] = c.value().bytes_out;
        }
      }
      vifs.push_back(vj);
    }
    fj["vifs"] = vifs;
    Json mfc = Json::array();
    if (f.socket) {
      auto dumped = netlink_->dump(netlink::dump_mfc(f.family, table(f.family)), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
        auto e = netlink::parse_mfc(nlh);
        if (!e) return e.error();
        mfc.push_back(entry_json(e.value(), f));
        return netlink::success();
      });
      if (!dumped) fj["error"] = dumped.error().message();
    }
    fj["mfc"] = mfc;
    families.push_back(fj);
  }
  Json templates = Json::array();
  for (const auto& t : plan_.templates) {
    Json inputs = Json::array();
    for (int i : t.iifs) inputs.push_back(interfaces_.name(i));
    Json outputs = Json::array();
    for (const auto& [o, ttl] : t.oifs) outputs.push_back(interfaces_.name(o));
    templates.push_back({{"family", family_name(t.family)},
                         {"route", t.description},
                         {"origin", t.origin},
                         {"inputs", inputs},
                         {"outputs", outputs}});
  }
  Json pending = Json::array();
  for (const auto& p : plan_.pending)
    pending.push_back({{"what", p.what}, {"origin", p.origin}, {"reason", p.reason}, {"installed", false}});
  // Installed, but without an output that is not there.
  for (const auto& p : plan_.incomplete)
    pending.push_back({{"what", p.what}, {"origin", p.origin}, {"reason", p.reason}, {"installed", true}});
  Json blocks = Json::array();
  for (const auto& b : plan_.blocks) {
    Json groups = Json::array();
    for (const auto& p : b.prefixes) groups.push_back(p.to_string());
    blocks.push_back({{"name", b.name},
                      {"interface", b.interface},
                      {"prefix", b.prefix64 ? b.prefix64->to_string() : ""},
                      {"groups", groups},
                      {"routed", b.routed},
                      {"origin", b.origin}});
  }
  Json joins = Json::array();
  for (const auto& j : joins_.joined())
    joins.push_back({{"interface", interfaces_.name(j.ifindex)},
                     {"group", j.group.to_string()},
                     {"source", j.source ? j.source->to_string() : ""},
                     {"origin", j.origin}});
  Json runtime = Json::array();
  for (const auto& r : runtime_) runtime.push_back(r.describe());
  return {{"enabled", config_.enabled}, {"families", families}, {"templates", templates}, {"pending", pending},
          {"group_blocks", blocks},     {"joins", joins},       {"runtime_routes", runtime}};
}

std::optional<Error> RouteController::other_owner(const RouteRule& rule) const {
  for (const auto& r : runtime_)
    if (r.same_selector(rule) && r.origin != rule.origin)
      return Error(std::errc::device_or_resource_busy, fmt::format("route {} belongs to {}", r.describe(), r.origin));
  return std::nullopt;
}

Result<RouteRule> RouteController::rule_from_request(const Json& request, bool need_outputs) const {
  auto text = [&](const char* key, bool required) -> Result<std::string> {
    auto it = request.find(key);
    if (it == request.end() || it->is_null()) {
      if (required) return invalid(fmt::format("\"{}\" is required", key));
      return std::string();
    }
    if (!it->is_string()) return invalid(fmt::format("\"{}\" must be a string", key));
    return it->get<std::string>();
  };
  auto valid_name = [](const std::string& n) {
    if (n.empty() || n.size() >= 16) return false;
    std::string_view base = n;
    if (core::is_interface_wildcard(base)) base.remove_suffix(1);
    return std::none_of(base.begin(), base.end(), [](char c) { return c == '/' || c == '+' || c == ':' || c <= ' '; });
  };
  RouteRule r;
  r.origin = "control";
  auto from = text("from", true);
  if (!from) return from.error();
  r.from = from.value();
  if (!valid_name(r.from)) return invalid(fmt::format("\"{}\" is not a valid interface name", r.from));
  auto group_text = text("group", true);
  if (!group_text) return group_text.error();
  const std::string group = group_text.value();
  std::string error;
  auto g = parse_group_prefix(group, error);
  if (!g) return invalid(error);
  r.group = *g;
  r.family = g->family();
  auto source_text = text("source", false);
  if (!source_text) return source_text.error();
  const std::string source = source_text.value();
  if (!source.empty()) {
    auto s = IpPrefix::parse(source);
    if (!s || s->address().is_multicast())
      return invalid(fmt::format("\"{}\" is not a unicast source address", source));
    if (s->family() != g->family())
      return invalid(fmt::format("source {} and group {} are of different address families", source, group));
    if (!(s->address().is_unspecified() && (s->length() == 0 || s->is_host()))) r.source = *s;
  }
  if ((r.family == AF_INET && !config_.ipv4) || (r.family == AF_INET6 && !config_.ipv6))
    return invalid(fmt::format("{} routing is disabled (routing.{} = false)", family_name(r.family),
                                                  family_name(r.family)));
  if (auto to = request.find("to"); to != request.end()) {
    if (!to->is_array()) return invalid("\"to\" must be a list of interface names");
    for (const auto& o : *to) {
      if (!o.is_string() || !valid_name(o.get<std::string>()))
        return invalid(fmt::format("{} is not a valid interface name", o.dump()));
      r.to.push_back(o.get<std::string>());
    }
  }
  if (need_outputs && r.to.empty()) return invalid("a route needs at least one output interface (\"to\")");
  return r;
}

Result<Json> RouteController::route_add_command(const Json& request) {
  if (!started_) return invalid("routing is not running");
  auto parsed = rule_from_request(request, true);
  if (!parsed) return parsed.error();
  RouteRule rule = std::move(parsed).value();
  if (auto other = other_owner(rule)) return *other;
  for (const auto& c : config_.routes) {
    if (c.same_selector(rule))
      return invalid(
          fmt::format("route {} is configured ({}); change the configuration and reload instead", c.describe(), c.origin));
    if (rule.source_specific() && c.source_specific() && c.from != rule.from && c.source == rule.source &&
        c.group == rule.group)
      return invalid(fmt::format("({}, {}) is already routed from {} ({})", rule.source->to_string(true),
                                                    rule.group->to_string(true), c.from, c.origin));
  }
  std::vector<RouteRule> previous = runtime_;
  auto existing = std::find_if(runtime_.begin(), runtime_.end(),
                               [&](const RouteRule& r) { return r.same_selector(rule) && r.origin == rule.origin; });
  const bool merged = existing != runtime_.end();
  if (merged) {
    // As smcroutectl add: outputs are added to the existing route.
    for (const auto& o : rule.to)
      if (std::find(existing->to.begin(), existing->to.end(), o) == existing->to.end()) existing->to.push_back(o);
    rule = *existing;
  } else {
    for (const auto& c : runtime_)
      if (rule.source_specific() && c.source_specific() && c.from != rule.from && c.source == rule.source &&
          c.group == rule.group)
        return invalid(fmt::format("({}, {}) is already routed from {}", rule.source->to_string(true),
                                                      rule.group->to_string(true), c.from));
    runtime_.push_back(rule);
  }
  // A new (S,G) touches one kernel entry: plan and install just that. The
  // rest (templates, merged outputs) goes through the whole plan.
  const bool one = !merged && rule.source_specific();
  if (auto added = one ? add_source_specific(rule) : apply(Mode::transaction); !added) {
    runtime_ = std::move(previous);
    core::log::warning("routing: route add {} refused: {}", rule.describe(), added.error().message());
    return invalid(added.error().message());
  }
  core::log::info("routing: route {} added at runtime", rule.describe());
  Json answer{{"route", rule.describe()}, {"kind", rule.source_specific() ? "sg" : "template"}};
  const std::string what = "route " + rule.describe();
  auto p = std::find_if(plan_.pending.begin(), plan_.pending.end(), [&](const Pending& x) { return x.what == what; });
  if (p != plan_.pending.end()) {
    answer["state"] = "pending";
    answer["reason"] = p->reason;
  } else {
    answer["state"] = rule.source_specific() ? "installed" : "template";
    Json missing = Json::array();
    for (const auto& x : plan_.incomplete)
      if (x.what == what) missing.push_back(x.reason);
    if (!missing.empty()) answer["incomplete"] = missing;
  }
  return answer;
}

Result<Json> RouteController::route_del_command(const Json& request) {
  if (!started_) return invalid("routing is not running");
  auto parsed = rule_from_request(request, false);
  if (!parsed) return parsed.error();
  RouteRule rule = std::move(parsed).value();
  auto it = std::find_if(runtime_.begin(), runtime_.end(),
                         [&](const RouteRule& r) { return r.same_selector(rule) && r.origin == rule.origin; });
  if (it == runtime_.end()) {
    if (auto other = other_owner(rule)) return *other;
    for (const auto& c : config_.routes)
      if (c.same_selector(rule))
        return invalid(
            fmt::format("route {} is configured ({}), not added at runtime; change the configuration and reload",
                        c.describe(), c.origin));
    return invalid(fmt::format("no route {} was added at runtime", rule.describe()));
  }
  std::vector<RouteRule> previous = runtime_;
  std::string removed;
  if (!rule.to.empty()) {
    // Only the outputs named; the route goes when none is left.
    for (const auto& o : rule.to) std::erase(it->to, o);
    removed = it->to.empty() ? "route" : "outputs";
    if (it->to.empty()) runtime_.erase(it);
  } else {
    removed = "route";
    runtime_.erase(it);
  }
  if (auto applied = apply(Mode::transaction); !applied) {
    runtime_ = std::move(previous);
    return invalid(applied.error().message());
  }
  core::log::info("routing: route {} removed at runtime", rule.describe());
  return Json{{"route", rule.describe()}, {"removed", removed}};
}

// ---- a runtime (S,G) on its own ------------------------------------------

Result<void> RouteController::add_source_specific(const RouteRule& rule) {
  // runtime_ already ends with `rule`; the plan was made without it.
  std::vector<RouteRule> before(runtime_.begin(), runtime_.end() - 1);
  PlanInput in{config_, before, interfaces_, pinned(), table(AF_INET), table(AF_INET6)};
  // What planning one (S,G) can change, saved to put back on failure
  // (copying the whole plan would cost what this path saves).
  const kernel::MfcKey key{rule.family, rule.source->address(), rule.group->address()};
  std::optional<PlannedRoute> saved_route;
  if (auto it = plan_.routes.find(key); it != plan_.routes.end()) saved_route = it->second;
  const auto saved_vifs = plan_.vifs[rule.family];
  const std::size_t saved_pending = plan_.pending.size();
  const std::size_t saved_incomplete = plan_.incomplete.size();
  plan_one_more(plan_, in, rule);
  auto restore = [&] {
    if (saved_route) plan_.routes[key] = *saved_route;
    else plan_.routes.erase(key);
    plan_.vifs[rule.family] = saved_vifs;
    plan_.pending.resize(saved_pending);
    plan_.incomplete.resize(saved_incomplete);
  };
  if (plan_.pending.size() > saved_pending) {
    const Pending& p = plan_.pending.back();
    if (p.vif_exhausted) {
      Error e = invalid(fmt::format("{} ({}) {}", p.what, p.origin, p.reason));
      restore();
      return e;
    }
    core::log::notice("routing: {} ({}) is pending: {}", p.what, p.origin, p.reason);
    return success();  // waits for its interface; nothing to install now
  }
  kernel::Transaction tx(Mode::transaction);
  auto fail = [&](Error e) -> Result<void> {
    tx.rollback();
    restore();
    return e;
  };
  const PlannedRoute& planned = plan_.routes.at(key);
  auto entry = forwarding_.install(key, plan_.vifs[rule.family],
                                   kernel::WantedEntry{planned.iif, planned.oifs, kernel::EntryKind::route, planned.origin}, tx);
  if (!entry) return fail(entry.error());
  if (auto applied = apply_rules(plan_, tx); !applied) return fail(applied.error());
  tx.commit();
  for (std::size_t i = saved_incomplete; i < plan_.incomplete.size(); ++i)
    core::log::warning("routing: {} ({}): {}", plan_.incomplete[i].what, plan_.incomplete[i].origin, plan_.incomplete[i].reason);
  forwarding_.installed(key, entry.value());
  return success();
}
}  // namespace joincast::daemon::routing
