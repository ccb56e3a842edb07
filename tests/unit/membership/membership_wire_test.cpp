// membership_wire_test.cpp — query encoding and report decoding against
// the RFCs' formats, byte by byte.
#include "daemon/membership/membership_wire.hpp"

#include "membership_abi.h"

#include <doctest/doctest.h>

#include <arpa/inet.h>

using namespace joincast::daemon;
using joincast::Address16;
using namespace std::chrono_literals;

TEST_CASE("floating-point codes round-trip and round down (RFC 3376 §4.1.1 and RFC 3810 §5.1.3)") {
  CHECK(membership::wire::encode_code8(100) == 100);
  CHECK(membership::wire::decode_code8(127) == 127);
  // 128 = (0 | 0x10) << 3 -> exp 0 mant 0
  CHECK(membership::wire::encode_code8(128) == 0x80);
  CHECK(membership::wire::decode_code8(0x80) == 128);
  CHECK(membership::wire::decode_code8(0xff) == 31744);
  for (std::uint32_t v : {128u, 200u, 1000u, 3174u, 31744u}) {
    std::uint32_t back = membership::wire::decode_code8(membership::wire::encode_code8(v));
    CHECK(back <= v);
    CHECK(back * 17 >= v * 16);  // within one mantissa step
  }
  CHECK(membership::wire::encode_code16(10000) == 10000);
  CHECK(membership::wire::decode_code16(0x8000) == 32768);
  for (std::uint32_t v : {32768u, 100000u, 1000000u}) {
    std::uint32_t back = membership::wire::decode_code16(membership::wire::encode_code16(v));
    CHECK(back <= v);
    CHECK(back * 4097 >= v * 4096);
  }
}

TEST_CASE("an IGMPv3 general query has the RFC 3376 layout and a valid checksum") {
  auto q = membership::wire::igmpv3_query(0, {10s, 125s, 2, false});
  REQUIRE(q.size() == 12);
  CHECK(q[0] == 0x11);
  CHECK(q[1] == 100);  // 10 s in tenths
  CHECK(q[8] == 2);    // S=0, QRV=2
  CHECK(q[9] == 125);  // QQIC
  CHECK(q[10] == 0);
  CHECK(q[11] == 0);
  CHECK(membership::wire::internet_checksum(q) == 0);  // a correct checksum sums to zero
}

TEST_CASE("a group-specific IGMPv3 query carries the group") {
  std::uint32_t g = htonl(0xefff0001);  // 239.255.0.1
  auto q = membership::wire::igmpv3_query(g, {1s, 125s, 2, false});
  CHECK(q[1] == 10);
  CHECK(q[4] == 239);
  CHECK(q[5] == 255);
  CHECK(q[7] == 1);
  CHECK(membership::wire::internet_checksum(q) == 0);
}

TEST_CASE("an MLDv2 query has the RFC 3810 layout") {
  Address16 group{};
  REQUIRE(inet_pton(AF_INET6, "ff3e:40:2001:db8:d0be:f00d:8000:0", group.data()) == 1);
  auto q = membership::wire::mldv2_query(group, {1s, 125s, 2, false});
  REQUIRE(q.size() == 28);
  CHECK(q[0] == 130);
  CHECK(((q[4] << 8) | q[5]) == 1000);  // Maximum Response Code in ms
  CHECK(std::equal(group.begin(), group.end(), q.begin() + 8));
  CHECK(q[24] == 2);
  CHECK(q[25] == 125);
}

TEST_CASE("an IGMPv3 report decodes into its records") {
  // type 0x22, two records: TO_EX(239.1.1.1) no sources, ALLOW(239.2.2.2, 1 source)
  std::vector<std::uint8_t> m = {0x22, 0, 0, 0, 0, 0, 0, 2,
                                 4,    0, 0, 0, 239, 1, 1, 1,
                                 5,    0, 0, 1, 239, 2, 2, 2, 10, 0, 0, 1};
  auto sum = membership::wire::internet_checksum(m);
  m[2] = static_cast<std::uint8_t>(sum >> 8);
  m[3] = static_cast<std::uint8_t>(sum);
  auto r = membership::wire::decode_igmp(m);
  REQUIRE(r);
  const auto* d = &r.value();
  CHECK(d->kind == membership::wire::Decoded::Kind::report);
  CHECK(d->version == JC_IGMPV3);
  REQUIRE(d->records.size() == 2);
  CHECK(d->records[0].type == JC_REC_TO_EX);
  CHECK(membership::loader::format_address(d->records[0].group.data()) == "239.1.1.1");
  CHECK(d->records[1].type == JC_REC_ALLOW);
  CHECK(d->records[1].sources == 1);
}

TEST_CASE("decoding refuses lies: a record count beyond the message or a bad checksum") {
  std::vector<std::uint8_t> m = {0x22, 0, 0, 0, 0, 0, 0, 5, 4, 0, 0, 0, 239, 1, 1, 1};
  auto sum = membership::wire::internet_checksum(m);
  m[2] = static_cast<std::uint8_t>(sum >> 8);
  m[3] = static_cast<std::uint8_t>(sum);
  auto r = membership::wire::decode_igmp(m);
  REQUIRE_FALSE(r);
  CHECK(r.error() == membership::wire::DecodeError::truncated);
  CHECK(r.error().message() == "message shorter than its header or record counts say");
  m[3] ^= 1;
  r = membership::wire::decode_igmp(m);
  REQUIRE_FALSE(r);
  CHECK(r.error() == membership::wire::DecodeError::bad_checksum);
}

TEST_CASE("MLDv1 report and done decode to the v1 pseudo records") {
  std::vector<std::uint8_t> m(24, 0);
  m[0] = 132;
  REQUIRE(inet_pton(AF_INET6, "ff3e:40:2001:db8::1", m.data() + 8) == 1);
  auto r = membership::wire::decode_mld(m);
  REQUIRE(r);
  const auto* d = &r.value();
  CHECK(d->version == JC_MLDV1);
  REQUIRE(d->records.size() == 1);
  CHECK(d->records[0].type == JC_REC_V1_LEAVE);
  CHECK(membership::loader::format_address(d->records[0].group.data()) == "ff3e:40:2001:db8::1");
}
