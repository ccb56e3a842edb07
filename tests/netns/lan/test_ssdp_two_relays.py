#!/usr/bin/env python3
"""Two joincast routers between the same two LANs, both with the same
[[ssdp.zone]]: a burst of N searches (IPv4, then IPv6 to ff02::c) from LAN
A reaches LAN B as exactly
one copy per router (2N), not a storm; each router's copy arriving at the
other router is recognised as another relay's (foreign_relay), counted,
shown by `joincast status` and not relayed back; nothing returns to LAN A; a source over its rate is held
back on the wire. Captured on the LANs with raw sockets."""

import json
import os
import subprocess
import sys
import time

from lab import Daemon, Lab, log, wait_until

PREFIX = "jcs"

CONFIG = """[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
bpf_pin_root = "{pins}/{name}"

[[ssdp.zone]]
name = "lans"
interfaces = ["int0", "ext0"]
rate = {rate}
burst = {burst}
"""

# Counts, for `seconds`, the UDP datagrams to port 1900 whose payload holds
# a marker, by source MAC; prints {mac: count} as JSON.
COUNT = r"""
import collections, json, socket, sys, time
ifname, marker, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.settimeout(0.1)
print("ready", flush=True)
seen = collections.Counter()
end = time.monotonic() + seconds
while time.monotonic() < end:
    try: f, addr = s.recvfrom(65535)
    except socket.timeout: continue
    if addr[2] == socket.PACKET_OUTGOING: continue
    udp = (f[12:14] == b"\x08\x00" and f[23] == 17) or (f[12:14] == b"\x86\xdd" and f[20] == 17)
    if udp and marker in f: seen[f[6:12].hex(":")] += 1
print(json.dumps(seen), flush=True)
"""

SEND = r"""
import socket, sys, time
ifname, n, marker, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if src == "ff02::c":
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    dst = ("ff02::c", 1900, 0, socket.if_nametoindex(ifname))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    dst = ("239.255.255.250", 1900)
for i in range(n):
    s.sendto(("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
              "ST: ssdp:all\r\nX-JOINCAST-TEST: %s-%d\r\n\r\n" % (marker, i)).encode(), dst)
"""


def count(ns, ifname, marker, seconds=4.0) -> subprocess.Popen:
    p = ns.spawn(sys.executable, "-c", COUNT, ifname, marker, str(seconds), stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def counted(p) -> dict:
    out = json.loads(p.stdout.readline())
    p.wait(10)
    return out


def main() -> int:
    with Lab("ssdp2") as lab:
        lab.prefix = f"{PREFIX}-ssdp2-{os.getpid()}"
        sw, a, b = lab.netns("switch"), lab.netns("a"), lab.netns("b")
        routers = [lab.netns("r1"), lab.netns("r2")]
        lab.veth(a, "eth0", sw, "sa")
        lab.veth(b, "eth0", sw, "sb")
        ports_a, ports_b = ["sa"], ["sb"]
        for n, r in enumerate(routers, 1):
            lab.veth(r, "int0", sw, f"a{n}")
            lab.veth(r, "ext0", sw, f"b{n}")
            ports_a.append(f"a{n}")
            ports_b.append(f"b{n}")
            lab.addr(r, "int0", f"10.60.1.{n}/24")
            lab.addr(r, "ext0", f"10.60.2.{n}/24")
        # Two plain switches: they flood multicast to every port.
        lab.bridge(sw, "lana", ports_a, mcast_snooping=0)
        lab.bridge(sw, "lanb", ports_b, mcast_snooping=0)
        lab.addr(a, "eth0", "10.60.1.10/24")
        lab.addr(b, "eth0", "10.60.2.10/24")
        macs = {}
        for n, r in enumerate(routers, 1):
            for i in ("int0", "ext0"):
                macs[json.loads(r.run("ip", "-j", "link", "show", i))[0]["address"]] = f"r{n}/{i}"
        pins = lab.bpffs()
        daemons = []
        for n, r in enumerate(routers, 1):
            d = Daemon(lab, r, CONFIG.format(pins=pins, name=f"r{n}", rate=1000, burst=1000), name=f"joincastd{n}")
            daemons.append(d.start())
        for d in daemons:
            wait_until(lambda: "ssdp: ext0 joined zone" in d.log() and "ssdp: int0 joined zone" in d.log(), 10,
                       "the zone's interfaces to be attached")

        n_search = 20
        on_b, on_a = count(b, "eth0", "burst"), count(a, "eth0", "burst")
        a.run(sys.executable, "-c", SEND, "eth0", str(n_search), "burst", "10.60.1.10")
        got_b, got_a = counted(on_b), counted(on_a)
        log(f"{n_search} searches on LAN A: LAN B got {{{', '.join(f'{macs.get(m, m)}: {c}' for m, c in got_b.items())}}}, "
            f"LAN A {{{', '.join(f'{macs.get(m, m)}: {c}' for m, c in got_a.items())}}}")
        assert sorted(macs.get(m, m) for m in got_b) == ["r1/ext0", "r2/ext0"], got_b
        assert all(c == n_search for c in got_b.values()), f"not one copy per router and search: {got_b}"
        assert all(m not in macs for m in got_a), f"copies came back into LAN A: {got_a}"

        for n, d in enumerate(daemons, 1):
            zone = d.cli("ssdp")["zones"][0]
            ifs = {i["name"]: i for i in zone["interfaces"]}
            log(f"r{n}: int0 in {ifs['int0']['in']}, ext0 in {ifs['ext0']['in']}")
            assert ifs["int0"]["in"]["relayed"] == n_search, ifs["int0"]
            # The other router's copies of the searches, seen on ext0.
            assert ifs["ext0"]["in"]["foreign_relay"] == n_search, ifs["ext0"]
            assert ifs["ext0"]["in"]["relayed"] == 0, ifs["ext0"]
            status = d.cli("status", json_out=False).stdout
            assert f"{n_search} from another relay" in status, status

        # IPv6: the copies keep their link-local source, so the routers
        # know each other's by the flow label.
        on_b, on_a = count(b, "eth0", "burst6"), count(a, "eth0", "burst6")
        a.run(sys.executable, "-c", SEND, "eth0", str(n_search), "burst6", "ff02::c")
        got_b, got_a = counted(on_b), counted(on_a)
        log(f"{n_search} IPv6 searches on LAN A: LAN B got {{{', '.join(f'{macs.get(m, m)}: {c}' for m, c in got_b.items())}}}, "
            f"LAN A {{{', '.join(f'{macs.get(m, m)}: {c}' for m, c in got_a.items())}}}")
        assert sorted(macs.get(m, m) for m in got_b) == ["r1/ext0", "r2/ext0"], got_b
        assert all(c == n_search for c in got_b.values()), f"not one copy per router and search: {got_b}"
        assert all(m not in macs for m in got_a), f"IPv6 copies came back into LAN A: {got_a}"
        for d in daemons:
            ifs = {i["name"]: i for i in d.cli("ssdp")["zones"][0]["interfaces"]}
            assert ifs["ext0"]["in"]["foreign_relay"] == 2 * n_search, ifs["ext0"]

        # A source over its rate: restart r1 and r2 with 5/s, burst 5.
        for n, d in enumerate(daemons, 1):
            d.stop()
            d.config_path.write_text(CONFIG.format(pins=pins, name=f"r{n}", rate=1, burst=5).replace(
                "@SOCKET@", str(d.socket)).replace("@STATE@", str(d.dir / "state")))
            d.start()
        for d in daemons:
            wait_until(lambda: d.log().count("ssdp: ext0 joined zone") >= 2, 10, "the zone to be attached again")
        on_b = count(b, "eth0", "flood")
        a.run(sys.executable, "-c", SEND, "eth0", "200", "flood", "10.60.1.10")
        got_b = counted(on_b)
        log(f"200 searches at once with rate 1/s burst 5: LAN B got {got_b}")
        assert got_b and all(5 <= c <= 7 for c in got_b.values()), got_b
        for d in daemons:
            ifs = {i["name"]: i for i in d.cli("ssdp")["zones"][0]["interfaces"]}
            assert ifs["int0"]["in"]["rate_limited"] >= 193, ifs["int0"]
        log("two relays: one copy per router, each other's copies recognised, the rate held on the wire")
    return 0


if __name__ == "__main__":
    sys.exit(main())
