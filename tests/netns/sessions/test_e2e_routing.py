#!/usr/bin/env python3
"""test_e2e_routing.py — joincast is also the router: streams are routed to
the interfaces that have listeners, and the routes go when they leave.

    l1 ─p1─┐
           br0 (router: streams leave by br0; [routing] present)
    l2 ─p2─┘
    l3 ──────── down1 (a second downstream interface, its own subnet)

A listener on down1 starts a session that leaves by br0: the session
manager routes it from br0 to down1 (the kernel's (S,G) entry, resolved
from the stream's multicast loopback copy, shows in `ip mroute show`), so
l3 receives RTP. A listener on br0 as well changes nothing for down1; when
l3 leaves, the route is withdrawn and l3's wire goes quiet while l1 still
receives; l3 back: routed again. After the last leave, no route is left.
IPv6 and IPv4.
"""

import sys

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, listeners, log, rtp_growing, rtp_silent,
                     sessions, wait_state, wait_until)

G4 = "239.255.0.0"


def routes_for(ns, group: str) -> list[str]:
    family = "-6" if ":" in group else "-4"
    out = ns.run("ip", family, "mroute", "show")
    return [" ".join(line.split()) for line in out.splitlines() if f",{group})" in line]


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("e2e-routing") as lab:
        h = Headend(lab)
        r = h.router
        l1 = h.listeners["l1"]
        l3 = lab.netns("l3")
        lab.veth(r, "down1", l3, "eth0")
        lab.addr(r, "down1", "2001:db8:2::1/64")
        lab.addr(r, "down1", "10.0.2.1/24")
        Headend.host(l3, "eth0", 13, "2001:db8:2", "10.0.2")
        r.sysctl("net.ipv4.conf.all.rp_filter", 0)
        r.sysctl("net.ipv4.conf.default.rp_filter", 0)
        c1, c3 = WireCounter(l1), WireCounter(l3)
        d = h.daemon(config(h.pins, ["br0", "down1"], grace="1s", extra="[routing]\n")).start()

        for group, source in ((TONE_MP3, "2001:db8:1::1"), (G4, "10.0.0.1")):
            log(f"{group}: l3 joins on down1")
            m3 = lab.join(l3, group, "eth0")
            s = wait_state(d, group, "running")
            assert s["listener_interfaces"] == ["down1"], s
            rtp_growing(c3, group, what=f"{group} routed to l3")
            s = wait_until(lambda: sessions(d)[group] if sessions(d)[group].get("routed_to") else None, 5,
                           "routed_to in joincast sessions")
            assert s["routed_to"] == ["down1"], s
            entries = routes_for(r, group)
            assert entries == [f"({source},{group}) Iif: br0 Oifs: down1 State: resolved"], entries
            assert list(c3.group(group)["ssrcs"]) == [s["media"]["ssrc"]], c3.group(group)["ssrcs"]
            log(f"{group}: {entries[0]}")

            log(f"{group}: l1 joins on br0 too: nothing changes for down1")
            m1 = lab.join(l1, group, "eth0")
            wait_until(lambda: listeners(d, group) == 2, 5, "two listeners")
            s = sessions(d)[group]
            assert s["routed_to"] == ["down1"] and s["listener_interfaces"] == ["br0", "down1"], s
            assert routes_for(r, group) == entries, routes_for(r, group)

            log(f"{group}: l3 leaves: the route goes, l1 still receives")
            m3.leave()
            wait_until(lambda: not sessions(d)[group].get("routed_to"), 5, "routed_to to empty")
            wait_until(lambda: routes_for(r, group) == [], 5, f"the (S,G) entry of {group} to go")
            rtp_silent(c3, group)
            rtp_growing(c1, group)
            assert sessions(d)[group]["state"] == "running"

            log(f"{group}: l3 back: routed again")
            m3 = lab.join(l3, group, "eth0")
            rtp_growing(c3, group, what=f"{group} routed to l3 again")
            assert routes_for(r, group) == entries, routes_for(r, group)

            log(f"{group}: everyone leaves: the session stops, no route left")
            m1.leave()
            m3.leave()
            wait_state(d, group, None, timeout=6)
            wait_until(lambda: routes_for(r, group) == [], 5, f"the (S,G) entry of {group} to go")
            rtp_silent(c3, group, seconds=0.5)
            rtp_silent(c1, group, seconds=0.5)
            runtime = d.cli("routes")["runtime_routes"]
            assert not any(group in x for x in runtime), runtime

        assert d.stop() == 0, d.log()
        assert r.run("ip", "-6", "mroute", "show").strip() == "" and r.run("ip", "-4", "mroute", "show").strip() == ""
    log("routing test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
