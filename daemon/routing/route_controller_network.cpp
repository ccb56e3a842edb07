// route_controller_network.cpp — the RouteController steps outside the
// multicast forwarding cache: group block routes (the ff00::/8 fix) and
// `ip mrule`s, static joins, bridge MDB entries and bridge snooping
// settings, each a diff against what is installed.
#include "daemon/core/log.hpp"
#include "daemon/routing/route_controller.hpp"
#include "daemon/routing/kernel/bridge_settings.hpp"
#include "netlink/mdb.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <algorithm>

namespace joincast::daemon {

Result<void> RouteController::apply_group_routes(const RoutingPlan& plan, Transaction& tx) {
  return group_routes_.apply_routes(*netlink_, tx, plan.group_routes, config_.group_route_table, config_.route_protocol,
                                    [this](int ifindex) { return interfaces_.name(ifindex); });
}

Result<void> RouteController::apply_rules(const RoutingPlan& plan, Transaction& tx) {
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
  return group_routes_.apply_rules(*netlink_, tx, wanted, config_.route_protocol);
}

Result<void> RouteController::apply_joins(const RoutingPlan& plan, Transaction& tx) {
  for (const auto& j : joins_.joined()) {
    if (plan.joins.count(j)) continue;
    auto r = joins_.leave(j);
    if (!r) {
      Error m(r.error(), fmt::format("cannot leave {} on {}: {}", j.group.to_string(), interfaces_.name(j.ifindex), r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)joins_.join(j); });
  }
  for (const auto& j : plan.joins) {
    auto r = joins_.join(j);
    if (!r) {
      Error m(r.error(), fmt::format("cannot join {}{} on {} ({}): {}", j.source ? j.source->to_string() + " " : "",
                           j.group.to_string(), interfaces_.name(j.ifindex), j.origin, r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)joins_.leave(j); });
  }
  return success();
}

Result<void> RouteController::apply_mdb(const RoutingPlan& plan, Transaction& tx) {
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
      Error m(r.error(), fmt::format("cannot remove the MDB entry {} on {}: {}", e.group.to_string(), interfaces_.name(e.port),
                           error_text(r.error(), &*netlink_)));
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
      Error m(r.error(), fmt::format("cannot add the MDB entry {} on {} ({}): {}", p.entry.group.to_string(),
                           interfaces_.name(p.entry.port), p.origin, error_text(r.error(), &*netlink_)));
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
  return success();
}

Result<void> RouteController::apply_bridges(const RoutingPlan& plan, Transaction& tx) {
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
      Error m(r.error(), fmt::format("cannot change the multicast settings of bridge {}: {}", link->name,
                           error_text(r.error(), &*netlink_)));
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
        Error m(r.error(), fmt::format("cannot restore the multicast settings of bridge {}: {}", interfaces_.name(it->first),
                             error_text(r.error(), &*netlink_)));
        if (tx.failed(m)) return m;
      }
    }
    it = bridge_originals_.erase(it);
  }
  return success();
}
}  // namespace joincast::daemon
