// media_sap_test.cpp — SAP packets (RFC 2974): the header bits byte by
// byte, decoding what others send, the message id hash and the interval.
#include "media/announce/sap.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {
std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}
unsigned at(const std::vector<std::byte>& p, std::size_t i) { return std::to_integer<unsigned>(p[i]); }
}  // namespace

TEST_CASE("an IPv6 announcement has V=1, A=1 and the 16-byte origin") {
  SapMessage m;
  m.msg_id_hash = 0xbeef;
  m.origin = boost::asio::ip::make_address("2001:db8::1");
  m.payload = "v=0\r\n";
  auto p = encode_sap(m);
  CHECK(at(p, 0) == 0x30);  // V=1 (001), A=1, R=T=E=C=0
  CHECK(at(p, 1) == 0);     // no authentication
  CHECK(at(p, 2) == 0xbe);
  CHECK(at(p, 3) == 0xef);
  CHECK(at(p, 4) == 0x20);  // 2001:db8::1
  CHECK(at(p, 5) == 0x01);
  CHECK(at(p, 19) == 0x01);
  std::string rest(reinterpret_cast<const char*>(p.data() + 20), p.size() - 20);
  CHECK(rest == std::string("application/sdp\0v=0\r\n", 21));
}

TEST_CASE("an IPv4 deletion has A=0, T=1 and the 4-byte origin") {
  SapMessage m;
  m.deletion = true;
  m.msg_id_hash = 0x0102;
  m.origin = boost::asio::ip::make_address("192.0.2.1");
  m.payload = "o=- 1 2 IN IP4 192.0.2.1\r\n";
  auto p = encode_sap(m);
  CHECK(at(p, 0) == 0x24);  // V=1, T=1
  CHECK(at(p, 4) == 192);
  CHECK(at(p, 7) == 1);
  auto d = decode_sap(p);
  REQUIRE(d);
  CHECK(d.value().deletion);
  CHECK(d.value().origin.to_string() == "192.0.2.1");
  CHECK(d.value().payload == m.payload);
}

TEST_CASE("encode and decode round-trip") {
  SapMessage m;
  m.msg_id_hash = 77;
  m.origin = boost::asio::ip::make_address("2001:db8:d0be:f00d::1");
  m.payload = "v=0\r\no=- 1 1 IN IP6 2001:db8:d0be:f00d::1\r\ns=x\r\n";
  auto d = decode_sap(encode_sap(m));
  REQUIRE(d);
  CHECK(d.value().msg_id_hash == 77);
  CHECK(d.value().origin == m.origin);
  CHECK(d.value().payload_type == "application/sdp");
  CHECK(d.value().payload == m.payload);
  CHECK_FALSE(d.value().deletion);
}

TEST_CASE("decoding skips authentication data and accepts a bare SDP") {
  // V=1, A=0, auth len 1 word, hash 0x1234, origin, 4 auth bytes, "v=0..."
  auto p = bytes({0x20, 1, 0x12, 0x34, 10, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 'v', '=', '0', '\r', '\n'});
  auto d = decode_sap(p);
  REQUIRE(d);
  CHECK(d.value().payload == "v=0\r\n");
  CHECK(d.value().payload_type.empty());
  CHECK(d.value().origin.to_string() == "10.0.0.1");
}

TEST_CASE("malformed SAP packets are refused") {
  CHECK_FALSE(decode_sap(bytes({0x20, 0, 0x12})));                                 // too short
  CHECK_FALSE(decode_sap(bytes({0x00, 0, 0x12, 0x34, 1, 2, 3, 4, 'v', '=', '0'})));  // version 0
  CHECK_FALSE(decode_sap(bytes({0x40, 0, 0x12, 0x34, 1, 2, 3, 4, 'v', '=', '0'})));  // version 2
  CHECK_FALSE(decode_sap(bytes({0x20, 0, 0, 0, 1, 2, 3, 4, 'v', '=', '0'})));        // zero hash
  CHECK_FALSE(decode_sap(bytes({0x30, 0, 0x12, 0x34, 1, 2, 3, 4})));                  // IPv6 origin cut short
  CHECK_FALSE(decode_sap(bytes({0x20, 5, 0x12, 0x34, 1, 2, 3, 4, 'v'})));             // auth data past the end
  CHECK_FALSE(decode_sap(bytes({0x20, 0, 0x12, 0x34, 1, 2, 3, 4, 'a', 'p', 'p'})));   // type without NUL
}

TEST_CASE("the message id hash is non-zero and changes with the SDP") {
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto h = sap_msg_id_hash("v=0\r\ni=song " + std::to_string(i) + "\r\n", 42, 0);
    CHECK(h != 0);
    seen.insert(h);
  }
  CHECK(seen.size() > 190);  // 16 bits: a handful of collisions at most
  auto a = sap_msg_id_hash("same", 1, 0);
  CHECK(sap_msg_id_hash("same", 1, a) != a);  // never the previous one
  CHECK(sap_msg_id_hash("same", 2, 0) != sap_msg_id_hash("same", 3, 0));
}

TEST_CASE("the well-known SAP group matches the group's scope") {
  using boost::asio::ip::make_address;
  CHECK(sap_well_known_group(make_address("ff3e:40:2001:db8:d0be:f00d:8000:0")).to_string() == "ff0e::2:7ffe");
  CHECK(sap_well_known_group(make_address("ff35::1234")).to_string() == "ff05::2:7ffe");
  CHECK(sap_well_known_group(make_address("239.255.0.1")).to_string() == "239.255.255.255");
  CHECK(sap_well_known_group(make_address("239.193.1.1")).to_string() == "239.195.255.255");
  CHECK(sap_well_known_group(make_address("224.2.1.1")).to_string() == "224.2.127.254");
}

TEST_CASE("the RFC 2974 interval has a floor and grows with traffic") {
  CHECK(sap_base_interval(1, 500, 300s) == 300s);
  // 1000 ads of 500 bytes share 4000 bit/s: 8*1000*500/4000 = 1000 s.
  CHECK(sap_base_interval(1000, 500, 300s) == 1000s);
  CHECK(sap_base_interval(1, 500, 0ms) == 1000ms);
  std::mt19937_64 rng(1);
  std::chrono::milliseconds low = 1h, high = 0ms;
  for (int i = 0; i < 10000; ++i) {
    auto j = sap_jittered(300s, rng());
    low = std::min(low, j);
    high = std::max(high, j);
  }
  CHECK(low >= 200s);
  CHECK(low < 201s);  // the whole range is used
  CHECK(high <= 400s);
  CHECK(high > 399s);
  CHECK(sap_jittered(300s, 0) == 200s);
  CHECK(sap_jittered(300s, 200000) == 400s);
}
