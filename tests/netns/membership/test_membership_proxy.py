"""Proxying (RFC 4605): a router between listeners and the headend runs
joincastd with [proxy] upstream; the headend's joincastd sees one listener,
the proxy router, for every group that has listeners behind it, and sees it
leave when the last of them leaves."""

import sys

from lab import Daemon, Lab, log, wait_until
from membership_lab import GROUP4, GROUP6

CONFIG = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = [{interfaces}]
bpf_pin_root = "{pins}"
[membership.timers]
query_interval = "2s"
query_response_interval = "1s"
last_listener_query_interval = "500ms"
{extra}
"""


def count(d: Daemon, group: str) -> tuple[int, list[str]]:
    for g in d.cli("groups")["groups"]:
        if g["group"] == group:
            return g["listeners"], [m["host"] for m in g["members"]]
    return 0, []


def main() -> int:
    with Lab("mproxy") as lab:
        headend, proxy, c1, c2 = (lab.netns(n) for n in ("headend", "proxy", "c1", "c2"))
        lab.veth(headend, "down0", proxy, "up0")
        lab.veth(proxy, "p1", c1, "eth0")
        lab.veth(proxy, "p2", c2, "eth0")
        lab.bridge(proxy, "br0", ["p1", "p2"])
        lab.addr(headend, "down0", "10.9.0.1/24")
        lab.addr(proxy, "up0", "10.9.0.2/24")
        lab.addr(proxy, "br0", "10.0.0.1/24")
        lab.addr(c1, "eth0", "10.0.0.11/24")
        lab.addr(c2, "eth0", "10.0.0.12/24")
        fs = lab.bpffs()
        top = Daemon(lab, headend, CONFIG.format(interfaces='"down0"', pins=fs / "headend", extra=""), "headend")
        mid = Daemon(lab, proxy, CONFIG.format(interfaces='"br0"', pins=fs / "proxy",
                                              extra='[proxy]\nupstream = "up0"\n'), "proxy")
        top.start()
        mid.start()
        proxy_ll = proxy.link_local("up0")

        for group, proxy_addr in ((GROUP6, proxy_ll), (GROUP4, "10.9.0.2")):
            log(f"{group}: two listeners behind the proxy")
            a = lab.join(c1, group, "eth0")
            b = lab.join(c2, group, "eth0")
            wait_until(lambda: count(mid, group)[0] == 2, 10, "the proxy to count both listeners")
            wait_until(lambda: count(top, group) == (1, [proxy_addr]), 10,
                       "the headend to see the proxy as the one listener")
            st = mid.cli("status")["proxy"]
            assert st["upstream"] == "up0" and {"group": group, "joined": True} in st["groups"], st

            log(f"{group}: one leaves: upstream membership stays")
            a.leave()
            wait_until(lambda: count(mid, group)[0] == 1, 10, "the proxy to count one")
            assert count(top, group)[0] == 1

            log(f"{group}: the last leaves: the proxy leaves upstream")
            b.leave()
            wait_until(lambda: count(top, group)[0] == 0, 10, "the headend to see the group go")
        assert "proxy: left" in mid.log(), mid.log()
    return 0


if __name__ == "__main__":
    sys.exit(main())
