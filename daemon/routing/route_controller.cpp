// route_controller.cpp — see route_controller.hpp: construction, start,
// stop and reload, the interface events, what the forwarding reports,
// planning, apply() (which has the kernel/ classes and the steps in
// route_controller_network.cpp make the kernel match the plan as one
// transaction) and the membership subscription.
#include "daemon/core/log.hpp"
#include "daemon/routing/route_controller.hpp"
#include "netlink/link.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <set>

namespace asio = boost::asio;

namespace joincast::daemon::routing {

using Json = nlohmann::json;

namespace {

std::optional<kernel::TemplateMatch> template_match(const RoutingPlan& plan, int family, std::string_view iif,
                                            const IpAddress& source, const IpAddress& group) {
  const Template* t = plan.match(family, iif, source, group);
  if (!t) return std::nullopt;
  return kernel::TemplateMatch{&t->oifs, &t->origin, &t->description};
}

}  // namespace

// ---- construction -----------------------------------------------------

RouteController::RouteController(asio::io_context& io, core::ControlServer& control, RoutingSection config,
                                 core::LinkWatcher& links)
    : io_(io),
      control_(control),
      config_(std::move(config)),
      links_(links),
      interfaces_(links.interfaces()),
      forwarding_(
          io, interfaces_, [this](int family) { return table(family); },
          [this](int family, std::string_view iif, const IpAddress& source, const IpAddress& group) {
            return template_match(plan_, family, iif, source, group);
          },
          [this](const kernel::MfcKey& key) { return plan_.routes.count(key) > 0; },
          [this](const kernel::ForwardingEvent& e) { on_forwarding(e); }),
      self_(std::make_shared<MembershipTap*>(this)) {
}

RouteController::~RouteController() {
  self_.reset();
  if (events_watch_) events_watch_->release();
}

std::uint32_t RouteController::table(int family) const {
  return config_.table.value_or(netlink::default_mroute_table(family));
}

// ---- start, stop, reload ----------------------------------------------

Result<void> RouteController::start() {
  control_.add("routes", "multicast routing: VIFs, MFC entries with counters, templates, pending routes",
               [this](const Json&) { return routes_command(); });
  control_.add("route add", "add a multicast route: from, [source], group, to[]",
               [this](const Json& r) { return route_add_command(r); });
  control_.add("route del", "remove a route added with \"route add\": from, [source], group, [to[]]",
               [this](const Json& r) { return route_del_command(r); });

  auto nl = netlink::NetlinkSocket::open();
  if (!nl) return std::move(nl).error().context("cannot open an rtnetlink socket");
  netlink_ = std::move(nl.value());
  forwarding_.attach(*netlink_);
  // Interfaces and addresses come from the daemon's LinkWatcher; route
  // deletions (one of our group routes gone) from a socket of our own.
  auto ev = netlink::NetlinkSocket::open_events({RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE});
  if (!ev) return std::move(ev).error().context("cannot listen to rtnetlink route events");
  events_ = std::move(ev.value());
  link_subscription_ = links_.subscribe([this](const core::LinkChange& c) { on_link(c); });
  watch_events();
  started_ = true;
  for (const auto& w : config_.warnings) core::log::warning("routing: {}", w);
  if (auto applied = apply(Mode::transaction); !applied) {
    started_ = false;
    return Error(std::errc::invalid_argument,
                 "the configuration cannot be applied, nothing was changed: " + applied.error().message());
  }
  if (config_.enabled)
    core::log::info("routing: {} (S,G) routes, {} templates, {} group block routes, {} pending", plan_.routes.size(),
              plan_.templates.size(), plan_.group_routes.size(), plan_.pending.size());
  forwarding_.schedule_expiry(config_.dynamic_expiry);
  return success();
}

void RouteController::stop() {
  if (!started_) return;
  stopping_ = true;
  forwarding_.cancel_expiry();
  taps_.clear();
  // Bridge settings stay as they are (see BridgeState::keep_settings).
  bridges_.keep_settings();
  // An empty configuration, but with the protocol and tables of the one
  // in force, so that what was installed under them is found and removed.
  RoutingSection none;
  none.table = config_.table;
  none.route_protocol = config_.route_protocol;
  none.group_route_table = config_.group_route_table;
  config_ = none;
  runtime_.clear();
  forwarding_.forget_dynamic();
  group_routes_.routes_changed();
  group_routes_.rules_changed();
  if (auto applied = apply(Mode::best_effort); !applied)
    core::log::warning("routing: while stopping: {}", applied.error().message());
  forwarding_.close_all();
  link_subscription_.reset();
  if (events_watch_) {
    events_watch_->release();
    events_watch_.reset();
  }
  started_ = false;
}

Result<void> RouteController::reload(const RoutingSection& next) {
  if (!started_) {
    config_ = next;
    return success();
  }
  if (next == config_) return success();
  RoutingSection previous = std::move(config_);
  config_ = next;
  // The table, protocol or priority may have changed: look again.
  group_routes_.routes_changed();
  group_routes_.rules_changed();
  for (const auto& w : config_.warnings) core::log::warning("routing: {}", w);
  // Another multicast routing table means other sockets: the old table is
  // given up (its entries go with it) and the new one built from scratch.
  const bool new_table = previous.table != config_.table;
  if (new_table) {
    core::log::notice("routing: moving from multicast routing table {} to {}; routed traffic pauses",
                previous.table.value_or(netlink::default_mroute_table_ipv4),
                config_.table.value_or(netlink::default_mroute_table_ipv4));
    forwarding_.close_all();
  }
  if (auto applied = apply(Mode::transaction); !applied) {
    config_ = std::move(previous);
    std::string why = "reload refused, the previous routing configuration stays in force: " + applied.error().message();
    if (new_table) {
      if (auto again = apply(Mode::best_effort); !again)
        why += "; restoring the previous table: " + again.error().message();
    }
    return Error(std::errc::invalid_argument, why);
  }
  core::log::info("routing: reloaded: {} (S,G) routes, {} templates, {} group block routes, {} pending", plan_.routes.size(),
            plan_.templates.size(), plan_.group_routes.size(), plan_.pending.size());
  // Routes and rules installed under a protocol or table no longer in
  // use would be orphans: remove them.
  if (previous.route_protocol != config_.route_protocol || previous.group_route_table != config_.group_route_table)
    if (auto r = kernel::GroupRoutes::remove_routes(*netlink_, previous.route_protocol, previous.group_route_table); !r)
      core::log::warning("routing: {}", r.error().message());
  if (previous.route_protocol != config_.route_protocol)
    if (auto r = kernel::GroupRoutes::remove_rules(*netlink_, previous.route_protocol); !r)
      core::log::warning("routing: {}", r.error().message());
  forwarding_.schedule_expiry(config_.dynamic_expiry);
  return success();
}

Json RouteController::status() const {
  Json j{{"enabled", config_.enabled},
         {"routes", plan_.routes.size()},
         {"templates", plan_.templates.size()},
         {"pending", plan_.pending.size() + plan_.incomplete.size()}};
  for (const auto& f : forwarding_.families()) {
    std::size_t dynamic = 0;
    for (const auto& [k, d] : f.dynamic) dynamic += !d.stop;
    j[family_name(f.family)] = {{"table", table(f.family)},
                                         {"socket", f.socket ? "open" : (f.socket_error.empty() ? "closed" : f.socket_error)},
                                         {"vifs", f.vifs.size()},
                                         {"mfc_entries", f.installed.size()},
                                         {"dynamic", dynamic}};
  }
  return j;
}

// ---- interfaces and events --------------------------------------------

void RouteController::on_link(const core::LinkChange& c) {
  switch (c.kind) {
    case core::LinkChange::Kind::gone:
      // The kernel dropped the device's memberships, VIF and MDB entries.
      joins_.forget_interface(c.ifindex);
      forwarding_.forget_interface(c.ifindex);
      bridges_.forget_interface(c.ifindex);
      [[fallthrough]];
    case core::LinkChange::Kind::appeared:
    case core::LinkChange::Kind::changed:
    case core::LinkChange::Kind::resynced:
      // A device going down takes its IPv4 routes with it, silently.
      group_routes_.routes_changed();
      group_routes_.rules_changed();
      break;
    case core::LinkChange::Kind::addresses:
      break;
  }
  schedule_reconcile();
}

void RouteController::watch_events() {
  if (!events_watch_) events_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, events_->fd());
  events_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    on_events();
    watch_events();
  });
}

void RouteController::on_events() {
  bool changed = false;
  auto r = events_->read_events([&](const nlmsghdr* nlh) -> netlink::Result<void> {
    // One of our group routes vanished (its device went down, or someone
    // deleted it): put it back when possible.
    if (nlh->nlmsg_type == RTM_DELROUTE)
      if (auto rt = netlink::parse_route(nlh); rt && rt.value().protocol == config_.route_protocol) {
        changed = true;
        group_routes_.routes_changed();
      }
    return netlink::success();
  });
  if (!r && r.error() == std::errc::no_buffer_space) {
    core::log::warning("routing: rtnetlink route events were lost; checking the group routes again");
    changed = true;
    group_routes_.routes_changed();
    group_routes_.rules_changed();
  }
  if (changed) schedule_reconcile();
}

void RouteController::on_forwarding(const kernel::ForwardingEvent& e) {
  using Kind = kernel::ForwardingEvent::Kind;
  const std::string family = family_name(e.family);
  const std::string source = e.key.source.to_string();
  const std::string group = e.key.group.to_string();
  switch (e.kind) {
    case Kind::opened: core::log::info("routing: {} multicast routing table {} opened", family, e.table); return;
    case Kind::closed: core::log::info("routing: {} multicast routing table {} closed", family, e.table); return;
    case Kind::read_failed:
      core::log::warning("routing: reading the {} multicast routing socket: {}", family, e.error.message());
      return;
    case Kind::unknown_vif:
      core::log::debug("routing: upcall for unknown {} {}", e.family == AF_INET ? "VIF" : "MIF", e.vif);
      return;
    case Kind::other_upcall:
      core::log::debug("routing: {} upcall for ({}, {}) on {}", e.detail, source, group, e.iif);
      return;
    case Kind::install_failed:
      core::log::warning("routing: cannot install ({}, {}) from {}: {}", source, group, e.iif, e.error.message());
      return;
    case Kind::resolved:
    case Kind::stop: {
      Json oifs = Json::array();
      for (const auto& [oif, ttl] : e.oifs) oifs.push_back(interfaces_.name(oif));
      if (e.match) {
        core::log::info("routing: ({}, {}) from {} resolved by {} ({}) to {}", source, group, e.iif, *e.match->description,
                  *e.match->origin, oifs.dump());
      } else {
        // As smcrouted does: an entry without outputs stops further upcalls
        // for traffic nobody routes.
        core::log::debug("routing: ({}, {}) from {} matches no template; installed as a stop filter", source, group,
                   e.iif);
      }
      control_.publish("routing", {{"event", e.match ? "resolved" : "stop"},
                                   {"family", family},
                                   {"source", source},
                                   {"group", group},
                                   {"iif", e.iif},
                                   {"oifs", oifs},
                                   {"template", e.match ? *e.match->origin : ""}});
      return;
    }
    case Kind::dump_failed: core::log::warning("routing: cannot read the {} MFC: {}", family, e.error.message()); return;
    case Kind::expire_failed:
      core::log::warning("routing: cannot expire ({}, {}): {}", source, group, e.error.message());
      return;
    case Kind::expired:
      core::log::info("routing: ({}, {}) expired after {} s without traffic", source, group,
                config_.dynamic_expiry.count() / 1000);
      control_.publish("routing",
                       {{"event", "expired"}, {"family", family}, {"source", source}, {"group", group}});
      return;
  }
}

void RouteController::schedule_reconcile() {
  if (reconcile_scheduled_ || !started_) return;
  reconcile_scheduled_ = true;
  asio::post(io_, [this] { reconcile_now(); });
}

void RouteController::reconcile_now() {
  reconcile_scheduled_ = false;
  if (!started_) return;
  if (auto applied = apply(Mode::best_effort); !applied) core::log::warning("routing: {}", applied.error().message());
}

// ---- planning -----------------------------------------------------------

std::map<int, std::set<int>> RouteController::pinned() const {
  std::map<int, std::set<int>> out;
  for (const auto& [id, tap] : taps_) {
    // Only IPv4 needs a VIF to see reports (see subscribe_membership).
    if (tap.family != AF_INET) continue;
    for (const auto& name : tap.interfaces)
      for (const auto* l : interfaces_.matching(name)) out[AF_INET].insert(l->ifindex);
  }
  return out;
}

kernel::FamilyForwarding RouteController::forwarding_plan(const RoutingPlan& plan, int fam) const {
  kernel::FamilyForwarding out;
  if (auto it = plan.vifs.find(fam); it != plan.vifs.end()) out.vifs = it->second;
  for (const auto& [key, r] : plan.routes)
    if (key.family == fam) out.routes[key] = {r.iif, r.oifs, kernel::EntryKind::route, r.origin};
  out.templates = std::any_of(plan.templates.begin(), plan.templates.end(),
                              [&](const Template& t) { return t.family == fam; });
  for (const auto& [id, tap] : taps_) {
    if (tap.family != fam) continue;
    out.tap = true;
    for (const auto& name : tap.interfaces)
      for (const auto* l : interfaces_.matching(name)) out.report_interfaces.insert(l->ifindex);
  }
  return out;
}

RoutingPlan RouteController::make_current_plan() const {
  PlanInput in{config_, runtime_, interfaces_, pinned(), table(AF_INET), table(AF_INET6)};
  return make_plan(in);
}

void RouteController::log_pending(const RoutingPlan& plan, const RoutingPlan* before) {
  for (const auto& p : plan.pending) {
    bool known = false;
    if (before)
      for (const auto& q : before->pending) known |= q.what == p.what && q.reason == p.reason;
    if (known) continue;
    if (p.vif_exhausted) core::log::error("routing: {} ({}): {}", p.what, p.origin, p.reason);
    else core::log::notice("routing: {} ({}) is pending: {}", p.what, p.origin, p.reason);
  }
  if (before) {
    for (const auto& q : before->pending) {
      bool still = false;
      for (const auto& p : plan.pending) still |= q.what == p.what;
      if (!still) core::log::info("routing: {} ({}) is no longer pending", q.what, q.origin);
    }
  }
  // A route installed without an output: a late interface, or a typo.
  for (const auto& p : plan.incomplete) {
    bool known = false;
    if (before)
      for (const auto& q : before->incomplete) known |= q.what == p.what && q.reason == p.reason;
    if (!known) core::log::warning("routing: {} ({}): {}", p.what, p.origin, p.reason);
  }
  if (before) {
    for (const auto& q : before->incomplete) {
      bool still = false;
      for (const auto& p : plan.incomplete) still |= q.what == p.what && q.reason == p.reason;
      if (!still) core::log::info("routing: {} ({}) no longer misses an output", q.what, q.origin);
    }
  }
}

// ---- applying -----------------------------------------------------------

Result<void> RouteController::apply(Mode mode) {
  RoutingPlan plan = make_current_plan();
  if (mode == Mode::transaction)
    if (auto fits = applicable(plan); !fits) return fits;
  kernel::Transaction tx(mode);
  Result<void> applied = success();
  auto match = [&plan](int family, std::string_view iif, const IpAddress& source, const IpAddress& group) {
    return template_match(plan, family, iif, source, group);
  };
  for (int fam : {AF_INET, AF_INET6})
    if (!(applied = forwarding_.apply(fam, forwarding_plan(plan, fam), match, tx))) break;
  if (applied) applied = apply_group_routes(plan, tx);
  if (applied) applied = apply_rules(plan, tx);
  if (applied) applied = joins_.apply(plan.joins, tx, interfaces_);
  if (applied) applied = bridges_.apply_mdb(*netlink_, tx, plan.mdb, interfaces_);
  if (applied)
    applied = bridges_.apply_settings(*netlink_, tx, plan.bridges, interfaces_, [](const std::string& bridge) {
      core::log::info("routing: bridge {} multicast settings changed as configured", bridge);
    });
  if (!applied) {
    tx.rollback();
    return applied;
  }
  tx.commit();
  for (const auto& e : tx.failures()) core::log::warning("routing: {}", e.message());
  if (!stopping_) log_pending(plan, started_ ? &plan_ : nullptr);
  plan_ = std::move(plan);
  return success();
}

// ---- routes other modules ask for ------------------------------------------

const char* route_owner_name(RouteOwner owner) {
  switch (owner) {
    case RouteOwner::config: return "config";
    case RouteOwner::control: return "control";
    case RouteOwner::session: return "session";
    case RouteOwner::proxy: return "proxy";
    case RouteOwner::ssdp: return "ssdp";
    case RouteOwner::monitor: return "monitor";
  }
  return "?";
}

Result<void> RouteController::route_group(RouteOwner owner, const IpAddress& group, const std::string& from,
                                          std::vector<std::string> to) {
  if (!enabled()) return Error(std::errc::not_connected, "routing is not configured");
  RouteRule rule;
  rule.family = group.family();
  rule.from = from;
  rule.group = IpPrefix::host(group);
  rule.to = std::move(to);
  std::sort(rule.to.begin(), rule.to.end());
  rule.origin = route_owner_name(owner);
  auto it = std::find_if(runtime_.begin(), runtime_.end(),
                         [&](const RouteRule& r) { return r.same_selector(rule) && r.origin == rule.origin; });
  if (rule.to.empty() && it == runtime_.end()) return success();
  if (it != runtime_.end() && it->to == rule.to) return success();
  // Another owner's route for the same traffic is not this owner's to change.
  for (const auto& r : runtime_)
    if (r.same_selector(rule) && r.origin != rule.origin)
      return Error(std::errc::device_or_resource_busy,
                   fmt::format("route {} belongs to {}", r.describe(), r.origin));
  std::vector<RouteRule> previous = runtime_;
  if (rule.to.empty()) runtime_.erase(it);
  else if (it != runtime_.end()) it->to = rule.to;
  else runtime_.push_back(rule);
  if (auto applied = apply(Mode::transaction); !applied) {
    runtime_ = std::move(previous);
    return Error(std::errc::operation_not_permitted, applied.error().message());
  }
  if (rule.to.empty()) core::log::info("routing: {} route {} from {} removed", rule.origin, group.to_string(), from);
  else core::log::info("routing: {} route {}", rule.origin, rule.describe());
  return success();
}

// ---- membership subscription ---------------------------------------------

Result<MembershipTap::Subscription> RouteController::subscribe_membership(int family_id,
                                                                        std::vector<std::string> interfaces,
                                                                        Handler handler) {
  if (family_id != AF_INET && family_id != AF_INET6) return errno_error(EAFNOSUPPORT);
  const std::uint64_t id = next_tap_++;
  taps_[id] = Tap{family_id, std::move(interfaces), {}};
  if (!started_) {
    taps_.erase(id);
    return errno_error(ENOTCONN);
  }
  if (auto applied = apply(Mode::transaction); !applied) {
    taps_.erase(id);
    // The caller logs it, once.
    const kernel::MrouteFamily& f = forwarding_.family(family_id);
    return Error(errno_error(f.socket ? ENOSPC : EADDRINUSE),
                 "membership from the multicast routing socket: " + applied.error().message());
  }
  kernel::MrouteFamily& f = forwarding_.family(family_id);
  taps_[id].subscription = f.socket->subscribe_membership(
      [this, id, handler = std::move(handler)](const netlink::MembershipPacket& p) {
        auto it = taps_.find(id);
        if (it == taps_.end()) return;
        const auto* link = interfaces_.find(p.ifindex);
        if (!link) return;
        // The router's own reports (for the groups it joined, 224.0.0.22
        // among them) loop back to the socket; TC ingress would not see
        // them, and they are no listener's.
        for (const auto& [index, l] : interfaces_.links())
          for (const auto& a : interfaces_.addresses(index))
            if (a.address == p.source) return;
        for (const auto& pattern : it->second.interfaces) {
          if (core::interface_matches(pattern, link->name)) {
            handler(p);
            return;
          }
        }
      });
  return Subscription(self_, id);
}

void RouteController::unsubscribe(std::uint64_t id) {
  if (!taps_.erase(id)) return;
  if (started_) schedule_reconcile();
}

}  // namespace joincast::daemon::routing
