#!/usr/bin/env python3
"""Bridges: multicast snooping and querier settings over netlink (what
people do today with `echo 0 > /sys/.../multicast_snooping`) and static MDB
entries. Checked in the kernel (`ip -d link`, `bridge mdb`) and on the
wire: with an MDB entry the bridge delivers the group to that port only.
A reload that drops the settings gives the bridge back what it had, and
drops the entries."""

import json
import sys
import time

from lab import Lab, log, wait_until
from routing_lab import Counter, reload, send, start_daemon

CONFIG = """
[routing]
[[routing.bridge]]
name = "br0"
snooping = false

[[routing.bridge]]
name = "br1"
querier = true
igmp_version = 3
mld_version = 2
query_interval = "60s"

[[routing.mdb]]
bridge = "br1"
port = "pb"
group = "239.1.1.1"

[[routing.mdb]]
bridge = "br1"
port = "pb"
group = "ff3e::1"
"""


def info(router, bridge) -> dict:
    link = json.loads(router.run("ip", "-d", "-j", "link", "show", bridge))[0]
    return link["linkinfo"]["info_data"]


def mdb(router) -> set:
    out = set()
    for b in json.loads(router.run("bridge", "-j", "mdb", "show")):
        for e in b.get("mdb", []):
            out.add((e["dev"], e["port"], e["grp"], e["state"]))
    return out


def main() -> int:
    with Lab("rt-br") as lab:
        router = lab.netns("router")
        hosts = {}
        for port in ("pa", "pb", "pc"):
            hosts[port] = lab.netns(f"h{port}")
            lab.veth(router, port, hosts[port], "eth0")
        lab.veth(router, "px", lab.netns("hx"), "eth0")
        lab.bridge(router, "br0", ["px"])
        # A bridge forwards by its MDB only once a querier exists: its own
        # counts one query response interval after being enabled (10 s by
        # default; 1 s here to keep the test short).
        lab.bridge(router, "br1", ["pa", "pb", "pc"], mcast_query_response_interval=100)
        lab.addr(hosts["pa"], "eth0", "10.7.0.2/24")
        before0, before1 = info(router, "br0"), info(router, "br1")
        assert before0["mcast_snooping"] == 1 and before1["mcast_querier"] == 0

        d = start_daemon(lab, router, CONFIG)
        try:
            a0, a1 = info(router, "br0"), info(router, "br1")
            assert a0["mcast_snooping"] == 0, a0
            assert a1["mcast_querier"] == 1 and a1["mcast_igmp_version"] == 3 and a1["mcast_mld_version"] == 2, a1
            assert a1["mcast_query_intvl"] == 6000, a1
            entries = mdb(router)
            log(f"bridge mdb: {sorted(entries)}")
            assert ("br1", "pb", "239.1.1.1", "permanent") in entries and ("br1", "pb", "ff3e::1", "permanent") in entries

            # On the wire: the group goes to pb only.
            cb, cc = Counter(hosts["pb"], "eth0"), Counter(hosts["pc"], "eth0")
            time.sleep(1.5)
            send(hosts["pa"], "eth0", "239.1.1.1", 10, ttl=1)
            wait_until(lambda: cb.packets("239.1.1.1") == 10, 5, "the group at the MDB port")
            assert cc.packets("239.1.1.1") == 0, "the bridge flooded a group it has an MDB entry for"
            cb.stop(), cc.stop()

            # Dropped from the configuration: put back, removed.
            reload(d, "[routing]\n")
            assert info(router, "br0")["mcast_snooping"] == 1
            r1 = info(router, "br1")
            assert (r1["mcast_querier"], r1["mcast_igmp_version"], r1["mcast_mld_version"]) == (
                before1["mcast_querier"], before1["mcast_igmp_version"], before1["mcast_mld_version"]), r1
            assert not any(e[3] == "permanent" for e in mdb(router)), mdb(router)

            # Back in; a stop removes the entries and leaves the settings.
            reload(d, CONFIG)
            assert ("br1", "pb", "239.1.1.1", "permanent") in mdb(router)
            d.stop()
            assert not any(e[3] == "permanent" for e in mdb(router)), mdb(router)
            assert info(router, "br0")["mcast_snooping"] == 0
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        log("snooping/querier settings and MDB entries applied, enforced on the wire, restored on reload")
    return 0


if __name__ == "__main__":
    sys.exit(main())
