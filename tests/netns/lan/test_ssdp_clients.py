#!/usr/bin/env python3
"""The answers to a search cross back by routing: a Sonos-like searcher on
ext0 and miniupnpc's `upnpc -l` (a second, independent SSDP client) find
minidlna on int0 through a joincastd router whose only SSDP setting is one
[[ssdp.zone]]; the router forwards IPv4 between the bridges (in its own
namespace) and nothing else is configured.

  * without the zone, neither a broadcast M-SEARCH (255.255.255.255:1900)
    nor a multicast one (239.255.255.250:1900, TTL 1) from the searcher's
    own address is answered, and upnpc finds no device: the search never
    reaches int0 (the answer's way back, ordinary unicast routing, is the
    same with or without the zone, so the search is what the zone adds);
  * with it (SIGHUP), the searcher's socket gets minidlna's `HTTP/1.1 200 OK`
    from 10.61.1.10:1900 with the LOCATION and USN of minidlna's own
    description (fetched over HTTP from ext0's side), TTL 63: routed one hop,
    not relayed;
  * `upnpc -l` lists minidlna's description URL and fetches it;
  * a stateful firewall on the router (forward policy drop, established and
    related accepted) stops the answers although minidlna still gets the
    search (the relay copies it before netfilter) and answers it: the search
    went to a group, so no conntrack entry matches the unicast answer. The
    rule docs/ssdp.md gives (UDP from source port 1900, int0 to ext0) lets
    them through again."""

import sys

from lab import Daemon, Lab, log, require_tools, wait_until
from ssdp_lab import minidlna_log, search, sonos_lab, start_minidlna

DAEMON = """[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
bpf_pin_root = "{pins}/joincast"
"""

ZONE = """
[[ssdp.zone]]
name = "sonos"
interfaces = ["int0", "ext0"]
relay = ["ext0 -> int0 search other", "int0 -> ext0 announcements"]
"""

SEARCHES = (("255.255.255.255", "urn:schemas-upnp-org:device:MediaServer:1"),
            ("239.255.255.250", "ssdp:all"))

FIREWALL = """table inet ss11b_fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
  }
}
"""
# What docs/ssdp.md says the firewall must allow for the answers.
ANSWERS_RULE = ["add", "rule", "inet", "ss11b_fw", "forward",
                "iifname", "int0", "oifname", "ext0", "udp", "sport", "1900", "accept"]


def upnpc(ns) -> str:
    """What `upnpc -l` prints: it exits 1 when what it found is no IGD."""
    return ns.run("upnpc", "-m", "eth0", "-l", check=False, timeout=60)


def main() -> int:
    if not require_tools("minidlnad", "upnpc", "nft"):
        return 1
    with Lab("ss11b-clients") as lab:
        router, dev, ctl = sonos_lab(lab, "10.61")
        start_minidlna(lab, dev)
        # minidlna's own description, fetched from the searchers' network
        # through the router: what its answers must name.
        desc = ctl.run("python3", "-c", "import urllib.request, sys; "
                       "sys.stdout.write(urllib.request.urlopen('http://10.61.1.10:8200/rootDesc.xml', timeout=10)"
                       ".read().decode())")
        udn = desc.split("<UDN>")[1].split("</UDN>")[0]
        assert udn.startswith("uuid:"), desc
        location = "http://10.61.1.10:8200/rootDesc.xml"

        d = Daemon(lab, router, DAEMON.format(pins=lab.bpffs())).start()
        try:
            for dst, st in SEARCHES:
                got = search(ctl, "10.61.2.10", dst, st)
                assert got == [], f"an answer to a search to {dst} without [[ssdp.zone]]: {got}"
            out = upnpc(ctl)
            assert location not in out and "List of UPNP devices found" not in out, out
            log("without [[ssdp.zone]]: no answer to broadcast or multicast M-SEARCH, upnpc finds nothing")

            d.config_path.write_text(d.config_path.read_text() + ZONE)
            d.proc.send_signal(1)
            wait_until(lambda: d.log().count("ssdp: ext0 joined zone") and d.log().count("ssdp: int0 joined zone"),
                       10, "the zone's interfaces to be attached")

            for dst, st in SEARCHES:
                got = search(ctl, "10.61.2.10", dst, st)
                assert got, f"no answer to an M-SEARCH to {dst} through joincast\n{d.cli('ssdp')}\n{minidlna_log(lab)}"
                for answer in got:
                    assert answer["start"] == "HTTP/1.1 200 OK", answer
                    assert answer["src"] == "10.61.1.10" and answer["sport"] == 1900, answer
                    assert answer["ttl"] == 63, f"not routed one hop: {answer}"
                    assert answer["headers"]["LOCATION"] == location, answer
                    assert answer["headers"]["USN"].split("::")[0] == udn, (answer, udn)
                sts = {a["headers"]["ST"] for a in got}
                if st == "ssdp:all":
                    assert {"upnp:rootdevice", udn, "urn:schemas-upnp-org:device:MediaServer:1"} <= sts, sts
                else:
                    assert sts == {st}, sts
                log(f"M-SEARCH to {dst}: {len(got)} answers from 10.61.1.10:1900, TTL 63, {udn}")

            out = upnpc(ctl)
            assert "List of UPNP devices found on the network" in out and f"desc: {location}" in out, out
            # upnpc fetched the description (it looks for an IGD in it).
            assert "UPnP device found. Is it an IGD ? : http://10.61.1.10:8200/" in out, out
            log(f"upnpc -l lists minidlna: desc: {location}")

            # A stateful firewall: the searches may go int-wards, the
            # answers are not "established" for conntrack.
            router.run("nft", "-f", "-", input=FIREWALL)
            sent_before = minidlna_log(lab).count("Sending M-SEARCH response to 10.61.2.10")
            got = search(ctl, "10.61.2.10", "255.255.255.255", "upnp:rootdevice")
            assert got == [], f"answers crossed a forward chain without the answers' rule: {got}"
            wait_until(lambda: minidlna_log(lab).count("Sending M-SEARCH response to 10.61.2.10") > sent_before, 5,
                       "minidlna to answer the search the firewall then drops")
            log("forward policy drop + established,related: minidlna answers, the answer is dropped")
            router.run("nft", *ANSWERS_RULE)
            got = search(ctl, "10.61.2.10", "255.255.255.255", "upnp:rootdevice")
            assert [a["headers"]["ST"] for a in got] == ["upnp:rootdevice"], got
            assert got[0]["headers"]["LOCATION"] == location, got
            log("with 'iifname int0 oifname ext0 udp sport 1900 accept' the answer arrives")

            zone = {i["name"]: i for i in d.cli("ssdp")["zones"][0]["interfaces"]}
            assert zone["ext0"]["in"]["rewritten"] >= 2 and zone["int0"]["out"]["relayed"] >= 4, zone
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
