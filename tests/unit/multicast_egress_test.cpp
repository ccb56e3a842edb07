// multicast_egress_test.cpp — a sending socket names its egress interface.
#include "netlink/multicast_egress.hpp"

#include <doctest/doctest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace joincast;
using namespace joincast::netlink;

TEST_CASE("the egress interface is set by index, both families") {
  const int lo = static_cast<int>(::if_nametoindex("lo"));
  REQUIRE(lo > 0);
  for (int family : {AF_INET, AF_INET6}) {
    int fd = ::socket(family, SOCK_DGRAM, 0);
    if (fd < 0) continue;  // a kernel without IPv6
    CHECK(set_multicast_egress(fd, family, lo));
    CHECK_FALSE(set_multicast_egress(fd, family, 999999));  // no such interface
    if (family == AF_INET6) {
      // IPv4 reports only an address back; IPv6 the index.
      unsigned index = 0;
      socklen_t len = sizeof index;
      REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, &len) == 0);
      CHECK(index == static_cast<unsigned>(lo));
    }
    ::close(fd);
  }
  CHECK((set_multicast_egress(-1, AF_UNIX, 1).error() == std::errc::address_family_not_supported));
}
