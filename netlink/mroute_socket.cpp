// mroute_socket.cpp — see mroute_socket.hpp.
#include "netlink/mroute_socket.hpp"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>

namespace joincast::netlink {

struct MembershipSubscription::Registry {
  std::map<std::uint64_t, MrouteSocket::MembershipHandler> handlers;
  std::uint64_t next_id = 1;
};

MembershipSubscription& MembershipSubscription::operator=(MembershipSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::move(other.registry_);
    id_ = other.id_;
    other.registry_.reset();
  }
  return *this;
}

MembershipSubscription::~MembershipSubscription() { reset(); }

void MembershipSubscription::reset() {
  if (auto r = registry_.lock()) r->handlers.erase(id_);
  registry_.reset();
}

namespace {

// Largest datagram we expect: an IGMPv3/MLDv2 report on a jumbo-frame
// link. Longer ones are truncated and then fail to classify.
constexpr std::size_t datagram_buffer_size = 65536;

constexpr std::uint8_t igmp_protocol = 2;
constexpr std::uint8_t ipv4_option_router_alert = 148;
constexpr std::uint8_t ipv6_option_router_alert = 5;
constexpr std::uint8_t ipv6_option_pad1 = 0;

bool is_mld_type(std::uint8_t t) {
  return t == MLD_LISTENER_QUERY || t == MLD_LISTENER_REPORT || t == MLD_LISTENER_REDUCTION || t == 143;
}

int level_of(int family) { return family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6; }

// Looks for the Router Alert option in IPv4 options (RFC 2113).
bool ipv4_has_router_alert(std::span<const std::uint8_t> options) {
  std::size_t i = 0;
  while (i < options.size()) {
    const std::uint8_t type = options[i];
    if (type == 0) break;  // end of options
    if (type == 1) {       // no-op
      ++i;
      continue;
    }
    if (i + 1 >= options.size() || options[i + 1] < 2) break;
    if (type == ipv4_option_router_alert) return true;
    i += options[i + 1];
  }
  return false;
}

// Looks for the Router Alert option (RFC 2711) in a hop-by-hop header.
bool hopopts_have_router_alert(std::span<const std::uint8_t> hbh) {
  if (hbh.size() < 2) return false;
  const std::size_t len = std::min<std::size_t>(hbh.size(), (static_cast<std::size_t>(hbh[1]) + 1) * 8);
  std::size_t i = 2;
  while (i < len) {
    const std::uint8_t type = hbh[i];
    if (type == ipv6_option_pad1) {
      ++i;
      continue;
    }
    if (i + 1 >= len) break;
    if (type == ipv6_option_router_alert) return true;
    i += 2u + hbh[i + 1];
  }
  return false;
}

}  // namespace

MrouteSocket::MrouteSocket(int fd, int family, std::uint32_t table)
    : fd_(fd),
      family_(family),
      table_(table),
      buffer_(datagram_buffer_size),
      registry_(std::make_shared<MembershipSubscription::Registry>()) {}

MrouteSocket::MrouteSocket(MrouteSocket&& other) noexcept
    : fd_(other.fd_),
      family_(other.family_),
      table_(other.table_),
      buffer_(std::move(other.buffer_)),
      registry_(std::move(other.registry_)),
      upcall_handler_(std::move(other.upcall_handler_)) {
  other.fd_ = -1;
}

MrouteSocket& MrouteSocket::operator=(MrouteSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    family_ = other.family_;
    table_ = other.table_;
    buffer_ = std::move(other.buffer_);
    registry_ = std::move(other.registry_);
    upcall_handler_ = std::move(other.upcall_handler_);
    other.fd_ = -1;
  }
  return *this;
}

MrouteSocket::~MrouteSocket() { close(); }

void MrouteSocket::close() {
  if (fd_ < 0) return;
  // MRT_DONE flushes our VIFs and (non-static) MFC entries at once; the
  // close would do the same, this just makes it explicit and immediate.
  if (family_ == AF_INET) ::setsockopt(fd_, IPPROTO_IP, MRT_DONE, nullptr, 0);
  else ::setsockopt(fd_, IPPROTO_IPV6, MRT6_DONE, nullptr, 0);
  ::close(fd_);
  fd_ = -1;
}

Result<MrouteSocket> MrouteSocket::open(int family, std::uint32_t table) {
  if (family != AF_INET && family != AF_INET6) return errno_error(EAFNOSUPPORT);
  const int proto = family == AF_INET ? static_cast<int>(IPPROTO_IGMP) : static_cast<int>(IPPROTO_ICMPV6);
  if (table == 0) table = default_mroute_table(family);
  int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return last_error();
  MrouteSocket s(fd, family, table);
  const int one = 1;
  if (table != default_mroute_table(family)) {
    const std::uint32_t id = table;
    const int opt = family == AF_INET ? MRT_TABLE : MRT6_TABLE;
    if (::setsockopt(fd, level_of(family), opt, &id, sizeof id) < 0) return last_error();
  }
  if (::setsockopt(fd, level_of(family), family == AF_INET ? MRT_INIT : MRT6_INIT, &one, sizeof one) < 0)
    return last_error();
  if (family == AF_INET) {
    if (::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) return last_error();
  } else {
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0) return last_error();
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) < 0) return last_error();
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPOPTS, &one, sizeof one) < 0) return last_error();
    // Only MLD reaches the queue; the kernel's upcalls bypass this filter
    // (ip6mr queues them on the socket directly).
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(MLD_LISTENER_QUERY, &filter);
    ICMP6_FILTER_SETPASS(MLD_LISTENER_REPORT, &filter);
    ICMP6_FILTER_SETPASS(MLD_LISTENER_REDUCTION, &filter);
    ICMP6_FILTER_SETPASS(143, &filter);  // MLDv2 report (RFC 3810 §5.2)
    if (::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0) return last_error();
  }
  return s;
}

Result<void> MrouteSocket::add_vif(unsigned vif, int ifindex, std::uint8_t threshold) {
  if (vif >= max_vifs) return Errc::vif_table_full;
  if (family_ == AF_INET) {
    vifctl v{};
    v.vifc_vifi = static_cast<vifi_t>(vif);
    v.vifc_flags = VIFF_USE_IFINDEX;
    v.vifc_threshold = threshold;
    v.vifc_lcl_ifindex = ifindex;
    if (::setsockopt(fd_, IPPROTO_IP, MRT_ADD_VIF, &v, sizeof v) < 0) return last_error();
  } else {
    if (ifindex > 0xffff) return errno_error(ERANGE);  // mif6c_pifi is 16 bits
    mif6ctl m{};
    m.mif6c_mifi = static_cast<mifi_t>(vif);
    m.vifc_threshold = threshold;
    m.mif6c_pifi = static_cast<std::uint16_t>(ifindex);
    if (::setsockopt(fd_, IPPROTO_IPV6, MRT6_ADD_MIF, &m, sizeof m) < 0) return last_error();
  }
  return success();
}

Result<void> MrouteSocket::del_vif(unsigned vif) {
  int rc;
  if (family_ == AF_INET) {
    vifctl v{};
    v.vifc_vifi = static_cast<vifi_t>(vif);
    rc = ::setsockopt(fd_, IPPROTO_IP, MRT_DEL_VIF, &v, sizeof v);
  } else {
    mifi_t m = static_cast<mifi_t>(vif);
    rc = ::setsockopt(fd_, IPPROTO_IPV6, MRT6_DEL_MIF, &m, sizeof m);
  }
  if (rc < 0 && errno != EADDRNOTAVAIL && errno != ENOENT) return last_error();
  return success();
}

namespace {

// The (S,G) key of an MRT_ADD_MFC / MRT_DEL_MFC request, and of its IPv6 twin.
mfcctl mfc_key4(const IpAddress& source, const IpAddress& group) {
  mfcctl m{};
  m.mfcc_origin = source.to_in_addr();
  m.mfcc_mcastgrp = group.to_in_addr();
  return m;
}

mf6cctl mfc_key6(const IpAddress& source, const IpAddress& group) {
  mf6cctl m{};
  m.mf6cc_origin.sin6_family = AF_INET6;
  m.mf6cc_origin.sin6_addr = source.to_in6_addr();
  m.mf6cc_mcastgrp.sin6_family = AF_INET6;
  m.mf6cc_mcastgrp.sin6_addr = group.to_in6_addr();
  return m;
}

}  // namespace

Result<void> MrouteSocket::add_mfc(const IpAddress& source, const IpAddress& group, unsigned iif_vif,
                                   const VifTtls& ttls) {
  if (source.family() != family_ || group.family() != family_) return errno_error(EAFNOSUPPORT);
  if (family_ == AF_INET) {
    mfcctl m = mfc_key4(source, group);
    m.mfcc_parent = static_cast<vifi_t>(iif_vif);
    std::memcpy(m.mfcc_ttls, ttls.data(), max_vifs);
    if (::setsockopt(fd_, IPPROTO_IP, MRT_ADD_MFC, &m, sizeof m) < 0) return last_error();
  } else {
    mf6cctl m = mfc_key6(source, group);
    m.mf6cc_parent = static_cast<mifi_t>(iif_vif);
    for (unsigned v = 0; v < max_vifs; ++v)
      if (ttls[v]) m.mf6cc_ifset.ifs_bits[v / NIFBITS] |= 1u << (v % NIFBITS);
    if (::setsockopt(fd_, IPPROTO_IPV6, MRT6_ADD_MFC, &m, sizeof m) < 0) return last_error();
  }
  return success();
}

Result<void> MrouteSocket::del_mfc(const IpAddress& source, const IpAddress& group) {
  int rc;
  if (family_ == AF_INET) {
    mfcctl m = mfc_key4(source, group);
    rc = ::setsockopt(fd_, IPPROTO_IP, MRT_DEL_MFC, &m, sizeof m);
  } else {
    mf6cctl m = mfc_key6(source, group);
    rc = ::setsockopt(fd_, IPPROTO_IPV6, MRT6_DEL_MFC, &m, sizeof m);
  }
  if (rc < 0 && errno != ENOENT) return last_error();
  return success();
}

Result<MrouteSocket::VifCounters> MrouteSocket::vif_counters(unsigned vif) const {
  VifCounters c;
  if (family_ == AF_INET) {
    sioc_vif_req r{};
    r.vifi = static_cast<vifi_t>(vif);
    if (::ioctl(fd_, SIOCGETVIFCNT, &r) < 0) return last_error();
    c = {r.icount, r.ibytes, r.ocount, r.obytes};
  } else {
    sioc_mif_req6 r{};
    r.mifi = static_cast<mifi_t>(vif);
    if (::ioctl(fd_, SIOCGETMIFCNT_IN6, &r) < 0) return last_error();
    c = {r.icount, r.ibytes, r.ocount, r.obytes};
  }
  return c;
}

Result<MrouteSocket::SgCounters> MrouteSocket::sg_counters(const IpAddress& source, const IpAddress& group) const {
  SgCounters c;
  if (family_ == AF_INET) {
    sioc_sg_req r{};
    r.src = source.to_in_addr();
    r.grp = group.to_in_addr();
    if (::ioctl(fd_, SIOCGETSGCNT, &r) < 0) return last_error();
    c = {r.pktcnt, r.bytecnt, r.wrong_if};
  } else {
    sioc_sg_req6 r{};
    r.src.sin6_family = AF_INET6;
    r.src.sin6_addr = source.to_in6_addr();
    r.grp.sin6_family = AF_INET6;
    r.grp.sin6_addr = group.to_in6_addr();
    if (::ioctl(fd_, SIOCGETSGCNT_IN6, &r) < 0) return last_error();
    c = {r.pktcnt, r.bytecnt, r.wrong_if};
  }
  return c;
}

namespace {
Result<void> group_request(int fd, int family, int option, int ifindex, const IpAddress& group) {
  group_req req{};
  req.gr_interface = static_cast<std::uint32_t>(ifindex);
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&req.gr_group);
    sin->sin_family = AF_INET;
    sin->sin_addr = group.to_in_addr();
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&req.gr_group);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = group.to_in6_addr();
  }
  if (::setsockopt(fd, level_of(family), option, &req, sizeof req) < 0) return last_error();
  return success();
}
}  // namespace

Result<void> MrouteSocket::join(int ifindex, const IpAddress& group) {
  if (group.family() != family_) return errno_error(EAFNOSUPPORT);
  auto r = group_request(fd_, family_, MCAST_JOIN_GROUP, ifindex, group);
  if (!r && r.error() == std::errc::address_in_use) return success();
  return r;
}

Result<void> MrouteSocket::leave(int ifindex, const IpAddress& group) {
  if (group.family() != family_) return errno_error(EAFNOSUPPORT);
  auto r = group_request(fd_, family_, MCAST_LEAVE_GROUP, ifindex, group);
  if (!r && r.error() == std::errc::address_not_available) return success();
  return r;
}

Result<MrouteDatagram> MrouteSocket::classify_ipv4(std::span<const std::uint8_t> d, int ifindex) {
  // struct igmpmsg is 20 bytes, like the IP header it overlays.
  if (d.size() < 20) return Errc::not_membership_or_upcall;
  if (d[9] == 0) {
    // im_mbz sits where the IP header has its protocol: zero is an upcall.
    igmpmsg m;
    std::memcpy(&m, d.data(), sizeof m);
    if (m.im_msgtype < IGMPMSG_NOCACHE || m.im_msgtype > IGMPMSG_WRVIFWHOLE) return Errc::not_membership_or_upcall;
    Upcall u;
    u.family = AF_INET;
    u.kind = static_cast<UpcallKind>(m.im_msgtype);
    u.vif = static_cast<unsigned>(m.im_vif) | (static_cast<unsigned>(m.im_vif_hi) << 8);
    u.source = IpAddress::v4(m.im_src);
    u.group = IpAddress::v4(m.im_dst);
    return MrouteDatagram(u);
  }
  if ((d[0] >> 4) != 4 || d[9] != igmp_protocol) return Errc::not_membership_or_upcall;
  const std::size_t header = static_cast<std::size_t>(d[0] & 0x0f) * 4;
  const std::size_t total = (static_cast<std::size_t>(d[2]) << 8) | d[3];
  // The kernel hands raw sockets the packet with tot_len in network order;
  // a header longer than the datagram, or an empty payload, is garbage.
  if (header < 20 || header >= d.size()) return Errc::not_membership_or_upcall;
  const std::size_t end = std::min(d.size(), total >= header ? total : d.size());
  MembershipPacket p;
  p.family = AF_INET;
  p.ifindex = ifindex;
  p.source = *IpAddress::from_bytes(AF_INET, d.subspan(12, 4));
  p.destination = *IpAddress::from_bytes(AF_INET, d.subspan(16, 4));
  p.hop_limit = d[8];
  p.router_alert = ipv4_has_router_alert(d.subspan(20, header - 20));
  p.message = d.subspan(header, end - header);
  if (p.message.empty()) return Errc::not_membership_or_upcall;
  return MrouteDatagram(p);
}

Result<MrouteDatagram> MrouteSocket::classify_ipv6(std::span<const std::uint8_t> d, int ifindex,
                                                   const IpAddress& source, const IpAddress& destination,
                                                   std::uint8_t hop_limit, bool router_alert) {
  if (d.empty()) return Errc::not_membership_or_upcall;
  if (d[0] == 0) {
    // im6_mbz: ICMPv6 type 0 does not exist, so this is an upcall.
    if (d.size() < sizeof(mrt6msg)) return Errc::not_membership_or_upcall;
    mrt6msg m;
    std::memcpy(&m, d.data(), sizeof m);
    if (m.im6_msgtype < MRT6MSG_NOCACHE || m.im6_msgtype > MRT6MSG_WRMIFWHOLE) return Errc::not_membership_or_upcall;
    Upcall u;
    u.family = AF_INET6;
    u.kind = static_cast<UpcallKind>(m.im6_msgtype);
    u.vif = m.im6_mif;
    u.source = IpAddress::v6(m.im6_src);
    u.group = IpAddress::v6(m.im6_dst);
    return MrouteDatagram(u);
  }
  if (!is_mld_type(d[0]) || d.size() < 8) return Errc::not_membership_or_upcall;
  MembershipPacket p;
  p.family = AF_INET6;
  p.ifindex = ifindex;
  p.source = source;
  p.destination = destination;
  p.hop_limit = hop_limit;
  p.router_alert = router_alert;
  p.message = d;
  return MrouteDatagram(p);
}

Result<MrouteDatagram> MrouteSocket::receive() {
  sockaddr_storage from{};
  iovec iov{buffer_.data(), buffer_.size()};
  alignas(cmsghdr) std::uint8_t control[512];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return last_error();
  std::span<const std::uint8_t> d(buffer_.data(), static_cast<std::size_t>(n));
  if (msg.msg_flags & MSG_TRUNC) return Errc::not_membership_or_upcall;

  int ifindex = 0;
  IpAddress destination;
  int hop_limit = 0;
  bool router_alert = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      ifindex = info.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      ifindex = static_cast<int>(info.ipi6_ifindex);
      destination = IpAddress::v6(info.ipi6_addr);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      std::memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPOPTS) {
      const std::size_t len = c->cmsg_len - CMSG_LEN(0);
      router_alert = hopopts_have_router_alert({CMSG_DATA(c), len});
    }
  }
  if (family_ == AF_INET) return classify_ipv4(d, ifindex);
  IpAddress source;
  if (from.ss_family == AF_INET6) source = IpAddress::v6(reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr);
  return classify_ipv6(d, ifindex, source, destination, static_cast<std::uint8_t>(hop_limit), router_alert);
}

MembershipSubscription MrouteSocket::subscribe_membership(MembershipHandler handler) {
  const std::uint64_t id = registry_->next_id++;
  registry_->handlers.emplace(id, std::move(handler));
  return MembershipSubscription(registry_, id);
}

bool MrouteSocket::has_membership_subscribers() const { return registry_ && !registry_->handlers.empty(); }

Result<std::size_t> MrouteSocket::dispatch_pending() {
  std::size_t count = 0;
  for (;;) {
    auto r = receive();
    if (!r) {
      if (r.error() == std::errc::resource_unavailable_try_again || r.error() == std::errc::operation_would_block)
        return count;
      if (r.error() == Errc::not_membership_or_upcall) {
        ++count;
        continue;
      }
      return r.error();
    }
    ++count;
    if (const auto* u = std::get_if<Upcall>(&r.value())) {
      if (upcall_handler_) upcall_handler_(*u);
    } else {
      const auto& p = std::get<MembershipPacket>(r.value());
      // Copy: a handler may unsubscribe itself or another.
      std::vector<MembershipHandler> handlers;
      for (const auto& [id, h] : registry_->handlers) handlers.push_back(h);
      for (const auto& h : handlers) h(p);
    }
  }
}

}  // namespace joincast::netlink
