#!/usr/bin/env python3
"""SSDP between two bridges, the seed's Sonos setup: minidlna (a real UPnP
media server) on the wired bridge int0, gssdp-discover (a real SSDP control
point) on the Wi-Fi bridge ext0, a joincastd router between them with one
[[ssdp.zone]] and no iptables, smcroute or bridge setting.

  * without the zone, gssdp-discover does not find minidlna;
  * with it (added by SIGHUP), it does: minidlna's NOTIFYs are relayed
    int0 -> ext0, whatever their TTL;
  * a broadcast M-SEARCH to 255.255.255.255:1900 and a datagram to :6969
    sent on ext0 arrive on int0 as 239.255.255.250, captured on the wire,
    payload byte-identical and checksums valid;
  * a NOTIFY with TTL 1 from int0's side crosses with TTL 1;
  * the reverse direction the policy refuses (ext0's NOTIFY) is counted,
    not relayed;
  * `joincast ssdp --json` shows the counters, and minidlna in the devices
    table on int0."""

import json
import os
import subprocess
import sys
import time

from lab import SKIP, Daemon, Lab, log, require_tools, wait_until

PREFIX = "jcs"

DAEMON = """[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
bpf_pin_root = "{pins}/joincast"
"""

ZONE = """
[[ssdp.zone]]
name = "sonos"
interfaces = ["int0", "ext0"]
relay = ["ext0 -> int0 search other", "int0 -> ext0 announcements"]
"""

# Captures, on one interface, the first UDP datagram whose payload holds a
# marker, and prints it as JSON: the frame's addresses, TTL, payload and
# whether its checksums are right. A raw socket: what is on the wire.
CAPTURE = r"""
import json, socket, struct, sys, time
ifname, marker, timeout = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((ifname, 0))
s.settimeout(0.2)
print("ready", flush=True)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return t
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try: f = s.recv(65535)
    except socket.timeout: continue
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17: continue
    udp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
    payload = udp[8:]
    if marker not in payload: continue
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    print(json.dumps({"dst_mac": f[0:6].hex(":"), "dst": socket.inet_ntoa(ip[16:20]), "src": socket.inet_ntoa(ip[12:16]),
        "ttl": ip[8], "dport": struct.unpack("!H", udp[2:4])[0], "payload": payload.hex(),
        "ip_csum_ok": csum(ip[:ihl]) == 0xffff,
        "udp_csum_ok": udp[6:8] == b"\0\0" or csum(pseudo + udp) == 0xffff}), flush=True)
    sys.exit(0)
print("none", flush=True)
"""

# Sends one UDP datagram to the broadcast address from an interface.
BROADCAST = r"""
import socket, sys
ifname, dst, port, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(payload, (dst, port))
"""


def capture(ns, ifname: str, marker: str, timeout: float = 8) -> subprocess.Popen:
    p = ns.spawn(sys.executable, "-c", CAPTURE, ifname, marker, str(timeout), stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def captured(p: subprocess.Popen):
    line = p.stdout.readline().strip()
    p.wait(10)
    return None if line == "none" else json.loads(line)


def discover(ns, seconds: int) -> str:
    """What gssdp-discover (searching, and listening to NOTIFYs) finds."""
    return ns.run("gssdp-discover", "-i", "eth0", "-n", str(seconds), "-r", "1", timeout=seconds + 30)


def main() -> int:
    if not require_tools("minidlnad", "gssdp-discover"):
        return 1
    with Lab("ssdp") as lab:
        lab.prefix = f"{PREFIX}-ssdp-{os.getpid()}"  # this test's namespaces
        router, dev, ctl = lab.netns("router"), lab.netns("dev"), lab.netns("ctl")
        lab.veth(router, "pi", dev, "eth0")
        lab.veth(router, "pe", ctl, "eth0")
        lab.bridge(router, "int0", ["pi"])
        lab.bridge(router, "ext0", ["pe"])
        lab.addr(router, "int0", "10.50.1.1/24")
        lab.addr(router, "ext0", "10.50.2.1/24")
        lab.addr(dev, "eth0", "10.50.1.10/24")
        lab.addr(ctl, "eth0", "10.50.2.10/24")
        dev.run("ip", "route", "add", "default", "via", "10.50.1.1")
        ctl.run("ip", "route", "add", "default", "via", "10.50.2.1")
        router.sysctl("net.ipv4.ip_forward", 1)
        # The searcher computes its UDP checksums itself: with veth's
        # checksum offload the capture would see only the pseudo-header
        # sum (CHECKSUM_PARTIAL), and the rewrite's checksum update would
        # go unchecked.
        ctl.run("ethtool", "-K", "eth0", "tx", "off")

        # minidlna on int0's side, announcing every few seconds.
        media = lab.tmp / "minidlna"
        for sub in ("media", "db", "log"):
            (media / sub).mkdir(parents=True, exist_ok=True)
        conf = media / "minidlna.conf"
        conf.write_text(f"media_dir=V,{media}/media\ndb_dir={media}/db\nlog_dir={media}/log\n"
                        "network_interface=eth0\nport=8200\nfriendly_name=joincast-ssdp-test\n"
                        "inotify=no\nnotify_interval=5\n")
        dlna = dev.spawn("minidlnad", "-f", str(conf), "-P", str(media / "pid"), "-S",
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: "LISTEN" in dev.run("ss", "-ltn", "sport", "= :8200") or dlna.poll() is not None, 20,
                   "minidlna to listen on 8200")
        assert dlna.poll() is None, "minidlnad exited"
        # On its own network it is found.
        found = discover(dev, 4)
        assert "10.50.1.10:8200" in found, f"minidlna is not even found on its own network:\n{found}"

        d = Daemon(lab, router, DAEMON.format(pins=lab.bpffs()))
        d.start()
        try:
            # Without the zone: nothing crosses.
            found = discover(ctl, 6)
            assert "10.50.1.10:8200" not in found, f"found through a router without an SSDP zone:\n{found}"
            log("without [[ssdp.zone]]: minidlna is not found from ext0")

            # The zone, by SIGHUP.
            d.config_path.write_text(d.config_path.read_text() + ZONE)
            before = d.log().count("reloaded")
            d.proc.send_signal(1)
            wait_until(lambda: d.log().count("ssdp: ext0 joined zone") and d.log().count("ssdp: int0 joined zone"),
                       10, "the zone's interfaces to be attached")
            tc = router.run("tc", "filter", "show", "dev", "int0", "ingress")
            assert "jc_ssdp" in tc, tc

            found = discover(ctl, 12)
            assert "10.50.1.10:8200" in found, f"minidlna not found through joincast:\n{found}\n{d.log()}"
            log("with [[ssdp.zone]]: gssdp-discover on ext0 finds minidlna on int0")

            # The devices table: minidlna heard on int0.
            def minidlna_seen():
                for i in d.cli("ssdp")["zones"][0]["interfaces"]:
                    for device in i["devices"]:
                        if device["location"] == "http://10.50.1.10:8200/rootDesc.xml" and "MiniDLNA" in device["server"]:
                            return (i["name"], device)
                return None
            where, device = wait_until(minidlna_seen, 15, "minidlna in the devices table")
            assert where == "int0", (where, device)
            log(f"devices table: {device['usn']} on {where}, {device['server']}")
            text = d.cli("ssdp", json_out=False).stdout
            assert "int0 -> ext0  announcements" in text and "rootDesc.xml" in text, text

            # Sonos-like broadcasts from ext0's side.
            msearch = ("M-SEARCH * HTTP/1.1\r\nHOST: 255.255.255.255:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
                       "ST: urn:schemas-upnp-org:device:ZonePlayer:1\r\nX-JOINCAST-TEST: bcast1900\r\n\r\n").encode()
            other = b"\x00\x01sonos-6969 X-JOINCAST-TEST: bcast6969\x00\xff"
            for payload, port, marker in ((msearch, 1900, "bcast1900"), (other, 6969, "bcast6969")):
                cap = capture(dev, "eth0", marker)
                ctl.run(sys.executable, "-c", BROADCAST, "eth0", "255.255.255.255", str(port), payload.hex())
                got = captured(cap)
                assert got, f"the broadcast to :{port} did not arrive on int0's side\n{d.cli('ssdp')}"
                log(f"broadcast to :{port} arrived as {got['dst']} ({got['dst_mac']}), TTL {got['ttl']}")
                assert got["dst"] == "239.255.255.250" and got["dst_mac"] == "01:00:5e:7f:ff:fa", got
                assert got["dport"] == port and got["src"] == "10.50.2.10", got
                assert bytes.fromhex(got["payload"]) == payload, "payload changed"
                assert got["ip_csum_ok"] and got["udp_csum_ok"], got

            # A NOTIFY with TTL 1 from int0's side crosses (smcroute cannot
            # route it), keeping its TTL and bytes.
            alive = (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
                     b"USN: uuid:joincast-test::upnp:rootdevice\r\nX-JOINCAST-TEST: ttl1\r\n\r\n")
            dev.run("ethtool", "-K", "eth0", "tx", "off")
            cap = capture(ctl, "eth0", "ttl1")
            dev.run(sys.executable, "-c", BROADCAST, "eth0", "239.255.255.250", "1900", alive.hex())
            got = captured(cap)
            assert got, "a TTL 1 NOTIFY from int0 did not reach ext0"
            assert got["ttl"] == 1 and bytes.fromhex(got["payload"]) == alive, got
            assert got["ip_csum_ok"] and got["udp_csum_ok"], got
            log("a NOTIFY with TTL 1 crossed int0 -> ext0 unchanged")

            # ext0's NOTIFY: the policy refuses that direction.
            notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nX-JOINCAST-TEST: refused\r\n\r\n"
            cap = capture(dev, "eth0", "refused", timeout=3)
            ctl.run(sys.executable, "-c", BROADCAST, "eth0", "239.255.255.250", "1900", notify.hex())
            assert captured(cap) is None, "ext0's NOTIFY crossed against the policy"

            doc = d.cli("ssdp")
            zone = doc["zones"][0]
            by_name = {i["name"]: i for i in zone["interfaces"]}
            log(f"joincast ssdp: {json.dumps(by_name)}")
            ext, internal = by_name["ext0"], by_name["int0"]
            assert ext["state"] == "attached" and internal["state"] == "attached", by_name
            assert ext["in"]["rewritten"] >= 2 and ext["in"]["relayed"] >= 2, ext
            assert ext["in"]["policy"] >= 1, ext
            assert internal["in"]["relayed"] >= 1 and ext["out"]["relayed"] >= 1, by_name
            assert ext["in"]["loop"] == 0 and internal["in"]["foreign_relay"] == 0, by_name
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        d.stop()
        out = router.run("tc", "filter", "show", "dev", "int0", "ingress")
        assert "jc_ssdp" not in out, f"the filter outlived joincastd:\n{out}"
        log("Sonos setup from one [[ssdp.zone]]: discovery, broadcasts as 239.255.255.250, policy, counters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
