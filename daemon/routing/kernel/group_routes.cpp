// group_routes.cpp — see group_routes.hpp.
#include "daemon/routing/kernel/group_routes.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <algorithm>

namespace joincast::daemon::routing::kernel {

Result<void> GroupRoutes::apply_routes(netlink::NetlinkSocket& nl, Transaction& tx,
                                       const std::vector<netlink::Route>& wanted, std::uint32_t table,
                                       std::uint8_t protocol, const InterfaceName& name) {
  if (!routes_dirty_ && wanted == applied_routes_) return success();
  tx.after_commit([this, wanted] {
    applied_routes_ = wanted;
    routes_dirty_ = false;
  });
  for (int fam : {AF_INET, AF_INET6}) {
    std::vector<netlink::Route> have;
    auto dumped = nl.dump(
        netlink::dump_routes(fam, table, protocol),
        [&](const nlmsghdr* nlh) -> netlink::Result<void> {
          auto r = netlink::parse_route(nlh);
          if (r && r.value().protocol == protocol && r.value().table == table)
            have.push_back(r.value());
          return netlink::success();
        });
    if (!dumped) {
      Error m(dumped.error(), fmt::format("cannot read the {} routes of table {}: {}", family_name(fam), table,
                                          dumped.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    auto same_slot = [](const netlink::Route& a, const netlink::Route& b) {
      return a.destination == b.destination && a.priority.value_or(0) == b.priority.value_or(0);
    };
    for (const auto& want : wanted) {
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
      auto r = send_change(nl, tx, netlink::new_route(want),
                           [want, old] { return old ? netlink::new_route(*old) : netlink::del_route(want); });
      if (!r) {
        Error m(r.error(), fmt::format("cannot add the route {} dev {} table {}: {}", want.destination.to_string(),
                                       name(want.oif), want.table, error_text(r.error(), &nl)));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto r = send_change(nl, tx, netlink::del_route(extra), [extra] { return netlink::new_route(extra); });
      if (!r) {
        Error m(r.error(), fmt::format("cannot remove the route {}: {}", extra.destination.to_string(),
                                       error_text(r.error(), &nl)));
        if (tx.failed(m)) return m;
      }
    }
  }
  return success();
}

Result<void> GroupRoutes::apply_rules(netlink::NetlinkSocket& nl, Transaction& tx,
                                      const std::vector<netlink::Rule>& wanted, std::uint8_t protocol) {
  if (!rules_dirty_ && wanted == applied_rules_) return success();
  tx.after_commit([this, wanted] {
    applied_rules_ = wanted;
    rules_dirty_ = false;
  });
  for (int fam : {AF_INET, AF_INET6}) {
    const int rule_family = fam == AF_INET ? RTNL_FAMILY_IPMR : RTNL_FAMILY_IP6MR;
    std::vector<netlink::Rule> have;
    auto dumped = nl.dump(netlink::dump_rules(rule_family), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_rule(nlh);
      if (r && r.value().protocol == protocol) have.push_back(r.value());
      return netlink::success();
    });
    if (!dumped) {
      const bool wants_family = std::any_of(wanted.begin(), wanted.end(),
                                            [&](const netlink::Rule& r) { return r.family == rule_family; });
      // A kernel without multicast routing for the family (no
      // CONFIG_IP_MROUTE / CONFIG_IPV6_MROUTE) has no rules to read: fine
      // when none are wanted, and said plainly when some are.
      if (dumped.error() == std::errc::address_family_not_supported && !wants_family) continue;
      Error m(dumped.error(),
              dumped.error() == std::errc::address_family_not_supported
                  ? fmt::format("cannot add {} multicast rules: this kernel has no {} multicast routing ({})",
                                family_name(fam), family_name(fam),
                                fam == AF_INET ? "CONFIG_IP_MROUTE" : "CONFIG_IPV6_MROUTE")
                  : fmt::format("cannot read the {} multicast rules: {}", family_name(fam), dumped.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    for (const auto& r : wanted) {
      if (r.family != rule_family) continue;
      auto it = std::find(have.begin(), have.end(), r);
      if (it != have.end()) {
        have.erase(it);
        continue;
      }
      auto res = send_change(nl, tx, netlink::new_rule(r), [r] { return netlink::del_rule(r); });
      if (!res) {
        Error m(res.error(),
                fmt::format("cannot add the multicast rule {}{} lookup {}: {}", r.iif.empty() ? "oif " : "iif ",
                            r.iif.empty() ? r.oif : r.iif, r.table, error_text(res.error(), &nl)));
        if (tx.failed(m)) return m;
      }
    }
    for (const auto& extra : have) {
      auto res = send_change(nl, tx, netlink::del_rule(extra), [extra] { return netlink::new_rule(extra); });
      if (!res) {
        Error m(res.error(), fmt::format("cannot remove a multicast rule: {}", error_text(res.error(), &nl)));
        if (tx.failed(m)) return m;
      }
    }
  }
  return success();
}

namespace {

// Failures of a best-effort removal, as one error: the first failure's
// code, every failure's message.
struct Failures {
  std::error_code code;
  std::string message;
  void add(const Error& e, std::string what) {
    if (!code) code = e.code();
    message += fmt::format("{}{}: {}", message.empty() ? "" : "; ", what, e.message());
  }
  Result<void> result() const {
    if (!code) return success();
    return Error(code, message);
  }
};

}  // namespace

Result<void> GroupRoutes::remove_routes(netlink::NetlinkSocket& nl, std::uint8_t protocol, std::uint32_t table_id) {
  Failures failures;
  for (int fam : {AF_INET, AF_INET6}) {
    std::vector<netlink::Route> old;
    auto dumped = nl.dump(netlink::dump_routes(fam, table_id, protocol), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_route(nlh);
      if (r && r.value().protocol == protocol && r.value().table == table_id) old.push_back(r.value());
      return netlink::success();
    });
    if (!dumped)
      failures.add(dumped.error(), fmt::format("cannot list the {} routes of table {}", fam == AF_INET ? "IPv4" : "IPv6",
                                               table_id));
    for (const auto& r : old) {
      if (auto e = nl.request(netlink::del_route(r)); !e)
        failures.add(e.error(), fmt::format("cannot remove the route {}", r.destination.to_string()));
    }
  }
  return failures.result();
}

Result<void> GroupRoutes::remove_rules(netlink::NetlinkSocket& nl, std::uint8_t protocol) {
  Failures failures;
  for (int fam : {RTNL_FAMILY_IPMR, RTNL_FAMILY_IP6MR}) {
    std::vector<netlink::Rule> old;
    auto dumped = nl.dump(netlink::dump_rules(fam), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto r = netlink::parse_rule(nlh);
      if (r && r.value().protocol == protocol) old.push_back(r.value());
      return netlink::success();
    });
    if (!dumped)
      failures.add(dumped.error(),
                   fmt::format("cannot list the {} multicast rules", fam == RTNL_FAMILY_IPMR ? "IPv4" : "IPv6"));
    for (const auto& r : old) {
      if (auto e = nl.request(netlink::del_rule(r)); !e) failures.add(e.error(), "cannot remove a multicast rule");
    }
  }
  return failures.result();
}

}  // namespace joincast::daemon::routing::kernel
