#!/usr/bin/env python3
"""Interfaces that come late, go away and come back, and a renumbered
prefix. Routes through a missing interface are pending, not an error; they
appear when it does (its VIF included) and again after it returns; a group
block derived from an interface's /64 follows a renumbering: its routes,
templates and resolved entries move to the new groups, the old ones stop."""

import json
import sys
import time

from lab import Lab, log, wait_until
from routing_lab import Counter, Topology, check_config, mroute_lines, send, start_daemon

N = 10
OLD_GROUP = "ff3e:40:2001:db8:1:0:8000:1"
NEW_GROUP = "ff3e:40:2001:db8:77:0:8000:1"

CONFIG = """
[routing]
[[routing.route]]
from = "up0"
source = "10.1.0.2"
group = "239.1.1.1"
to = ["down1", "late0"]

[[routing.route]]
from = "late0"
source = "10.9.0.2"
group = "239.7.7.7"
to = ["down1"]

[[routing.group_block]]
name = "streams"
interface = "up0"              # the headend's side: groups from its /64

[[routing.route]]
from = "up0"
block = "streams"
to = ["down2"]
"""


def vif_names(router) -> set:
    lines = router.run("cat", "/proc/net/ip_mr_vif").splitlines()[1:]
    return {l.split()[1] for l in lines}


def pending(d) -> list[str]:
    return [p["reason"] for p in d.cli("routes")["pending"]]


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("rt-if") as lab:
        t = Topology(lab)
        d = start_daemon(lab, t.router, CONFIG)
        try:
            run(lab, t, d)
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
    return 0


def make_late(lab, t):
    rcv3 = lab.netns(f"rcv3x{int(time.monotonic() * 1000) % 100000}")
    lab.veth(t.router, "late0", rcv3, "c0")
    return rcv3


def run(lab, t, d) -> None:
    # 1. late0 does not exist: one route waits, the other leaves it out.
    assert "input interface late0 is missing" in pending(d), pending(d)
    v4 = mroute_lines(t.router, "-4")
    assert v4 == ["(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1 State: resolved"], v4
    assert "late0" not in vif_names(t.router)
    # The route installed without late0 says so, in `joincast routes` (JSON
    # and text), in the log at start and in `joincastd --check`.
    missing = "output interface late0 is missing; routed without it until it appears"
    listed = [p for p in d.cli("routes")["pending"] if p["reason"] == missing]
    assert len(listed) == 1 and listed[0]["installed"] is True, d.cli("routes")["pending"]
    assert listed[0]["what"] == "route from up0 source 10.1.0.2 group 239.1.1.1 to down1 late0", listed
    assert missing in d.cli("routes", json_out=False).stdout
    assert "WARN" in next(l for l in d.log().splitlines() if missing in l).upper()
    p = check_config(lab, t.router, CONFIG)
    assert p.returncode == 0 and f"warning: routing: {listed[0]['what']}" in p.stderr and missing in p.stderr, \
        (p.returncode, p.stderr)

    # 2. It appears: both routes complete, with a VIF for it.
    rcv3 = make_late(lab, t)
    wait_until(lambda: "(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1 late0 State: resolved" in mroute_lines(t.router),
               10, "late0 added to the route's outputs")
    wait_until(lambda: "(10.9.0.2,239.7.7.7) Iif: late0 Oifs: down1 State: resolved" in mroute_lines(t.router), 10,
               "the route from late0")
    assert "late0" in vif_names(t.router)
    assert pending(d) == [], pending(d)
    c3 = Counter(rcv3, "c0")
    send(t.src, "s0", "239.1.1.1", N)
    wait_until(lambda: c3.packets("239.1.1.1") == N, 5, f"{N} packets at the late interface")
    log("late interface: routes appeared, traffic reaches it")

    # 3. It goes (its namespace and veth with it).
    c3.stop()
    lab.delete_netns(rcv3)
    wait_until(lambda: mroute_lines(t.router) == ["(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1 State: resolved"], 10,
               "late0 gone from the routes")
    assert "late0" not in vif_names(t.router), vif_names(t.router)
    assert "input interface late0 is missing" in pending(d)
    c1 = Counter(t.rcv1, "a0")
    send(t.src, "s0", "239.1.1.1", N)
    wait_until(lambda: c1.packets("239.1.1.1") == N, 5, "traffic still reaching rcv1")
    c1.stop()
    log("removed interface: routes pending again, the rest unaffected")

    # 4. It returns.
    rcv3 = make_late(lab, t)
    wait_until(lambda: "(10.9.0.2,239.7.7.7) Iif: late0 Oifs: down1 State: resolved" in mroute_lines(t.router), 10,
               "the route from late0 after it returned")
    c3 = Counter(rcv3, "c0")
    send(t.src, "s0", "239.1.1.1", N)
    wait_until(lambda: c3.packets("239.1.1.1") == N, 5, "traffic at the returned interface")
    c3.stop()
    log("returned interface: routes back")

    # 5. Renumbering up0 moves the derived block.
    local = lambda: [" ".join(l.split()) for l in
                     t.router.run("ip", "-6", "route", "show", "table", "local", "proto", "200").splitlines()]
    assert local() == ["multicast ff3e:40:2001:db8:1:0:8000:0/97 dev up0 metric 256 pref medium"], local()
    c2 = Counter(t.rcv2, "b0")
    send(t.src, "s0", OLD_GROUP, N)
    wait_until(lambda: c2.packets(OLD_GROUP) == N, 5, "traffic to the old prefix's group")
    assert any(OLD_GROUP in l for l in mroute_lines(t.router, "-6"))
    t.router.run("ip", "addr", "del", "2001:db8:1::1/64", "dev", "up0")
    t.router.run("ip", "addr", "add", "2001:db8:77::1/64", "dev", "up0", "nodad")
    wait_until(lambda: local() == ["multicast ff3e:40:2001:db8:77:0:8000:0/97 dev up0 metric 256 pref medium"], 10,
               "the group route to follow the new prefix")
    wait_until(lambda: not any(OLD_GROUP in l for l in mroute_lines(t.router, "-6")), 10,
               "the old group's resolved entry to go")
    block = [b for b in d.cli("routes")["group_blocks"] if b["name"] == "streams"][0]
    assert block["prefix"] == "2001:db8:77::/64", block
    send(t.src, "s0", OLD_GROUP, N)
    send(t.src, "s0", NEW_GROUP, N)
    wait_until(lambda: c2.packets(NEW_GROUP) == N, 5, "traffic to the new prefix's group")
    got = c2.stop()
    assert got[OLD_GROUP]["udp"] == N, f"the old group was forwarded after renumbering: {got[OLD_GROUP]['udp']}"
    log("renumbered: routes and templates moved to ff3e:40:2001:db8:77::/64, the old groups stopped")


if __name__ == "__main__":
    sys.exit(main())
