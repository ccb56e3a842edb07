// ssdp_message_test.cpp — the SSDP headers the devices table is made of.
#include "daemon/lan/ssdp/ssdp_message.hpp"

#include <doctest/doctest.h>

using namespace joincast::daemon::lan::ssdp;

TEST_CASE("ssdp message: a NOTIFY gives NTS, NT, USN, SERVER, LOCATION and max-age") {
  auto m = parse_ssdp(
      "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\ncache-control: no-cache, max-age=1800\r\n"
      "Location:http://10.50.1.10:8200/rootDesc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
      "SERVER: MiniDLNA/1.3.0\r\nUSN: uuid:4d69::upnp:rootdevice\r\n\r\nbody ignored: x");
  REQUIRE(m);
  CHECK(m->kind == SsdpMessage::Kind::notify);
  CHECK(m->nts == "ssdp:alive");
  CHECK(m->nt == "upnp:rootdevice");
  CHECK(m->usn == "uuid:4d69::upnp:rootdevice");
  CHECK(m->server == "MiniDLNA/1.3.0");
  CHECK(m->location == "http://10.50.1.10:8200/rootDesc.xml");
  CHECK(m->max_age == 1800);
}

TEST_CASE("ssdp message: answers and searches are recognised and other datagrams are not") {
  auto r = parse_ssdp("HTTP/1.1 200 OK\nST: urn:x\nUSN: uuid:1\n\n");
  REQUIRE(r);
  CHECK(r->kind == SsdpMessage::Kind::response);
  CHECK(r->nt == "urn:x");
  auto s = parse_ssdp("M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n");
  REQUIRE(s);
  CHECK(s->kind == SsdpMessage::Kind::search);
  CHECK_FALSE(parse_ssdp(""));
  CHECK_FALSE(parse_ssdp("GET / HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(parse_ssdp("NOTIFY * HTTP/1.1"));  // no end of line
  CHECK_FALSE(parse_ssdp("NOTIFY * HTTP/1.1\r\nno colon here\r\n\r\n"));
}

TEST_CASE("ssdp message: values are bounded and control characters replaced") {
  auto m = parse_ssdp("NOTIFY * HTTP/1.1\r\nSERVER: " + std::string(1000, 'x') + "\r\nUSN: a\x01" "b\r\n\r\n");
  REQUIRE(m);
  CHECK(m->server.size() == max_ssdp_value);
  CHECK(m->usn == "a?b");
}
