// route_controller.cpp — see route_controller.hpp.
#include "daemon/routing/route_controller.hpp"

#include "daemon/core/log.hpp"
#include "netlink/link.hpp"
#include "netlink/mdb.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <set>

namespace asio = boost::asio;

namespace joincast::daemon {

using Json = nlohmann::json;

namespace {

std::string error_text(const std::error_code& e, const netlink::NetlinkSocket* nl = nullptr) {
  std::string s = e.message();
  if (nl && !nl->last_error_text().empty()) s += " (" + nl->last_error_text() + ")";
  return s;
}

// The groups IGMPv3/MLDv2 reports and IGMPv2 leaves / MLDv1 dones go to
// (RFC 3376 §4.2.14, RFC 3810 §5.2.14, RFC 2236 §3, RFC 2710 §5).
std::vector<IpAddress> report_groups(int family) {
  if (family == AF_INET) return {*IpAddress::parse("224.0.0.22"), *IpAddress::parse("224.0.0.2")};
  return {*IpAddress::parse("ff02::16"), *IpAddress::parse("ff02::2")};
}

bool same_mdb(const netlink::MdbEntry& a, const netlink::MdbEntry& b) {
  return a.bridge == b.bridge && a.port == b.port && a.group == b.group && a.source == b.source && a.vid == b.vid &&
         a.permanent == b.permanent;
}

// The fields of `want` that differ from `have`.
netlink::BridgeMulticast bridge_delta(const netlink::BridgeMulticast& want, const netlink::BridgeMulticast& have) {
  netlink::BridgeMulticast d;
  netlink::BridgeMulticast::zip_fields(
      [](const auto& w, const auto& h, auto& out) {
        if (w && w != h) out = w;
      },
      want, have, d);
  return d;
}

// For each field set in `fields`, the value `from` has.
netlink::BridgeMulticast bridge_values_of(const netlink::BridgeMulticast& fields, const netlink::BridgeMulticast& from) {
  netlink::BridgeMulticast d;
  netlink::BridgeMulticast::zip_fields(
      [](const auto& f, const auto& v, auto& out) {
        if (f) out = v;
      },
      fields, from, d);
  return d;
}

// Fills the fields `into` leaves unset from `more`.
void merge_bridge(netlink::BridgeMulticast& into, const netlink::BridgeMulticast& more) {
  netlink::BridgeMulticast::zip_fields(
      [](auto& i, const auto& m) {
        if (!i && m) i = m;
      },
      into, more);
}

}  // namespace

// The undo log of one apply(). In a transaction the first failure stops
// the apply and every completed step is undone, newest first; in best
// effort, failures are collected and the rest goes on.
class RouteController::Transaction {
 public:
  explicit Transaction(Mode mode) : mode_(mode) {}
  void done(std::function<void()> undo) {
    if (mode_ == Mode::transaction) undo_.push_back(std::move(undo));
  }
  // True when the caller must stop and return the message.
  bool failed(const std::string& message) {
    failures_.push_back(message);
    return mode_ == Mode::transaction;
  }
  void after_commit(std::function<void()> f) { commit_.push_back(std::move(f)); }
  void rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
    undo_.clear();
    commit_.clear();
  }
  void commit() {
    for (auto& f : commit_) f();
    commit_.clear();
  }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  Mode mode_;
  std::vector<std::function<void()>> undo_;
  std::vector<std::function<void()>> commit_;
  std::vector<std::string> failures_;
};

template <class MakeUndo>
Result<void> RouteController::send_change(Transaction& tx, netlink::Message change, MakeUndo make_undo) {
  auto r = netlink_->request(change);
  if (r) tx.done([this, make_undo] { (void)netlink_->request(make_undo()); });
  return r;
}

// ---- construction -----------------------------------------------------

RouteController::RouteController(asio::io_context& io, ControlServer& control, RoutingSection config)
    : io_(io),
      control_(control),
      config_(std::move(config)),
      expiry_timer_(io),
      self_(std::make_shared<RouteController*>(this)) {
  families_[0].family = AF_INET;
  families_[1].family = AF_INET6;
}

RouteController::~RouteController() {
  self_.reset();
  for (auto& f : families_)
    if (f.watch) f.watch->release();
  if (events_watch_) events_watch_->release();
}

RouteController::MembershipSubscription& RouteController::MembershipSubscription::operator=(
    MembershipSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::move(other.owner_);
    id_ = other.id_;
    other.id_ = 0;
  }
  return *this;
}

RouteController::MembershipSubscription::~MembershipSubscription() { reset(); }

void RouteController::MembershipSubscription::reset() {
  if (id_ == 0) return;
  if (auto owner = owner_.lock()) (*owner)->unsubscribe(id_);
  id_ = 0;
  owner_.reset();
}

std::uint32_t RouteController::table(int family) const {
  return config_.table.value_or(netlink::default_mroute_table(family));
}

// ---- start, stop, reload ----------------------------------------------

bool RouteController::start() {
  control_.add("routes", "multicast routing: VIFs, MFC entries with counters, templates, pending routes",
               [this](const Json&) { return routes_command(); });
  control_.add("route add", "add a multicast route: from, [source], group, to[]",
               [this](const Json& r) { return route_add_command(r); });
  control_.add("route del", "remove a route added with \"route add\": from, [source], group, [to[]]",
               [this](const Json& r) { return route_del_command(r); });

  auto nl = netlink::NetlinkSocket::open();
  if (!nl) {
    log::error("routing: cannot open an rtnetlink socket: {}", nl.error().message());
    return false;
  }
  netlink_ = std::move(nl.value());
  auto ev = netlink::NetlinkSocket::open_events(
      {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE});
  if (!ev) {
    log::error("routing: cannot listen to rtnetlink events: {}", ev.error().message());
    return false;
  }
  events_ = std::move(ev.value());
  // Listen first, then dump: a change between the two is in the queue.
  if (!read_interfaces()) return false;
  watch_events();
  started_ = true;
  for (const auto& w : config_.warnings) log::warning("routing: {}", w);
  if (auto e = apply(Mode::transaction)) {
    log::error("routing: the configuration cannot be applied, nothing was changed: {}", *e);
    started_ = false;
    return false;
  }
  if (config_.enabled)
    log::info("routing: {} (S,G) routes, {} templates, {} group block routes, {} pending", plan_.routes.size(),
              plan_.templates.size(), plan_.group_routes.size(), plan_.pending.size());
  schedule_expiry();
  return true;
}

void RouteController::stop() {
  if (!started_) return;
  stopping_ = true;
  expiry_timer_.cancel();
  taps_.clear();
  // Bridge settings stay as they are: turning snooping back on while the
  // daemon restarts would cut exactly the traffic it was turned off for.
  bridge_originals_.clear();
  // An empty configuration, but with the protocol and tables of the one
  // in force, so that what was installed under them is found and removed.
  RoutingSection none;
  none.table = config_.table;
  none.route_protocol = config_.route_protocol;
  none.group_route_table = config_.group_route_table;
  config_ = none;
  runtime_.clear();
  for (auto& f : families_) f.dynamic.clear();
  group_routes_dirty_ = rules_dirty_ = true;
  if (auto e = apply(Mode::best_effort)) log::warning("routing: while stopping: {}", *e);
  for (auto& f : families_) close_socket(f);
  if (events_watch_) {
    events_watch_->release();
    events_watch_.reset();
  }
  started_ = false;
}

bool RouteController::reload(const RoutingSection& next) {
  if (!started_) {
    config_ = next;
    return true;
  }
  if (next == config_) return true;
  RoutingSection previous = std::move(config_);
  config_ = next;
  // The table, protocol or priority may have changed: look again.
  group_routes_dirty_ = rules_dirty_ = true;
  for (const auto& w : config_.warnings) log::warning("routing: {}", w);
  // Another multicast routing table means other sockets: the old table is
  // given up (its entries go with it) and the new one built from scratch.
  const bool new_table = previous.table != config_.table;
  if (new_table) {
    log::notice("routing: moving from multicast routing table {} to {}; routed traffic pauses",
                previous.table.value_or(netlink::default_mroute_table_ipv4),
                config_.table.value_or(netlink::default_mroute_table_ipv4));
    for (auto& f : families_) close_socket(f);
  }
  if (auto e = apply(Mode::transaction)) {
    log::error("routing: reload refused, the previous routing configuration stays in force: {}", *e);
    config_ = std::move(previous);
    if (new_table) {
      if (auto again = apply(Mode::best_effort)) log::error("routing: restoring the previous table: {}", *again);
    }
    return false;
  }
  log::info("routing: reloaded: {} (S,G) routes, {} templates, {} group block routes, {} pending", plan_.routes.size(),
            plan_.templates.size(), plan_.group_routes.size(), plan_.pending.size());
  // Routes and rules installed under a protocol or table no longer in
  // use would be orphans: remove them.
  if (previous.route_protocol != config_.route_protocol || previous.group_route_table != config_.group_route_table)
    remove_group_routes(previous.route_protocol, previous.group_route_table);
  if (previous.route_protocol != config_.route_protocol) remove_rules(previous.route_protocol);
  schedule_expiry();
  return true;
}

void RouteController::remove_group_routes(std::uint8_t protocol, std::uint32_t table_id) {
  for (int fam : {AF_INET, AF_INET6}) {
    std::vector<netlink::Route> old;
    (void)netlink_->dump(netlink::dump_routes(fam, table_id, protocol), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_route(nlh);
      if (r && r.value().protocol == protocol && r.value().table == table_id) old.push_back(r.value());
      return netlink::success();
    });
    for (const auto& r : old) {
      if (auto e = netlink_->request(netlink::del_route(r)); !e)
        log::warning("routing: cannot remove the route {}: {}", r.destination.to_string(), e.error().message());
    }
  }
}

void RouteController::remove_rules(std::uint8_t protocol) {
  for (int fam : {RTNL_FAMILY_IPMR, RTNL_FAMILY_IP6MR}) {
    std::vector<netlink::Rule> old;
    (void)netlink_->dump(netlink::dump_rules(fam), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_rule(nlh);
      if (r && r.value().protocol == protocol) old.push_back(r.value());
      return netlink::success();
    });
    for (const auto& r : old) {
      if (auto e = netlink_->request(netlink::del_rule(r)); !e)
        log::warning("routing: cannot remove a multicast rule: {}", e.error().message());
    }
  }
}

Json RouteController::status() const {
  Json j{{"enabled", config_.enabled},
         {"routes", plan_.routes.size()},
         {"templates", plan_.templates.size()},
         {"pending", plan_.pending.size()}};
  for (const auto& f : families_) {
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

bool RouteController::read_interfaces() {
  interfaces_.clear();
  auto links = netlink_->dump(netlink::dump_links(), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
    if (auto l = netlink::parse_link(nlh)) interfaces_.apply(l.value());
    return netlink::success();
  });
  if (!links) {
    log::error("routing: cannot list interfaces: {}", links.error().message());
    return false;
  }
  auto addrs = netlink_->dump(netlink::dump_addresses(), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
    if (auto a = netlink::parse_address(nlh)) interfaces_.apply(a.value());
    return netlink::success();
  });
  if (!addrs) {
    log::error("routing: cannot list addresses: {}", addrs.error().message());
    return false;
  }
  return true;
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
  std::vector<int> gone;
  auto r = events_->read_events([&](const nlmsghdr* nlh) -> netlink::Result<void> {
    switch (nlh->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        if (auto l = netlink::parse_link(nlh)) {
          if (l.value().deleted) gone.push_back(l.value().ifindex);
          if (interfaces_.apply(l.value())) {
            // A device going down takes its IPv4 routes with it, silently.
            changed = group_routes_dirty_ = rules_dirty_ = true;
          }
        }
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        if (auto a = netlink::parse_address(nlh)) changed |= interfaces_.apply(a.value());
        break;
      case RTM_DELROUTE:
        // One of our group routes vanished (its device went down, or
        // someone deleted it): put it back when possible.
        if (auto rt = netlink::parse_route(nlh); rt && rt.value().protocol == config_.route_protocol)
          changed = group_routes_dirty_ = true;
        break;
      default:
        break;
    }
    return netlink::success();
  });
  if (!r && r.error() == std::errc::no_buffer_space) {
    log::warning("routing: rtnetlink events were lost; reading the interfaces again");
    read_interfaces();
    changed = group_routes_dirty_ = rules_dirty_ = true;
  }
  for (int ifindex : gone) {
    // The kernel dropped the device's memberships, VIF and MDB entries.
    joins_.forget_interface(ifindex);
    for (auto& f : families_) f.report_joins.erase(ifindex);
    std::erase_if(mdb_installed_, [&](const netlink::MdbEntry& e) { return e.bridge == ifindex || e.port == ifindex; });
    bridge_originals_.erase(ifindex);
  }
  if (changed) schedule_reconcile();
}

void RouteController::schedule_reconcile() {
  if (reconcile_scheduled_ || !started_) return;
  reconcile_scheduled_ = true;
  asio::post(io_, [this] { reconcile_now(); });
}

void RouteController::reconcile_now() {
  reconcile_scheduled_ = false;
  if (!started_) return;
  if (auto e = apply(Mode::best_effort)) log::warning("routing: {}", *e);
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
    if (p.vif_exhausted) log::error("routing: {} ({}): {}", p.what, p.origin, p.reason);
    else log::notice("routing: {} ({}) is pending: {}", p.what, p.origin, p.reason);
  }
  if (before) {
    for (const auto& q : before->pending) {
      bool still = false;
      for (const auto& p : plan.pending) still |= q.what == p.what;
      if (!still) log::info("routing: {} ({}) is no longer pending", q.what, q.origin);
    }
  }
}

std::optional<RouteController::Installed> RouteController::kernel_entry(const Family& f, int iif, const OifMap& oifs,
                                                                        EntryKind kind, std::string origin) const {
  auto iif_vif = f.vifs.index_of(iif);
  if (!iif_vif) return std::nullopt;
  Installed e;
  e.iif = iif;
  e.iif_vif = *iif_vif;
  e.kind = kind;
  e.origin = std::move(origin);
  for (const auto& [ifindex, ttl] : oifs) {
    auto v = f.vifs.index_of(ifindex);
    if (!v) continue;
    e.ttls[*v] = ttl ? ttl : 1;
    e.oifs[ifindex] = ttl;
  }
  return e;
}

Result<void> RouteController::write_mfc(Family& f, const MfcKey& key, const Installed& entry) {
  if (f.family == AF_INET && netlink::netlink_can_write(entry.ttls)) {
    auto m = netlink::new_mfc4(table(AF_INET), key.source, key.group, entry.iif, entry.ttls);
    return netlink_->request(m);
  }
  return f.socket->add_mfc(key.source, key.group, entry.iif_vif, entry.ttls);
}

Result<void> RouteController::erase_mfc(Family& f, const MfcKey& key) {
  if (f.family == AF_INET) {
    auto m = netlink::del_mfc4(table(AF_INET), key.source, key.group);
    return netlink_->request(m);
  }
  return f.socket->del_mfc(key.source, key.group);
}

std::optional<std::string> RouteController::open_socket(Family& f) {
  auto s = netlink::MrouteSocket::open(f.family, table(f.family));
  if (!s) {
    const auto& e = s.error();
    std::string why = e == std::errc::address_in_use
                          ? fmt::format("another multicast routing daemon (smcrouted, pimd, ...) owns {} table {}: "
                                        "stop it or set routing.table to another table",
                                        family_name(f.family), table(f.family))
                          : e.message();
    f.socket_error = why;
    return fmt::format("cannot open the {} multicast routing socket: {}", family_name(f.family), why);
  }
  f.socket_error.clear();
  f.socket = std::move(s.value());
  f.socket->set_upcall_handler([this, &f](const netlink::Upcall& u) { on_upcall(f, u); });
  watch_socket(f);
  log::info("routing: {} multicast routing table {} opened", family_name(f.family), table(f.family));
  return std::nullopt;
}

void RouteController::close_socket(Family& f) {
  if (!f.socket) return;
  if (f.watch) {
    f.watch->release();
    f.watch.reset();
  }
  // Closing flushes the table's VIFs and MFC entries at once.
  f.socket.reset();
  f.vifs.clear();
  f.installed.clear();
  f.dynamic.clear();
  f.report_joins.clear();
  log::info("routing: {} multicast routing table {} closed", family_name(f.family), table(f.family));
}

void RouteController::watch_socket(Family& f) {
  if (!f.watch) f.watch = std::make_unique<asio::posix::stream_descriptor>(io_, f.socket->fd());
  f.watch->async_wait(asio::posix::stream_descriptor::wait_read, [this, &f](boost::system::error_code ec) {
    if (ec || !f.socket) return;
    auto r = f.socket->dispatch_pending();
    if (!r) log::warning("routing: reading the {} multicast routing socket: {}", family_name(f.family),
                         r.error().message());
    watch_socket(f);
  });
}

// ---- applying -----------------------------------------------------------

std::optional<std::string> RouteController::apply(Mode mode) {
  RoutingPlan plan = make_current_plan();
  if (mode == Mode::transaction && plan.vif_exhausted()) {
    for (const auto& p : plan.pending)
      if (p.vif_exhausted) return fmt::format("{} ({}) {}", p.what, p.origin, p.reason);
  }
  Transaction tx(mode);
  std::optional<std::string> error;
  for (auto& f : families_) {
    if ((error = apply_family(f, plan, tx))) break;
  }
  if (!error) error = apply_group_routes(plan, tx);
  if (!error) error = apply_rules(plan, tx);
  if (!error) error = apply_joins(plan, tx);
  if (!error) error = apply_mdb(plan, tx);
  if (!error) error = apply_bridges(plan, tx);
  if (error) {
    tx.rollback();
    return error;
  }
  tx.commit();
  for (const auto& m : tx.failures()) log::warning("routing: {}", m);
  if (!stopping_) log_pending(plan, started_ && !plan_.pending.empty() ? &plan_ : nullptr);
  plan_ = std::move(plan);
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_family(Family& f, const RoutingPlan& plan, Transaction& tx) {
  const int fam = f.family;
  static const std::map<int, std::uint8_t> no_vifs;
  auto nv = plan.vifs.find(fam);
  const auto& needs = nv == plan.vifs.end() ? no_vifs : nv->second;

  struct Want {
    int iif;
    OifMap oifs;
    EntryKind kind;
    std::string origin;
  };
  std::map<MfcKey, Want> want;
  for (const auto& [key, r] : plan.routes)
    if (key.family == fam) want[key] = {r.iif, r.oifs, EntryKind::route, r.origin};
  for (auto it = f.dynamic.begin(); it != f.dynamic.end();) {
    const MfcKey& key = it->first;
    Dynamic& d = it->second;
    const auto* link = interfaces_.find(d.iif);
    const Template* t = link ? plan.match(fam, link->name, key.source, key.group) : nullptr;
    if (want.count(key) || !link) {
      it = f.dynamic.erase(it);  // configured now, or its interface is gone
    } else if (t) {
      d.stop = false;
      want[key] = {d.iif, t->oifs, EntryKind::dynamic, t->origin};
      ++it;
    } else if (d.stop && needs.count(d.iif)) {
      want[key] = {d.iif, {}, EntryKind::stop, "no template matches"};
      ++it;
    } else {
      it = f.dynamic.erase(it);  // its template is gone
    }
  }
  bool has_tap = false;
  for (const auto& [id, tap] : taps_) has_tap |= tap.family == fam;
  const bool needed = !needs.empty() || !want.empty() || has_tap ||
                      std::any_of(plan.templates.begin(), plan.templates.end(),
                                  [&](const Template& t) { return t.family == fam; });
  if (!needed) {
    // Closing flushes everything; done only once the rest succeeded.
    if (f.socket) tx.after_commit([this, &f] { close_socket(f); });
    return std::nullopt;
  }
  if (!f.socket) {
    if (auto e = open_socket(f)) {
      if (tx.failed(*e)) return e;
      return std::nullopt;
    }
    tx.done([this, &f] { close_socket(f); });
  }
  netlink::MrouteSocket& sock = *f.socket;
  const char* vif_word = fam == AF_INET ? "VIF" : "MIF";

  // 1. Entries no longer wanted.
  std::vector<MfcKey> stale;
  for (const auto& [key, e] : f.installed)
    if (!want.count(key)) stale.push_back(key);
  for (const auto& key : stale) {
    auto r = erase_mfc(f, key);
    if (!r) {
      auto m = fmt::format("cannot remove ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                           error_text(r.error(), &*netlink_));
      if (tx.failed(m)) return m;
      continue;
    }
    Installed old = f.installed.at(key);
    f.installed.erase(key);
    tx.done([this, &f, key, old] {
      if (write_mfc(f, key, old)) f.installed[key] = old;
    });
  }

  // 2. VIFs nobody needs, or whose threshold changed.
  std::bitset<netlink::max_vifs> freed;
  for (const auto& vif : f.vifs.list()) {
    auto it = needs.find(vif.ifindex);
    if (it != needs.end() && it->second == vif.threshold) continue;
    auto r = f.vifs.remove(sock, vif.ifindex);
    if (!r) {
      auto m = fmt::format("cannot remove {} {} ({}): {}", vif_word, vif.index, interfaces_.name(vif.ifindex),
                           r.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    freed.set(vif.index);
    tx.done([&f, vif] { (void)f.vifs.restore(*f.socket, vif); });
  }

  // 3. VIFs newly needed.
  for (const auto& [ifindex, ttl] : needs) {
    if (f.vifs.find(ifindex)) continue;
    auto r = f.vifs.add(sock, ifindex, ttl, freed);
    if (!r) {
      auto m = fmt::format("cannot create a {} for {}: {}", vif_word, interfaces_.name(ifindex), r.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }

  // 4. Entries new or changed. IPv4 goes over rtnetlink in batches.
  std::vector<std::pair<MfcKey, Installed>> writes;
  for (auto& [key, w] : want) {
    auto entry = kernel_entry(f, w.iif, w.oifs, w.kind, w.origin);
    if (!entry) continue;  // its input VIF could not be made (logged above)
    auto it = f.installed.find(key);
    if (it != f.installed.end() && it->second.same_in_kernel(*entry)) {
      it->second = *entry;  // kind/origin only: nothing to tell the kernel
      continue;
    }
    writes.emplace_back(key, *entry);
  }
  auto record = [&](const MfcKey& key, const Installed& entry) {
    auto it = f.installed.find(key);
    std::optional<Installed> old;
    if (it != f.installed.end()) old = it->second;
    f.installed[key] = entry;
    tx.done([this, &f, key, old] {
      if (old) {
        if (write_mfc(f, key, *old)) f.installed[key] = *old;
      } else if (erase_mfc(f, key)) {
        f.installed.erase(key);
      }
    });
  };
  // The socket option writes every IPv6 entry (the kernel has no netlink
  // writer for them) and the IPv4 entries that output on VIF 31 (see
  // netlink_can_write); the other IPv4 entries go over rtnetlink in batches.
  std::vector<std::pair<MfcKey, Installed>> by_socket;
  if (fam == AF_INET6) {
    by_socket.swap(writes);
  } else {
    std::erase_if(writes, [&](const auto& w) {
      if (netlink::netlink_can_write(w.second.ttls)) return false;
      by_socket.push_back(w);
      return true;
    });
  }
  for (const auto& [key, e] : by_socket) {
    auto r = sock.add_mfc(key.source, key.group, e.iif_vif, e.ttls);
    if (!r) {
      auto m = fmt::format("cannot install ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                           r.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    record(key, e);
  }
  std::vector<netlink::Message> batch;
  batch.reserve(writes.size());
  for (const auto& [key, e] : writes) batch.push_back(netlink::new_mfc4(table(AF_INET), key.source, key.group, e.iif, e.ttls));
  auto results = netlink_->request_batch(batch);
  std::optional<std::string> first;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (!results[i]) {
      record(writes[i].first, writes[i].second);
      continue;
    }
    auto m = fmt::format("cannot install ({}, {}): {}", writes[i].first.source.to_string(),
                         writes[i].first.group.to_string(), results[i].message());
    if (tx.failed(m) && !first) first = m;
  }
  if (first) return first;
  return apply_report_joins(f, tx);
}

std::optional<std::string> RouteController::apply_report_joins(Family& f, Transaction& tx) {
  std::set<int> want;
  for (const auto& [id, tap] : taps_) {
    if (tap.family != f.family) continue;
    for (const auto& name : tap.interfaces)
      for (const auto* l : interfaces_.matching(name)) want.insert(l->ifindex);
  }
  for (auto it = f.report_joins.begin(); it != f.report_joins.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    for (const auto& g : report_groups(f.family)) (void)f.socket->leave(it->first, g);
    it = f.report_joins.erase(it);
  }
  for (int ifindex : want) {
    if (f.report_joins.count(ifindex)) continue;
    for (const auto& g : report_groups(f.family)) {
      auto r = f.socket->join(ifindex, g);
      if (!r) {
        auto m = fmt::format("cannot join {} on {} for membership reports: {}", g.to_string(), interfaces_.name(ifindex),
                             r.error().message());
        if (tx.failed(m)) return m;
      }
    }
    f.report_joins[ifindex] = 1;
    tx.done([&f, ifindex] {
      if (f.socket)
        for (const auto& g : report_groups(f.family)) (void)f.socket->leave(ifindex, g);
      f.report_joins.erase(ifindex);
    });
  }
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_group_routes(const RoutingPlan& plan, Transaction& tx) {
  if (!group_routes_dirty_ && plan.group_routes == applied_group_routes_) return std::nullopt;
  tx.after_commit([this, routes = plan.group_routes] {
    applied_group_routes_ = routes;
    group_routes_dirty_ = false;
  });
  for (int fam : {AF_INET, AF_INET6}) {
    std::vector<netlink::Route> have;
    auto dumped = netlink_->dump(
        netlink::dump_routes(fam, config_.group_route_table, config_.route_protocol),
        [&](const nlmsghdr* nlh) -> netlink::Result<void> {
          auto r = netlink::parse_route(nlh);
          if (r && r.value().protocol == config_.route_protocol && r.value().table == config_.group_route_table)
            have.push_back(r.value());
          return netlink::success();
        });
    if (!dumped) {
      auto m = fmt::format("cannot read the {} routes of table {}: {}", family_name(fam),
                           config_.group_route_table, dumped.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    auto same_slot = [](const netlink::Route& a, const netlink::Route& b) {
      return a.destination == b.destination && a.priority.value_or(0) == b.priority.value_or(0);
    };
    for (const auto& want : plan.group_routes) {
      if (want.family() != fam) continue;
      auto it = std::find_if(have.begin(), have.end(), [&](const netlink::Route& h) { return same_slot(h, want); });
      std::optional<netlink::Route> old;
      if (it != have.end()) {
        if (it->oif == want.oif && it->type == want.type) {
          have.erase(it);
          continue;
        }
        old = *it;
        have.erase(it);
      }
      auto r = send_change(tx, netlink::new_route(want),
                           [want, old] { return old ? netlink::new_route(*old) : netlink::del_route(want); });
      if (!r) {
        auto m = fmt::format("cannot add the route {} dev {} table {}: {}", want.destination.to_string(),
                             interfaces_.name(want.oif), want.table, error_text(r.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto r = send_change(tx, netlink::del_route(extra), [extra] { return netlink::new_route(extra); });
      if (!r) {
        auto m = fmt::format("cannot remove the route {}: {}", extra.destination.to_string(), error_text(r.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_rules(const RoutingPlan& plan, Transaction& tx) {
  // One `iif X` and one `oif X` rule per interface the plan gives a VIF, in
  // the family's multicast rule table (RTNL_FAMILY_IPMR / RTNL_FAMILY_IP6MR).
  auto rules_for = [&](int fam) {
    std::vector<netlink::Rule> rules;
    auto it = plan.vifs.find(fam);
    if (!config_.table || it == plan.vifs.end()) return rules;
    for (const auto& [ifindex, ttl] : it->second) {
      const auto* link = interfaces_.find(ifindex);
      if (!link) continue;
      for (bool incoming : {true, false}) {
        netlink::Rule r;
        r.family = fam == AF_INET ? RTNL_FAMILY_IPMR : RTNL_FAMILY_IP6MR;
        r.priority = config_.rule_priority;
        r.table = *config_.table;
        r.protocol = config_.route_protocol;
        (incoming ? r.iif : r.oif) = link->name;
        rules.push_back(r);
      }
    }
    return rules;
  };
  std::vector<netlink::Rule> wanted;
  for (int fam : {AF_INET, AF_INET6}) std::ranges::copy(rules_for(fam), std::back_inserter(wanted));
  if (!rules_dirty_ && wanted == applied_rules_) return std::nullopt;
  tx.after_commit([this, wanted] {
    applied_rules_ = wanted;
    rules_dirty_ = false;
  });
  for (const auto& f : families_) {
    const int rule_family = f.family == AF_INET ? RTNL_FAMILY_IPMR : RTNL_FAMILY_IP6MR;
    std::vector<netlink::Rule> have;
    auto dumped = netlink_->dump(netlink::dump_rules(rule_family), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_rule(nlh);
      if (r && r.value().protocol == config_.route_protocol) have.push_back(r.value());
      return netlink::success();
    });
    if (!dumped) {
      auto m = fmt::format("cannot read the {} multicast rules: {}", family_name(f.family), dumped.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    for (const auto& r : rules_for(f.family)) {
      auto it = std::find(have.begin(), have.end(), r);
      if (it != have.end()) {
        have.erase(it);
        continue;
      }
      auto res = send_change(tx, netlink::new_rule(r), [r] { return netlink::del_rule(r); });
      if (!res) {
        auto m = fmt::format("cannot add the multicast rule {}{} lookup {}: {}", r.iif.empty() ? "oif " : "iif ",
                             r.iif.empty() ? r.oif : r.iif, r.table, error_text(res.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto res = send_change(tx, netlink::del_rule(extra), [extra] { return netlink::new_rule(extra); });
      if (!res) {
        auto m = fmt::format("cannot remove a multicast rule: {}", error_text(res.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_joins(const RoutingPlan& plan, Transaction& tx) {
  for (const auto& j : joins_.joined()) {
    if (plan.joins.count(j)) continue;
    auto r = joins_.leave(j);
    if (!r) {
      auto m = fmt::format("cannot leave {} on {}: {}", j.group.to_string(), interfaces_.name(j.ifindex), r.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)joins_.join(j); });
  }
  for (const auto& j : plan.joins) {
    auto r = joins_.join(j);
    if (!r) {
      auto m = fmt::format("cannot join {}{} on {} ({}): {}", j.source ? j.source->to_string() + " " : "",
                           j.group.to_string(), interfaces_.name(j.ifindex), j.origin, r.error().message());
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)joins_.leave(j); });
  }
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_mdb(const RoutingPlan& plan, Transaction& tx) {
  std::vector<netlink::MdbEntry> keep;
  for (const auto& e : mdb_installed_) {
    bool wanted = std::any_of(plan.mdb.begin(), plan.mdb.end(), [&](const PlannedMdb& p) { return same_mdb(p.entry, e); });
    if (wanted) {
      keep.push_back(e);
      continue;
    }
    auto msg = netlink::del_mdb(e);
    auto r = netlink_->request(msg);
    if (!r) {
      auto m = fmt::format("cannot remove the MDB entry {} on {}: {}", e.group.to_string(), interfaces_.name(e.port),
                           error_text(r.error(), &*netlink_));
      if (tx.failed(m)) return m;
      keep.push_back(e);
      continue;
    }
    tx.done([this, e] {
      auto undo = netlink::new_mdb(e);
      if (netlink_->request(undo)) mdb_installed_.push_back(e);
    });
  }
  mdb_installed_ = std::move(keep);
  for (const auto& p : plan.mdb) {
    if (std::any_of(mdb_installed_.begin(), mdb_installed_.end(), [&](const auto& e) { return same_mdb(e, p.entry); }))
      continue;
    auto msg = netlink::new_mdb(p.entry);
    auto r = netlink_->request(msg);
    if (!r) {
      auto m = fmt::format("cannot add the MDB entry {} on {} ({}): {}", p.entry.group.to_string(),
                           interfaces_.name(p.entry.port), p.origin, error_text(r.error(), &*netlink_));
      if (tx.failed(m)) return m;
      continue;
    }
    mdb_installed_.push_back(p.entry);
    tx.done([this, e = p.entry] {
      auto undo = netlink::del_mdb(e);
      (void)netlink_->request(undo);
      std::erase_if(mdb_installed_, [&](const auto& x) { return same_mdb(x, e); });
    });
  }
  return std::nullopt;
}

std::optional<std::string> RouteController::apply_bridges(const RoutingPlan& plan, Transaction& tx) {
  auto set = [&](int ifindex, const netlink::BridgeMulticast& values) -> Result<void> {
    auto msg = netlink::set_bridge_multicast(ifindex, values);
    return netlink_->request(msg);
  };
  for (const auto& [ifindex, want] : plan.bridges) {
    const auto* link = interfaces_.find(ifindex);
    if (!link || !link->bridge) continue;
    netlink::BridgeMulticast delta = bridge_delta(want, *link->bridge);
    if (delta.empty()) continue;
    netlink::BridgeMulticast before = bridge_values_of(delta, *link->bridge);
    auto r = set(ifindex, delta);
    if (!r) {
      auto m = fmt::format("cannot change the multicast settings of bridge {}: {}", link->name,
                           error_text(r.error(), &*netlink_));
      if (tx.failed(m)) return m;
      continue;
    }
    log::info("routing: bridge {} multicast settings changed as configured", link->name);
    merge_bridge(bridge_originals_[ifindex], before);
    tx.done([set, ifindex = ifindex, before] { (void)set(ifindex, before); });
  }
  // Bridges no longer configured get back what they had.
  for (auto it = bridge_originals_.begin(); it != bridge_originals_.end();) {
    if (plan.bridges.count(it->first)) {
      ++it;
      continue;
    }
    if (interfaces_.find(it->first)) {
      auto r = set(it->first, it->second);
      if (!r) {
        auto m = fmt::format("cannot restore the multicast settings of bridge {}: {}", interfaces_.name(it->first),
                             error_text(r.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
    it = bridge_originals_.erase(it);
  }
  return std::nullopt;
}

// ---- upcalls and expiry -------------------------------------------------

void RouteController::on_upcall(Family& f, const netlink::Upcall& u) {
  auto ifindex = f.vifs.ifindex_of(u.vif);
  if (!ifindex) {
    log::debug("routing: upcall for unknown {} {}", f.family == AF_INET ? "VIF" : "MIF", u.vif);
    return;
  }
  const std::string iif = interfaces_.name(*ifindex);
  if (u.kind != netlink::UpcallKind::nocache) {
    log::debug("routing: {} upcall for ({}, {}) on {}", netlink::upcall_kind_name(u.kind), u.source.to_string(),
               u.group.to_string(), iif);
    return;
  }
  MfcKey key{f.family, u.source, u.group};
  if (f.installed.count(key) || plan_.routes.count(key)) return;  // a duplicate upcall
  const Template* t = plan_.match(f.family, iif, u.source, u.group);
  Dynamic d{*ifindex, t == nullptr, std::chrono::steady_clock::now()};
  auto entry = kernel_entry(f, *ifindex, t ? t->oifs : OifMap{}, t ? EntryKind::dynamic : EntryKind::stop,
                            t ? t->origin : "no template matches");
  if (!entry) return;
  auto r = write_mfc(f, key, *entry);
  if (!r) {
    log::warning("routing: cannot install ({}, {}) from {}: {}", u.source.to_string(), u.group.to_string(), iif,
                 error_text(r.error(), &*netlink_));
    return;
  }
  f.dynamic[key] = d;
  f.installed[key] = *entry;
  Json oifs = Json::array();
  for (const auto& [oif, ttl] : entry->oifs) oifs.push_back(interfaces_.name(oif));
  if (t) {
    log::info("routing: ({}, {}) from {} resolved by {} ({}) to {}", u.source.to_string(), u.group.to_string(), iif,
              t->description, t->origin, oifs.dump());
  } else {
    // As smcrouted does: an entry without outputs stops further upcalls
    // for traffic nobody routes.
    log::debug("routing: ({}, {}) from {} matches no template; installed as a stop filter", u.source.to_string(),
               u.group.to_string(), iif);
  }
  control_.publish("routing", {{"event", t ? "resolved" : "stop"},
                               {"family", family_name(f.family)},
                               {"source", u.source.to_string()},
                               {"group", u.group.to_string()},
                               {"iif", iif},
                               {"oifs", oifs},
                               {"template", t ? t->origin : ""}});
}

void RouteController::schedule_expiry() {
  expiry_timer_.cancel();
  if (config_.dynamic_expiry.count() == 0) return;
  // Check a few times per expiry period, so an idle entry goes within a
  // quarter period of its time.
  auto period = std::clamp<std::chrono::milliseconds>(config_.dynamic_expiry / 4, std::chrono::milliseconds(250),
                                                      std::chrono::milliseconds(15'000));
  expiry_timer_.expires_after(period);
  expiry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    expire();
    schedule_expiry();
  });
}

void RouteController::expire() {
  for (auto& f : families_) {
    if (!f.socket || f.dynamic.empty()) continue;
    std::map<MfcKey, std::uint64_t> idle_cs;
    auto dumped = netlink_->dump(netlink::dump_mfc(f.family, table(f.family)), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      if (auto e = netlink::parse_mfc(nlh)) idle_cs[{f.family, e.value().source, e.value().group}] = e.value().idle_cs;
      return netlink::success();
    });
    if (!dumped) {
      log::warning("routing: cannot read the {} MFC: {}", family_name(f.family), dumped.error().message());
      continue;
    }
    const auto limit_cs = static_cast<std::uint64_t>(config_.dynamic_expiry.count() / 10);
    for (auto it = f.dynamic.begin(); it != f.dynamic.end();) {
      auto idle = idle_cs.find(it->first);
      // An entry the kernel no longer has (flushed by hand) goes too.
      if (idle != idle_cs.end() && idle->second < limit_cs) {
        ++it;
        continue;
      }
      const MfcKey key = it->first;
      auto r = erase_mfc(f, key);
      if (!r) {
        log::warning("routing: cannot expire ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                     r.error().message());
        ++it;
        continue;
      }
      log::info("routing: ({}, {}) expired after {} s without traffic", key.source.to_string(), key.group.to_string(),
                config_.dynamic_expiry.count() / 1000);
      control_.publish("routing", {{"event", "expired"},
                                   {"family", family_name(f.family)},
                                   {"source", key.source.to_string()},
                                   {"group", key.group.to_string()}});
      f.installed.erase(key);
      it = f.dynamic.erase(it);
    }
  }
}

// ---- a runtime (S,G) on its own ------------------------------------------

std::optional<std::string> RouteController::add_source_specific(const RouteRule& rule) {
  // runtime_ already ends with `rule`; the plan was made without it.
  std::vector<RouteRule> before(runtime_.begin(), runtime_.end() - 1);
  PlanInput in{config_, before, interfaces_, pinned(), table(AF_INET), table(AF_INET6)};
  // What planning one (S,G) can change, saved to put back on failure
  // (copying the whole plan would cost what this path saves).
  const MfcKey key{rule.family, rule.source->address(), rule.group->address()};
  std::optional<PlannedRoute> saved_route;
  if (auto it = plan_.routes.find(key); it != plan_.routes.end()) saved_route = it->second;
  const auto saved_vifs = plan_.vifs[rule.family];
  const std::size_t saved_pending = plan_.pending.size();
  plan_one_more(plan_, in, rule);
  auto restore = [&] {
    if (saved_route) plan_.routes[key] = *saved_route;
    else plan_.routes.erase(key);
    plan_.vifs[rule.family] = saved_vifs;
    plan_.pending.resize(saved_pending);
  };
  if (plan_.pending.size() > saved_pending) {
    const Pending& p = plan_.pending.back();
    if (p.vif_exhausted) {
      std::string e = fmt::format("{} ({}) {}", p.what, p.origin, p.reason);
      restore();
      return e;
    }
    log::notice("routing: {} ({}) is pending: {}", p.what, p.origin, p.reason);
    return std::nullopt;  // waits for its interface; nothing to install now
  }
  Family& f = family(rule.family);
  Transaction tx(Mode::transaction);
  auto fail = [&](std::string e) -> std::optional<std::string> {
    tx.rollback();
    restore();
    return e;
  };
  if (!f.socket) {
    if (auto e = open_socket(f)) return fail(*e);
    tx.done([this, &f] { close_socket(f); });
  }
  for (const auto& [ifindex, ttl] : plan_.vifs[rule.family]) {
    if (f.vifs.find(ifindex)) continue;
    auto r = f.vifs.add(*f.socket, ifindex, ttl);
    if (!r)
      return fail(fmt::format("cannot create a {} for {}: {}", f.family == AF_INET ? "VIF" : "MIF",
                              interfaces_.name(ifindex), r.error().message()));
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }
  const PlannedRoute& planned = plan_.routes.at(key);
  auto entry = kernel_entry(f, planned.iif, planned.oifs, EntryKind::route, planned.origin);
  if (!entry) return fail("the input interface has no VIF");
  auto r = write_mfc(f, key, *entry);
  if (!r) return fail(fmt::format("cannot install ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                                  error_text(r.error(), &*netlink_)));
  if (auto e = apply_rules(plan_, tx)) return fail(*e);
  tx.commit();
  f.installed[key] = *entry;
  f.dynamic.erase(key);  // a configured (S,G) replaces what an upcall made
  return std::nullopt;
}

// ---- membership subscription ---------------------------------------------

Result<RouteController::MembershipSubscription> RouteController::subscribe_membership(
    int family_id, std::vector<std::string> interfaces, netlink::MrouteSocket::MembershipHandler handler) {
  if (family_id != AF_INET && family_id != AF_INET6) return errno_error(EAFNOSUPPORT);
  const std::uint64_t id = next_tap_++;
  taps_[id] = Tap{family_id, std::move(interfaces), {}};
  if (!started_) {
    taps_.erase(id);
    return errno_error(ENOTCONN);
  }
  if (auto e = apply(Mode::transaction)) {
    taps_.erase(id);
    log::error("routing: membership from the multicast routing socket: {}", *e);
    Family& f = family(family_id);
    return errno_error(f.socket ? ENOSPC : EADDRINUSE);
  }
  Family& f = family(family_id);
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
          if (interface_matches(pattern, link->name)) {
            handler(p);
            return;
          }
        }
      });
  return MembershipSubscription(self_, id);
}

void RouteController::unsubscribe(std::uint64_t id) {
  if (!taps_.erase(id)) return;
  if (started_) schedule_reconcile();
}

}  // namespace joincast::daemon
