// membership_tap.hpp — the routing module's multicast routing socket as a
// source of IGMP/MLD packets, for the membership module's socket backend
// (when BPF cannot load). A narrow interface, implemented by
// RouteController, so membership depends on routing's interface and never
// on the controller itself.
#pragma once

#include "common/result.hpp"
#include "daemon/core/subscription.hpp"
#include "netlink/mroute_socket.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace joincast::daemon::routing {

class MembershipTap {
 public:
  using Handler = netlink::MrouteSocket::MembershipHandler;

  // Keeps a handler registered; dropping it stops delivery, releases the
  // VIFs it pinned and leaves the report groups.
  using Subscription = core::Subscription<MembershipTap>;

  virtual ~MembershipTap() = default;

  // Delivers every IGMP (family AF_INET) or MLD (AF_INET6) packet that
  // arrives on one of `interfaces` to `handler`, read from the multicast
  // routing socket. The interfaces may be missing: they are served from
  // when they appear. For IPv4 each gets a VIF (IGMPv1/v2 reports to a
  // routable group reach the socket only through multicast forwarding);
  // on each, the socket joins 224.0.0.22 and 224.0.0.2, or ff02::16 and
  // ff02::2, where IGMPv3/MLDv2 reports and leaves/dones are sent. The
  // router's own reports, looped back to the socket, are not delivered
  // (TC ingress would not see them either). Fails if the socket cannot be
  // opened (another daemon owns the table: set routing.table) or the VIFs
  // would exceed 32.
  virtual Result<Subscription> subscribe_membership(int family, std::vector<std::string> interfaces,
                                                    Handler handler) = 0;

 protected:
  friend class daemon::core::Subscription<MembershipTap>;
  virtual void unsubscribe(std::uint64_t id) = 0;
};

}  // namespace joincast::daemon::routing
