// mdns_policy_test.cpp — the [mdns] section and the zone policy: the
// default (more trusted discovers less trusted, never the reverse), rules
// per ordered pair, and what of a query or a response crosses.
#include "daemon/app/config.hpp"
#include "daemon/lan/mdns/mdns_plan.hpp"
#include "daemon/lan/mdns/mdns_policy.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

using namespace joincast;
using namespace joincast::daemon;
using namespace joincast::daemon::lan::mdns;

namespace {

Name name(const char* text) { return Name::parse(text).value(); }

MdnsSection section(std::string_view toml) {
  auto r = app::parse_config(toml, "t.toml");
  for (const auto& e : r.errors) MESSAGE(e.to_string());
  REQUIRE(r.ok());
  return r.config.mdns;
}

std::vector<std::string> errors(std::string_view toml) {
  std::vector<std::string> out;
  for (const auto& e : app::parse_config(toml, "t.toml").errors) out.push_back(e.to_string());
  return out;
}

const char* zones = R"(
[[mdns.zone]]
name = "trusted"
interfaces = ["lan0"]
trust = 2
[[mdns.zone]]
name = "iot"
interfaces = ["iot0", "iot1"]
trust = 1
[[mdns.zone]]
name = "guest"
interfaces = ["guest0"]
trust = 1
)";

std::string with(const char* extra) { return std::string(zones) + extra; }

Message query(std::initializer_list<std::pair<const char*, std::uint16_t>> questions) {
  Message m;
  for (auto [n, t] : questions) m.questions.push_back({name(n), t, 1, false});
  return m;
}

Record ptr(const char* owner, const char* target) { return {name(owner), rr::ptr, 1, false, 4500, NameData{name(target)}}; }
Record srv(const char* owner, std::uint16_t port, const char* host) {
  return {name(owner), rr::srv, 1, true, 120, SrvData{0, 0, port, name(host)}};
}
Record txt(const char* owner) { return {name(owner), rr::txt, 1, true, 4500, TxtData{{"txtvers=1"}}}; }
Record addr(const char* owner, const char* a) {
  auto ip = *IpAddress::parse(a);
  return {name(owner), ip.is_v4() ? rr::a : rr::aaaa, 1, true, 120, AddressData{ip}};
}

// What the printer in iot answers to "PTR _ipp._tcp.local" (as avahi does:
// the PTR, then SRV, TXT and addresses in the additional section), with an
// SSH service and a link-local address in it for good measure.
Message printer_response() {
  Message m;
  m.flags = 0x8400;
  m.answers = {ptr("_ipp._tcp.local", "Printer._ipp._tcp.local"), ptr("_ssh._tcp.local", "Shell._ssh._tcp.local")};
  m.additionals = {srv("Printer._ipp._tcp.local", 631, "printer.local"), txt("Printer._ipp._tcp.local"),
                   srv("Shell._ssh._tcp.local", 22, "printer.local"), addr("printer.local", "192.168.20.5"),
                   addr("printer.local", "fe80::5"), addr("printer.local", "fd00:20::5"),
                   addr("printer.local", "169.254.1.5"), addr("nas.local", "192.168.20.6")};
  return m;
}

std::vector<std::string> names_of(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(type_name(r.type) + " " + r.name.to_string());
  return out;
}

}  // namespace

TEST_CASE("mdns config: zones and rules with every key") {
  auto m = section(with(R"(
[mdns]
stateful = false
query_window = "10s"
[[mdns.rule]]
from = "guest"
to = "iot"
services = ["_ipp._tcp", "_IPP._tcp"]
hosts = ["printer", "scanner.local"]
)"));
  REQUIRE(m.zones.size() == 3);
  CHECK(m.zones[1].interfaces == std::vector<std::string>{"iot0", "iot1"});
  CHECK(m.zones[0].trust == 2);
  CHECK(m.zones[0].services.all);
  CHECK_FALSE(m.stateful);
  CHECK(m.query_window == std::chrono::seconds(10));
  REQUIRE(m.rules.size() == 1);
  CHECK(m.rules[0].services.types.size() == 1);  // the same type twice
  CHECK(m.rules[0].hosts == std::vector<Name>{name("printer.local"), name("scanner.local")});
  CHECK(section(zones).stateful);
  CHECK(section(zones).query_window == std::chrono::seconds(30));
}

TEST_CASE("mdns config: mistakes name the key") {
  auto e = errors(with(R"(
[[mdns.zone]]
name = "again"
interfaces = ["lan0"]
[[mdns.rule]]
from = "trusted"
to = "nowhere"
services = ["ipp", "_ipp._sctp", "all"]
[[mdns.rule]]
from = "iot"
to = "iot"
hosts = ["_x"]
)"));
  auto has = [&](const std::string& s) {
    return std::any_of(e.begin(), e.end(), [&](const std::string& x) { return x.find(s) != std::string::npos; });
  };
  CHECK(has("mdns.zone[3].interfaces: \"lan0\" is already in zone \"trusted\""));
  CHECK(has("mdns.rule[0].to: \"nowhere\" is not a zone"));
  CHECK(has("mdns.rule[0].services: \"ipp\" is not a service type"));
  CHECK(has("mdns.rule[0].services: \"_ipp._sctp\" is not a service type"));
  CHECK(has("mdns.rule[1].to: is the same zone as from"));
  CHECK(has("mdns.rule[1].hosts: \"_x\" is not a host name"));
  CHECK(has("mdns.zone[0].name: is required") == false);
  CHECK(errors("[[mdns.zone]]\ninterfaces = []\n").size() == 2);  // no name, no interfaces
  CHECK(errors("[mdns]\ntypo = 1\n").size() == 1);
}

TEST_CASE("mdns policy: by default a more trusted zone discovers a less trusted one, never the reverse") {
  Policy p(section(zones));
  CHECK(p.access(0, 1).services.all);   // trusted → iot
  CHECK(p.access(0, 2).services.all);   // trusted → guest
  CHECK_FALSE(p.access(1, 0).any());    // iot → trusted
  CHECK_FALSE(p.access(1, 2).any());    // iot → guest: as trusted as each other
  CHECK_FALSE(p.access(2, 1).any());
}

TEST_CASE("mdns policy: a zone's services narrow what others discover there by default") {
  Policy p(section(std::string(zones) + R"(
[[mdns.zone]]
name = "tv"
interfaces = ["tv0"]
services = ["_googlecast._tcp"]
)"));
  CHECK(p.access(0, 3).services.contains(name("_googlecast._tcp")));
  CHECK_FALSE(p.access(0, 3).services.contains(name("_ssh._tcp")));
}

TEST_CASE("mdns policy: a rule replaces the default of its pair, in either direction") {
  Policy p(section(with(R"(
[[mdns.rule]]
from = "trusted"
to = "iot"
services = ["_ipp._tcp"]
[[mdns.rule]]
from = "guest"
to = "iot"
services = ["_ipp._tcp"]
[[mdns.rule]]
from = "trusted"
to = "guest"
services = []
)")));
  CHECK(p.access(0, 1).services.contains(name("_ipp._tcp")));
  CHECK_FALSE(p.access(0, 1).services.contains(name("_ssh._tcp")));
  CHECK(p.access(2, 1).services.contains(name("_ipp._tcp")));  // guest discovers the printer
  CHECK_FALSE(p.access(1, 2).any());                           // not the reverse
  CHECK_FALSE(p.access(0, 2).any());                           // closed
}

TEST_CASE("mdns filter: queries cross only for what the asking zone may discover there") {
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\nhosts = [\"printer\"]\n")));
  // Browse for printers: forwarded as it is.
  auto f = filter_query(p, query({{"_ipp._tcp.local", rr::ptr}}), 0, 1);
  CHECK(f.forward);
  REQUIRE(f.message.questions.size() == 1);
  // SSH and a reverse lookup are left out of a mixed query; the printer's
  // instance, a subtype, the host named in the rule and the enumeration stay.
  f = filter_query(p, query({{"_ssh._tcp.local", rr::ptr}, {"Printer._ipp._tcp.local", rr::srv},
                             {"_universal._sub._ipp._tcp.local", rr::ptr}, {"5.20.168.192.in-addr.arpa", rr::ptr},
                             {"printer.local", rr::a}, {"nas.local", rr::a}, {"_services._dns-sd._udp.local", rr::ptr}}),
                    0, 1);
  CHECK(f.forward);
  std::vector<std::string> asked;
  for (const auto& q : f.message.questions) asked.push_back(q.name.to_string());
  CHECK(asked == std::vector<std::string>{"Printer._ipp._tcp.local", "_universal._sub._ipp._tcp.local", "printer.local",
                                          "_services._dns-sd._udp.local"});
  CHECK(f.removed == 3);
  // Nothing the rule allows: not forwarded at all.
  f = filter_query(p, query({{"_ssh._tcp.local", rr::ptr}}), 0, 1);
  CHECK_FALSE(f.forward);
  CHECK(f.reason == "no question zone trusted may ask in zone iot");
  // iot asks nothing of trusted.
  f = filter_query(p, query({{"_ipp._tcp.local", rr::ptr}}), 1, 0);
  CHECK_FALSE(f.forward);
  CHECK(f.reason == "zone iot may discover nothing in zone trusted");
}

TEST_CASE("mdns filter: the QU bit crosses, the known answers stay behind") {
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\n")));
  Message q = query({{"_ipp._tcp.local", rr::ptr}});
  q.questions[0].unicast_response = true;
  q.answers = {ptr("_ipp._tcp.local", "Old._ipp._tcp.local"), ptr("_ssh._tcp.local", "Shell._ssh._tcp.local")};
  auto f = filter_query(p, q, 0, 1);
  REQUIRE(f.forward);
  CHECK(f.message.questions[0].unicast_response);
  // Even a known answer of the allowed type: the asker's cache may hold
  // its own zone's printers (test_mdns_zones caught the phone's own SSH
  // service crossing this way).
  CHECK(f.message.answers.empty());
  CHECK(f.removed == 2);
}

TEST_CASE("mdns filter: probes stay on their link") {
  Policy p(section(zones));
  Message probe = query({{"Printer._ipp._tcp.local", rr::any}});
  probe.authorities = {srv("Printer._ipp._tcp.local", 631, "printer.local")};
  auto f = filter_query(p, probe, 0, 1);
  CHECK_FALSE(f.forward);
}

TEST_CASE("mdns filter: a response keeps only the allowed services' records and routable addresses") {
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\n")));
  auto f = filter_response(p, printer_response(), 1, 0);
  REQUIRE(f.forward);
  CHECK(names_of(f.message.answers) == std::vector<std::string>{"PTR _ipp._tcp.local"});
  // The SRV of the printer makes printer.local's addresses visible, minus
  // the link-local ones; nas.local is nobody's allowed SRV target.
  CHECK(names_of(f.message.additionals) ==
        std::vector<std::string>{"SRV Printer._ipp._tcp.local", "TXT Printer._ipp._tcp.local", "A printer.local",
                                 "AAAA printer.local"});
  CHECK(std::get<AddressData>(f.message.additionals[3].data).address.to_string() == "fd00:20::5");
  CHECK(f.removed == 5);
  // Cache-flush bits and TTLs are the responder's.
  CHECK_FALSE(f.message.answers[0].cache_flush);
  CHECK(f.message.answers[0].ttl == 4500);
  CHECK(f.message.additionals[0].cache_flush);
  CHECK(f.message.additionals[0].ttl == 120);
  CHECK(f.message.flags == 0x8400);
  // It re-encodes.
  auto bytes = write_message(f.message);
  REQUIRE(bytes);
  CHECK(parse_message(bytes.value()).value() == f.message);
}

TEST_CASE("mdns filter: a response nothing of which the zone may see does not cross") {
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\n")));
  Message ssh;
  ssh.flags = 0x8400;
  ssh.answers = {ptr("_ssh._tcp.local", "Shell._ssh._tcp.local")};
  ssh.additionals = {srv("Shell._ssh._tcp.local", 22, "printer.local"), addr("printer.local", "192.168.20.5")};
  auto f = filter_response(p, ssh, 1, 0);
  CHECK_FALSE(f.forward);
  CHECK(f.reason == "no answer zone trusted may see from zone iot");
  // The reverse direction: trusted's announcements never reach iot.
  CHECK_FALSE(filter_response(p, printer_response(), 0, 1).forward);
}

TEST_CASE("mdns filter: an address answer crosses for a host learned from an allowed SRV or named in the rule") {
  Policy p(section(with(
      "[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\nhosts = [\"scanner\"]\n")));
  Message a;
  a.flags = 0x8400;
  a.answers = {addr("printer.local", "192.168.20.5"), addr("scanner.local", "192.168.20.7"),
               addr("nas.local", "192.168.20.6")};
  auto f = filter_response(p, a, 1, 0);
  REQUIRE(f.forward);
  CHECK(names_of(f.message.answers) == std::vector<std::string>{"A scanner.local"});
  f = filter_response(p, a, 1, 0, {name("printer.local")});
  CHECK(names_of(f.message.answers) == std::vector<std::string>{"A printer.local", "A scanner.local"});
  CHECK(allowed_hosts(p, printer_response(), 1, 0) == std::vector<Name>{name("printer.local")});
}

TEST_CASE("mdns filter: the service enumeration lists only allowed types, reverse names never cross") {
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\n")));
  Message m;
  m.flags = 0x8400;
  m.answers = {ptr("_services._dns-sd._udp.local", "_ipp._tcp.local"),
               ptr("_services._dns-sd._udp.local", "_ssh._tcp.local"),
               ptr("5.20.168.192.in-addr.arpa", "printer.local")};
  auto f = filter_response(p, m, 1, 0);
  REQUIRE(f.forward);
  REQUIRE(f.message.answers.size() == 1);
  CHECK(std::get<NameData>(f.message.answers[0].data).target.to_string() == "_ipp._tcp.local");
}

TEST_CASE("mdns filter: avahi's real announcement, filtered to _ipp._tcp") {
  std::ifstream in(std::string(JOINCAST_SOURCE_DIR) + "/tests/fuzz/corpus/dns_message/avahi-announce-v4.bin",
                   std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  Message m = parse_message(bytes).value();
  Policy p(section(with("[[mdns.rule]]\nfrom = \"trusted\"\nto = \"iot\"\nservices = [\"_ipp._tcp\"]\n")));
  auto f = filter_response(p, m, 1, 0);
  REQUIRE(f.forward);
  CHECK(names_of(f.message.answers) ==
        std::vector<std::string>{"PTR _ipp._tcp.local", "SRV Printer._ipp._tcp.local", "AAAA printer.local",
                                 "A printer.local", "TXT Printer._ipp._tcp.local", "PTR _services._dns-sd._udp.local"});
}

TEST_CASE("mdns plan: zone interfaces with their addresses, missing ones wait") {
  core::InterfaceTable t;
  netlink::Link lan;
  lan.ifindex = 3;
  lan.name = "lan0";
  lan.flags = 0x1043;  // up, broadcast, running, multicast
  t.apply(lan);
  netlink::InterfaceAddress a;
  a.ifindex = 3;
  a.address = *IpAddress::parse("192.168.10.1");
  a.prefix_length = 24;
  t.apply(a);
  a.address = *IpAddress::parse("fd00:10::1");
  a.prefix_length = 64;
  t.apply(a);
  a.address = *IpAddress::parse("fe80::1");
  t.apply(a);
  netlink::Link iot = lan;
  iot.ifindex = 4;
  iot.name = "iot0";
  iot.flags = 0x1002;  // down
  t.apply(iot);
  auto plan = plan_mdns(section(zones), t);
  REQUIRE(plan.interfaces.size() == 1);
  CHECK(plan.interfaces[0].interface == "lan0");
  CHECK(plan.interfaces[0].v4.to_string() == "192.168.10.1");
  CHECK(plan.interfaces[0].v6.to_string() == "fe80::1");
  CHECK(plan.zone_of(3) == 0);
  CHECK(plan.zone_of(4) == -1);
  std::vector<std::string> pending;
  for (const auto& p : plan.pending) pending.push_back(p.reason);
  CHECK(pending == std::vector<std::string>{"iot0 is down", "interface iot1 does not exist (yet)",
                                            "interface guest0 does not exist (yet)"});
}
