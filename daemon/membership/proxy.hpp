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

#include "daemon/membership/membership_config.hpp"
#include "daemon/membership/loader/membership_maps.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace joincast::daemon {

class MembershipProxy {
 public:
  MembershipProxy(boost::asio::io_context& io, ProxySection config);
  ~MembershipProxy();

  const std::string& upstream() const { return config_.upstream; }
  // A group went up or down downstream (listener count 0 -> 1, 1 -> 0).
  void group_up(const Address16& group);
  void group_down(const Address16& group);
  // Drops every membership (the kernel sends the leaves).
  void clear();
  nlohmann::json status() const;

 private:
  struct Membership {
    UniqueFd socket;
    std::string error;
    unsigned ifindex = 0;
  };
  std::string join(const Address16& group, Membership& m);
  // The upstream interface may appear late, vanish or be recreated: joins
  // that failed, or were made on an interface that is gone, are redone.
  void watch_upstream();

  ProxySection config_;
  boost::asio::steady_timer timer_;
  std::map<Address16, Membership> joined_;
};

}  // namespace joincast::daemon
