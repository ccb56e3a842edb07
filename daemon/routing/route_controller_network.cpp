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
      auto r = send_change(*netlink_, tx, netlink::new_route(want),
                           [want, old] { return old ? netlink::new_route(*old) : netlink::del_route(want); });
      if (!r) {
        auto m = fmt::format("cannot add the route {} dev {} table {}: {}", want.destination.to_string(),
                             interfaces_.name(want.oif), want.table, error_text(r.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto r = send_change(*netlink_, tx, netlink::del_route(extra), [extra] { return netlink::new_route(extra); });
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
      auto res = send_change(*netlink_, tx, netlink::new_rule(r), [r] { return netlink::del_rule(r); });
      if (!res) {
        auto m = fmt::format("cannot add the multicast rule {}{} lookup {}: {}", r.iif.empty() ? "oif " : "iif ",
                             r.iif.empty() ? r.oif : r.iif, r.table, error_text(res.error(), &*netlink_));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto res = send_change(*netlink_, tx, netlink::del_rule(extra), [extra] { return netlink::new_rule(extra); });
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
}  // namespace joincast::daemon
