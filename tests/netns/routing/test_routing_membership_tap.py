#!/usr/bin/env python3
"""The routing module's membership tap (RouteController::
subscribe_membership), which the membership module uses where BPF cannot
load: IGMP and MLD packets read from the multicast routing socket, told
apart from kernel upcalls. Real hosts join and leave (the kernel sends the
reports), in every protocol version; the tap must deliver each report with
the right interface, destination, type, TTL 1 and Router Alert, nothing
from interfaces it was not asked for, and no multicast data. Dropping the
subscription releases its VIFs and report-group joins."""

import json
import os
import select
import subprocess
import sys
import time

from lab import BUILD_DIR, Lab, log, wait_until

PROBE = BUILD_DIR / "tests" / "mroute_probe"


class Probe:
    def __init__(self, lab, ns, family, interfaces):
        self.proc = ns.spawn(str(PROBE), str(lab.tmp / f"probe-{family}.sock"), family, *interfaces,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()
        self.pending = b""
        self.lines = []
        first = self._read(10)
        if not first or not first.get("ready"):
            raise AssertionError(f"mroute_probe failed: {first} {self.proc.stderr.read()}")

    def _read(self, timeout):
        # select() sees the pipe, not what a buffered reader already holds,
        # so lines are split here from raw reads.
        while b"\n" not in self.pending:
            r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
            if not r:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def wait_for(self, pred, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        for p in self.lines:
            if pred(p):
                return p
        while time.monotonic() < deadline:
            p = self._read(deadline - time.monotonic())
            if p is None:
                continue
            self.lines.append(p)
            if pred(p):
                return p
        raise AssertionError(f"no {what} from the tap; got {self.lines}")

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            p = self._read(end - time.monotonic())
            if p:
                self.lines.append(p)

    def drop(self):
        self.proc.stdin.write("drop\n")
        self.proc.stdin.flush()
        self.wait_for(lambda p: p.get("dropped"), "confirmation of the drop")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def igmp_groups(router, ifname) -> set:
    groups, dev = set(), None
    for line in router.run("cat", "/proc/net/igmp").splitlines()[1:]:
        if not line.startswith("\t"):
            dev = line.split()[1]
        elif dev == ifname:
            groups.add(line.split()[0])
    return groups


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("rt-tap") as lab:
        router = lab.netns("router")
        host = lab.netns("host")
        other = lab.netns("other")
        lab.veth(router, "lan0", host, "c0")
        lab.veth(router, "lan1", other, "d0")
        lab.addr(router, "lan0", "10.5.0.1/24")
        lab.addr(host, "c0", "10.5.0.2/24")
        lab.addr(router, "lan1", "10.6.0.1/24")
        lab.addr(other, "d0", "10.6.0.2/24")

        # IPv4.
        p = Probe(lab, router, "ipv4", ["lan0"])
        vifs = router.run("cat", "/proc/net/ip_mr_vif")
        assert "lan0" in vifs and "lan1" not in vifs, vifs
        assert "160000E0" in igmp_groups(router, "lan0"), "224.0.0.22 not joined on lan0"
        m = lab.join(host, "239.1.2.3", "c0")
        r = p.wait_for(lambda x: x.get("type") == 0x22, "IGMPv3 report")
        log(f"IGMPv3 join: {r}")
        assert r["ifname"] == "lan0" and r["destination"] == "224.0.0.22" and r["source"] == "10.5.0.2", r
        assert r["hop_limit"] == 1 and r["router_alert"], r
        m.leave()
        lab.join(other, "239.1.2.4", "d0")  # not a subscribed interface
        # Multicast data on the tapped interface: an upcall, not membership.
        host.run(sys.executable, "-c",
                 "import socket,struct;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                 "s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,5);"
                 "s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('10.5.0.2'));"
                 "[s.sendto(b'data',('239.9.9.9',5000)) for _ in range(3)]")
        # IGMPv2: the report goes to the group itself and reaches the socket
        # only through multicast forwarding, which is why lan0 has a VIF.
        host.sysctl("net.ipv4.conf.c0.force_igmp_version", 2)
        m2 = lab.join(host, "239.1.2.5", "c0")
        r = p.wait_for(lambda x: x.get("type") == 0x16, "IGMPv2 report")
        assert r["destination"] == "239.1.2.5" and r["router_alert"] and r["hop_limit"] == 1, r
        m2.leave()
        r = p.wait_for(lambda x: x.get("type") == 0x17, "IGMPv2 leave")
        assert r["destination"] == "224.0.0.2", r
        p.drain(0.5)
        assert all(x.get("ifname") != "lan1" for x in p.lines if "type" in x), p.lines
        assert all(x.get("destination") != "239.9.9.9" for x in p.lines if "type" in x), p.lines
        stop = router.run("ip", "mroute", "show")
        assert "(10.5.0.2,239.9.9.9) Iif: lan0 State: resolved" in " ".join(stop.split()), stop
        log(f"IPv4 tap: {len([x for x in p.lines if 'type' in x])} IGMP packets, only from lan0, no data")
        p.drop()
        wait_until(lambda: "lan0" not in router.run("cat", "/proc/net/ip_mr_vif"), 5, "the tap's VIF released")
        p.close()
        assert "160000E0" not in igmp_groups(router, "lan0"), "224.0.0.22 still joined after the drop"

        # IPv6.
        p6 = Probe(lab, router, "ipv6", ["lan0"])
        m = lab.join(host, "ff3e::1:2", "c0")
        r = p6.wait_for(lambda x: x.get("type") == 143, "MLDv2 report")
        log(f"MLDv2 join: {r}")
        assert r["ifname"] == "lan0" and r["destination"] == "ff02::16", r
        assert r["hop_limit"] == 1 and r["router_alert"] and r["source"].startswith("fe80::"), r
        m.leave()
        host.sysctl("net.ipv6.conf.c0.force_mld_version", 1)
        m = lab.join(host, "ff3e::1:3", "c0")
        r = p6.wait_for(lambda x: x.get("type") == 131, "MLDv1 report")
        assert r["destination"] == "ff3e::1:3" and r["router_alert"], r
        m.leave()
        r = p6.wait_for(lambda x: x.get("type") == 132, "MLDv1 done")
        assert r["destination"] == "ff02::2", r
        lab.join(other, "ff3e::1:4", "d0")
        p6.drain(0.5)
        assert all(x.get("ifname") != "lan1" for x in p6.lines if "type" in x), p6.lines
        p6.close()
        log("IPv6 tap: MLDv2 and MLDv1 reports and dones, only from lan0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
