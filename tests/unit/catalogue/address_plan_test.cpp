// address_plan_test.cpp — the address plan of DESIGN.md: the documented
// examples, reversibility both ways for IPv6 and IPv4, refusals, and the
// one /64 prefix choice the routing module shares.
#include "daemon/catalogue/address_plan.hpp"

#include <doctest/doctest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <random>

using namespace joincast::daemon;

namespace {
catalogue::AddressPlan plan() {
  catalogue::AddressLayout l;
  l.ipv6_prefix = catalogue::parse_ipv6_prefix("2001:db8:d0be:f00d::/64");
  return catalogue::AddressPlan(l);
}
catalogue::GroupAddress group(const char* text) { return catalogue::GroupAddress::parse(text).value(); }
}  // namespace

// True when r holds a value; otherwise false, with its error message in why.
template <class T>
bool succeeds(const joincast::Result<T>& r, std::string& why) {
  if (r) return true;
  why = r.error().message();
  return false;
}

TEST_CASE("DESIGN.md's examples") {
  auto p = plan();
  CHECK(p.ipv6_group(catalogue::ServiceNumber{0})->to_string() == "ff3e:40:2001:db8:d0be:f00d:8000:0");
  auto n = p.number_of(group("ff3e:40:2001:db8:d0be:f00d:9000:5")).value();
  CHECK(std::get<catalogue::InternetStation>(p.decode(n)) == catalogue::InternetStation{1, 5});
  auto d = p.number_of(group("ff3e:0040:2001:db8:d0be:f00d:d0be:f00d")).value();
  auto key = std::get<catalogue::DvbServiceKey>(p.decode(d));
  CHECK(key.service_id == 0xf00d);
  CHECK(key.vertical == false);
  CHECK(key.frequency_khz == 10'700'000 + 0x085f * 250);
  // FIELD-NOTES' hand-entered carriers are on the grid.
  CHECK(p.encode(catalogue::DvbServiceKey{11'426'500, false, 1}));
  CHECK(p.encode(catalogue::DvbServiceKey{12'441'000, true, 1}));
}

TEST_CASE("every mapping is reversible") {
  auto p = plan();
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    catalogue::ServiceNumber n{static_cast<std::uint32_t>(rng() & 0x7fff'ffffu)};
    auto g6 = p.ipv6_group(n);
    REQUIRE(g6);
    CHECK(p.number_of(catalogue::GroupAddress(*g6)).value() == n);
    auto back = p.encode(p.decode(n));
    REQUIRE(back);
    CHECK(back.value() == n);
    if (auto g4 = p.ipv4_group(n)) CHECK(p.number_of(catalogue::GroupAddress(*g4)).value() == n);
  }
}

TEST_CASE("the IPv4 block holds small station numbers of the first directories") {
  auto p = plan();
  auto n = p.encode(catalogue::InternetStation{1, 5}).value();
  CHECK(p.ipv4_group(n)->to_string() == "239.255.64.5");
  CHECK(!p.ipv4_group(p.encode(catalogue::InternetStation{0, 1u << 14}).value()));  // 14 station bits in a /16
  CHECK(!p.ipv4_group(p.encode(catalogue::DvbServiceKey{11'426'500, false, 1}).value()));
  CHECK(!p.number_of(group("239.254.0.1")));
  catalogue::AddressLayout wide;
  wide.ipv4_base = boost::asio::ip::make_address_v4("128.0.0.0");  // not multicast
  wide.ipv4_prefix_length = 1;
  CHECK(!catalogue::AddressPlan::validate(wide).empty());
}

TEST_CASE("the layout's field widths are configurable") {
  catalogue::AddressLayout l;
  l.ipv6_prefix = catalogue::parse_ipv6_prefix("2001:db8::/64");
  l.directory_bits = 4;
  catalogue::AddressPlan p(l);
  auto n = p.encode(catalogue::InternetStation{9, 77}).value();
  CHECK(n.value == ((9u << 26) | 77u));
  CHECK(std::get<catalogue::InternetStation>(p.decode(n)) == catalogue::InternetStation{9, 77});
  std::string why;
  CHECK(!succeeds(p.encode(catalogue::InternetStation{16, 0}), why));
  CHECK(why.find("does not fit 4 bits") != std::string::npos);
  CHECK(!succeeds(p.encode(catalogue::InternetStation{0, 1u << 26}), why));
}

TEST_CASE("groups that are not ours are refused with a reason") {
  auto p = plan();
  std::string why;
  CHECK(!succeeds(p.number_of(group("ff3e:40:2001:db8:1:2:8000:0")), why));
  CHECK(why.find("prefix is not 2001:db8:d0be:f00d::/64") != std::string::npos);
  CHECK(!succeeds(p.number_of(group("ff3e:40:2001:db8:d0be:f00d:1:0")), why));
  CHECK(why.find("top bit") != std::string::npos);
  CHECK(!succeeds(p.number_of(group("ff02::1")), why));
  CHECK(!succeeds(p.number_of(group("ff35:40:2001:db8:d0be:f00d:8000:0")), why));
  CHECK(why.find("scope") != std::string::npos);
  CHECK(!succeeds(p.encode(catalogue::DvbServiceKey{11'426'600, false, 1}), why));
  CHECK(why.find("not on the grid") != std::string::npos);
  CHECK(!succeeds(p.encode(catalogue::DvbServiceKey{13'000'000, false, 1}), why));
  CHECK(!catalogue::GroupAddress::parse("2001:db8::1"));
  catalogue::AddressPlan none;
  CHECK(!succeeds(none.number_of(group("ff3e:40:2001:db8:d0be:f00d:8000:0")), why));
  CHECK(why.find("no IPv6 prefix") != std::string::npos);
}

TEST_CASE("a group with a zone id is refused, and every accepted group prints as it parses") {
  for (const char* text : {"ff32::%-8", "ff32::%1", "ff02::1%lo", "ff3e:40:2001:db8::8000:0%0", "239.1.1.1%1"}) {
    CAPTURE(text);
    CHECK_FALSE(catalogue::GroupAddress::parse(text));
  }
  for (const char* text : {"ff32::1", "ff3e:40:2001:db8:d0be:f00d:8000:0", "239.255.0.1"}) {
    CAPTURE(text);
    auto g = catalogue::GroupAddress::parse(text);
    REQUIRE(g);
    auto again = catalogue::GroupAddress::parse(g.value().to_string());
    REQUIRE(again);
    CHECK(again.value() == g.value());
  }
}

TEST_CASE("one prefix choice: station groups and routing's group blocks take the same /64") {
  using joincast::netlink::InterfaceAddress;
  using joincast::IpAddress;
  using joincast::IpPrefix;
  core::InterfaceTable t;
  joincast::netlink::Link l;
  l.ifindex = 4;
  l.name = "int0";
  t.apply(l);
  // As the kernel lists them: newest first, the temporary (privacy)
  // address before the permanent ones, the higher prefix before the lower.
  auto add = [&](const char* a, std::uint32_t flags) {
    InterfaceAddress x;
    x.ifindex = 4;
    x.address = *IpAddress::parse(a);
    x.prefix_length = 64;
    x.scope = RT_SCOPE_UNIVERSE;
    x.flags = flags;
    t.apply(x);
  };
  add("2001:db8:1:0:da9c:1809:346a:d6f0", IFA_F_TEMPORARY);
  add("2001:db8:9::1", 0);
  add("2001:db8:2::1", 0);
  auto prefix = catalogue::interface_ipv6_prefix(t, "int0");
  REQUIRE(prefix);
  CHECK(catalogue::format_ipv6_prefix(*prefix) == "2001:db8:2::/64");
  CHECK(catalogue::derivation_prefix(t.addresses(4)) == IpPrefix::parse("2001:db8:2::/64"));
  CHECK_FALSE(catalogue::interface_ipv6_prefix(t, "int1"));
  // A station's group lies in the block the routing module derives.
  catalogue::AddressLayout layout;
  layout.ipv6_prefix = prefix;
  catalogue::AddressPlan p(layout);
  auto g = p.ipv6_group(catalogue::ServiceNumber{5});
  REQUIRE(g);
  CHECK(g->to_string() == "ff3e:40:2001:db8:2:0:8000:5");
  const auto block = IpPrefix(catalogue::unicast_prefix_group(*catalogue::derivation_prefix(t.addresses(4)), 0x80000000u), 96 + 1);
  CHECK(block.contains(*IpAddress::parse(g->to_string())));
}
