// ip_address_test.cpp — the one address type and its byte forms: the BPF
// maps' 16 bytes (IPv4 mapped) and groups convert both ways without text.
#include "common/ip_address.hpp"
#include "daemon/catalogue/group_address.hpp"

#include <doctest/doctest.h>

using namespace joincast;
using joincast::daemon::catalogue::GroupAddress;

TEST_CASE("Address16 round trips: IPv4 mapped, IPv6 as is") {
  auto v4 = *IpAddress::parse("239.255.0.5");
  Address16 b = v4.to_address16();
  CHECK(b[10] == 0xff);
  CHECK(b[11] == 0xff);
  CHECK(b[15] == 5);
  CHECK(IpAddress::from_address16(b) == v4);
  CHECK(IpAddress::from_address16(b).is_v4());
  auto v6 = *IpAddress::parse("ff3e:40:2001:db8:d0be:f00d:8000:0");
  CHECK(IpAddress::from_address16(v6.to_address16()) == v6);
  CHECK(IpAddress{}.to_address16() == Address16{});
}

TEST_CASE("a group from the maps' bytes is the same group as its text") {
  for (const char* text : {"ff3e:40:2001:db8:d0be:f00d:8000:5", "239.255.1.2"}) {
    auto ip = *IpAddress::parse(text);
    auto g = GroupAddress::from(ip.to_address16());
    REQUIRE(g);
    CHECK(g.value().to_string() == text);
    CHECK(g.value().ip() == ip);
    CHECK(g.value().address16() == ip.to_address16());
    CHECK(g.value() == GroupAddress::parse(text).value());
  }
  auto unicast = GroupAddress::from(IpAddress::parse("2001:db8::1")->to_address16());
  REQUIRE(!unicast);
  CHECK(unicast.error().message() == "2001:db8::1 is not a multicast group");
}
