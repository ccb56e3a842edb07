// bridge_state.cpp — see bridge_state.hpp.
#include "daemon/routing/kernel/bridge_state.hpp"

#include "daemon/routing/kernel/bridge_settings.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::routing::kernel {

Result<void> BridgeState::apply_mdb(netlink::NetlinkSocket& nl, Transaction& tx, const std::vector<PlannedMdb>& wanted,
                                    const core::InterfaceTable& interfaces) {
  std::vector<netlink::MdbEntry> keep;
  for (const auto& e : mdb_installed_) {
    bool want = std::any_of(wanted.begin(), wanted.end(), [&](const PlannedMdb& p) { return same_mdb(p.entry, e); });
    if (want) {
      keep.push_back(e);
      continue;
    }
    auto msg = netlink::del_mdb(e);
    auto r = nl.request(msg);
    if (!r) {
      Error m(r.error(), fmt::format("cannot remove the MDB entry {} on {}: {}", e.group.to_string(),
                                     interfaces.name(e.port), error_text(r.error(), &nl)));
      if (tx.failed(m)) return m;
      keep.push_back(e);
      continue;
    }
    tx.done([this, &nl, e] {
      auto undo = netlink::new_mdb(e);
      if (nl.request(undo)) mdb_installed_.push_back(e);
    });
  }
  mdb_installed_ = std::move(keep);
  for (const auto& p : wanted) {
    if (std::any_of(mdb_installed_.begin(), mdb_installed_.end(), [&](const auto& e) { return same_mdb(e, p.entry); }))
      continue;
    auto msg = netlink::new_mdb(p.entry);
    auto r = nl.request(msg);
    if (!r) {
      Error m(r.error(), fmt::format("cannot add the MDB entry {} on {} ({}): {}", p.entry.group.to_string(),
                                     interfaces.name(p.entry.port), p.origin, error_text(r.error(), &nl)));
      if (tx.failed(m)) return m;
      continue;
    }
    mdb_installed_.push_back(p.entry);
    tx.done([this, &nl, e = p.entry] {
      auto undo = netlink::del_mdb(e);
      (void)nl.request(undo);
      std::erase_if(mdb_installed_, [&](const auto& x) { return same_mdb(x, e); });
    });
  }
  return success();
}

Result<void> BridgeState::apply_settings(netlink::NetlinkSocket& nl, Transaction& tx,
                                         const std::map<int, netlink::BridgeMulticast>& wanted,
                                         const core::InterfaceTable& interfaces, const Changed& changed) {
  auto set = [&nl](int ifindex, const netlink::BridgeMulticast& values) -> Result<void> {
    auto msg = netlink::set_bridge_multicast(ifindex, values);
    return nl.request(msg);
  };
  for (const auto& [ifindex, want] : wanted) {
    const auto* link = interfaces.find(ifindex);
    if (!link || !link->bridge) continue;
    netlink::BridgeMulticast delta = bridge_delta(want, *link->bridge);
    if (delta.empty()) continue;
    netlink::BridgeMulticast before = bridge_values_of(delta, *link->bridge);
    auto r = set(ifindex, delta);
    if (!r) {
      Error m(r.error(), fmt::format("cannot change the multicast settings of bridge {}: {}", link->name,
                                     error_text(r.error(), &nl)));
      if (tx.failed(m)) return m;
      continue;
    }
    if (changed) changed(link->name);
    merge_bridge(originals_[ifindex], before);
    tx.done([set, ifindex = ifindex, before] { (void)set(ifindex, before); });
  }
  // Bridges no longer configured get back what they had.
  for (auto it = originals_.begin(); it != originals_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    if (interfaces.find(it->first)) {
      auto r = set(it->first, it->second);
      if (!r) {
        Error m(r.error(), fmt::format("cannot restore the multicast settings of bridge {}: {}",
                                       interfaces.name(it->first), error_text(r.error(), &nl)));
        if (tx.failed(m)) return m;
      }
    }
    it = originals_.erase(it);
  }
  return success();
}

void BridgeState::forget_interface(int ifindex) {
  std::erase_if(mdb_installed_, [&](const netlink::MdbEntry& e) { return e.bridge == ifindex || e.port == ifindex; });
  originals_.erase(ifindex);
}

}  // namespace joincast::daemon::routing::kernel
