"""The management VLAN of ../shared/FIELD-NOTES.txt ("All monitoring over
multicast"), in namespaces: a switch (192.168.0.239, the GS108Tv2's factory
address) and an intruder on one Linux bridge (snooping on, as shipped) with
two routers, r1 and r2, each with its own address on the VLAN. The routers
run stock daemons from Debian, started here: rsyslog (imudp on the wildcard
address), snmptrapd and chrony; joincastd's [[monitor]] entries are the only
thing that makes the switch's multicast reach them."""

import os
import socket
import struct
import time
from pathlib import Path

from lab import Daemon, Lab, Netns, wait_until

SWITCH4, SWITCH6 = "192.168.0.239", "fd00:0:0:1::239"
INTRUDER4 = "192.168.0.66"
R1 = ("192.168.0.1", "fd00:0:0:1::1")
R2 = ("192.168.0.2", "fd00:0:0:1::2")
SYSLOG_GROUP = "234.192.168.0"   # RFC 6034 for 192.168.0.0/24
SYSLOG_GROUP6 = "ff15::514"

JOINCAST = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
bpf_pin_root = "{pins}"
[metrics]
listen = "127.0.0.1:9185"
{entries}
"""

ENTRIES = """
[[monitor]]
service = "syslog"
interfaces = ["mgmt0"]
groups = ["rfc6034", "ff15::514"]
senders = ["192.168.0.239", "fd00:0:0:1::239"]

[[monitor]]
service = "snmp-trap"
interfaces = ["mgmt0"]

[[monitor]]
service = "ntp"
interfaces = ["mgmt0"]

[[monitor]]
service = "udp"
port = 2055
interfaces = ["mgmt0"]
groups = ["239.255.20.55"]
"""

NTP_ONLY = """
[[monitor]]
service = "ntp"
interfaces = ["mgmt0"]
"""


class Vlan:
    def __init__(self, lab: Lab):
        self.lab = lab
        self.lan = lab.netns("lan")
        self.switch = lab.netns("sw")
        self.intruder = lab.netns("intr")
        self.r1 = lab.netns("r1")
        self.r2 = lab.netns("r2")
        ports = []
        for ns, port in ((self.switch, "p-sw"), (self.intruder, "p-intr"), (self.r1, "p-r1"), (self.r2, "p-r2")):
            ifname = "mgmt0" if ns in (self.r1, self.r2) else "eth0"
            lab.veth(self.lan, port, ns, ifname)
            ports.append(port)
        lab.bridge(self.lan, "br0", ports)
        for ns, ifname, (a4, a6) in ((self.switch, "eth0", (SWITCH4, SWITCH6)),
                                     (self.intruder, "eth0", (INTRUDER4, "fd00:0:0:1::66")),
                                     (self.r1, "mgmt0", R1), (self.r2, "mgmt0", R2)):
            lab.addr(ns, ifname, f"{a4}/24")
            lab.addr(ns, ifname, f"{a6}/64")
        # The switch and the intruder send to groups like any host with one
        # interface: by their route for 224.0.0.0/4.
        for ns in (self.switch, self.intruder):
            ns.run("ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        self.pins = lab.bpffs()

    def joincastd(self, ns: Netns, entries: str) -> Daemon:
        return Daemon(self.lab, ns, JOINCAST.format(pins=self.pins / ns.short, entries=entries), f"joincastd-{ns.short}")

    # -- the daemons ----------------------------------------------------------
    def rsyslog(self, ns: Netns) -> Path:
        d = self.lab.tmp / f"rsyslog-{ns.short}"
        d.mkdir()
        out = d / "messages"
        conf = d / "rsyslog.conf"
        # What a router admin writes: imudp on port 514, every address.
        conf.write_text(f"""
global(workDirectory="{d}")
module(load="imudp")
input(type="imudp" port="514")
*.* action(type="omfile" file="{out}")
""")
        ns.spawn("rsyslogd", "-n", "-f", str(conf), "-i", str(d / "pid"),
                 stdout=open(d / "stdout", "w"), stderr=subprocess_stdout())
        wait_until(lambda: "0202" in ns.run("cat", "/proc/net/udp"), 10, "rsyslogd to bind udp 514")
        return out

    def snmptrapd(self, ns: Netns) -> Path:
        d = self.lab.tmp / f"snmptrapd-{ns.short}"
        d.mkdir()
        out = d / "traps"
        conf = d / "snmptrapd.conf"
        conf.write_text("disableAuthorization yes\n")
        ns.spawn("snmptrapd", "-f", "-C", "-c", str(conf), "-m", "", "-Lf", str(out), "-p", str(d / "pid"),
                 "udp:162", "udp6:162", stdout=open(d / "stdout", "w"), stderr=subprocess_stdout())
        wait_until(lambda: ":00A2 " in ns.run("cat", "/proc/net/udp"), 10, "snmptrapd to bind udp 162")
        return out

    def chronyd(self, ns: Netns) -> None:
        d = self.lab.tmp / f"chrony-{ns.short}"
        d.mkdir()
        conf = d / "chrony.conf"
        # A server for the VLAN that needs no upstream (stratum 8 of its own
        # clock), and never touches this machine's clock (-x).
        conf.write_text(f"""
local stratum 8
allow 192.168.0.0/24
allow fd00::/8
cmdport 0
pidfile {d}/chronyd.pid
""")
        ns.spawn("chronyd", "-d", "-x", "-u", "root", "-f", str(conf),
                 stdout=open(d / "stdout", "w"), stderr=subprocess_stdout())
        wait_until(lambda: ":007B " in ns.run("cat", "/proc/net/udp"), 10, "chronyd to bind udp 123")


def subprocess_stdout():
    import subprocess
    return subprocess.STDOUT


# -- what the switch sends -------------------------------------------------------

SNTP_CLIENT = r"""
import socket, struct, sys, time, os
group, ifname, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
family = socket.AF_INET6 if ":" in group else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
if family == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
else:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
# An SNTPv4 request as a switch sends it (RFC 4330 §5): mode 3, version 4,
# the transmit timestamp the only field set.
now = time.time() + 2208988800
xmit = struct.pack("!II", int(now), int((now % 1) * 2**32))
s.sendto(bytes([0x23]) + bytes(39) + xmit, (group, 123))
s.settimeout(0.2)
end = time.time() + wait
while time.time() < end:
    try:
        data, peer = s.recvfrom(512)
    except socket.timeout:
        continue
    t4 = time.time() + 2208988800
    mode, stratum = data[0] & 7, data[1]
    origin = data[24:32]
    rx = struct.unpack("!II", data[32:40]); tx = struct.unpack("!II", data[40:48])
    t2 = rx[0] + rx[1] / 2**32; t3 = tx[0] + tx[1] / 2**32
    offset = ((t2 - now) + (t3 - t4)) / 2
    print(f"{peer[0]} mode={mode} stratum={stratum} origin_ok={origin == xmit} offset={offset:.6f}", flush=True)
"""


def sntp(ns: Netns, group: str, wait: float = 2.0) -> list[dict]:
    import sys
    out = ns.run(sys.executable, "-c", SNTP_CLIENT, group, "eth0", str(wait))
    answers = []
    for line in out.splitlines():
        peer, *fields = line.split()
        answers.append({"peer": peer, **dict(f.split("=") for f in fields)})
    return answers


def logger(ns: Netns, group: str, text: str) -> None:
    ns.run("logger", "-n", group, "-P", "514", "-d", "-t", "switch", text)


def snmptrap(ns: Netns, group: str) -> None:
    # linkDown (SNMPv2-MIB snmpTraps.3) for ifIndex 1, numeric: no MIBs.
    ns.run("snmptrap", "-v", "2c", "-c", "public", "-m", "", f"{group}:162", "",
           ".1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.2.1.2.2.1.1.1", "i", "1")


def no_firewall_rules(ns: Netns) -> None:
    ruleset = ns.run("nft", "list", "ruleset").strip()
    assert ruleset == "", f"{ns.short} has nftables rules:\n{ruleset}"
    for tool in ("iptables-save", "ip6tables-save"):
        if os.path.exists(f"/usr/sbin/{tool}"):
            rules = [line for line in ns.run(tool).splitlines() if line.startswith("-A")]
            assert not rules, f"{ns.short} has {tool} rules: {rules}"


def entry(d: Daemon, service: str, group: str) -> dict:
    for e in d.cli("monitor")["entries"]:
        if e["service"] == service and e["group"] == group:
            return e
    raise AssertionError(f"no {service} {group} in {d.cli('monitor')}")
