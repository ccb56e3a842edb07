// multicast_forwarding.cpp — see multicast_forwarding.hpp: the mroute
// sockets, applying a family's plan as a diff (stale entries, VIFs, new
// entries, report joins), one (S,G) on its own, upcalls and expiry.
#include "daemon/routing/kernel/multicast_forwarding.hpp"

#include "netlink/mfc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <utility>
#include <vector>

namespace asio = boost::asio;

namespace joincast::daemon::routing::kernel {

using Kind = ForwardingEvent::Kind;

MulticastForwarding::MulticastForwarding(asio::io_context& io, const core::InterfaceTable& interfaces, Table table,
                                         Matcher match, Configured configured, EventHandler on_event)
    : io_(io),
      interfaces_(interfaces),
      table_(std::move(table)),
      match_(std::move(match)),
      configured_(std::move(configured)),
      on_event_(std::move(on_event)),
      expiry_timer_(io) {}

// ---- sockets ---------------------------------------------------------------

Result<void> MulticastForwarding::open(MrouteFamily& f) {
  const std::uint32_t table = table_(f.family);
  auto s = f.open(table);
  if (!s) {
    const auto& e = s.error();
    std::string why = e == std::errc::address_in_use
                          ? fmt::format("another multicast routing daemon (smcrouted, pimd, ...) owns {} table {}: "
                                        "stop it or set routing.table to another table",
                                        family_name(f.family), table)
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
  watch(f);
  ForwardingEvent e(Kind::opened, f.family);
  e.table = table;
  event(e);
  return success();
}

void MulticastForwarding::close(int fam) {
  MrouteFamily& f = family(fam);
  if (!f.socket) return;
  f.close();
  ForwardingEvent e(Kind::closed, f.family);
  e.table = table_(f.family);
  event(e);
}

void MulticastForwarding::close_all() {
  for (auto& f : families_) close(f.family);
}

void MulticastForwarding::watch(MrouteFamily& f) {
  if (!f.watch) f.watch = std::make_unique<asio::posix::stream_descriptor>(io_, f.socket->fd());
  f.watch->async_wait(asio::posix::stream_descriptor::wait_read, [this, &f](boost::system::error_code ec) {
    if (ec || !f.socket) return;
    auto r = f.socket->dispatch_pending();
    if (!r) {
      ForwardingEvent e(Kind::read_failed, f.family);
      e.error = r.error();
      event(e);
    }
    watch(f);
  });
}

void MulticastForwarding::forget_interface(int ifindex) {
  for (auto& f : families_) f.report_joins.erase(ifindex);
}

void MulticastForwarding::forget_dynamic() {
  for (auto& f : families_) f.dynamic.clear();
}

// ---- applying a plan -----------------------------------------------------

Result<void> MulticastForwarding::apply(int fam, FamilyForwarding plan, const Matcher& match, Transaction& tx) {
  MrouteFamily& f = family(fam);
  const auto& needs = plan.vifs;
  std::map<MfcKey, WantedEntry>& want = plan.routes;
  for (auto it = f.dynamic.begin(); it != f.dynamic.end();) {
    const MfcKey& key = it->first;
    DynamicEntry& d = it->second;
    const auto* link = interfaces_.find(d.iif);
    std::optional<TemplateMatch> t;
    if (link) t = match(fam, link->name, key.source, key.group);
    if (want.count(key) || !link) {
      it = f.dynamic.erase(it);  // configured now, or its interface is gone
    } else if (t) {
      d.stop = false;
      want[key] = {d.iif, *t->oifs, EntryKind::dynamic, *t->origin};
      ++it;
    } else if (d.stop && needs.count(d.iif)) {
      want[key] = {d.iif, {}, EntryKind::stop, "no template matches"};
      ++it;
    } else {
      it = f.dynamic.erase(it);  // its template is gone
    }
  }
  const bool needed = !needs.empty() || !want.empty() || plan.tap || plan.templates;
  if (!needed) {
    // Closing flushes everything; done only once the rest succeeded.
    if (f.socket) tx.after_commit([this, fam] { close(fam); });
    return success();
  }
  if (!f.socket) {
    if (auto opened = open(f); !opened) {
      if (tx.failed(opened.error())) return opened;
      return success();
    }
    tx.done([this, fam] { close(fam); });
  }
  netlink::MrouteSocket& sock = *f.socket;
  const char* vif_word = fam == AF_INET ? "VIF" : "MIF";

  // 1. Entries no longer wanted.
  std::vector<MfcKey> stale;
  for (const auto& [key, e] : f.installed)
    if (!want.count(key)) stale.push_back(key);
  for (const auto& key : stale) {
    auto r = erase(f, key);
    if (!r) {
      Error m(r.error(), fmt::format("cannot remove ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                                     error_text(r.error(), nl_)));
      if (tx.failed(m)) return m;
      continue;
    }
    InstalledEntry old = f.installed.at(key);
    f.installed.erase(key);
    tx.done([this, &f, key, old] {
      if (write(f, key, old)) f.installed[key] = old;
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
      Error m(r.error(),
              fmt::format("cannot create a {} for {}: {}", vif_word, interfaces_.name(ifindex), r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }

  // 4. Entries new or changed. IPv4 goes over rtnetlink in batches.
  std::vector<std::pair<MfcKey, InstalledEntry>> writes;
  for (auto& [key, w] : want) {
    auto entry = f.entry(w.iif, w.oifs, w.kind, w.origin);
    if (!entry) continue;  // its input VIF could not be made (said above)
    auto it = f.installed.find(key);
    if (it != f.installed.end() && it->second.same_in_kernel(*entry)) {
      it->second = *entry;  // kind/origin only: nothing to tell the kernel
      continue;
    }
    writes.emplace_back(key, *entry);
  }
  auto record = [&](const MfcKey& key, const InstalledEntry& entry) {
    auto it = f.installed.find(key);
    std::optional<InstalledEntry> old;
    if (it != f.installed.end()) old = it->second;
    f.installed[key] = entry;
    tx.done([this, &f, key, old] {
      if (old) {
        if (write(f, key, *old)) f.installed[key] = *old;
      } else if (erase(f, key)) {
        f.installed.erase(key);
      }
    });
  };
  // The socket option writes every IPv6 entry (the kernel has no netlink
  // writer for them) and the IPv4 entries that output on VIF 31 (see
  // netlink_can_write); the other IPv4 entries go over rtnetlink in batches.
  std::vector<std::pair<MfcKey, InstalledEntry>> by_socket;
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
  for (const auto& [key, e] : writes)
    batch.push_back(netlink::new_mfc4(table_(AF_INET), key.source, key.group, e.iif, e.ttls));
  auto results = nl_->request_batch(batch);
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
  return apply_report_joins(f, plan.report_interfaces, tx);
}

Result<void> MulticastForwarding::apply_report_joins(MrouteFamily& f, const std::set<int>& want, Transaction& tx) {
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
        Error m(r.error(), fmt::format("cannot join {} on {} for membership reports: {}", g.to_string(),
                                       interfaces_.name(ifindex), r.error().message()));
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

// ---- one (S,G) on its own ------------------------------------------------

Result<InstalledEntry> MulticastForwarding::install(const MfcKey& key, const std::map<int, std::uint8_t>& vifs,
                                                    const WantedEntry& want, Transaction& tx) {
  MrouteFamily& f = family(key.family);
  if (!f.socket) {
    if (auto opened = open(f); !opened) return opened.error();
    tx.done([this, fam = key.family] { close(fam); });
  }
  for (const auto& [ifindex, ttl] : vifs) {
    if (f.vifs.find(ifindex)) continue;
    auto r = f.vifs.add(*f.socket, ifindex, ttl);
    if (!r)
      return Error(r.error(), fmt::format("cannot create a {} for {}: {}", f.family == AF_INET ? "VIF" : "MIF",
                                          interfaces_.name(ifindex), r.error().message()));
    tx.done([&f, ifindex = ifindex] { (void)f.vifs.remove(*f.socket, ifindex); });
  }
  auto entry = f.entry(want.iif, want.oifs, want.kind, want.origin);
  if (!entry) return Error(std::errc::no_such_device, "the input interface has no VIF");
  auto r = write(f, key, *entry);
  if (!r)
    return Error(r.error(), fmt::format("cannot install ({}, {}): {}", key.source.to_string(), key.group.to_string(),
                                        error_text(r.error(), nl_)));
  return *entry;
}

void MulticastForwarding::installed(const MfcKey& key, const InstalledEntry& entry) {
  MrouteFamily& f = family(key.family);
  f.installed[key] = entry;
  f.dynamic.erase(key);  // a configured (S,G) replaces what an upcall made
}

// ---- upcalls and expiry -------------------------------------------------

void MulticastForwarding::on_upcall(MrouteFamily& f, const netlink::Upcall& u) {
  auto ifindex = f.vifs.ifindex_of(u.vif);
  if (!ifindex) {
    ForwardingEvent e(Kind::unknown_vif, f.family);
    e.vif = u.vif;
    event(e);
    return;
  }
  const std::string iif = interfaces_.name(*ifindex);
  const MfcKey key{f.family, u.source, u.group};
  if (u.kind != netlink::UpcallKind::nocache) {
    ForwardingEvent e(Kind::other_upcall, f.family);
    e.key = key;
    e.iif = iif;
    e.detail = netlink::upcall_kind_name(u.kind);
    event(e);
    return;
  }
  if (f.installed.count(key) || configured_(key)) return;  // a duplicate upcall
  const std::optional<TemplateMatch> t = match_(f.family, iif, u.source, u.group);
  DynamicEntry d{*ifindex, !t, std::chrono::steady_clock::now()};
  auto entry = f.entry(*ifindex, t ? *t->oifs : OifMap{}, t ? EntryKind::dynamic : EntryKind::stop,
                       t ? *t->origin : "no template matches");
  if (!entry) return;
  auto r = write(f, key, *entry);
  if (!r) {
    ForwardingEvent e(Kind::install_failed, f.family);
    e.key = key;
    e.iif = iif;
    e.error = Error(r.error(), error_text(r.error(), nl_));
    event(e);
    return;
  }
  f.dynamic[key] = d;
  f.installed[key] = *entry;
  ForwardingEvent e(t ? Kind::resolved : Kind::stop, f.family);
  e.key = key;
  e.iif = iif;
  e.oifs = entry->oifs;
  e.match = t;
  event(e);
}

void MulticastForwarding::schedule_expiry(std::chrono::milliseconds expiry) {
  expiry_ = expiry;
  expiry_timer_.cancel();
  if (expiry_.count() == 0) return;
  // Check a few times per expiry period, so an idle entry goes within a
  // quarter period of its time.
  auto period = std::clamp<std::chrono::milliseconds>(expiry_ / 4, std::chrono::milliseconds(250),
                                                      std::chrono::milliseconds(15'000));
  expiry_timer_.expires_after(period);
  expiry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    expire();
    schedule_expiry(expiry_);
  });
}

void MulticastForwarding::cancel_expiry() { expiry_timer_.cancel(); }

void MulticastForwarding::expire() {
  for (auto& f : families_) {
    if (!f.socket || f.dynamic.empty()) continue;
    std::map<MfcKey, std::uint64_t> idle_cs;
    auto dumped =
        nl_->dump(netlink::dump_mfc(f.family, table_(f.family)), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
          if (auto e = netlink::parse_mfc(nlh)) idle_cs[{f.family, e.value().source, e.value().group}] = e.value().idle_cs;
          return netlink::success();
        });
    if (!dumped) {
      ForwardingEvent e(Kind::dump_failed, f.family);
      e.error = dumped.error();
      event(e);
      continue;
    }
    const auto limit_cs = static_cast<std::uint64_t>(expiry_.count() / 10);
    for (auto it = f.dynamic.begin(); it != f.dynamic.end();) {
      auto idle = idle_cs.find(it->first);
      // An entry the kernel no longer has (flushed by hand) goes too.
      if (idle != idle_cs.end() && idle->second < limit_cs) {
        ++it;
        continue;
      }
      const MfcKey key = it->first;
      auto r = erase(f, key);
      if (!r) {
        ForwardingEvent e(Kind::expire_failed, f.family);
        e.key = key;
        e.error = r.error();
        event(e);
        ++it;
        continue;
      }
      ForwardingEvent e(Kind::expired, f.family);
      e.key = key;
      event(e);
      f.installed.erase(key);
      it = f.dynamic.erase(it);
    }
  }
}

}  // namespace joincast::daemon::routing::kernel
