// multicast_egress_test.cpp — a sending socket names its egress interface,
// through the one helper every sender uses (media's sockets, the querier).
#include "media/engine/multicast_socket.hpp"
#include "netlink/multicast_egress.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <sstream>
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

TEST_CASE("media's sender sockets name their egress interface") {
  const unsigned lo = ::if_nametoindex("lo");
  REQUIRE(lo > 0);
  joincast::media::SenderSocketOptions o;
  o.source = boost::asio::ip::make_address("::1");
  o.ifindex = lo;
  auto fd = joincast::media::open_sender_socket(o);
  if (!fd) return;  // a kernel without IPv6
  unsigned index = 0;
  socklen_t len = sizeof index;
  REQUIRE(::getsockopt(fd.value().get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, &len) == 0);
  CHECK(index == lo);
}

TEST_CASE("set_multicast_egress is the only place that sets the multicast egress interface") {
  namespace fs = std::filesystem;
  const fs::path root = JOINCAST_SOURCE_DIR;
  std::vector<std::string> others;
  for (const char* dir : {"daemon", "media", "netlink", "tools", "common"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      if (e.path().filename() == "multicast_egress.cpp") continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      for (const char* option : {"IP_MULTICAST_IF,", "IPV6_MULTICAST_IF,"})
        if (s.find(option) != std::string::npos) others.push_back(fs::relative(e.path(), root).string() + " " + option);
    }
  }
  INFO(fmt::format("{}", fmt::join(others, "; ")));
  CHECK(others.empty());
}
