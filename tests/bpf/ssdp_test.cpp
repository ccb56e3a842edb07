// ssdp_test.cpp — bpf/ssdp.bpf.c under BPF_PROG_TEST_RUN, with the copies
// it sends captured behind veth pairs (ssdp_lab.hpp): the broadcast rewrite
// byte for byte with its checksums, relay verdicts per policy direction and
// message kind, TTL 1 relayed and the TTL set on output, IPv6, the rate
// limit, loops and foreign relays, source filters, and the bad input that
// must pass unchanged and unrelayed.
#include "daemon/membership/loader/membership_program.hpp"  // monotonic_ns
#include "tests/bpf/ssdp_lab.hpp"

#include <doctest/doctest.h>
#include <linux/pkt_cls.h>

#include <string>

using namespace joincast::tests;

namespace {

constexpr std::uint8_t all_kinds = JC_SSDP_SEARCH | JC_SSDP_NOTIFY | JC_SSDP_OTHER;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

const std::string msearch =
    "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
    "ST: urn:schemas-upnp-org:device:ZonePlayer:1\r\n\r\n";
const std::string notify =
    "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    "LOCATION: http://192.0.2.10:1400/xml/device_description.xml\r\nNT: upnp:rootdevice\r\n"
    "NTS: ssdp:alive\r\nSERVER: Linux UPnP/1.0 Sonos/70.3\r\nUSN: uuid:RINCON_000E58000001::upnp:rootdevice\r\n\r\n";

// SSDP multicast from a host of port 0's subnet.
Bytes ssdp4(const std::string& payload, std::uint8_t ttl = 1, int port = 0, int host = 10) {
  return PacketBuilder()
      .ipv4(host_of(port, host), "239.255.255.250")
      .no_router_alert()
      .hop_limit(ttl)
      .udp(50000, 1900, text(payload))
      .build();
}

Bytes ssdp6(const std::string& payload, std::string_view group = "ff02::c", std::uint8_t hops = 1) {
  return PacketBuilder()
      .ipv6("fe80::10", group)
      .no_hop_by_hop()
      .hop_limit(hops)
      .udp(50000, 1900, text(payload))
      .build();
}

jc_ssdp_counters in(std::uint64_t ssdp, std::uint64_t relayed) {
  jc_ssdp_counters c{};
  c.ssdp = ssdp;
  c.relayed = relayed;
  return c;
}

// Port 0 relays everything to 1 and 2, as does each of them to the others.
struct Mesh : SsdpLab {
  Mesh() { full_mesh(); }
};

}  // namespace

TEST_CASE("ssdp: traffic that is not SSDP passes untouched and uncounted in a zone or out of one") {
  Mesh lab;
  const Bytes frames[] = {
      PacketBuilder().ipv4(host_of(0), "192.0.2.1").no_router_alert().tcp(40000, 1900).build(),
      PacketBuilder().arp_request(host_of(0), "192.0.2.1").build(),
      // Unicast to port 1900 (an M-SEARCH reply), to the host's own MAC.
      PacketBuilder().ipv4(host_of(0), "192.0.2.1").no_router_alert().eth_dst({2, 0, 0, 0, 0x0a, 0})
          .udp(1900, 50000, text("HTTP/1.1 200 OK\r\n\r\n")).build(),
      // Another port of the SSDP group, a DHCP broadcast, IGMP for the group.
      PacketBuilder().ipv4(host_of(0), "239.255.255.250").no_router_alert().udp(5000, 5000, text(msearch)).build(),
      PacketBuilder().ipv4("0.0.0.0", "255.255.255.255").no_router_alert().udp(68, 67, Bytes(300, 0)).build(),
      PacketBuilder().ipv4(host_of(0), "239.255.255.250").igmp_v2_report("239.255.255.250").build(),
      // Other IPv6 groups and ports.
      PacketBuilder().ipv6("fe80::10", "ff02::fb").no_hop_by_hop().udp(5353, 5353, text("mdns")).build(),
      PacketBuilder().ipv6("fe80::10", "ff02::c").no_hop_by_hop().udp(50000, 1901, text(msearch)).build(),
  };
  for (const auto& f : frames) lab.run_unchanged(f, 0);
  check_ssdp_counters(lab.counters(0), {});
  // An interface in no zone: not even SSDP is looked at.
  lab.program().unconfigure(lab.port(2).ifindex).value();
  lab.run_unchanged(ssdp4(msearch), 2);
  check_ssdp_counters(lab.counters(2), {});
  for (int i = 0; i < SsdpLab::ports; ++i) CHECK(lab.drain(i).empty());
}

TEST_CASE("ssdp: a broadcast M-SEARCH to 255.255.255.255:1900 becomes 239.255.255.250 with exact bytes and checksums") {
  Mesh lab;
  Bytes bcast =
      PacketBuilder().ipv4(host_of(0), "255.255.255.255").no_router_alert().udp(50000, 1900, text(msearch)).build();
  REQUIRE(bcast[0] == 0xff);
  // What a host would have sent to the group: same bytes but for the
  // destination address and MAC and the two checksums.
  Bytes want =
      PacketBuilder().ipv4(host_of(0), "239.255.255.250").no_router_alert().udp(50000, 1900, text(msearch)).build();
  auto r = lab.run(bcast, 0);
  CHECK(static_cast<int>(r.verdict) == TC_ACT_UNSPEC);
  CHECK(r.out == want);
  std::string why;
  CHECK_MESSAGE(checksums_valid(r.out, &why), why);
  // The rewritten packet is relayed like any SSDP multicast.
  for (int i : {1, 2}) {
    auto copy = lab.next_copy(i);
    REQUIRE(copy);
    CHECK(*copy == with_source_mac(want, lab.port(i).mac));
    CHECK(checksums_valid(*copy));
  }
  auto c = in(1, 1);
  c.rewritten = 1;
  check_ssdp_counters(lab.counters(0), c);
  CHECK(lab.counters(1, JC_SSDP_OUT).relayed == 1);
  CHECK(lab.counters(2, JC_SSDP_OUT).relayed == 1);
}

TEST_CASE("ssdp: a subnet broadcast to 6969 is rewritten and relayed and one without a UDP checksum stays without") {
  Mesh lab;
  for (bool csum : {true, false}) {
    INFO("UDP checksum ", csum);
    PacketBuilder b, w;
    b.ipv4(host_of(0), "192.0.2.63").no_router_alert().eth_dst({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    w.ipv4(host_of(0), "239.255.255.250").no_router_alert();
    if (!csum) {
      b.no_udp_checksum();
      w.no_udp_checksum();
    }
    Bytes bcast = b.udp(50001, 6969, text("sonos 6969 payload")).build();
    Bytes want = w.udp(50001, 6969, text("sonos 6969 payload")).build();
    auto r = lab.run(bcast, 0);
    CHECK(r.out == want);
    CHECK(checksums_valid(r.out));
    auto copy = lab.next_copy(1);
    REQUIRE(copy);
    CHECK(*copy == with_source_mac(want, lab.port(1).mac));
  }
  CHECK(lab.counters(0).rewritten == 2);
  CHECK(lab.counters(0).relayed == 2);
}

TEST_CASE("ssdp: broadcasts on other ports or to other subnets or with rewriting off pass unchanged") {
  Mesh lab;
  // 192.0.2.127 is port 1's broadcast, not port 0's.
  lab.run_unchanged(
      PacketBuilder().ipv4(host_of(0), "192.0.2.127").no_router_alert().udp(50000, 1900, text(msearch)).build(), 0);
  lab.run_unchanged(
      PacketBuilder().ipv4(host_of(0), "255.255.255.255").no_router_alert().udp(50000, 1901, text(msearch)).build(), 0);
  auto e = lab.iface(0);
  e.flags = JC_SSDP_F_IPV4;
  SsdpLab::add_peer(e, lab.port(1), all_kinds);
  lab.configure(0, e);
  lab.run_unchanged(
      PacketBuilder().ipv4(host_of(0), "255.255.255.255").no_router_alert().udp(50000, 1900, text(msearch)).build(), 0);
  check_ssdp_counters(lab.counters(0), {});
  CHECK(lab.drain(1).empty());
}

TEST_CASE("ssdp: SSDP multicast with TTL 1 is copied with the egress MAC and the packet goes on unchanged") {
  Mesh lab;
  Bytes f = ssdp4(notify, 1);
  lab.run_unchanged(f, 0);
  for (int i : {1, 2}) {
    auto copy = lab.next_copy(i);
    REQUIRE(copy);
    CHECK(*copy == with_source_mac(f, lab.port(i).mac));
  }
  check_ssdp_counters(lab.counters(0), in(1, 1));
  check_ssdp_counters(lab.counters(0, JC_SSDP_OUT), {});
}

TEST_CASE("ssdp: the pair's TTL is set on the copy per peer with a valid header checksum") {
  SsdpLab lab;
  auto e = lab.iface(0);
  SsdpLab::add_peer(e, lab.port(1), all_kinds, 4);
  SsdpLab::add_peer(e, lab.port(2), all_kinds);  // unchanged
  lab.configure(0, e);
  lab.configure(1, lab.iface(1));
  lab.configure(2, lab.iface(2));
  Bytes f = ssdp4(msearch, 1);
  lab.run_unchanged(f, 0);
  auto c1 = lab.next_copy(1);
  REQUIRE(c1);
  Bytes want = with_source_mac(ssdp4(msearch, 4), lab.port(1).mac);
  CHECK(*c1 == want);
  CHECK(checksums_valid(*c1));
  auto c2 = lab.next_copy(2);
  REQUIRE(c2);
  CHECK(*c2 == with_source_mac(f, lab.port(2).mac));
  // IPv6: the hop limit.
  Bytes f6 = ssdp6(msearch, "ff02::c", 1);
  lab.run_unchanged(f6, 0);
  auto c6 = lab.next_copy(1);
  REQUIRE(c6);
  CHECK(*c6 == relayed_copy(ssdp6(msearch, "ff02::c", 4), lab.port(1).mac));
}

TEST_CASE("ssdp: the policy is per direction and message kind") {
  SsdpLab lab;
  // ext (0) may search int (1); int's announcements reach ext.
  auto ext = lab.iface(0), internal = lab.iface(1);
  SsdpLab::add_peer(ext, lab.port(1), JC_SSDP_SEARCH);
  SsdpLab::add_peer(internal, lab.port(0), JC_SSDP_NOTIFY);
  lab.configure(0, ext);
  lab.configure(1, internal);

  lab.run_unchanged(ssdp4(msearch, 1, 0), 0);
  auto copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(ssdp4(msearch, 1, 0), lab.port(1).mac));
  lab.run_unchanged(ssdp4(notify, 1, 0), 0);      // ext's NOTIFY stays on ext
  lab.run_unchanged(ssdp4(msearch, 1, 1), 1);     // int's M-SEARCH stays on int
  lab.run_unchanged(ssdp4("garbage", 1, 0), 0);   // neither kind: other
  Bytes n1 = ssdp4(notify, 1, 1);
  lab.run_unchanged(n1, 1);
  copy = lab.next_copy(0);
  REQUIRE(copy);
  // The first copy behind each port is the allowed one: nothing was sent
  // for the refused ones before it.
  CHECK(*copy == with_source_mac(n1, lab.port(0).mac));
  CHECK(lab.drain(0).empty());
  CHECK(lab.drain(1).empty());
  auto c0 = in(3, 1);
  c0.policy = 2;
  check_ssdp_counters(lab.counters(0), c0);
  auto c1 = in(2, 1);
  c1.policy = 1;
  check_ssdp_counters(lab.counters(1), c1);
}

TEST_CASE("ssdp: IPv6 ff02::c and ff05::c are relayed but not where the interface has IPv6 off") {
  Mesh lab;
  for (auto g : {"ff02::c", "ff05::c"}) {
    Bytes f = ssdp6(msearch, g);
    lab.run_unchanged(f, 0);
    auto copy = lab.next_copy(1);
    REQUIRE(copy);
    // The flow label marks it as a joincast copy; the checksum does not
    // cover it.
    CHECK(*copy == relayed_copy(f, lab.port(1).mac));
    CHECK(checksums_valid(*copy));
  }
  lab.run_unchanged(ssdp6(msearch, "ff0e::c"), 0);  // global scope is routed, not relayed
  check_ssdp_counters(lab.counters(0), in(2, 2));
  auto e = lab.iface(0);
  e.flags = JC_SSDP_F_IPV4;
  SsdpLab::add_peer(e, lab.port(1), all_kinds);
  lab.configure(0, e);
  lab.run_unchanged(ssdp6(msearch), 0);
  check_ssdp_counters(lab.counters(0), in(2, 2));
}

TEST_CASE("ssdp: an on-demand interface gets copies only of the families a host there listens to") {
  Mesh lab;
  // Port 1 on demand, nobody listening: port 2 still gets its copy.
  auto e1 = lab.iface(1);
  SsdpLab::add_peer(e1, lab.port(0), all_kinds);
  SsdpLab::add_peer(e1, lab.port(2), all_kinds);
  e1.flags |= JC_SSDP_F_ON_DEMAND;
  lab.configure(1, e1);
  Bytes f4 = ssdp4(notify), f6 = ssdp6(notify);
  lab.run_unchanged(f4, 0);
  lab.run_unchanged(f6, 0);
  REQUIRE(lab.next_copy(2));
  REQUIRE(lab.next_copy(2));
  CHECK(lab.drain(1).empty());
  jc_ssdp_counters held{};
  held.no_listeners = 2;
  check_ssdp_counters(lab.counters(1, JC_SSDP_OUT), held);
  check_ssdp_counters(lab.counters(0), in(2, 2));

  // An IPv4 listener: IPv4 copies, still no IPv6 ones.
  lab.program().set_listening(lab.port(1).ifindex, JC_SSDP_LISTEN_V4).value();
  lab.run_unchanged(f4, 0);
  lab.run_unchanged(f6, 0);
  auto copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(f4, lab.port(1).mac));
  CHECK(lab.drain(1).empty());
  held.no_listeners = 3;
  held.relayed = 1;
  check_ssdp_counters(lab.counters(1, JC_SSDP_OUT), held);

  // An IPv6 listener only: the other way round.
  lab.program().set_listening(lab.port(1).ifindex, JC_SSDP_LISTEN_V6).value();
  lab.run_unchanged(f4, 0);
  lab.run_unchanged(f6, 0);
  copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == relayed_copy(f6, lab.port(1).mac));
  CHECK(lab.drain(1).empty());
  held.no_listeners = 4;
  held.relayed = 2;
  check_ssdp_counters(lab.counters(1, JC_SSDP_OUT), held);

  // Listeners are ignored on an interface that is not on demand.
  lab.program().set_listening(lab.port(2).ifindex, 0).value();
  lab.run_unchanged(f4, 0);
  CHECK(lab.next_copy(2));
  // set_listening on an interface without an entry is not an error.
  lab.program().unconfigure(lab.port(2).ifindex).value();
  CHECK(lab.program().set_listening(lab.port(2).ifindex, JC_SSDP_LISTEN_V4));
}

TEST_CASE("ssdp: a source over its rate is counted and not relayed while another source is not held back") {
  SsdpLab lab;
  auto e = lab.iface(0);
  SsdpLab::add_peer(e, lab.port(1), all_kinds);
  e.interval_ns = 3600ULL * 1'000'000'000ULL;  // one an hour: no refill during the test
  e.burst = 3;
  lab.configure(0, e);
  lab.configure(1, lab.iface(1));
  for (int n = 0; n < 5; ++n) lab.run_unchanged(ssdp4(msearch, 1, 0, 10), 0);
  lab.run_unchanged(ssdp4(msearch, 1, 0, 11), 0);
  auto c = in(6, 4);
  c.rate_limited = 2;
  check_ssdp_counters(lab.counters(0), c);
  CHECK(lab.counters(1, JC_SSDP_OUT).relayed == 4);
  int copies = 0;
  while (copies < 4 && lab.next_copy(1)) ++copies;
  CHECK(copies == 4);
  CHECK(lab.drain(1).empty());
}

TEST_CASE("ssdp: the buckets of silent sources are collected and the others kept") {
  SsdpLab lab;
  auto e = lab.iface(0);
  SsdpLab::add_peer(e, lab.port(1), all_kinds);
  e.interval_ns = 1'000'000'000ULL;  // 1/s: a bucket is due one second after its last packet
  e.burst = 10;
  lab.configure(0, e);
  lab.configure(1, lab.iface(1));
  for (int host = 10; host < 14; ++host) lab.run_unchanged(ssdp4(msearch, 1, 0, host), 0);
  CHECK(lab.program().bucket_count().value() == 4);
  // Nothing is due before now: all kept. (Not "a minute ago": a VM's
  // clock may not have run a minute yet, and the cutoff would wrap.)
  CHECK(lab.program().collect_buckets(joincast::daemon::membership::loader::monotonic_ns()).value() == 0);
  CHECK(lab.program().bucket_count().value() == 4);
  // All are due within the next second: collected as of a minute from now.
  CHECK(lab.program().collect_buckets(joincast::daemon::membership::loader::monotonic_ns() + 60'000'000'000ULL).value() == 4);
  CHECK(lab.program().bucket_count().value() == 0);
  // A collected source starts again with its full burst.
  lab.run_unchanged(ssdp4(msearch, 1, 0, 10), 0);
  CHECK(lab.counters(0).rate_limited == 0);
  CHECK(lab.counters(0).relayed == 5);
}

TEST_CASE("ssdp: our own copies and another relay's are counted and never relayed again") {
  Mesh lab;
  // Marked by us (a copy looping back into this host).
  lab.run_unchanged(ssdp4(msearch), 0, JC_SSDP_MARK);
  // From port 1's MAC, arriving on port 0: our copy came back over the wire.
  lab.run_unchanged(with_source_mac(ssdp4(msearch), lab.port(1).mac), 0);
  // A source outside port 0's subnet: another relay copied it here.
  lab.run_unchanged(ssdp4(msearch, 1, 1), 0);
  // IPv6 with the flow label of joincast's copies: another joincast's.
  lab.run_unchanged(relayed_copy(ssdp6(msearch), {0x02, 0, 0, 0, 0x0d, 0x01}), 0);
  auto c = in(4, 0);
  c.loop = 2;
  c.foreign_relay = 2;
  check_ssdp_counters(lab.counters(0), c);
  // The first copy captured is the next legitimate one.
  Bytes ok = ssdp4(notify);
  lab.run_unchanged(ok, 0);
  auto copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(ok, lab.port(1).mac));
}

TEST_CASE("ssdp: a source filter relays only the listed prefixes and MAC addresses") {
  SsdpLab lab;
  auto e = lab.iface(0);
  e.flags |= JC_SSDP_F_SOURCE_FILTER;
  SsdpLab::add_peer(e, lab.port(1), all_kinds);
  lab.configure(0, e);
  lab.configure(1, lab.iface(1));
  lab.program().allow_source(lab.port(0).ifindex, addr("192.0.2.8"), 96 + 30).value();  // .8 - .11
  lab.program().allow_mac(lab.port(0).ifindex, {0x02, 0, 0, 0, 0x0c, 0x01}).value();
  lab.run_unchanged(ssdp4(msearch, 1, 0, 10), 0);
  lab.run_unchanged(ssdp4(msearch, 1, 0, 20), 0);
  lab.run_unchanged(PacketBuilder()
                        .ipv4(host_of(0, 21), "239.255.255.250")
                        .no_router_alert()
                        .eth_src({0x02, 0, 0, 0, 0x0c, 0x01})
                        .udp(50000, 1900, text(msearch))
                        .build(),
                    0);
  auto c = in(3, 2);
  c.filtered = 1;
  check_ssdp_counters(lab.counters(0), c);
  // Without the filters the same source is relayed.
  lab.program().clear_filters(lab.port(0).ifindex).value();
  lab.program().allow_mac(lab.port(0).ifindex, {0x02, 0, 0, 0, 0x0c, 0x02}).value();
  lab.run_unchanged(ssdp4(msearch, 1, 0, 10), 0);
  CHECK(lab.counters(0).filtered == 2);
}

TEST_CASE("ssdp: bad input passes unchanged and unrelayed and is counted") {
  Mesh lab;
  auto v4 = [] { return PacketBuilder().ipv4(host_of(0), "239.255.255.250").no_router_alert(); };
  Bytes good = ssdp4(msearch);
  Bytes bad_ihl = good;
  bad_ihl[14] = 0x44;  // header length 16 bytes
  Bytes short_ulen = good;
  short_ulen[14 + 20 + 4] = 0;
  short_ulen[14 + 20 + 5] = 4;  // UDP length 4
  Bytes long_ulen = good;
  long_ulen[14 + 20 + 4] = 0x05;  // UDP length beyond the IP packet
  struct Case {
    const char* name;
    Bytes frame;
    __u64 jc_ssdp_counters::*counter;
  };
  const Case cases[] = {
      {"frame cut in the payload", v4().udp(50000, 1900, text(msearch)).truncate(14 + 20 + 8 + 10).build(),
       &jc_ssdp_counters::truncated},
      {"frame cut in the UDP header", v4().udp(50000, 1900, text(msearch)).truncate(14 + 20 + 4).build(),
       &jc_ssdp_counters::truncated},
      {"IP length beyond the frame", v4().udp(50000, 1900, text(msearch)).ip_length(1400).build(),
       &jc_ssdp_counters::truncated},
      {"IP length without room for UDP", v4().udp(50000, 1900, text(msearch)).ip_length(24).build(),
       &jc_ssdp_counters::malformed},
      {"IP header length 16", bad_ihl, &jc_ssdp_counters::malformed},
      {"UDP length 4", short_ulen, &jc_ssdp_counters::malformed},
      {"UDP length beyond the IP packet", long_ulen, &jc_ssdp_counters::truncated},
      {"first fragment", v4().ipv4_fragment(0x2000).udp(50000, 1900, text(msearch)).build(),
       &jc_ssdp_counters::fragment},
      {"later fragment", v4().ipv4_fragment(0x0010).udp(50000, 1900, text(msearch)).build(),
       &jc_ssdp_counters::fragment},
      {"oversized", v4().udp(50000, 1900, text("NOTIFY * HTTP/1.1\r\n" + std::string(1600, 'x'))).build(),
       &jc_ssdp_counters::oversized},
      {"IPv6 fragment", PacketBuilder().ipv6("fe80::10", "ff02::c").no_hop_by_hop().ipv6_extension(44, Bytes(6, 0))
                            .udp(50000, 1900, text(msearch)).build(),
       &jc_ssdp_counters::fragment},
      {"IPv6 frame cut", PacketBuilder().ipv6("fe80::10", "ff02::c").no_hop_by_hop().udp(50000, 1900, text(msearch))
                             .truncate(14 + 40 + 20).build(),
       &jc_ssdp_counters::truncated},
      {"IPv6 oversized", ssdp6("NOTIFY * HTTP/1.1\r\n" + std::string(1600, 'x')), &jc_ssdp_counters::oversized},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    auto before = lab.counters(0);
    lab.run_unchanged(k.frame, 0);
    auto after = lab.counters(0);
    CHECK(after.*k.counter == before.*k.counter + 1);
    CHECK(after.ssdp == before.ssdp);
    CHECK(after.relayed == before.relayed);
  }
  // (Frames shorter than an IP header are refused by BPF_PROG_TEST_RUN
  // itself; the fast path's bounds check keeps them out.)
  CHECK(lab.counters(0).ssdp == 0);
  CHECK(lab.counters(1, JC_SSDP_OUT).relayed == 0);
  // The first copy captured is the good packet sent after them all.
  lab.run_unchanged(good, 0);
  auto copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(good, lab.port(1).mac));
}

TEST_CASE("ssdp: a malformed SSDP payload is another kind of message relayed unchanged where the policy allows") {
  Mesh lab;
  Bytes junk = ssdp4(std::string("\x00\xff M-SEARCH\r\n\r\n\r\n", 16));
  lab.run_unchanged(junk, 0);
  auto copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(junk, lab.port(1).mac));
  Bytes empty = ssdp4("");
  lab.run_unchanged(empty, 0);
  copy = lab.next_copy(1);
  REQUIRE(copy);
  CHECK(*copy == with_source_mac(empty, lab.port(1).mac));
  check_ssdp_counters(lab.counters(0), in(2, 2));
}
