// socket_membership.hpp — the membership backend for systems where the
// BPF program cannot load: IGMP and MLD packets read from the multicast
// routing socket (borrowed from the routing module, which owns it), kept
// in a userspace ListenerTable with the same rules and events.
//
// What it cannot do that the BPF path does: state does not survive a
// restart (there are no pinned maps), and only packets delivered to the
// host are seen (reports to the report groups, and v1/v2 reports to
// routable groups through the VIFs the routing module adds).
#pragma once

#include "daemon/membership/listener_table.hpp"
#include "daemon/membership/membership_backend.hpp"
#include "daemon/routing/membership_tap.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>

namespace joincast::daemon::membership {

class SocketMembership final : public MembershipBackend {
 public:
  SocketMembership(routing::MembershipTap& routes, bool track_link_local, ListenerTable::Quotas quotas, EventHandler on_event);

  const char* name() const override { return "socket"; }
  Result<void> attach(int ifindex) override;
  Result<void> detach(int ifindex) override;
  Result<std::vector<loader::ListenerEntry>> listeners() const override { return table_.listeners(); }
  Result<std::vector<loader::GroupEntry>> groups() const override { return table_.groups(); }
  Result<std::vector<loader::QuerierEntry>> queriers() const override { return table_.queriers(); }
  Result<jc_counters> counters() const override { return table_.counters(); }
  Result<ForgetOutcome> forget(const jc_listener_key& key, std::uint64_t unless_reported_after_ns,
                               jc_leave_reason reason) override;
  Result<bool> collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) override;

  // Opens the subscriptions for no interface yet: fails now, not at the
  // first attach, if the routing socket cannot be had.
  Result<void> open();

 private:
  Result<void> resubscribe();
  void on_packet(const netlink::MembershipPacket& p);

  routing::MembershipTap& routes_;
  ListenerTable table_;
  std::map<int, std::string> interfaces_;  // ifindex -> name
  routing::MembershipTap::Subscription v4_, v6_;
};

}  // namespace joincast::daemon::membership
