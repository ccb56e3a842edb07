// mdns_sockets.cpp — see mdns_sockets.hpp.
#include "daemon/lan/mdns/mdns_sockets.hpp"

#include <fmt/format.h>

#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

namespace joincast::daemon::lan::mdns {

namespace {

Result<void> option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) < 0) return Error(last_error()).context(what);
  return success();
}

}  // namespace

IpAddress mdns_group(int family) { return *IpAddress::parse(family == AF_INET ? "224.0.0.251" : "ff02::fb"); }

Result<MdnsSocket> MdnsSocket::open(int family) {
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error(last_error()).context("mDNS socket");
  const char* fam = family == AF_INET ? "IPv4" : "IPv6";
  for (auto [name, what] : {std::pair{SO_REUSEADDR, "SO_REUSEADDR"}, std::pair{SO_REUSEPORT, "SO_REUSEPORT"}})
    if (auto r = option(fd.get(), SOL_SOCKET, name, 1, what); !r) return std::move(r).error();
  if (family == AF_INET) {
    for (auto [name, value, what] : {std::tuple{IP_PKTINFO, 1, "IP_PKTINFO"}, std::tuple{IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL"},
                                     std::tuple{IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"}})
      if (auto r = option(fd.get(), IPPROTO_IP, name, value, what); !r) return std::move(r).error();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(mdns_port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
      return Error(last_error()).context("binding udp 0.0.0.0:5353");
  } else {
    for (auto [name, value, what] :
         {std::tuple{IPV6_V6ONLY, 1, "IPV6_V6ONLY"}, std::tuple{IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"},
          std::tuple{IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS"}, std::tuple{IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"}})
      if (auto r = option(fd.get(), IPPROTO_IPV6, name, value, what); !r) return std::move(r).error();
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(mdns_port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
      return Error(last_error()).context("binding udp [::]:5353");
  }
  (void)fam;
  return MdnsSocket(std::move(fd), family);
}

Result<void> MdnsSocket::join(int ifindex, const IpAddress& local) {
  (void)local;
  if (family_ == AF_INET) {
    ip_mreqn m{};
    m.imr_multiaddr = mdns_group(AF_INET).to_in_addr();
    m.imr_ifindex = ifindex;
    if (::setsockopt(fd_.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) < 0 && errno != EADDRINUSE)
      return Error(last_error()).context("joining 224.0.0.251");
    return success();
  }
  ipv6_mreq m{};
  m.ipv6mr_multiaddr = mdns_group(AF_INET6).to_in6_addr();
  m.ipv6mr_interface = static_cast<unsigned>(ifindex);
  if (::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m) < 0 && errno != EADDRINUSE)
    return Error(last_error()).context("joining ff02::fb");
  return success();
}

Result<void> MdnsSocket::leave(int ifindex, const IpAddress& local) {
  (void)local;
  // A leave on an interface that is gone fails with ENODEV/EADDRNOTAVAIL:
  // the kernel already dropped the membership.
  if (family_ == AF_INET) {
    ip_mreqn m{};
    m.imr_multiaddr = mdns_group(AF_INET).to_in_addr();
    m.imr_ifindex = ifindex;
    if (::setsockopt(fd_.get(), IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof m) < 0 && errno != EADDRNOTAVAIL &&
        errno != ENODEV)
      return Error(last_error()).context("leaving 224.0.0.251");
    return success();
  }
  ipv6_mreq m{};
  m.ipv6mr_multiaddr = mdns_group(AF_INET6).to_in6_addr();
  m.ipv6mr_interface = static_cast<unsigned>(ifindex);
  if (::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m, sizeof m) < 0 && errno != EADDRNOTAVAIL &&
      errno != ENODEV)
    return Error(last_error()).context("leaving ff02::fb");
  return success();
}

Result<Datagram> MdnsSocket::receive() {
  Datagram d;
  d.bytes.resize(max_message_size + 1);
  sockaddr_storage from{};
  iovec iov{d.bytes.data(), d.bytes.size()};
  alignas(cmsghdr) char control[256];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_TRUNC);
  if (n < 0) return Error(last_error());
  d.oversized = static_cast<std::size_t>(n) > max_message_size;
  d.bytes.resize(std::min(static_cast<std::size_t>(n), max_message_size));
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.ifindex = info.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.ifindex = static_cast<int>(info.ipi6_ifindex);
    }
  }
  if (from.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&from);
    d.source = IpAddress::v4(s->sin_addr);
    d.source_port = ntohs(s->sin_port);
  } else if (from.ss_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&from);
    d.source = IpAddress::v6(s->sin6_addr);
    d.source_port = ntohs(s->sin6_port);
  }
  return d;
}

Result<void> MdnsSocket::send(int ifindex, const IpAddress& local, std::span<const std::uint8_t> bytes) const {
  return send_to(ifindex, local, mdns_group(family_), mdns_port, bytes);
}

Result<void> MdnsSocket::send_unicast(int ifindex, const IpAddress& local, const IpAddress& to, std::uint16_t port,
                                      std::span<const std::uint8_t> bytes) const {
  return send_to(ifindex, local, to, port, bytes);
}

Result<void> MdnsSocket::send_to(int ifindex, const IpAddress& local, const IpAddress& to, std::uint16_t port,
                                 std::span<const std::uint8_t> bytes) const {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  iovec iov{const_cast<std::uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  sockaddr_in to4{};
  sockaddr_in6 to6{};
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  if (family_ == AF_INET) {
    to4.sin_family = AF_INET;
    to4.sin_port = htons(port);
    to4.sin_addr = to.to_in_addr();
    msg.msg_name = &to4;
    msg.msg_namelen = sizeof to4;
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_ifindex = ifindex;
    info.ipi_spec_dst = local.to_in_addr();
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  } else {
    to6.sin6_family = AF_INET6;
    to6.sin6_port = htons(port);
    to6.sin6_addr = to.to_in6_addr();
    to6.sin6_scope_id = static_cast<std::uint32_t>(ifindex);
    msg.msg_name = &to6;
    msg.msg_namelen = sizeof to6;
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_ifindex = static_cast<unsigned>(ifindex);
    info.ipi6_addr = local.to_in6_addr();
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  }
  if (::sendmsg(fd_.get(), &msg, 0) < 0) return Error(last_error()).context(fmt::format("sending to {} port {} on if{}", to.to_string(), port, ifindex));
  return success();
}

}  // namespace joincast::daemon::lan::mdns
