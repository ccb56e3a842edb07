#!/usr/bin/env python3
"""test_e2e_chain.py — listeners two routers away from the headend.

    l1 ─p1─┐
           br0 (mid: joincastd, [proxy] upstream = up0, [routing] up0 → br0)
    l2 ─p2─┘  up0 ── down0 (head: joincastd streaming, [sessions] interface = down0)

A listener behind the middle router joins. The middle router counts it,
joins the group upstream (RFC 4605 proxying: the headend sees the middle
router as the one listener), the headend starts the stream, the middle
router forwards it (its (S,G) entry resolved from the configured template
shows in `ip mroute show`), and the listener receives RTP and SAP from the
headend's SSRC; ffprobe on the other listener host plays it. When the last
listener behind the middle router leaves, the headend sees the proxy
leave, stops after its grace period and the SAP deletion reaches the
listener through the middle router. IPv6 (MLDv2) and IPv4 (IGMPv3).
"""

import sys

from e2e_lab import (TONE_MP3, Daemon, Headend, Lab, WireCounter, config, ffprobe, listeners, log, rtp_growing, rtp_silent,
                     sessions, wait_state, wait_until)

G4 = "239.255.0.0"

MID_ROUTING = """
[proxy]
upstream = "up0"

[routing]
dynamic_expiry = "30s"

[[routing.route]]
from = "up0"
group = "ff3e:40:2001:db8:d0be:f00d::/96"
to = ["br0"]

[[routing.route]]
from = "up0"
group = "239.255.0.0/16"
to = ["br0"]
"""


def members(d, group: str) -> list[str]:
    for g in d.cli("groups")["groups"]:
        if g["group"] == group:
            return [m["host"] for m in g["members"]]
    return []


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("e2e-chain") as lab:
        head, mid = lab.netns("head"), lab.netns("mid")
        l1, l2 = lab.netns("l1"), lab.netns("l2")
        lab.veth(head, "down0", mid, "up0")
        lab.veth(mid, "p1", l1, "eth0")
        lab.veth(mid, "p2", l2, "eth0")
        lab.bridge(mid, "br0", ["p1", "p2"], mcast_snooping=0)
        lab.addr(head, "down0", "2001:db8:9::1/64")
        lab.addr(head, "down0", "10.9.0.1/24")
        lab.addr(mid, "up0", "2001:db8:9::2/64")
        lab.addr(mid, "up0", "10.9.0.2/24")
        lab.addr(mid, "br0", "2001:db8:1::1/64")
        lab.addr(mid, "br0", "10.0.0.1/24")
        Headend.host(l1, "eth0", 11)
        Headend.host(l2, "eth0", 12)
        mid.sysctl("net.ipv4.conf.all.rp_filter", 0)
        mid.sysctl("net.ipv4.conf.default.rp_filter", 0)
        pins = lab.bpffs()
        top = Daemon(lab, head, config(pins / "head", ["down0"], interface="down0", grace="1s"), "headend")
        relay = Daemon(lab, mid, config(pins / "mid", ["br0"], sessions="", directories="", extra=MID_ROUTING), "mid")
        top.start()
        relay.start()
        c1 = WireCounter(l1)
        mid_ll = mid.link_local("up0")

        for group, proxy_addr, source in ((TONE_MP3, mid_ll, "2001:db8:9::1"), (G4, "10.9.0.2", "10.9.0.1")):
            family = "-6" if ":" in group else "-4"
            assert c1.rtp(group) == 0, f"RTP for {group} before any join"
            log(f"{group}: l1 joins behind the middle router")
            m1 = lab.join(l1, group, "eth0")
            wait_until(lambda: listeners(relay, group) == 1, 5, "the middle router to count l1")
            wait_until(lambda: members(top, group) == [proxy_addr], 5,
                       f"the headend to see the middle router ({proxy_addr}) as the listener")
            s = wait_state(top, group, "running")
            assert s["listener_interfaces"] == ["down0"] and s["media"]["source_address"] == source, s
            rtp_growing(c1, group, what=f"{group} at l1, two hops from the headend")
            got = c1.group(group)
            assert list(got["ssrcs"]) == [s["media"]["ssrc"]], (got["ssrcs"], s["media"]["ssrc"])
            assert any(not x["delete"] and x["origin"] == source for x in got["sap"]), got["sap"]
            routes = mid.run("ip", family, "mroute", "show")
            assert f"({source},{group})" in routes.replace(" ", "") and "Iif: up0" in routes and "br0" in routes, routes
            assert relay.cli("sessions")["sessions"] == [], "the middle router started a session itself"
            log(f"{group}: routed by the middle router: {' '.join(routes.split())}")

            found, took, _ = ffprobe(l2, group)
            log(f"{group}: ffprobe behind the middle router: {sorted(found)} in {took:.2f}s")
            assert found & {"mp3", "mp2"}, found
            assert members(top, group) == [proxy_addr], "the headend saw more than the proxy"

            log(f"{group}: the last listener behind the middle router leaves")
            m1.leave()
            wait_until(lambda: listeners(top, group) == 0, 5, "the headend to see the proxy leave")
            wait_state(top, group, None, timeout=6)
            wait_until(lambda: any(x["delete"] for x in c1.group(group)["sap"]), 3,
                       "the SAP deletion at l1 through the middle router")
            rtp_silent(c1, group)
            assert sessions(top) == {}, sessions(top)
        assert relay.stop() == 0, relay.log()
        assert top.stop() == 0, top.log()
    log("chain test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
