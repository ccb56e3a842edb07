// mroute_socket.hpp — the kernel's multicast routing socket, one per
// address family and table: a raw IGMP socket (MRT_*) for IPv4, a raw
// ICMPv6 socket (MRT6_*) for IPv6. MRT_INIT/MRT6_INIT makes it the one
// owner of its table in the network namespace (EADDRINUSE when another
// daemon, smcroute say, owns it: pick another table with MRT_TABLE).
//
// What it does:
//  - VIFs/MIFs (MRT_ADD_VIF/MRT6_ADD_MIF) and MFC entries with the socket
//    options (the only writer the kernel has for IPv6; IPv4 entries can
//    also go over rtnetlink, see mfc.hpp), and the counters ioctls.
//  - Its receive path carries two different things, and receive() tells
//    them apart:
//      * kernel upcalls (struct igmpmsg / struct mrt6msg): NOCACHE when a
//        packet has no MFC entry, WRONGVIF, WHOLEPKT; the routing code
//        resolves (*,G) templates from these;
//      * ordinary IGMP (IPv4) and MLD (ICMPv6 types 130, 131, 132, 143)
//        packets the host receives: with join()ed report groups this is
//        the membership fallback where BPF cannot load.
//    An IPv4 upcall overlays the IP header with protocol 0 (im_mbz), a
//    real IGMP packet has protocol 2. An IPv6 upcall starts with a zero
//    byte (im6_mbz), which no ICMPv6 type uses.
//  - Subscribers get every IGMP/MLD packet through dispatch_pending();
//    upcalls go to the single upcall handler.
//
// A library: errors are returned, nothing is logged, nothing blocks.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/mfc.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <variant>
#include <vector>

namespace joincast::netlink {

// One IGMP or MLD packet the host received, as the mroute socket saw it.
struct MembershipPacket {
  int family = AF_UNSPEC;
  int ifindex = 0;          // the interface it arrived on
  IpAddress source;         // IP source (a listener's address, :: or 0.0.0.0 before DAD)
  IpAddress destination;    // 224.0.0.22, ff02::16, the group (v1/v2), ...
  std::uint8_t hop_limit = 0;  // IPv4 TTL / IPv6 hop limit; RFC 3810 §5 and RFC 3376 §4 require 1
  bool router_alert = false;   // IPv4 option 148 / IPv6 hop-by-hop option 5
  // The IGMP message (from its type byte) or the ICMPv6 MLD message (from
  // its type byte). Valid only during the handler call.
  std::span<const std::uint8_t> message;
};

using MrouteDatagram = std::variant<Upcall, MembershipPacket>;

class MrouteSocket;

// Keeps a membership handler registered; unsubscribes when destroyed.
class MembershipSubscription {
 public:
  MembershipSubscription() = default;
  MembershipSubscription(MembershipSubscription&&) noexcept = default;
  MembershipSubscription& operator=(MembershipSubscription&&) noexcept;
  ~MembershipSubscription();
  void reset();
  explicit operator bool() const { return !registry_.expired(); }

 private:
  friend class MrouteSocket;
  struct Registry;
  MembershipSubscription(std::weak_ptr<Registry> registry, std::uint64_t id) : registry_(std::move(registry)), id_(id) {}
  std::weak_ptr<Registry> registry_;
  std::uint64_t id_ = 0;
};

class MrouteSocket {
 public:
  using MembershipHandler = std::function<void(const MembershipPacket&)>;
  using UpcallHandler = std::function<void(const Upcall&)>;

  struct VifCounters {
    std::uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
  };
  struct SgCounters {
    std::uint64_t packets = 0, bytes = 0, wrong_if = 0;
  };

  // Opens the socket, selects `table` (MRT_TABLE/MRT6_TABLE, only for a
  // table other than the family's default; 0 is the default) and takes it
  // (MRT_INIT/MRT6_INIT). Non-blocking, close-on-exec.
  static Result<MrouteSocket> open(int family, std::uint32_t table = 0);

  MrouteSocket(MrouteSocket&&) noexcept;
  MrouteSocket& operator=(MrouteSocket&&) noexcept;
  ~MrouteSocket();

  int fd() const { return fd_; }
  int family() const { return family_; }
  std::uint32_t table() const { return table_; }

  // VIF `vif` on interface `ifindex`; threshold is the TTL a packet must
  // exceed to leave by it (IPv4; IPv6 keeps it for compatibility).
  Result<void> add_vif(unsigned vif, int ifindex, std::uint8_t threshold);
  // EADDRNOTAVAIL/ENOENT (the device went and took its VIF along) is success.
  Result<void> del_vif(unsigned vif);

  // MRT_ADD_MFC / MRT6_ADD_MFC: adds or updates (S,G). For IPv6 only
  // ttls[v] != 0 matters (the kernel keeps thresholds per MIF).
  Result<void> add_mfc(const IpAddress& source, const IpAddress& group, unsigned iif_vif, const VifTtls& ttls);
  // ENOENT is success.
  Result<void> del_mfc(const IpAddress& source, const IpAddress& group);

  Result<VifCounters> vif_counters(unsigned vif) const;
  Result<SgCounters> sg_counters(const IpAddress& source, const IpAddress& group) const;

  // Joins `group` on an interface so that packets addressed to it are
  // delivered to this socket: 224.0.0.22 / ff02::16 (IGMPv3/MLDv2 reports),
  // 224.0.0.2 / ff02::2 (IGMPv2 leaves, MLDv1 dones). EADDRINUSE (joined
  // already) is success.
  Result<void> join(int ifindex, const IpAddress& group);
  Result<void> leave(int ifindex, const IpAddress& group);

  // Reads one datagram; EAGAIN when none is queued. A datagram that is
  // neither (a truncated packet) fails with Errc::not_membership_or_upcall
  // and is consumed.
  Result<MrouteDatagram> receive();

  // Every IGMP/MLD packet read by dispatch_pending() goes to each handler.
  [[nodiscard]] MembershipSubscription subscribe_membership(MembershipHandler handler);
  bool has_membership_subscribers() const;
  void set_upcall_handler(UpcallHandler handler) { upcall_handler_ = std::move(handler); }
  // Reads everything queued and dispatches it. Returns how many datagrams
  // were read; fails only on a socket error (not EAGAIN).
  Result<std::size_t> dispatch_pending();

  // The classification receive() applies, on raw bytes (for tests).
  // IPv4: the datagram starts with the IP header (or an igmpmsg).
  static Result<MrouteDatagram> classify_ipv4(std::span<const std::uint8_t> datagram, int ifindex);
  // IPv6: the datagram starts with the ICMPv6 header (or an mrt6msg); the
  // IP-level facts come from ancillary data.
  static Result<MrouteDatagram> classify_ipv6(std::span<const std::uint8_t> datagram, int ifindex,
                                              const IpAddress& source, const IpAddress& destination,
                                              std::uint8_t hop_limit, bool router_alert);

 private:
  MrouteSocket(int fd, int family, std::uint32_t table);
  void close();

  int fd_ = -1;
  int family_ = AF_UNSPEC;
  std::uint32_t table_ = 0;
  std::vector<std::uint8_t> buffer_;
  std::shared_ptr<MembershipSubscription::Registry> registry_;
  UpcallHandler upcall_handler_;
};

}  // namespace joincast::netlink
