// proxy.hpp — IGMP/MLD proxying (RFC 4605) for a router between listeners
// and the headend: every group with listeners on the downstream interfaces
// is joined on the upstream interface, so the upstream router (the
// headend, or another proxy) sees one membership for the whole subtree.
//
// The joins are ordinary socket memberships: the kernel sends the
// unsolicited reports, answers the upstream querier and sends the leave
// when the last downstream listener is gone, exactly as RFC 4605 §4.1
// describes the proxy's host side.
#pragma once

#include "daemon/core/link_watcher.hpp"
#include "daemon/core/module.hpp"
#include "daemon/membership/membership_config.hpp"
#include "daemon/membership/loader/membership_maps.hpp"
#include "common/unique_fd.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace joincast::daemon::membership {

class MembershipProxy final : public core::ConfiguredModule<ProxySection> {
 public:
  // The groups that have listeners downstream now, asked for at start and
  // when the upstream interface changes.
  using ActiveGroups = std::function<std::vector<Address16>()>;
  // `links` (the daemon's interface watcher) says when the upstream
  // interface appears, goes, is recreated or comes up.
  MembershipProxy(ProxySection config, ActiveGroups active_groups, core::LinkWatcher& links);
  ~MembershipProxy() override;

  std::string_view name() const override { return "proxy"; }
  // Joins upstream what has listeners already; nothing without an upstream.
  Result<void> start() override;
  // A new upstream: leaves everything on the old one, joins on the new.
  Result<void> reload(const ProxySection& next) override;
  void stop() override { clear(); }
  // null when not a proxy.
  nlohmann::json status() const override;

  const std::string& upstream() const { return config_.upstream; }
  // A group went up or down downstream (listener count 0 -> 1, 1 -> 0).
  void group_up(const Address16& group);
  void group_down(const Address16& group);
  // Drops every membership (the kernel sends the leaves).
  void clear();

 private:
  struct Membership {
    UniqueFd socket;
    std::string error;
    unsigned ifindex = 0;
  };
  std::string join(const Address16& group, Membership& m);
  // The upstream interface may appear late, vanish or be recreated: joins
  // that failed, or were made on an interface that is gone, are redone
  // when the watcher says something changed there.
  void on_link(const core::LinkChange& change);

  ProxySection config_;
  ActiveGroups active_groups_;
  core::LinkWatcher& links_;
  core::LinkWatcher::Subscription link_subscription_;
  std::map<Address16, Membership> joined_;
};

}  // namespace joincast::daemon::membership
