#!/usr/bin/env python3
"""One /64 prefix choice for the whole daemon. The interface has two
prefixes and a temporary (privacy) address; the kernel lists the newest
first. The catalogue's station groups (address_plan.ipv6_prefix_interface)
and the routing module's group block derived from the same interface must
take the same /64 — a permanent address before a temporary one, then the
numerically lowest — so the block's routes cover the station groups."""

import ipaddress
import sys

from lab import Lab, log, wait_until
from routing_lab import start_daemon

CONFIG = """
[address_plan]
ipv6_prefix_interface = "int0"

[routing]
[[routing.group_block]]
name = "stations"
interface = "int0"           # groups derived from int0's /64
"""


def main() -> int:
    with Lab("rt-pfx") as lab:
        router = lab.netns("router")
        peer = lab.netns("peer")
        lab.veth(router, "int0", peer, "p0")
        router.sysctl("net.ipv6.conf.int0.use_tempaddr", 2)
        # Oldest first: the kernel lists them newest first, so "the first
        # global address" is 2001:db8:5's temporary one, then 2001:db8:9.
        for cidr in ("2001:db8:2::1/64", "2001:db8:9::1/64"):
            router.run("ip", "addr", "add", cidr, "dev", "int0", "nodad")
        router.run("ip", "addr", "add", "2001:db8:5::1/64", "dev", "int0", "nodad", "mngtmpaddr")
        wait_until(lambda: "temporary" in router.run("ip", "-6", "addr", "show", "dev", "int0"), 5,
                   "the kernel to make a temporary address")
        wait_until(lambda: "tentative" not in router.run("ip", "-6", "addr", "show", "dev", "int0"), 10,
                   "the temporary address to pass DAD")
        log(router.run("ip", "-6", "addr", "show", "dev", "int0"))
        d = start_daemon(lab, router, CONFIG)
        block = [b for b in d.cli("routes")["group_blocks"] if b["name"] == "stations"][0]
        log(f"group block prefix: {block['prefix']}, groups {block['groups']}")
        assert block["prefix"] == "2001:db8:2::/64", block
        station = d.cli("map", "0/5")
        log(f"station 0/5: {station['group']}")
        assert station["group"] == "ff3e:40:2001:db8:2:0:8000:5", station
        covered = [g for g in block["groups"] if ipaddress.ip_address(station["group"]) in ipaddress.ip_network(g)]
        assert covered, (station, block)
        log("station groups and the group block's routes use the same /64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
