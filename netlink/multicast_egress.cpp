// multicast_egress.cpp — see multicast_egress.hpp.
#include "netlink/multicast_egress.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

namespace joincast::netlink {

Result<void> set_multicast_egress(int fd, int family, int ifindex) {
  if (family == AF_INET) {
    ip_mreqn m{};
    m.imr_ifindex = ifindex;
    if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0) return last_error();
    return success();
  }
  if (family == AF_INET6) {
    const unsigned index = static_cast<unsigned>(ifindex);
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) < 0) return last_error();
    return success();
  }
  return errno_error(EAFNOSUPPORT);
}

}  // namespace joincast::netlink
