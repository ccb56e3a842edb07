// group_block_test.cpp — RFC 3306 group blocks derived from an interface's
// /64, as the old smcroute startup script's casts() built them.
#include "daemon/routing/group_block.hpp"

#include <doctest/doctest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

using namespace joincast::daemon;
using namespace joincast::daemon::routing;
using joincast::netlink::InterfaceAddress;
using joincast::IpAddress;
using joincast::IpPrefix;

namespace {
IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }
InterfaceAddress addr(const char* a, unsigned len, std::uint8_t scope = RT_SCOPE_UNIVERSE, std::uint32_t flags = 0) {
  InterfaceAddress x;
  x.address = *IpAddress::parse(a);
  x.prefix_length = static_cast<std::uint8_t>(len);
  x.scope = scope;
  x.flags = flags;
  return x;
}
}  // namespace

TEST_CASE("group id ranges in the spellings people use") {
  CHECK(parse_group_id_range("0x80000000-0x8000000f") == GroupIdRange{0x80000000u, 0x8000000fu});
  CHECK(parse_group_id_range("0xd0bef00d") == GroupIdRange{0xd0bef00du, 0xd0bef00du});
  CHECK(parse_group_id_range("8000:0-8000:f") == GroupIdRange{0x80000000u, 0x8000000fu});
  CHECK(parse_group_id_range("d0be:f00d") == GroupIdRange{0xd0bef00du, 0xd0bef00du});
  CHECK(parse_group_id_range("2147483648") == GroupIdRange{0x80000000u, 0x80000000u});
  CHECK_FALSE(parse_group_id_range("0x8000000f-0x80000000"));  // backwards
  CHECK_FALSE(parse_group_id_range("0x100000000"));
  CHECK_FALSE(parse_group_id_range("8000:0:1"));
  CHECK_FALSE(parse_group_id_range("x"));
  CHECK_FALSE(parse_group_id_range(""));
}

TEST_CASE("a range becomes the fewest CIDR blocks covering exactly it") {
  using V = std::vector<std::pair<std::uint32_t, unsigned>>;
  CHECK(group_id_cidrs({0x80000000u, 0x8000000fu}) == V{{0x80000000u, 28}});
  CHECK(group_id_cidrs({0xd0bef00du, 0xd0bef00du}) == V{{0xd0bef00du, 32}});
  CHECK(group_id_cidrs({0x80000000u, 0xffffffffu}) == V{{0x80000000u, 1}});
  CHECK(group_id_cidrs({1, 6}) == V{{1, 32}, {2, 31}, {4, 31}, {6, 32}});
  CHECK(group_id_cidrs({0, 0xffffffffu}) == V{{0, 0}});
}

TEST_CASE("groups are ff3e:40:<prefix>:<id>, the design's examples") {
  const IpPrefix p = pfx("2001:db8:d0be:f00d::/64");
  CHECK(catalogue::unicast_prefix_group(p, 0x80000000u).to_string() == "ff3e:40:2001:db8:d0be:f00d:8000:0");
  CHECK(catalogue::unicast_prefix_group(p, 0x90000005u).to_string() == "ff3e:40:2001:db8:d0be:f00d:9000:5");
  CHECK(catalogue::unicast_prefix_group(p, 0xd0bef00du).to_string() == "ff3e:40:2001:db8:d0be:f00d:d0be:f00d");
  CHECK(catalogue::unicast_prefix_group(p, 0x80000000u, 0x5).to_string() == "ff35:40:2001:db8:d0be:f00d:8000:0");
  // casts(): 0x80000000..0x8000000f, 0x90000000..0x9000000f, 0xd0bef00d.
  const GroupIdRange ranges[] = {{0x80000000u, 0x8000000fu}, {0x90000000u, 0x9000000fu}, {0xd0bef00du, 0xd0bef00du}};
  auto prefixes = derive_block_prefixes(p, ranges);
  REQUIRE(prefixes.size() == 3);
  CHECK(prefixes[0].to_string() == "ff3e:40:2001:db8:d0be:f00d:8000:0/124");
  CHECK(prefixes[1].to_string() == "ff3e:40:2001:db8:d0be:f00d:9000:0/124");
  CHECK(prefixes[2].to_string() == "ff3e:40:2001:db8:d0be:f00d:d0be:f00d/128");
  for (std::uint32_t id = 0x80000000u; id <= 0x8000000fu; ++id) CHECK(prefixes[0].contains(catalogue::unicast_prefix_group(p, id)));
  CHECK_FALSE(prefixes[0].contains(catalogue::unicast_prefix_group(p, 0x80000010u)));
}

TEST_CASE("the /64 comes from a usable global address, deterministically") {
  std::vector<InterfaceAddress> a{
      addr("fe80::1", 64, RT_SCOPE_LINK),
      addr("10.0.0.1", 24),
      addr("2001:db8:9::1", 64, RT_SCOPE_UNIVERSE, IFA_F_DEPRECATED),
      addr("2001:db8:5::7", 64, RT_SCOPE_UNIVERSE, IFA_F_TEMPORARY),
      addr("2001:db8:7::1", 48),
      addr("2001:db8:6:1::1", 64),
  };
  // Permanent before temporary, then the lowest: 2001:db8:6:1::/64.
  CHECK(catalogue::derivation_prefix(a) == pfx("2001:db8:6:1::/64"));
  a.pop_back();
  // A /48 address still gives its first 64 bits, as casts() cut them.
  CHECK(catalogue::derivation_prefix(a) == pfx("2001:db8:7::/64"));
  a.pop_back();
  CHECK(catalogue::derivation_prefix(a) == pfx("2001:db8:5::/64"));  // only a temporary one left
  a.pop_back();
  CHECK_FALSE(catalogue::derivation_prefix(a));  // deprecated (renumbered away) and link-local do not count
}
