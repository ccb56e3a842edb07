// dns_message_test.cpp — the mDNS message codec: avahi's own packets
// (captured from avahi-daemon 0.8 in a namespace, the fuzz seeds) decode to
// what tshark showed, re-encode byte for byte, survive having records
// removed; malformed messages are errors naming what was wrong.
#include "daemon/lan/mdns/dns_message.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

using namespace joincast;
using namespace joincast::daemon::lan::mdns;

namespace {

std::vector<std::uint8_t> seed(const char* name) {
  std::ifstream in(std::string(JOINCAST_SOURCE_DIR) + "/tests/fuzz/corpus/dns_message/" + name, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Name name(const char* text) { return Name::parse(text).value(); }

std::string error_of(const std::vector<std::uint8_t>& bytes) {
  auto m = parse_message(bytes);
  REQUIRE_FALSE(m);
  CHECK(m.error() == std::errc::bad_message);
  return m.error().message();
}

// A header with the given counts, then `body`.
std::vector<std::uint8_t> message(std::uint16_t qd, std::uint16_t an, std::vector<std::uint8_t> body) {
  const std::uint8_t header[12] = {0, 0, 0x84, 0, 0, static_cast<std::uint8_t>(qd), 0, static_cast<std::uint8_t>(an), 0, 0, 0, 0};
  body.insert(body.begin(), std::begin(header), std::end(header));
  return body;
}

}  // namespace

TEST_CASE("dns_message: avahi's announcement decodes as tshark shows it and re-encodes byte for byte") {
  auto bytes = seed("avahi-announce-v4.bin");
  auto m = parse_message(bytes);
  REQUIRE(m);
  CHECK(m.value().is_response());
  CHECK(m.value().flags == 0x8400);  // response, authoritative
  CHECK(m.value().questions.empty());
  REQUIRE(m.value().answers.size() == 10);
  const Record& txt = m.value().answers[0];
  CHECK(txt.name.to_string() == "Shell._ssh._tcp.local");
  CHECK(txt.type == rr::txt);
  CHECK(txt.cache_flush);
  CHECK(txt.ttl == 4500);
  CHECK(std::get<TxtData>(txt.data).strings == std::vector<std::string>{""});
  const Record& ptr = m.value().answers[1];
  CHECK(ptr.name.to_string() == "_ipp._tcp.local");
  CHECK_FALSE(ptr.cache_flush);  // shared record
  CHECK(std::get<NameData>(ptr.data).target.to_string() == "Printer._ipp._tcp.local");
  const Record& srv = m.value().answers[2];
  CHECK(srv.type == rr::srv);
  CHECK(std::get<SrvData>(srv.data).port == 631);
  CHECK(std::get<SrvData>(srv.data).target.to_string() == "printer.local");
  CHECK(srv.ttl == 120);
  CHECK(std::get<AddressData>(m.value().answers[3].data).address.to_string() == "fd00:9::2");
  CHECK(std::get<AddressData>(m.value().answers[4].data).address.to_string() == "10.9.0.2");
  CHECK(std::get<TxtData>(m.value().answers[5].data).strings ==
        std::vector<std::string>{"txtvers=1", "rp=printers/p"});
  CHECK(m.value().answers[6].name.to_string() == "_services._dns-sd._udp.local");

  // avahi compresses every suffix it can, and so does the writer.
  auto again = write_message(m.value());
  REQUIRE(again);
  CHECK(again.value() == bytes);
}

TEST_CASE("dns_message: every captured avahi packet round-trips") {
  for (const char* f : {"avahi-probe-v4.bin", "avahi-reverse-response.bin", "avahi-service-probe.bin",
                        "avahi-announce-v4.bin", "avahi-announce-v6.bin", "avahi-browse-known-answer.bin"}) {
    CAPTURE(f);
    auto bytes = seed(f);
    auto m = parse_message(bytes);
    REQUIRE_MESSAGE(m, m.error().message());
    auto again = write_message(m.value());
    REQUIRE(again);
    auto m2 = parse_message(again.value());
    REQUIRE(m2);
    CHECK(m2.value() == m.value());
    CHECK(again.value().size() <= bytes.size());
  }
}

TEST_CASE("dns_message: a probe has ANY questions with the authority section's proposed records") {
  auto m = parse_message(seed("avahi-service-probe.bin"));
  REQUIRE(m);
  CHECK_FALSE(m.value().is_response());
  REQUIRE(m.value().questions.size() == 2);
  CHECK(m.value().questions[0].type == rr::any);
  CHECK(m.value().questions[0].name.to_string() == "Shell._ssh._tcp.local");
  CHECK_FALSE(m.value().questions[0].unicast_response);
  CHECK(m.value().authorities.size() == 4);
}

TEST_CASE("dns_message: a browse query carries its known answer") {
  auto m = parse_message(seed("avahi-browse-known-answer.bin"));
  REQUIRE(m);
  REQUIRE(m.value().questions.size() == 1);
  CHECK(m.value().questions[0].name.to_string() == "_ipp._tcp.local");
  CHECK(m.value().questions[0].type == rr::ptr);
  REQUIRE(m.value().answers.size() == 1);
  CHECK(std::get<NameData>(m.value().answers[0].data).target.to_string() == "Printer._ipp._tcp.local");
}

TEST_CASE("dns_message: records removed, the rest re-compressed against what is left") {
  auto bytes = seed("avahi-announce-v4.bin");
  Message m = parse_message(bytes).value();
  // Drop the first record: "Shell._ssh._tcp.local", whose "_tcp.local" every
  // later name pointed into, goes with it.
  m.answers.erase(m.answers.begin());
  auto out = write_message(m);
  REQUIRE(out);
  auto back = parse_message(out.value());
  REQUIRE(back);
  CHECK(back.value() == m);
  CHECK(back.value().answers[0].name.to_string() == "_ipp._tcp.local");
  CHECK(out.value().size() < bytes.size());
  // "_tcp.local" is now written out once, in the first name, and pointed to after.
  const std::uint8_t tcp_local[] = {4, '_', 't', 'c', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0};
  auto first = std::search(out.value().begin(), out.value().end(), std::begin(tcp_local), std::end(tcp_local));
  REQUIRE(first != out.value().end());
  CHECK(first - out.value().begin() == 12 + 5);  // after the header and "\4_ipp"
  CHECK(std::search(first + 1, out.value().end(), std::begin(tcp_local), std::end(tcp_local)) == out.value().end());
}

TEST_CASE("dns_message: the QU bit and the cache-flush bit are kept apart from the class") {
  Message m;
  m.questions.push_back({name("_ipp._tcp.local"), rr::ptr, 1, true});
  Record r{name("printer.local"), rr::a, 1, true, 120, AddressData{*IpAddress::parse("192.0.2.7")}};
  m.additionals.push_back(r);
  auto out = write_message(m).value();
  // question class 0x8001, record class 0x8001
  CHECK(out[12 + 17 + 2] == 0x80);
  CHECK(out[12 + 17 + 3] == 0x01);
  auto back = parse_message(out).value();
  CHECK(back.questions[0].unicast_response);
  CHECK(back.questions[0].klass == 1);
  CHECK(back.additionals[0].cache_flush);
  CHECK(back.additionals[0].klass == 1);
  CHECK(back.additionals[0].ttl == 120);
}

TEST_CASE("dns_message: unknown types and OPT keep their rdata as bytes") {
  Message m;
  m.answers.push_back({name("x.local"), 99, 1, false, 10, OpaqueData{{1, 2, 3}}});
  m.additionals.push_back({Name{}, rr::opt, 1440, false, 0, OpaqueData{{0, 4, 0, 2, 0xab, 0xcd}}});
  auto back = parse_message(write_message(m).value());
  REQUIRE(back);
  CHECK(back.value() == m);
  CHECK(type_name(99) == "TYPE99");
}

TEST_CASE("dns_message: names compare case-insensitively and print with escapes") {
  CHECK(name("Printer._IPP._tcp.local") == name("printer._ipp._TCP.LOCAL"));
  CHECK(name("Printer._ipp._tcp.local").ends_with(name("_ipp._tcp.local")));
  CHECK_FALSE(name("_ipp._tcp.local").ends_with(name("Printer._ipp._tcp.local")));
  Name dotted{{"Kitchen.Speaker", "_raop", "_tcp", "local"}};
  CHECK(dotted.to_string() == "Kitchen\\.Speaker._raop._tcp.local");
  CHECK(Name::parse(dotted.to_string()).value() == dotted);
  CHECK_FALSE(Name::parse(std::string(64, 'a') + ".local"));
  CHECK_FALSE(Name::parse("a..local"));
}

TEST_CASE("dns_message: malformed messages are errors that say what was wrong") {
  CHECK(error_of({0, 0, 0}) == "header: truncated (3 bytes, a DNS header has 12)");

  // A name whose pointer points at itself: a loop.
  CHECK(error_of(message(1, 0, {0xc0, 12, 0, 1, 0, 1})) ==
        "question 1 of 1 name at offset 12: compression loop (pointer to offset 12, not to an earlier name)");
  // Two names pointing at each other: the forward one is refused.
  CHECK(error_of(message(1, 0, {1, 'a', 0xc0, 18, 0, 1, 0, 1})).find("compression loop") != std::string::npos);
  // A label, then a pointer back to it: backwards, and still a loop.
  CHECK(error_of(message(1, 0, {1, 'a', 0xc0, 12, 0, 1, 0, 1})) ==
        "question 1 of 1 name at offset 14: compression loop (pointer to offset 12, not to an earlier name)");
  CHECK(error_of(message(1, 0, {0xc1, 0, 0, 1, 0, 1})) ==
        "question 1 of 1 name at offset 12: compression pointer to offset 256 is out of range (18-byte message)");
  CHECK(error_of(message(1, 0, {0x40, 'a'})) ==
        "question 1 of 1 name at offset 12: label length 0x40 is over 63 (and not a compression pointer)");
  CHECK(error_of(message(1, 0, {5, 'a', 'b'})) ==
        "question 1 of 1 name at offset 12: truncated label (5 bytes announced, 2 left)");

  // 5 labels of 63 bytes: 321 bytes, over 255.
  std::vector<std::uint8_t> long_name;
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(63);
    long_name.insert(long_name.end(), 63, 'x');
  }
  long_name.insert(long_name.end(), {0, 0, 1, 0, 1});
  CHECK(error_of(message(1, 0, long_name)) == "question 1 of 1 name at offset 12: name longer than 255 bytes");

  // Counts that lie: two questions announced, one there.
  CHECK(error_of(message(2, 0, {0, 0, 1, 0, 1})) ==
        "question 2 of 2 name at offset 17: truncated (the name runs past the end of the 17-byte message)");

  // An A record of 4 bytes announcing 8; then an A record of 3 bytes.
  CHECK(error_of(message(0, 1, {0, 0, 1, 0, 1, 0, 0, 0, 10, 0, 8, 1, 2, 3, 4})) ==
        "answer 1 of 1 data at offset 23: truncated rdata (8 bytes announced, 4 left)");
  CHECK(error_of(message(0, 1, {0, 0, 1, 0, 1, 0, 0, 0, 10, 0, 3, 1, 2, 3})) ==
        "answer 1 of 1 data at offset 23: 3 bytes, an A has 4");
  // A PTR whose name runs past its rdlength.
  CHECK(error_of(message(0, 1, {0, 0, 12, 0, 1, 0, 0, 0, 10, 0, 2, 3, 'a', 'b', 'c', 0})).find("truncated rdata") !=
        std::string::npos);
  // A TXT string longer than what is left of the rdata.
  CHECK(error_of(message(0, 1, {0, 0, 16, 0, 1, 0, 0, 0, 10, 0, 2, 5, 'a'})) ==
        "answer 1 of 1 data at offset 23: truncated rdata (a TXT string of 5 bytes, 1 left)");
  // Bytes after the last record.
  CHECK(error_of(message(1, 0, {0, 0, 1, 0, 1, 0xff})).find("1 bytes after the last record") != std::string::npos);
}

TEST_CASE("dns_message: the writer refuses what no message can carry") {
  Message m;
  m.questions.push_back({Name{{std::string(64, 'a')}}, rr::a, 1, false});
  CHECK_FALSE(write_message(m));
  Message t;
  t.answers.push_back({name("x.local"), rr::txt, 1, false, 1, TxtData{{std::string(256, 't')}}});
  CHECK_FALSE(write_message(t));
}
