// route_controller_mfc.cpp — RouteController's multicast forwarding
// cache, per address family: the mroute sockets, VIFs/MIFs, (S,G) entries
// (IPv4 over rtnetlink in batches, IPv6 and VIF 31 by socket option), the
// report-group joins of the membership tap, the no-cache upcalls that
// resolve (*,G) templates, the expiry of idle dynamic entries, and the
// cheap path for one runtime (S,G).
#include "daemon/core/log.hpp"
#include "daemon/routing/route_controller.hpp"
#include "netlink/mfc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <set>

namespace asio = boost::asio;

namespace joincast::daemon {

using Json = nlohmann::json;

Result<void> RouteController::open_socket(Family& f) {
  auto s = f.open(table(f.family));
  if (!s) {
    const auto& e = s.error();
    std::string why = e == std::errc::address_in_use
                          ? fmt::format("another multicast routing daemon (smcrouted, pimd, ...) owns {} table {}: "
                                        "stop it or set routing.table to another table",
                                        family_name(f.family), table(f.family))
                      : e == std::errc::no_protocol_option
                          ? fmt::format("this kernel has no {} multicast routing ({} is not set); [routing] "
                                        "cannot work here",
                                        family_name(f.family), f.family == AF_INET ? "CONFIG_IP_MROUTE" : "CONFIG_IPV6_MROUTE")
                          : e.message();
    f.socket_error = why;
    return Error(e, fmt::format("cannot open the {} multicast routing socket: {}", family_name(f.family), why));
  }
  f.socket_error.clear();
  f.socket->set_upcall_handler([this, &f](const netlink::Upcall& u) { on_upcall(f, u); });
  watch_socket(f);
  log::info("routing: {} multicast routing table {} opened", family_name(f.family), table(f.family));
  return success();
}

void RouteController::close_socket(Family& f) {
  if (!f.socket) return;
  f.close();
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

Result<void> RouteController::apply_family(Family& f, const RoutingPlan& plan, Transaction& tx) {
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
    return success();
  }
  if (!f.socket) {
    if (auto opened = open_socket(f); !opened) {
      if (tx.failed(opened.error())) return opened;
      return success();
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
      Error m(r.error(), fmt::format("cannot remove ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                           error_text(r.error(), &*netlink_)));
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
      Error m(r.error(), fmt::format("cannot remove {} {} ({}): {}", vif_word, vif.index, interfaces_.name(vif.ifindex),
                           r.error().message()));
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
      Error m(r.error(), fmt::format("cannot create a {} for {}: {}", vif_word, interfaces_.name(ifindex), r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }

  // 4. Entries new or changed. IPv4 goes over rtnetlink in batches.
  std::vector<std::pair<MfcKey, Installed>> writes;
  for (auto& [key, w] : want) {
    auto entry = f.entry(w.iif, w.oifs, w.kind, w.origin);
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
      Error m(r.error(), fmt::format("cannot install ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                           r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    record(key, e);
  }
  std::vector<netlink::Message> batch;
  batch.reserve(writes.size());
  for (const auto& [key, e] : writes) batch.push_back(netlink::new_mfc4(table(AF_INET), key.source, key.group, e.iif, e.ttls));
  auto results = netlink_->request_batch(batch);
  std::optional<Error> first;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (!results[i]) {
      record(writes[i].first, writes[i].second);
      continue;
    }
    Error m(results[i], fmt::format("cannot install ({}, {}): {}", writes[i].first.source.to_string(),
                         writes[i].first.group.to_string(), results[i].message()));
    if (tx.failed(m) && !first) first = m;
  }
  if (first) return *first;
  return apply_report_joins(f, tx);
}

Result<void> RouteController::apply_report_joins(Family& f, Transaction& tx) {
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
        Error m(r.error(), fmt::format("cannot join {} on {} for membership reports: {}", g.to_string(), interfaces_.name(ifindex),
                             r.error().message()));
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
  return success();
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
  auto entry = f.entry(*ifindex, t ? t->oifs : OifMap{}, t ? EntryKind::dynamic : EntryKind::stop,
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

Result<void> RouteController::add_source_specific(const RouteRule& rule) {
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
    log::notice("routing: {} ({}) is pending: {}", p.what, p.origin, p.reason);
    return success();  // waits for its interface; nothing to install now
  }
  Family& f = family(rule.family);
  Transaction tx(Mode::transaction);
  auto fail = [&](Error e) -> Result<void> {
    tx.rollback();
    restore();
    return e;
  };
  if (!f.socket) {
    if (auto opened = open_socket(f); !opened) return fail(opened.error());
    tx.done([this, &f] { close_socket(f); });
  }
  for (const auto& [ifindex, ttl] : plan_.vifs[rule.family]) {
    if (f.vifs.find(ifindex)) continue;
    auto r = f.vifs.add(*f.socket, ifindex, ttl);
    if (!r)
      return fail(Error(r.error(), fmt::format("cannot create a {} for {}: {}", f.family == AF_INET ? "VIF" : "MIF",
                                               interfaces_.name(ifindex), r.error().message())));
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }
  const PlannedRoute& planned = plan_.routes.at(key);
  auto entry = f.entry(planned.iif, planned.oifs, EntryKind::route, planned.origin);
  if (!entry) return fail(Error(std::errc::no_such_device, "the input interface has no VIF"));
  auto r = write_mfc(f, key, *entry);
  if (!r) return fail(Error(r.error(), fmt::format("cannot install ({}, {}): {}", key.source.to_string(),
                                                   key.group.to_string(), error_text(r.error(), &*netlink_))));
  if (auto applied = apply_rules(plan_, tx); !applied) return fail(applied.error());
  tx.commit();
  for (std::size_t i = saved_incomplete; i < plan_.incomplete.size(); ++i)
    log::warning("routing: {} ({}): {}", plan_.incomplete[i].what, plan_.incomplete[i].origin, plan_.incomplete[i].reason);
  f.installed[key] = *entry;
  f.dynamic.erase(key);  // a configured (S,G) replaces what an upcall made
  return success();
}
}  // namespace joincast::daemon
