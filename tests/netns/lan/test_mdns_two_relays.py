"""Two joincastd relays on the same two links do not loop. Two routers,
r1 and r2, each with a port on a trusted switch (a phone on it) and on an
iot switch (a printer on it), run the same zones with rules both ways
(trusted and iot may each discover every type in the other: the policy
that lets copies go round if anything can). Counted on the wire, with raw
sockets on the phone's and the printer's links over several seconds:
  - one query from the phone reaches iot as exactly one copy per router,
    and no copy of it comes back into trusted;
  - one announcement from the printer reaches trusted as one copy per
    router, and none comes back into iot;
  - the same for a query over IPv6;
  - a burst of distinct queries: again one copy per router and query;
and each router counts the other's copies as another relay's, not relayed.
Discovery goes on: the phone's avahi-browse resolves the printer."""

import json
import os
import struct
import subprocess
import sys
import time

from lab import Daemon, Lab, log, require_tools, wait_until
from avahi_fixture import Avahi
from mdns_lab import config

RULES = (("trusted", "iot", ["all"]), ("iot", "trusted", ["all"]))

# Counts, for `seconds`, the udp 5353 datagrams (IPv4 or IPv6) received on
# `ifname` whose payload holds `marker`, by source MAC; prints {mac: count}.
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
    v4 = f[12:14] == b"\x08\x00" and f[23] == 17
    v6 = f[12:14] == b"\x86\xdd" and f[20] == 17
    if (v4 or v6) and marker in f: seen[f[6:12].hex(":")] += 1
print(json.dumps(seen), flush=True)
"""

# Sends mDNS messages from port 5353 on `address` (or to ff02::fb from the
# link-local address of eth0 if it is "ipv6"): "query" asks SRV of
# <marker><i>._ipp._tcp.local, "announce" sends an unsolicited response
# with that SRV (cache-flush), `n` of them with i = 0..n-1.
SEND = r"""
import socket, struct, sys
kind, address, marker, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if address == "ipv6":
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("::", 5353))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("eth0"))
    group = ("ff02::fb", 5353, 0, socket.if_nametoindex("eth0"))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((address, 5353))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    group = ("224.0.0.251", 5353)
for i in range(n):
    label = f"{marker}{i}".encode()
    name = bytes([len(label)]) + label + b"\x04_ipp\x04_tcp\x05local\x00"
    if kind == "query":
        m = struct.pack("!6H", 0, 0, 1, 0, 0, 0) + name + struct.pack("!2H", 33, 1)
    else:
        rdata = struct.pack("!3H", 0, 0, 631) + b"\x07printer\x05local\x00"
        m = struct.pack("!6H", 0, 0x8400, 0, 1, 0, 0) + name + struct.pack("!HHIH", 33, 0x8001, 120, len(rdata)) + rdata
    s.sendto(m, group)
"""


def count(ns, marker: str, seconds: float = 5.0) -> subprocess.Popen:
    p = ns.spawn(sys.executable, "-c", COUNT, "eth0", marker, str(seconds), stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def counted(p, macs: dict) -> dict:
    out = json.loads(p.stdout.readline())
    p.wait(10)
    return {macs.get(m, m): c for m, c in out.items()}


def zone(status: dict, name: str) -> dict:
    return next(z for z in status["zones"] if z["name"] == name)


def main() -> int:
    if not require_tools("avahi-daemon", "avahi-browse", "dbus-daemon"):
        return 77
    with Lab("m3-mdns-two-relays") as lab:
        sw, phone, printer = lab.netns("switch"), lab.netns("phone"), lab.netns("printer")
        routers = [lab.netns("r1"), lab.netns("r2")]
        lab.veth(phone, "eth0", sw, "sp")
        lab.veth(printer, "eth0", sw, "si")
        lan_ports, iot_ports = ["sp"], ["si"]
        for n, r in enumerate(routers, 1):
            lab.veth(r, "lan0", sw, f"l{n}")
            lab.veth(r, "iot0", sw, f"i{n}")
            lan_ports.append(f"l{n}")
            iot_ports.append(f"i{n}")
            lab.addr(r, "lan0", f"10.10.0.{n}/24")
            lab.addr(r, "iot0", f"10.20.0.{n}/24")
        # Plain switches: multicast floods to every port.
        lab.bridge(sw, "lan", lan_ports, mcast_snooping=0)
        lab.bridge(sw, "iot", iot_ports, mcast_snooping=0)
        lab.addr(phone, "eth0", "10.10.0.20/24")
        lab.addr(printer, "eth0", "10.20.0.5/24")
        macs = {}
        for n, r in enumerate(routers, 1):
            for i in ("lan0", "iot0"):
                macs[json.loads(r.run("ip", "-j", "link", "show", i))[0]["address"]] = f"r{n}/{i}"
        pins = lab.bpffs()
        daemons = []
        for n, r in enumerate(routers, 1):
            (pins / f"r{n}").mkdir()
            d = Daemon(lab, r, config(pins / f"r{n}", zones=("trusted", "iot"), rules=RULES), name=f"joincastd{n}")
            daemons.append(d.start())
        for d in daemons:
            wait_until(lambda: all(z["interfaces"] for z in d.cli("mdns")["zones"]), 10, "both zones in force")

        tag = os.urandom(3).hex()
        log("one query from the phone: one copy per router in iot, none back in trusted")
        on_iot, on_lan = count(printer, f"q{tag}"), count(phone, f"q{tag}")
        phone.run(sys.executable, "-c", SEND, "query", "10.10.0.20", f"q{tag}", "1")
        got_iot, got_lan = counted(on_iot, macs), counted(on_lan, macs)
        log(f"over 5 s: iot got {got_iot}, trusted got {got_lan}")
        assert got_iot == {"r1/iot0": 1, "r2/iot0": 1}, f"not one copy per router: {got_iot}"
        assert got_lan == {}, f"copies of the query came back into trusted: {got_lan}"

        log("one announcement from the printer: one copy per router in trusted, none back in iot")
        on_iot, on_lan = count(printer, f"a{tag}"), count(phone, f"a{tag}")
        printer.run(sys.executable, "-c", SEND, "announce", "10.20.0.5", f"a{tag}", "1")
        got_iot, got_lan = counted(on_iot, macs), counted(on_lan, macs)
        log(f"over 5 s: trusted got {got_lan}, iot got {got_iot}")
        assert got_lan == {"r1/lan0": 1, "r2/lan0": 1}, f"not one copy per router: {got_lan}"
        assert got_iot == {}, f"copies of the announcement came back into iot: {got_iot}"

        log("the same over IPv6 (ff02::fb, link-local sources): one copy per router in iot, none back")
        on_iot, on_lan = count(printer, f"s{tag}"), count(phone, f"s{tag}")
        phone.run(sys.executable, "-c", SEND, "query", "ipv6", f"s{tag}", "1")
        got_iot, got_lan = counted(on_iot, macs), counted(on_lan, macs)
        log(f"over 5 s: iot got {got_iot}, trusted got {got_lan}")
        assert got_iot == {"r1/iot0": 1, "r2/iot0": 1}, f"not one copy per router: {got_iot}"
        assert got_lan == {}, f"copies of the IPv6 query came back into trusted: {got_lan}"

        n_burst = 20
        log(f"{n_burst} distinct queries at once: {n_burst} copies per router in iot, none back")
        on_iot, on_lan = count(printer, f"b{tag}"), count(phone, f"b{tag}")
        phone.run(sys.executable, "-c", SEND, "query", "10.10.0.20", f"b{tag}", str(n_burst))
        got_iot, got_lan = counted(on_iot, macs), counted(on_lan, macs)
        log(f"over 5 s: iot got {got_iot}, trusted got {got_lan}")
        assert got_iot == {"r1/iot0": n_burst, "r2/iot0": n_burst}, got_iot
        assert got_lan == {}, got_lan

        for n, d in enumerate(daemons, 1):
            status = d.cli("mdns")
            log(f"r{n}: iot {zone(status, 'iot')}, reflectors {status['reflectors']}")
            # The other router's copies of the phone's queries, seen in iot,
            # and of the printer's announcement, seen in trusted.
            assert zone(status, "iot")["relayed_copies"] >= 2 + n_burst, status
            assert zone(status, "trusted")["relayed_copies"] + zone(status, "trusted")["reflected"] >= 1, status

        log("discovery through both: the phone's avahi-browse resolves the printer, and no storm follows")
        printer_avahi = Avahi(lab, printer, "printer", ["eth0"], [("Printer", "_ipp._tcp", 631, [])], ipv6=False)
        phone_avahi = Avahi(lab, phone, "phone", ["eth0"], [("PhoneShell", "_ssh._tcp", 22, [])], ipv6=False)
        wait_until(lambda: any(s["name"] == "Printer" and s["address"] == "10.20.0.5"
                               for s in phone_avahi.resolved("_ipp._tcp")), 30,
                   "the phone to resolve the printer through the two relays", interval=1)
        assert any(s["name"] == "PhoneShell" for s in printer_avahi.resolved("_ssh._tcp"))  # both ways allowed
        # Quiet links now: what the routers send in 6 s is a few browse
        # answers, not an echo that feeds itself.
        on_iot, on_lan = count(printer, "", 6.0), count(phone, "", 6.0)
        got_iot, got_lan = counted(on_iot, macs), counted(on_lan, macs)
        from_routers = sum(c for got in (got_iot, got_lan) for m, c in got.items() if m in macs.values())
        log(f"6 s of quiet: iot got {got_iot}, trusted got {got_lan}")
        assert from_routers < 40, f"the routers keep sending: {got_iot} {got_lan}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
