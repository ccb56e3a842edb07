// multicast_socket.cpp — explicit multicast socket setup.
#include "media/engine/multicast_socket.hpp"

#include "netlink/multicast_egress.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29  // linux/in6.h, since 4.20
#endif

namespace joincast::media {

SocketAddress SocketAddress::from(const boost::asio::ip::address& address, std::uint16_t port, unsigned scope_id) {
  SocketAddress out;
  if (address.is_v6()) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    auto b = address.to_v6().to_bytes();
    std::memcpy(&sa->sin6_addr, b.data(), 16);
    sa->sin6_scope_id = scope_id ? scope_id : static_cast<std::uint32_t>(address.to_v6().scope_id());
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    auto b = address.to_v4().to_bytes();
    std::memcpy(&sa->sin_addr, b.data(), 4);
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

Result<unsigned> interface_index(std::string_view name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return errno_error(ENODEV);
  unsigned index = if_nametoindex(std::string(name).c_str());
  if (index == 0) return errno_error(ENODEV);
  return index;
}

Result<unsigned> interface_mtu(std::string_view name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return errno_error(ENODEV);
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return last_error();
  ifreq req{};
  std::memcpy(req.ifr_name, name.data(), name.size());
  if (ioctl(fd.get(), SIOCGIFMTU, &req) != 0) return last_error();
  return static_cast<unsigned>(req.ifr_mtu);
}

Result<boost::asio::ip::address> interface_address(std::string_view name, bool ipv6) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return last_error();
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, freeifaddrs);
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || name != a->ifa_name) continue;
    if (ipv6 && a->ifa_addr->sa_family == AF_INET6) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      boost::asio::ip::address_v6::bytes_type b{};
      std::memcpy(b.data(), &sa->sin6_addr, 16);
      boost::asio::ip::address_v6 v6(b);
      if (v6.is_link_local() || v6.is_loopback() || v6.is_unspecified()) continue;
      return boost::asio::ip::address(v6);
    }
    if (!ipv6 && a->ifa_addr->sa_family == AF_INET) {
      const auto* sa = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      return boost::asio::ip::address(boost::asio::ip::address_v4(ntohl(sa->sin_addr.s_addr)));
    }
  }
  return errno_error(ENOENT);
}

namespace {
template <class T>
std::error_code set(int fd, int level, int name, const T& value) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return last_error();
  return {};
}
}  // namespace

Result<UniqueFd> open_sender_socket(const SenderSocketOptions& o) {
  bool v6 = o.source.is_v6();
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return last_error();
  int f = fd.get();
  int hops = static_cast<int>(o.hops);
  int loop = o.loop ? 1 : 0;
  if (v6) {
    if (auto r = netlink::set_multicast_egress(f, AF_INET6, static_cast<int>(o.ifindex)); !r) return r.error();
    if (auto ec = set(f, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops)) return ec;
    if (auto ec = set(f, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, loop)) return ec;
  } else {
    // By index; the source address is the one the socket is bound to below.
    if (auto r = netlink::set_multicast_egress(f, AF_INET, static_cast<int>(o.ifindex)); !r) return r.error();
    if (auto ec = set(f, IPPROTO_IP, IP_MULTICAST_TTL, hops)) return ec;
    unsigned char loop8 = o.loop ? 1 : 0;
    if (auto ec = set(f, IPPROTO_IP, IP_MULTICAST_LOOP, loop8)) return ec;
  }
  if (o.port != 0) {
    int one = 1, small = 2048;
    if (auto ec = set(f, SOL_SOCKET, SO_REUSEADDR, one)) return ec;
    if (auto ec = set(f, SOL_SOCKET, SO_REUSEPORT, one)) return ec;
    // Nothing reads it: unicast sent to the port queues little.
    (void)set(f, SOL_SOCKET, SO_RCVBUF, small);
  }
  auto sa = SocketAddress::from(o.source, o.port, o.source.is_v6() && o.source.to_v6().is_link_local() ? o.ifindex : 0);
  if (bind(f, sa.get(), sa.length) != 0) return last_error();
  return fd;
}

Result<UniqueFd> open_receiver_socket(const ReceiverSocketOptions& o) {
  bool v6 = o.group.is_v6();
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return last_error();
  int f = fd.get();
  int one = 1, zero = 0;
  if (o.reuse)
    if (auto ec = set(f, SOL_SOCKET, SO_REUSEADDR, one)) return ec;
  bool multicast = o.group.is_multicast();
  if (v6) {
    if (auto ec = set(f, IPPROTO_IPV6, IPV6_V6ONLY, one)) return ec;
    // Best effort: older kernels lack IPV6_MULTICAST_ALL (binding to the
    // group below filters as well).
    if (multicast) (void)set(f, IPPROTO_IPV6, IPV6_MULTICAST_ALL, zero);
  } else if (multicast) {
    (void)set(f, IPPROTO_IP, IP_MULTICAST_ALL, zero);
  }
  auto sa = SocketAddress::from(o.group, o.port, v6 && o.group.to_v6().is_link_local() ? o.ifindex : 0);
  if (bind(f, sa.get(), sa.length) != 0) return last_error();
  if (!multicast) return fd;

  // RFC 3678 protocol-independent joins: any-source or source-specific.
  if (o.source) {
    group_source_req req{};
    req.gsr_interface = o.ifindex;
    auto g = SocketAddress::from(o.group, 0);
    auto s = SocketAddress::from(*o.source, 0);
    std::memcpy(&req.gsr_group, &g.storage, g.length);
    std::memcpy(&req.gsr_source, &s.storage, s.length);
    if (auto ec = set(f, v6 ? IPPROTO_IPV6 : IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP, req)) return ec;
  } else {
    group_req req{};
    req.gr_interface = o.ifindex;
    auto g = SocketAddress::from(o.group, 0);
    std::memcpy(&req.gr_group, &g.storage, g.length);
    if (auto ec = set(f, v6 ? IPPROTO_IPV6 : IPPROTO_IP, MCAST_JOIN_GROUP, req)) return ec;
  }
  return fd;
}

}  // namespace joincast::media
